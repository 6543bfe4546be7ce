// Ops that move values without computing new ones: flatten and upsample (nearest / bilinear).
#include <ATen/ATen.h>

#include <cmath>

#include "op_helpers.h"

namespace hadmc::ops {
namespace {

Result<ir::Shape> InferFlatten(const ir::Node& n, const std::vector<ir::Shape>& inputs,
                               const ir::ParamShapes&) {
  auto start_attr = n.attrs.GetInt("start_dim", 1);
  if (!start_attr) return MakeError(start_attr.error());
  const ir::Shape& x = inputs[0];
  HADMC_TRY(CheckMinRank(x, 1, "input"));
  auto start = NormalizeDim(*start_attr, x.size(), "start_dim");
  if (!start) return MakeError(start.error());
  ir::Shape out(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(*start));
  out.push_back(DimProduct(x, *start, x.size()));
  return out;
}

Result<exec::BoundKernel> BindFlatten(const ir::Node& n) {
  auto start = n.attrs.GetInt("start_dim", 1);
  if (!start) return MakeError(start.error());
  return exec::BoundKernel{[start = *start](const exec::KernelArgs& args) {
    return at::flatten(args.inputs[0], start, -1);
  }};
}

struct UpsampleAttrs {
  bool has_size = false;          // size given (else scale)
  Pair size{0, 0};                // [h, w]
  std::array<double, 2> scale{};  // [sh, sw]
  bool bilinear = false;
  bool align_corners = false;
};

Result<UpsampleAttrs> ParseUpsampleAttrs(const ir::Attributes& a) {
  UpsampleAttrs u;
  u.has_size = a.Has("size");
  if (u.has_size == a.Has("scale"))
    return MakeError(Errc::kInvalidArgument,
                     "upsample needs exactly one of the attributes 'scale' [sh,sw] and "
                     "'size' [h,w], got " +
                         std::string(u.has_size ? "both" : "neither"));
  if (u.has_size) {
    auto size = GetPair(a, "size", std::nullopt, 1);
    if (!size) return MakeError(size.error());
    u.size = *size;
  } else {
    auto scale = GetPositiveFloatPair(a, "scale");
    if (!scale) return MakeError(scale.error());
    u.scale = *scale;
  }
  auto mode = GetChoice(a, "mode", "nearest", {"nearest", "bilinear"});
  if (!mode) return MakeError(mode.error());
  u.bilinear = *mode == "bilinear";
  auto align = GetFlag(a, "align_corners", false);
  if (!align) return MakeError(align.error());
  if (*align && !u.bilinear)
    return MakeError(Errc::kInvalidArgument,
                     "attribute 'align_corners' = 1 needs mode 'bilinear', mode is 'nearest'");
  u.align_corners = *align;
  return u;
}

Result<ir::Shape> InferUpsample(const ir::Node& n, const std::vector<ir::Shape>& inputs,
                                const ir::ParamShapes&) {
  auto u = ParseUpsampleAttrs(n.attrs);
  if (!u) return MakeError(u.error());
  const ir::Shape& x = inputs[0];
  HADMC_TRY(CheckRank(x, 4, "input", "[N,C,H,W]"));
  if (u->has_size) return ir::Shape{x[0], x[1], u->size[0], u->size[1]};
  ir::Shape out = x;
  for (int i = 0; i < 2; ++i) {
    const int64_t in = x[2 + i];
    if (!Known(in)) continue;
    // ATen's output size for a scale factor: floor(input * scale).
    out[2 + i] = static_cast<int64_t>(std::floor(static_cast<double>(in) * u->scale[i]));
    if (out[2 + i] < 1)
      return MakeError(Errc::kShapeMismatch,
                       std::string(i == 0 ? "height" : "width") + ": input " + std::to_string(in) +
                           " scaled by " + std::to_string(u->scale[i]) + " gives an empty output");
  }
  return out;
}

Result<exec::BoundKernel> BindUpsample(const ir::Node& n) {
  auto parsed = ParseUpsampleAttrs(n.attrs);
  if (!parsed) return MakeError(parsed.error());
  // Passing the scale (not a precomputed size) keeps ATen's source-index mapping identical to
  // torch.nn.functional.interpolate(scale_factor=...), and works for any input size.
  return exec::BoundKernel{[u = *parsed](const exec::KernelArgs& args) {
    at::OptionalIntArrayRef size;
    c10::optional<at::ArrayRef<double>> scale;
    if (u.has_size) {
      size = at::IntArrayRef(u.size);
    } else {
      scale = at::ArrayRef<double>(u.scale);
    }
    if (u.bilinear) return at::upsample_bilinear2d(args.inputs[0], size, u.align_corners, scale);
    return at::upsample_nearest2d(args.inputs[0], size, scale);
  }};
}

}  // namespace

ir::OpDef FlattenOp() {
  ir::OpDef d = SimpleOp("flatten", ir::ChannelRelation::kFlatten);
  d.infer_shape = InferFlatten;
  d.bind_kernel = BindFlatten;
  return d;
}

ir::OpDef UpsampleOp() {
  ir::OpDef d = SimpleOp("upsample", ir::ChannelRelation::kPassThrough);
  d.infer_shape = InferUpsample;
  d.bind_kernel = BindUpsample;
  return d;
}

}  // namespace hadmc::ops
