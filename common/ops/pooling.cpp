// 2-D pooling over x [N,C,H,W]: max_pool2d, avg_pool2d, adaptive_avg_pool2d. Channels pass
// through; output sizes follow ATen's formulas, ceil_mode included.
#include <ATen/ATen.h>

#include <cmath>
#include <exception>

#include "op_helpers.h"

namespace hadmc::ops {
namespace {

struct PoolAttrs {
  Pair kernel, stride, padding, dilation{1, 1};
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg_pool2d only
};

// `is_max` selects the attributes of max_pool2d (dilation) vs avg_pool2d (count_include_pad).
Result<PoolAttrs> ParsePoolAttrs(const ir::Attributes& a, bool is_max) {
  PoolAttrs p;
  auto kernel = GetPair(a, "kernel", std::nullopt, 1);
  if (!kernel) return MakeError(kernel.error());
  auto stride = GetPair(a, "stride", *kernel, 1);
  if (!stride) return MakeError(stride.error());
  auto padding = GetPair(a, "padding", Pair{0, 0}, 0);
  if (!padding) return MakeError(padding.error());
  for (int i = 0; i < 2; ++i)
    if ((*padding)[i] > (*kernel)[i] / 2)
      return MakeError(Errc::kInvalidArgument, "attribute 'padding' " +
                                                   ir::ShapeString({(*padding)[0], (*padding)[1]}) +
                                                   " must be at most half of the kernel " +
                                                   ir::ShapeString({(*kernel)[0], (*kernel)[1]}));
  auto ceil_mode = GetFlag(a, "ceil_mode", false);
  if (!ceil_mode) return MakeError(ceil_mode.error());
  p.kernel = *kernel;
  p.stride = *stride;
  p.padding = *padding;
  p.ceil_mode = *ceil_mode;
  if (is_max) {
    auto dilation = GetPair(a, "dilation", Pair{1, 1}, 1);
    if (!dilation) return MakeError(dilation.error());
    p.dilation = *dilation;
  } else {
    auto include = GetFlag(a, "count_include_pad", true);
    if (!include) return MakeError(include.error());
    p.count_include_pad = *include;
  }
  return p;
}

Result<ir::Shape> InferPool(const PoolAttrs& p, const ir::Shape& x) {
  HADMC_TRY(CheckRank(x, 4, "input", "[N,C,H,W]"));
  auto h = WindowOutput(x[2], p.kernel[0], p.padding[0], p.stride[0], p.dilation[0], p.ceil_mode,
                        "height");
  if (!h) return MakeError(h.error());
  auto w = WindowOutput(x[3], p.kernel[1], p.padding[1], p.stride[1], p.dilation[1], p.ceil_mode,
                        "width");
  if (!w) return MakeError(w.error());
  return ir::Shape{x[0], x[1], *h, *w};
}

Result<ir::Shape> InferMaxPool(const ir::Node& n, const std::vector<ir::Shape>& inputs,
                               const ir::ParamShapes&) {
  auto p = ParsePoolAttrs(n.attrs, /*is_max=*/true);
  if (!p) return MakeError(p.error());
  return InferPool(*p, inputs[0]);
}

Result<ir::Shape> InferAvgPool(const ir::Node& n, const std::vector<ir::Shape>& inputs,
                               const ir::ParamShapes&) {
  auto p = ParsePoolAttrs(n.attrs, /*is_max=*/false);
  if (!p) return MakeError(p.error());
  return InferPool(*p, inputs[0]);
}

// LibTorch 1.13's CPU max_pool2d always computes the argmax indices backward needs, with a
// scalar NCHW kernel: 5.4 ms for ResNet-18's stem pool on 128 Fashion-MNIST images, 15% of an
// inference pass. oneDNN's pooling, with the two layout conversions, takes 0.5 ms for the same
// result (bench/ast_step_bench, docs/benchmarks.md). It has no autograd path worth taking and no
// dilation, so it is used only where no gradient can flow: fp32 CPU tensors outside training,
// in a no-grad or inference region or on a tensor that does not require grad. oneDNN's max
// skips NaN where ATen's returns it, so an input whose sum is not finite (NaN, or inf, or an
// overflow: all rare, and ATen is right for each) takes ATen's kernel: a broken activation must
// stay visible. The sum costs 0.1 ms here; isnan().any() cost 1.2 ms.
// bf16 (AST's reduced-precision scoring pass) goes the same way where oneDNN has bf16 pooling
// on this CPU (AVX512-BW and up; ATen refuses it elsewhere): 0.55 ms against 5.8 ms.
bool MkldnnBf16PoolWorks() {
  static const bool works = [] {
    try {
      at::mkldnn_max_pool2d(at::zeros({1, 1, 2, 2}, at::kBFloat16).to_mkldnn(), {2, 2}, {2, 2},
                            {0, 0}, {1, 1}, false);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }();
  return works;
}

bool UseMkldnnMaxPool(const at::Tensor& x, const PoolAttrs& p) {
  const bool dtype_ok = x.scalar_type() == at::kFloat ||
                        (x.scalar_type() == at::kBFloat16 && MkldnnBf16PoolWorks());
  return at::hasMKLDNN() && x.device().is_cpu() && dtype_ok &&
         x.layout() == at::kStrided && p.dilation[0] == 1 && p.dilation[1] == 1 &&
         !(at::GradMode::is_enabled() && x.requires_grad()) &&
         std::isfinite(x.sum().item<float>());
}

Result<exec::BoundKernel> BindMaxPool(const ir::Node& n) {
  auto p = ParsePoolAttrs(n.attrs, /*is_max=*/true);
  if (!p) return MakeError(p.error());
  return exec::BoundKernel{[p = *p](const exec::KernelArgs& args) {
    const at::Tensor& x = args.inputs[0];
    if (!args.training && UseMkldnnMaxPool(x, p))
      return at::mkldnn_max_pool2d(x.contiguous().to_mkldnn(), p.kernel, p.stride, p.padding,
                                   p.dilation, p.ceil_mode)
          .to_dense();
    return at::max_pool2d(x, p.kernel, p.stride, p.padding, p.dilation, p.ceil_mode);
  }};
}

Result<exec::BoundKernel> BindAvgPool(const ir::Node& n) {
  auto p = ParsePoolAttrs(n.attrs, /*is_max=*/false);
  if (!p) return MakeError(p.error());
  return exec::BoundKernel{[p = *p](const exec::KernelArgs& args) {
    return at::avg_pool2d(args.inputs[0], p.kernel, p.stride, p.padding, p.ceil_mode,
                          p.count_include_pad);
  }};
}

Result<ir::Shape> InferAdaptiveAvgPool(const ir::Node& n, const std::vector<ir::Shape>& inputs,
                                       const ir::ParamShapes&) {
  auto size = GetPair(n.attrs, "output_size", std::nullopt, 1);
  if (!size) return MakeError(size.error());
  const ir::Shape& x = inputs[0];
  HADMC_TRY(CheckRank(x, 4, "input", "[N,C,H,W]"));
  if (x[2] == 0 || x[3] == 0)
    return MakeError(Errc::kShapeMismatch,
                     "input " + ir::ShapeString(x) + " has an empty spatial dimension");
  return ir::Shape{x[0], x[1], (*size)[0], (*size)[1]};
}

Result<exec::BoundKernel> BindAdaptiveAvgPool(const ir::Node& n) {
  auto size = GetPair(n.attrs, "output_size", std::nullopt, 1);
  if (!size) return MakeError(size.error());
  return exec::BoundKernel{[size = *size](const exec::KernelArgs& args) {
    return at::adaptive_avg_pool2d(args.inputs[0], size);
  }};
}

ir::OpDef Pool(const std::string& name, decltype(ir::OpDef::infer_shape) infer,
               Result<exec::BoundKernel> (*bind)(const ir::Node&)) {
  ir::OpDef d = SimpleOp(name, ir::ChannelRelation::kPassThrough);
  d.infer_shape = std::move(infer);
  d.bind_kernel = bind;
  return d;
}

}  // namespace

ir::OpDef MaxPool2dOp() { return Pool("max_pool2d", InferMaxPool, BindMaxPool); }
ir::OpDef AvgPool2dOp() { return Pool("avg_pool2d", InferAvgPool, BindAvgPool); }
ir::OpDef AdaptiveAvgPool2dOp() {
  return Pool("adaptive_avg_pool2d", InferAdaptiveAvgPool, BindAdaptiveAvgPool);
}

}  // namespace hadmc::ops
