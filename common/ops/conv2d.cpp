// conv2d: x [N,C,H,W], weight [O, C/groups, kh, kw], optional bias [O]; fused activation.
#include <ATen/ATen.h>

#include "int8_support.h"
#include "op_helpers.h"

namespace hadmc::ops {
namespace {

struct ConvAttrs {
  Pair stride, padding, dilation;
  int64_t groups = 1;
  Activation activation = Activation::kNone;
};

Result<ConvAttrs> ParseConvAttrs(const ir::Attributes& a) {
  ConvAttrs c;
  auto stride = GetPair(a, "stride", Pair{1, 1}, 1);
  if (!stride) return MakeError(stride.error());
  auto padding = GetPair(a, "padding", Pair{0, 0}, 0);
  if (!padding) return MakeError(padding.error());
  auto dilation = GetPair(a, "dilation", Pair{1, 1}, 1);
  if (!dilation) return MakeError(dilation.error());
  auto groups = a.GetInt("groups", 1);
  if (!groups) return MakeError(groups.error());
  if (*groups < 1)
    return MakeError(Errc::kInvalidArgument,
                     "attribute 'groups' must be >= 1, got " + std::to_string(*groups));
  auto act = GetActivation(a, /*allow_relu6=*/true);
  if (!act) return MakeError(act.error());
  c.stride = *stride;
  c.padding = *padding;
  c.dilation = *dilation;
  c.groups = *groups;
  c.activation = *act;
  return c;
}

Result<ir::Shape> InferConv(const ir::Node& n, const std::vector<ir::Shape>& inputs,
                            const ir::ParamShapes& params) {
  auto attrs = ParseConvAttrs(n.attrs);
  if (!attrs) return MakeError(attrs.error());
  const ir::Shape& x = inputs[0];
  HADMC_TRY(CheckRank(x, 4, "input", "[N,C,H,W]"));
  const ir::Shape* w = FindParam(params, "weight");
  if (!w) return MakeError(Errc::kInvalidArgument, "missing parameter 'weight'");
  HADMC_TRY(CheckRank(*w, 4, "weight", "[out_channels, in_channels/groups, kh, kw]"));
  for (int64_t d : *w)
    if (d < 1)
      return MakeError(Errc::kShapeMismatch,
                       "weight shape " + ir::ShapeString(*w) + " must have positive dims");
  const int64_t groups = attrs->groups, out_ch = (*w)[0], in_per_group = (*w)[1];
  if (out_ch % groups != 0)
    return MakeError(Errc::kShapeMismatch,
                     "out_channels " + std::to_string(out_ch) +
                         " (weight dim 0) is not divisible by groups=" + std::to_string(groups));
  if (Known(x[1]) && x[1] != in_per_group * groups)
    return MakeError(Errc::kShapeMismatch,
                     "input has " + std::to_string(x[1]) + " channels but weight expects " +
                         std::to_string(in_per_group * groups) + " (in_channels/groups=" +
                         std::to_string(in_per_group) + ", groups=" + std::to_string(groups) + ")");
  HADMC_TRY(CheckVectorParam(params, "bias", out_ch, "out_channels, weight dim 0"));
  auto h = WindowOutput(x[2], (*w)[2], attrs->padding[0], attrs->stride[0], attrs->dilation[0],
                        false, "height");
  if (!h) return MakeError(h.error());
  auto wd = WindowOutput(x[3], (*w)[3], attrs->padding[1], attrs->stride[1], attrs->dilation[1],
                         false, "width");
  if (!wd) return MakeError(wd.error());
  return ir::Shape{x[0], out_ch, *h, *wd};
}

ir::ChannelRelation ConvRelation(const ir::Node& n, const ir::ParamShapes& params) {
  auto groups = n.attrs.GetInt("groups", 1);
  const int64_t g = groups ? *groups : 1;
  if (g == 1) return ir::ChannelRelation::kProducer;
  const ir::Shape* w = FindParam(params, "weight");
  if (w && w->size() == 4 && (*w)[1] == 1 && (*w)[0] == g) return ir::ChannelRelation::kDepthwise;
  return ir::ChannelRelation::kGrouped;
}

int64_t ConvMacs(const ir::Node&, const std::vector<ir::Shape>&, const ir::Shape& out,
                 const ir::ParamShapes& params) {
  const ir::Shape* w = FindParam(params, "weight");
  if (!w || w->size() != 4 || out.size() != 4) return 0;
  const int64_t spatial = DimProduct(out, 2, 4);
  if (spatial < 0) return -1;
  // Weight dim 1 is in_channels/groups: each output channel sees one group's inputs.
  return spatial * (*w)[0] * (*w)[1] * (*w)[2] * (*w)[3];
}

Result<exec::BoundKernel> BindConv(const ir::Node& n) {
  auto attrs = ParseConvAttrs(n.attrs);
  if (!attrs) return MakeError(attrs.error());
  auto fake_quant = GetWeightFakeQuant(n.attrs);
  if (!fake_quant) return MakeError(fake_quant.error());
  return exec::BoundKernel{[c = *attrs, qmax = *fake_quant](const exec::KernelArgs& args) {
    const at::Tensor& w = args.params[0];
    at::Tensor y = at::conv2d(args.inputs[0], qmax > 0 ? FakeQuantWeight(w, qmax) : w,
                              args.params[1], c.stride, c.padding, c.dilation, c.groups);
    return ApplyActivation(std::move(y), c.activation, args.training);
  }};
}

// Int8: quint8 input -> quantized::conv2d(_relu).new -> quint8 output. relu6 has no int8
// variant; it is exact through the output quantization instead (the quantize pass gives a relu6
// node the range [0, 6] with zero point 0, so the output saturates at 0 and 6).
Result<exec::BoundKernel> BindConvInt8(const ir::Node& n, const at::Tensor* params) {
  auto attrs = ParseConvAttrs(n.attrs);
  if (!attrs) return MakeError(attrs.error());
  auto out = GetOutputQuant(n.attrs);
  if (!out) return MakeError(out.error());
  auto w = PerChannelWeight(n, params[0], params[2]);
  if (!w) return MakeError(w.error());
  const ConvAttrs& c = *attrs;
  auto to_list = [](const Pair& p) { return std::vector<int64_t>{p[0], p[1]}; };
  c10::IValue packed;
  try {
    packed = CallQuantizedOp("quantized::conv2d_prepack", "",
                             {*w, c10::optional<at::Tensor>(params[1]), to_list(c.stride),
                              to_list(c.padding), to_list(c.dilation), c.groups});
  } catch (const std::exception& e) {
    return MakeError(Errc::kUnsupported, std::string("prepacking int8 conv weights: ") + e.what());
  }
  const char* op = c.activation == Activation::kRelu ? "quantized::conv2d_relu" : "quantized::conv2d";
  return exec::BoundKernel{[packed, op, q = *out](const exec::KernelArgs& args) {
    return CallQuantizedOp(op, "new", {args.inputs[0], packed, q.scale, q.zero_point}).toTensor();
  }};
}

}  // namespace

ir::OpDef Conv2dOp() {
  ir::OpDef d;
  d.name = "conv2d";
  // weight_scale: per-output-channel scales of an int8 weight (int8 nodes only).
  d.params = {{"weight", true, true}, {"bias", false, true}, {"weight_scale", false, false}};
  d.channel_relation = ConvRelation;
  d.infer_shape = InferConv;
  d.macs = ConvMacs;
  d.bind_kernel = BindConv;
  d.bind_int8_kernel = BindConvInt8;
  return d;
}

}  // namespace hadmc::ops
