// linear: x [N, ..., F], weight [O, F], optional bias [O] -> [N, ..., O]; fused activation.
#include <ATen/ATen.h>

#include "int8_support.h"
#include "op_helpers.h"

namespace hadmc::ops {
namespace {

Result<ir::Shape> InferLinear(const ir::Node& n, const std::vector<ir::Shape>& inputs,
                              const ir::ParamShapes& params) {
  HADMC_TRY(GetActivation(n.attrs, /*allow_relu6=*/true));
  const ir::Shape& x = inputs[0];
  HADMC_TRY(CheckMinRank(x, 2, "input"));
  const ir::Shape* w = FindParam(params, "weight");
  if (!w) return MakeError(Errc::kInvalidArgument, "missing parameter 'weight'");
  if (w->size() != 2 || (*w)[0] < 1 || (*w)[1] < 1)
    return MakeError(Errc::kShapeMismatch,
                     "weight must be 2-D [out_features, in_features] "
                     "with positive dims, got " +
                         ir::ShapeString(*w));
  const int64_t in_features = x.back(), out_features = (*w)[0];
  if (Known(in_features) && in_features != (*w)[1])
    return MakeError(Errc::kShapeMismatch, "input has " + std::to_string(in_features) +
                                               " features (last dim of " + ir::ShapeString(x) +
                                               ") but weight expects " + std::to_string((*w)[1]) +
                                               " (weight " + ir::ShapeString(*w) + ")");
  HADMC_TRY(CheckVectorParam(params, "bias", out_features, "out_features, weight dim 0"));
  ir::Shape out = x;
  out.back() = out_features;
  return out;
}

int64_t LinearMacs(const ir::Node&, const std::vector<ir::Shape>& inputs, const ir::Shape&,
                   const ir::ParamShapes& params) {
  const ir::Shape* w = FindParam(params, "weight");
  if (!w || w->size() != 2 || inputs.empty() || inputs[0].size() < 2) return 0;
  const int64_t rows = DimProduct(inputs[0], 1, inputs[0].size() - 1);  // per sample
  if (rows < 0) return -1;
  return rows * (*w)[0] * (*w)[1];
}

Result<exec::BoundKernel> BindLinear(const ir::Node& n) {
  auto act = GetActivation(n.attrs, /*allow_relu6=*/true);
  if (!act) return MakeError(act.error());
  auto fake_quant = GetWeightFakeQuant(n.attrs);
  if (!fake_quant) return MakeError(fake_quant.error());
  return exec::BoundKernel{[act = *act, qmax = *fake_quant](const exec::KernelArgs& args) {
    const at::Tensor& w = args.params[0];
    at::Tensor y = at::linear(args.inputs[0], qmax > 0 ? FakeQuantWeight(w, qmax) : w,
                              args.params[1]);
    return ApplyActivation(std::move(y), act, args.training);
  }};
}

// Int8 on [N, F] inputs: quantized::linear(_relu); relu6 through the output range (see conv2d).
Result<exec::BoundKernel> BindLinearInt8(const ir::Node& n, const at::Tensor* params) {
  auto act = GetActivation(n.attrs, /*allow_relu6=*/true);
  if (!act) return MakeError(act.error());
  auto out = GetOutputQuant(n.attrs);
  if (!out) return MakeError(out.error());
  auto w = PerChannelWeight(n, params[0], params[2]);
  if (!w) return MakeError(w.error());
  c10::IValue packed;
  try {
    packed = CallQuantizedOp("quantized::linear_prepack", "",
                             {*w, c10::optional<at::Tensor>(params[1])});
  } catch (const std::exception& e) {
    return MakeError(Errc::kUnsupported, std::string("prepacking int8 linear weights: ") + e.what());
  }
  const char* op = *act == Activation::kRelu ? "quantized::linear_relu" : "quantized::linear";
  return exec::BoundKernel{[packed, op, q = *out](const exec::KernelArgs& args) {
    return CallQuantizedOp(op, "", {args.inputs[0], packed, q.scale, q.zero_point}).toTensor();
  }};
}

}  // namespace

ir::OpDef LinearOp() {
  ir::OpDef d;
  d.name = "linear";
  d.params = {{"weight", true, true}, {"bias", false, true}, {"weight_scale", false, false}};
  d.channel_relation = [](const ir::Node&, const ir::ParamShapes&) {
    return ir::ChannelRelation::kProducer;
  };
  d.infer_shape = InferLinear;
  d.macs = LinearMacs;
  d.bind_kernel = BindLinear;
  d.bind_int8_kernel = BindLinearInt8;
  return d;
}

}  // namespace hadmc::ops
