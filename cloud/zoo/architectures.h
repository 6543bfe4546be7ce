// Private to cloud/zoo: the per-family graph builders that zoo.cpp lists, and the layer helpers
// they share. Torch-free: these only describe graphs; zoo.cpp initializes the tensors.
#pragma once

#include <string>

#include "hadmc/ir/builder.h"
#include "hadmc/zoo/zoo.h"

namespace hadmc::zoo::detail {

// ---- Builders, one per family (options already range-checked by zoo.cpp). ----
Result<ir::Graph> BuildResNet8(const ArchOptions& o);  // resnet.cpp
Result<ir::Graph> BuildResNet18(const ArchOptions& o);
Result<ir::Graph> BuildResNet34(const ArchOptions& o);
Result<ir::Graph> BuildMobileNetV2(const ArchOptions& o);  // mobilenet_v2.cpp
Result<ir::Graph> BuildVgg11Bn(const ArchOptions& o);      // vgg.cpp

// ---- Layer helpers (layers.cpp) ----

// Starts a graph with the input "input" of shape [-1, C, S, S] (S = -1 when image_size is 0).
std::string AddInput(ir::GraphBuilder& b, const ArchOptions& o);

// conv (no bias, activation "none") -> batch_norm -> activation node, with explicit node names
// (torchvision's modules); `act_op` is "relu", "relu6" or "" for none. Returns the last value.
struct ConvBnAct {
  std::string conv, bn, act;  // node names; act unused when act_op is empty
  std::string act_op;
};
std::string AddConvBnAct(ir::GraphBuilder& b, const ConvBnAct& names, const std::string& x,
                         int64_t in_ch, int64_t out_ch, int64_t kernel, int64_t stride,
                         int64_t groups = 1);

// Makes `value` (the last linear's output) the graph output named "logits" and validates.
Result<ir::Graph> FinishClassifier(ir::GraphBuilder& b, const std::string& value);

}  // namespace hadmc::zoo::detail
