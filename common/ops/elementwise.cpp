// Binary elementwise ops with numpy broadcasting (add with optional fused relu, mul), and concat.
#include <ATen/ATen.h>

#include "int8_support.h"
#include "op_helpers.h"

namespace hadmc::ops {
namespace {

// Numpy broadcasting, right-aligned. An unknown dim (-1) against 1 stays unknown; against a
// known size it takes that size (at run time it must be 1 or equal).
Result<ir::Shape> Broadcast(const ir::Shape& a, const ir::Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  ir::Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const size_t from_right = rank - 1 - i;
    const int64_t da = from_right < a.size() ? a[a.size() - 1 - from_right] : 1;
    const int64_t db = from_right < b.size() ? b[b.size() - 1 - from_right] : 1;
    if (da == db || db == 1 || db == -1) {
      out[i] = (db == -1 && da == 1) ? -1 : da;
    } else if (da == 1 || da == -1) {
      out[i] = db;
    } else {
      return MakeError(Errc::kShapeMismatch, "cannot broadcast " + ir::ShapeString(a) + " with " +
                                                 ir::ShapeString(b) + ": dim " + std::to_string(i) +
                                                 " (counting in the broadcast shape) is " +
                                                 std::to_string(da) + " vs " + std::to_string(db));
    }
  }
  return out;
}

Result<ir::Shape> InferBinary(const ir::Node& n, const std::vector<ir::Shape>& inputs,
                              const ir::ParamShapes&) {
  if (n.op == "add") HADMC_TRY(GetActivation(n.attrs, /*allow_relu6=*/false));
  HADMC_TRY(CheckDims(inputs[0], "input 0"));
  HADMC_TRY(CheckDims(inputs[1], "input 1"));
  return Broadcast(inputs[0], inputs[1]);
}

Result<exec::BoundKernel> BindAdd(const ir::Node& n) {
  auto act = GetActivation(n.attrs, /*allow_relu6=*/false);
  if (!act) return MakeError(act.error());
  return exec::BoundKernel{[act = *act](const exec::KernelArgs& args) {
    return ApplyActivation(at::add(args.inputs[0], args.inputs[1]), act, args.training);
  }};
}

// Int8 add of two quint8 tensors (each with its own scale) into the node's output quantization.
Result<exec::BoundKernel> BindAddInt8(const ir::Node& n, const at::Tensor*) {
  auto act = GetActivation(n.attrs, /*allow_relu6=*/false);
  if (!act) return MakeError(act.error());
  auto out = GetOutputQuant(n.attrs);
  if (!out) return MakeError(out.error());
  const char* op = *act == Activation::kRelu ? "quantized::add_relu" : "quantized::add";
  return exec::BoundKernel{[op, q = *out](const exec::KernelArgs& args) {
    return CallQuantizedOp(op, "", {args.inputs[0], args.inputs[1], q.scale, q.zero_point})
        .toTensor();
  }};
}

Result<exec::BoundKernel> BindMul(const ir::Node&) {
  return exec::BoundKernel{
      [](const exec::KernelArgs& args) { return at::mul(args.inputs[0], args.inputs[1]); }};
}

ir::OpDef Binary(const std::string& name, Result<exec::BoundKernel> (*bind)(const ir::Node&)) {
  ir::OpDef d = SimpleOp(name, ir::ChannelRelation::kJoin);
  d.min_inputs = d.max_inputs = 2;
  d.infer_shape = InferBinary;
  d.bind_kernel = bind;
  return d;
}

Result<ir::Shape> InferConcat(const ir::Node& n, const std::vector<ir::Shape>& inputs,
                              const ir::ParamShapes&) {
  auto axis_attr = n.attrs.GetInt("axis", 1);
  if (!axis_attr) return MakeError(axis_attr.error());
  ir::Shape out = inputs[0];
  HADMC_TRY(CheckMinRank(out, 1, "input 0"));
  auto axis = NormalizeDim(*axis_attr, out.size(), "axis");
  if (!axis) return MakeError(axis.error());
  for (size_t i = 1; i < inputs.size(); ++i) {
    const ir::Shape& s = inputs[i];
    const std::string what = "input " + std::to_string(i);
    HADMC_TRY(CheckDims(s, what));
    if (s.size() != out.size())
      return MakeError(Errc::kShapeMismatch, what + " " + ir::ShapeString(s) + " has rank " +
                                                 std::to_string(s.size()) + " but input 0 " +
                                                 ir::ShapeString(inputs[0]) + " has rank " +
                                                 std::to_string(out.size()));
    for (size_t d = 0; d < s.size(); ++d) {
      if (d == *axis) {
        out[d] = Known(out[d]) && Known(s[d]) ? out[d] + s[d] : -1;
      } else if (Known(out[d]) && Known(s[d]) && out[d] != s[d]) {
        return MakeError(Errc::kShapeMismatch,
                         what + " " + ir::ShapeString(s) + " has " + std::to_string(s[d]) +
                             " in dim " + std::to_string(d) + " but the inputs before it have " +
                             std::to_string(out[d]) + " (only the concat axis " +
                             std::to_string(*axis) + " may differ)");
      } else if (!Known(out[d])) {
        out[d] = s[d];
      }
    }
  }
  return out;
}

Result<exec::BoundKernel> BindConcat(const ir::Node& n) {
  auto axis = n.attrs.GetInt("axis", 1);
  if (!axis) return MakeError(axis.error());
  return exec::BoundKernel{[axis = *axis](const exec::KernelArgs& args) {
    return at::cat(at::ArrayRef<at::Tensor>(args.inputs, args.num_inputs), axis);
  }};
}

}  // namespace

ir::OpDef AddOp() {
  ir::OpDef d = Binary("add", BindAdd);
  d.bind_int8_kernel = BindAddInt8;
  return d;
}
ir::OpDef MulOp() { return Binary("mul", BindMul); }

ir::OpDef ConcatOp() {
  ir::OpDef d = SimpleOp("concat", ir::ChannelRelation::kConcat);
  d.max_inputs = -1;
  d.infer_shape = InferConcat;
  d.bind_kernel = BindConcat;
  return d;
}

}  // namespace hadmc::ops
