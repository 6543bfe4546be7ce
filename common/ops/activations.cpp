// Unary elementwise activations (output shape = input shape, channels pass through) and softmax.
#include <ATen/ATen.h>

#include "op_helpers.h"

namespace hadmc::ops {
namespace {

// Binds a kernel that applies `f` to the single input; activations have no attributes.
template <at::Tensor (*F)(const at::Tensor&)>
Result<exec::BoundKernel> BindUnary(const ir::Node&) {
  return exec::BoundKernel{[](const exec::KernelArgs& args) { return F(args.inputs[0]); }};
}

at::Tensor Relu(const at::Tensor& x) { return at::relu(x); }
at::Tensor Relu6(const at::Tensor& x) { return at::hardtanh(x, 0.0, 6.0); }
at::Tensor Silu(const at::Tensor& x) { return at::silu(x); }
at::Tensor Sigmoid(const at::Tensor& x) { return at::sigmoid(x); }
at::Tensor Hardswish(const at::Tensor& x) { return at::hardswish(x); }
// Returns the input itself (no copy): values are immutable once produced.
at::Tensor Identity(const at::Tensor& x) { return x; }

ir::OpDef Unary(const std::string& name, Result<exec::BoundKernel> (*bind)(const ir::Node&)) {
  ir::OpDef d = SimpleOp(name, ir::ChannelRelation::kPassThrough);
  d.bind_kernel = bind;
  return d;
}

Result<ir::Shape> InferSoftmax(const ir::Node& n, const std::vector<ir::Shape>& inputs,
                               const ir::ParamShapes&) {
  auto dim = n.attrs.GetInt("dim", 1);
  if (!dim) return MakeError(dim.error());
  HADMC_TRY(CheckMinRank(inputs[0], 1, "input"));
  HADMC_TRY(NormalizeDim(*dim, inputs[0].size(), "dim"));
  return inputs[0];
}

Result<exec::BoundKernel> BindSoftmax(const ir::Node& n) {
  auto dim = n.attrs.GetInt("dim", 1);
  if (!dim) return MakeError(dim.error());
  return exec::BoundKernel{
      [dim = *dim](const exec::KernelArgs& args) { return at::softmax(args.inputs[0], dim); }};
}

}  // namespace

ir::OpDef ReluOp() { return Unary("relu", BindUnary<Relu>); }
ir::OpDef Relu6Op() { return Unary("relu6", BindUnary<Relu6>); }
ir::OpDef SiluOp() { return Unary("silu", BindUnary<Silu>); }
ir::OpDef SigmoidOp() { return Unary("sigmoid", BindUnary<Sigmoid>); }
ir::OpDef HardswishOp() { return Unary("hardswish", BindUnary<Hardswish>); }
ir::OpDef IdentityOp() { return Unary("identity", BindUnary<Identity>); }

ir::OpDef SoftmaxOp() {
  ir::OpDef d = SimpleOp("softmax", ir::ChannelRelation::kOpaque);
  d.infer_shape = InferSoftmax;
  d.bind_kernel = BindSoftmax;
  return d;
}

}  // namespace hadmc::ops
