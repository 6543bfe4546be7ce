// The model zoo: classification architectures built as graph IR with torchvision 0.14's module
// layout, so their parameter names are torchvision's state_dict keys ("layer1.0.conv1.weight",
// "features.3.conv.1.1.running_var"; without "num_batches_tracked") and a torchvision
// checkpoint imports by name (torchscript_import.h).
//
// Architectures (ArchNames()):
//   resnet8       CIFAR-style demo net: 3x3 stem, three BasicBlock stages (16/32/64 channels,
//                 strides 1/2/2, one block each), global average pool, fc. small_input has no
//                 effect: the net is made for 28-32 px images.
//   resnet18/34   torchvision ResNet with BasicBlock.
//   mobilenet_v2  torchvision MobileNetV2 (width_mult scales channels like torchvision does).
//   vgg11_bn      torchvision VGG-11 with batch norm; dropout is omitted (identity at inference).
//
// Graph conventions: one input "input" of shape [-1, in_channels, image_size, image_size] (-1 for
// H and W when image_size is 0: any size the arch accepts), one output "logits" [N, num_classes].
// Each conv is followed by a separate batch_norm node and a relu/relu6 node (no fusion here; the
// fusion pass does that). Parameter-free nodes are named like torch.fx would name them
// ("layer1.0.relu", "layer1.0.relu_1", "layer1.0.add", "flatten").
//
// small_input adapts the stem for 28-32 px images while keeping every parameter name:
//   resnet18/34   conv1 is 3x3 stride 1 padding 1 and the stem max-pool is dropped (CIFAR stem).
//   mobilenet_v2  features.0.0 has stride 1 and features.2 (first block of the 24-channel stage)
//                 has stride 1: total stride 8 instead of 32.
//   vgg11_bn      the last two max-pools (features.21 and features.28) are dropped; the other
//                 modules keep their torchvision indices.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/ir/graph.h"
#include "hadmc/model/model.h"

namespace hadmc::zoo {

struct ArchOptions {
  int64_t in_channels = 1;
  int64_t num_classes = 10;
  int64_t image_size = 28;  // nominal H = W of the graph input; 0: dynamic (-1) spatial dims
  bool small_input = false;
  double width_mult = 1.0;  // mobilenet_v2 only (torchvision's rounding to multiples of 8)
  uint64_t seed = 0;        // weight initialization
};

// Known architecture names, sorted.
std::vector<std::string> ArchNames();

// The graph alone (no tensors). Errors: unknown arch (the message lists the known ones), options
// out of range, or an image too small for the arch's downsampling.
Result<ir::Graph> BuildGraph(const std::string& arch, const ArchOptions& options);

// A validated graph plus tensors initialized as torchvision initializes the architecture:
// convs kaiming_normal_(fan_out, relu) with zero bias; BN weight 1, bias 0, running_mean 0,
// running_var 1; linear as torchvision does per arch (ResNet: PyTorch's default uniform
// +-1/sqrt(fan_in); MobileNetV2 and VGG: normal(0, 0.01), zero bias). The same seed gives the same
// tensors. Metadata: arch, num_classes, in_channels, image_size, small_input ("true"/"false"),
// width_mult (mobilenet_v2), init_seed.
Result<model::Model> BuildModel(const std::string& arch, const ArchOptions& options);

// The metadata BuildModel records for (arch, options), without init_seed (the importer uses it
// for checkpoints whose weights were not initialized here).
std::map<std::string, std::string> ArchMetadata(const std::string& arch,
                                                const ArchOptions& options);

// Reads the options back from a model's metadata (as written by BuildModel or the importer);
// keys that are absent keep their defaults, malformed values are errors. Fills `arch` if given.
Result<ArchOptions> ArchOptionsFromMetadata(const std::map<std::string, std::string>& metadata,
                                            std::string* arch = nullptr);

// Sizes of a graph's tensors: trainable parameters (what torchvision's num_params counts) and
// buffers (BN running statistics), in scalars, and the number of tensors.
struct ParamCount {
  int64_t trainable = 0;
  int64_t buffers = 0;
  int64_t tensors = 0;
};
ParamCount CountParameters(const ir::Graph& g);

}  // namespace hadmc::zoo
