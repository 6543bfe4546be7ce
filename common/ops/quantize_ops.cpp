// Precision boundaries: quantize (float -> quint8, per-tensor affine) and dequantize (quint8 ->
// float). The quantize pass inserts them only where an int8 region begins or ends.
#include <ATen/ATen.h>

#include "op_helpers.h"

namespace hadmc::ops {
namespace {

struct QuantAttrs {
  double scale = 1.0;
  int64_t zero_point = 0;
};

Result<QuantAttrs> ParseQuantAttrs(const ir::Attributes& a) {
  auto scale = a.GetFloat("scale");
  if (!scale) return MakeError(scale.error());
  auto zp = a.GetInt("zero_point", 0);
  if (!zp) return MakeError(zp.error());
  if (!(*scale > 0) || *zp < 0 || *zp > 255)
    return MakeError(Errc::kInvalidArgument,
                     "quantize needs scale > 0 and zero_point in [0, 255], got " +
                         std::to_string(*scale) + ", " + std::to_string(*zp));
  return QuantAttrs{*scale, *zp};
}

Result<ir::Shape> InferQuantize(const ir::Node& n, const std::vector<ir::Shape>& inputs,
                                const ir::ParamShapes& params) {
  HADMC_TRY(ParseQuantAttrs(n.attrs));
  return SameShapeAsInput(n, inputs, params);
}

Result<exec::BoundKernel> BindQuantize(const ir::Node& n) {
  auto q = ParseQuantAttrs(n.attrs);
  if (!q) return MakeError(q.error());
  return exec::BoundKernel{[q = *q](const exec::KernelArgs& args) {
    const at::Tensor& x = args.inputs[0];
    // 4-D: channels-last, the layout the int8 convs produce, so an int8 add or conv reading
    // this value next to a conv's output does not convert layouts on every call.
    return at::quantize_per_tensor(
        x.dim() == 4 ? x.contiguous(at::MemoryFormat::ChannelsLast) : x.contiguous(), q.scale,
        q.zero_point, at::kQUInt8);
  }};
}

Result<exec::BoundKernel> BindDequantize(const ir::Node&) {
  return exec::BoundKernel{
      [](const exec::KernelArgs& args) {
        // fp32 consumers expect the standard (NCHW) layout: channels-last fp32 tensors send
        // the fp32 convs down slower paths.
        return args.inputs[0].dequantize().contiguous();
      }};
}

// Quantization-aware training: quantize then dequantize in one op, float in and out, with the
// straight-through gradient (LibTorch's fake_quantize_per_tensor_affine).
Result<exec::BoundKernel> BindFakeQuantize(const ir::Node& n) {
  auto q = ParseQuantAttrs(n.attrs);
  if (!q) return MakeError(q.error());
  return exec::BoundKernel{[q = *q](const exec::KernelArgs& args) {
    return at::fake_quantize_per_tensor_affine(args.inputs[0], q.scale, q.zero_point, 0, 255);
  }};
}

}  // namespace

ir::OpDef FakeQuantizeOp() {
  ir::OpDef d = SimpleOp("fake_quantize", ir::ChannelRelation::kPassThrough);
  d.infer_shape = InferQuantize;
  d.bind_kernel = BindFakeQuantize;
  return d;
}

ir::OpDef QuantizeOp() {
  ir::OpDef d = SimpleOp("quantize", ir::ChannelRelation::kPassThrough);
  d.infer_shape = InferQuantize;
  d.bind_kernel = BindQuantize;
  return d;
}

ir::OpDef DequantizeOp() {
  ir::OpDef d = SimpleOp("dequantize", ir::ChannelRelation::kPassThrough);
  d.bind_kernel = BindDequantize;
  return d;
}

}  // namespace hadmc::ops
