// The op table. Each op is defined once: its inputs, parameter slots, shape inference, cost,
// channel relation (what pruning needs) and the factory of its reference LibTorch kernel.
// This header stays torch-free; kernels are declared through exec/kernel.h.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hadmc/ir/graph.h"

namespace at {
class Tensor;  // only passed by pointer here
}

namespace hadmc::exec {
struct BoundKernel;  // defined in hadmc/exec/kernel.h
}

namespace hadmc::ir {

// How an op's output channels (dim 1) relate to its inputs' channels.
enum class ChannelRelation {
  kPassThrough,  // output channel c comes from input channel c (bn, activations, pools, identity)
  kProducer,     // output channels are new, set by the weight's dim 0 (dense conv, linear)
  kDepthwise,    // channel c -> channel c with per-channel weights (conv with groups == C)
  kGrouped,      // grouped conv, 1 < groups < C: channels tied within a group
  kJoin,         // all inputs and the output share channels (add, mul)
  kConcat,       // output = inputs stacked along channels, at offsets
  kFlatten,      // channel c -> features [c*H*W, (c+1)*H*W) of the flattened output
  kOpaque,       // channels are not meant to be pruned through this op (softmax)
};
const char* ChannelRelationName(ChannelRelation r);

struct ParamSlot {
  std::string name;  // "weight", "bias", "running_mean", ...
  bool required = true;
  bool trainable = true;  // false for buffers such as BN running statistics
};

// Shapes of a node's parameters, by slot name (only slots the node uses).
using ParamShapes = std::map<std::string, Shape>;

struct OpDef {
  std::string name;
  int min_inputs = 1;
  int max_inputs = 1;  // -1: any number >= min_inputs
  std::vector<ParamSlot> params;

  // How this node's output channels relate to its inputs' (conv is dense, grouped or depthwise
  // depending on its groups and weight shape).
  std::function<ChannelRelation(const Node&, const ParamShapes& params)> channel_relation;

  // Output shape from input and parameter shapes; errors describe the mismatch (the caller adds
  // the node name). Input shapes may have -1 in the batch dimension.
  std::function<Result<Shape>(const Node&, const std::vector<Shape>& inputs,
                              const ParamShapes& params)>
      infer_shape;

  // Multiply-accumulates for one sample (batch dimension taken as 1). Zero for ops that do no
  // multiply-accumulate work (activations, pools, reshapes).
  std::function<int64_t(const Node&, const std::vector<Shape>& inputs, const Shape& output,
                        const ParamShapes& params)>
      macs;

  // Binds the node's attributes once and returns its reference LibTorch kernel (declared with
  // an incomplete type so this header stays torch-free; see hadmc/exec/kernel.h).
  Result<exec::BoundKernel> (*bind_kernel)(const Node&) = nullptr;

  // For nodes with precision int8: binds a real int8 kernel (LibTorch's quantized engines), given
  // the node's parameter tensors (one per slot, undefined when unused) so weights are prepacked
  // once. Its input and output are quint8 tensors. Ops without one run their reference kernel,
  // which must then accept quantized tensors (relu, pools, flatten).
  Result<exec::BoundKernel> (*bind_int8_kernel)(const Node&, const at::Tensor* params) = nullptr;
};

// Logical shapes of a node's parameters, by slot: the stored shapes, except an int4 node's packed
// weight, which reports its "weight_shape" attribute (see hadmc/exec/low_precision.h).
ParamShapes ParamShapesOf(const Graph& g, const Node& n);
// An int4 node's packed weight must be U8 [O, ceil(K/2)] for its "weight_shape"; other nodes pass.
Status CheckPackedWeight(const Graph& g, const Node& n);

// The table: every op the IR knows, by name.
const std::map<std::string, OpDef>& OpTable();
const OpDef* FindOp(const std::string& name);

}  // namespace hadmc::ir
