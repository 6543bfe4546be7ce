#include "hadmc/exec/low_precision.h"

#include <ATen/ATen.h>

namespace hadmc::exec {
namespace {

int64_t RowLength(const std::vector<int64_t>& shape) {
  int64_t k = 1;
  for (size_t i = 1; i < shape.size(); ++i) k *= shape[i];
  return k;
}

}  // namespace

at::Tensor PackInt4(const at::Tensor& codes) {
  TORCH_CHECK(codes.dim() >= 1 && codes.scalar_type() == at::kChar, "PackInt4 takes int8 codes");
  const int64_t rows = codes.size(0);
  at::Tensor flat = codes.reshape({rows, -1});
  const int64_t k = flat.size(1);
  if (k % 2 != 0) flat = at::constant_pad_nd(flat, {0, 1}, 0);
  // Two's-complement nibbles: code & 0xF.
  at::Tensor nibbles = at::bitwise_and(flat.to(at::kShort), 0xF).to(at::kByte).reshape({rows, -1, 2});
  at::Tensor low = nibbles.select(2, 0);
  at::Tensor high = nibbles.select(2, 1);
  return at::bitwise_or(low, at::bitwise_left_shift(high, 4)).contiguous();
}

Result<at::Tensor> UnpackInt4(const at::Tensor& packed, const std::vector<int64_t>& shape) {
  if (shape.empty() || !packed.defined() || packed.scalar_type() != at::kByte || packed.dim() != 2)
    return MakeError(Errc::kInvalidArgument, "packed int4 weights must be U8 [O, ceil(K/2)]");
  const int64_t k = RowLength(shape);
  if (packed.size(0) != shape[0] || packed.size(1) != (k + 1) / 2)
    return MakeError(Errc::kShapeMismatch,
                     "packed int4 weights are " + ir::ShapeString(packed.sizes().vec()) + " but " +
                         ir::ShapeString(shape) + " needs [" + std::to_string(shape[0]) + "," +
                         std::to_string((k + 1) / 2) + "]");
  at::Tensor bytes = packed.to(at::kShort);
  at::Tensor low = at::bitwise_and(bytes, 0xF);
  at::Tensor high = at::bitwise_right_shift(bytes, 4);
  at::Tensor nibbles = at::stack({low, high}, 2).reshape({shape[0], -1}).narrow(1, 0, k);
  // Sign-extend 4-bit two's complement: values >= 8 are negative.
  at::Tensor codes = at::where(nibbles >= 8, nibbles - 16, nibbles).to(at::kChar);
  return codes.reshape(shape).contiguous();
}

std::pair<at::Tensor, at::Tensor> QuantizePerChannel(const at::Tensor& weight, double qmax) {
  at::Tensor w = weight.detach().to(at::kFloat);
  at::Tensor flat = w.reshape({w.size(0), -1});
  at::Tensor scale = (flat.abs().amax(1) / qmax).clamp_min(1e-12);
  at::Tensor codes = (flat / scale.unsqueeze(1)).round().clamp(-qmax, qmax).to(at::kChar);
  return {codes.reshape(w.sizes()).contiguous(), scale.contiguous()};
}

std::pair<at::Tensor, at::Tensor> QuantizeInt4(const at::Tensor& weight) {
  auto [codes, scale] = QuantizePerChannel(weight, 7.0);
  return {PackInt4(codes), scale};
}

Result<at::Tensor> DequantizeWeight(const ir::Node& n, const at::Tensor& weight,
                                    const at::Tensor& scale) {
  const std::string where = ir::PrecisionName(n.precision) + std::string(" node '") + n.name + "'";
  if (!weight.defined()) return MakeError(Errc::kInvalidArgument, where + " has no weight");
  if (n.precision == ir::Precision::kFp16) {
    if (weight.scalar_type() != at::kHalf && weight.scalar_type() != at::kFloat)
      return MakeError(Errc::kInvalidArgument, where + " needs an F16 weight, got " +
                                                   std::string(c10::toString(weight.scalar_type())));
    return weight.to(at::kFloat);
  }
  if (n.precision != ir::Precision::kInt4)
    return MakeError(Errc::kInvalidArgument, where + ": only fp16 and int4 weights are dequantized");
  auto shape = n.attrs.GetInts("weight_shape");
  if (!shape) return MakeError(shape.error().WithContext(where + " (packed weight)"));
  auto codes = UnpackInt4(weight, *shape);
  if (!codes) return MakeError(codes.error().WithContext(where));
  if (!scale.defined() || scale.dim() != 1 || scale.size(0) != (*shape)[0])
    return MakeError(Errc::kInvalidArgument,
                     where + " needs weight_scale [" + std::to_string((*shape)[0]) + "]");
  std::vector<int64_t> bshape(shape->size(), 1);
  bshape[0] = -1;
  return codes->to(at::kFloat) * scale.to(at::kFloat).view(bshape);
}

}  // namespace hadmc::exec
