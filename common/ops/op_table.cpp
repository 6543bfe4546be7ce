// The one table of ops. Adding an op: define it in the file of its family (declared in
// op_helpers.h) and list it here; docs/ops.md documents its attributes.
#include "hadmc/ir/ops.h"
#include "op_helpers.h"

namespace hadmc::ir {
namespace {

// Op-specific shape inference may index its inputs freely: the arity is checked here, once,
// for direct callers that bypass Validate (which checks it too).
OpDef WithArityCheck(OpDef d) {
  d.infer_shape = [infer = std::move(d.infer_shape), min = d.min_inputs, max = d.max_inputs](
                      const Node& n, const std::vector<Shape>& inputs,
                      const ParamShapes& params) -> Result<Shape> {
    const int count = static_cast<int>(inputs.size());
    if (count < min || (max >= 0 && count > max)) {
      std::string want = std::to_string(min);
      if (max != min) want += max < 0 ? " or more" : " to " + std::to_string(max);
      return MakeError(Errc::kInvalidArgument,
                       "takes " + want + " inputs, got " + std::to_string(count));
    }
    return infer(n, inputs, params);
  };
  return d;
}

std::map<std::string, OpDef> BuildTable() {
  using namespace hadmc::ops;  // NOLINT: the op definitions
  std::map<std::string, OpDef> table;
  for (OpDef& d : std::vector<OpDef>{
           Conv2dOp(),
           LinearOp(),
           BatchNormOp(),
           ReluOp(),
           Relu6Op(),
           SiluOp(),
           SigmoidOp(),
           HardswishOp(),
           IdentityOp(),
           SoftmaxOp(),
           AddOp(),
           MulOp(),
           ConcatOp(),
           MaxPool2dOp(),
           AvgPool2dOp(),
           AdaptiveAvgPool2dOp(),
           FlattenOp(),
           UpsampleOp(),
           QuantizeOp(),
           DequantizeOp(),
           FakeQuantizeOp(),
       }) {
    std::string name = d.name;
    table.emplace(std::move(name), WithArityCheck(std::move(d)));
  }
  return table;
}

}  // namespace

const std::map<std::string, OpDef>& OpTable() {
  static const std::map<std::string, OpDef> table = BuildTable();
  return table;
}

const OpDef* FindOp(const std::string& name) {
  const auto& table = OpTable();
  auto it = table.find(name);
  return it == table.end() ? nullptr : &it->second;
}

const char* ChannelRelationName(ChannelRelation r) {
  switch (r) {
    case ChannelRelation::kPassThrough:
      return "pass_through";
    case ChannelRelation::kProducer:
      return "producer";
    case ChannelRelation::kDepthwise:
      return "depthwise";
    case ChannelRelation::kGrouped:
      return "grouped";
    case ChannelRelation::kJoin:
      return "join";
    case ChannelRelation::kConcat:
      return "concat";
    case ChannelRelation::kFlatten:
      return "flatten";
    case ChannelRelation::kOpaque:
      return "opaque";
  }
  return "?";
}

}  // namespace hadmc::ir
