#include "int8_support.h"

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

namespace hadmc::ops {

c10::IValue CallQuantizedOp(const char* name, const char* overload, std::vector<c10::IValue> args) {
  const c10::OperatorHandle op = c10::Dispatcher::singleton().findSchemaOrThrow(name, overload);
  torch::jit::Stack stack(std::move(args));
  op.callBoxed(&stack);
  return std::move(stack.at(0));
}

Result<OutputQuant> GetOutputQuant(const ir::Attributes& a) {
  auto scale = a.GetFloat("out_scale");
  if (!scale) return MakeError(scale.error().WithContext("int8 node"));
  auto zp = a.GetInt("out_zero_point", 0);
  if (!zp) return MakeError(zp.error());
  if (!(*scale > 0) || *zp < 0 || *zp > 255)
    return MakeError(Errc::kInvalidArgument, "int8 output quantization needs out_scale > 0 and "
                                             "out_zero_point in [0, 255], got " +
                                                 std::to_string(*scale) + ", " + std::to_string(*zp));
  return OutputQuant{*scale, *zp};
}

Result<at::Tensor> PerChannelWeight(const ir::Node& n, const at::Tensor& weight,
                                    const at::Tensor& scales) {
  if (!weight.defined() || weight.scalar_type() != at::kChar)
    return MakeError(Errc::kInvalidArgument,
                     "int8 node '" + n.name + "' needs an I8 weight (run the quantize pass)");
  if (!scales.defined() || scales.dim() != 1 || scales.size(0) != weight.size(0))
    return MakeError(Errc::kInvalidArgument, "int8 node '" + n.name + "' needs weight_scale [" +
                                                 std::to_string(weight.size(0)) + "]");
  at::Tensor q = at::_make_per_channel_quantized_tensor(
      weight, scales.to(at::kDouble), at::zeros({weight.size(0)}, at::kLong), /*axis=*/0);
  return q;
}

}  // namespace hadmc::ops
