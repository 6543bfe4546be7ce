// batch_norm over dim 1 of x [N,C,...]: weight, bias (trainable), running_mean, running_var
// (buffers), all [C]. Training normalizes with batch statistics and updates the running ones in
// place, as torch.nn.BatchNorm2d with a fixed momentum does.
#include <ATen/ATen.h>

#include "op_helpers.h"

namespace hadmc::ops {
namespace {

struct BatchNormAttrs {
  double eps = 1e-5;
  double momentum = 0.1;
};

Result<BatchNormAttrs> ParseBatchNormAttrs(const ir::Attributes& a) {
  auto eps = a.GetFloat("eps", 1e-5);
  if (!eps) return MakeError(eps.error());
  if (!(*eps > 0))
    return MakeError(Errc::kInvalidArgument,
                     "attribute 'eps' must be > 0, got " + std::to_string(*eps));
  auto momentum = a.GetFloat("momentum", 0.1);
  if (!momentum) return MakeError(momentum.error());
  if (!(*momentum >= 0 && *momentum <= 1))
    return MakeError(Errc::kInvalidArgument,
                     "attribute 'momentum' must be in [0, 1], got " + std::to_string(*momentum));
  return BatchNormAttrs{*eps, *momentum};
}

const char* const kSlots[] = {"weight", "bias", "running_mean", "running_var"};

Result<ir::Shape> InferBatchNorm(const ir::Node& n, const std::vector<ir::Shape>& inputs,
                                 const ir::ParamShapes& params) {
  HADMC_TRY(ParseBatchNormAttrs(n.attrs));
  const ir::Shape& x = inputs[0];
  HADMC_TRY(CheckMinRank(x, 2, "input"));
  // With unknown channels, the parameters still have to agree with each other.
  int64_t channels = x[1];
  std::string from = "input channels";
  for (const char* slot : kSlots) {
    const ir::Shape* p = FindParam(params, slot);
    if (!p)
      return MakeError(Errc::kInvalidArgument, std::string("missing parameter '") + slot + "'");
    HADMC_TRY(CheckVectorParam(params, slot, channels, from));
    if (!Known(channels)) {
      channels = (*p)[0];
      from = std::string(slot) + " shape";
    }
  }
  return x;
}

// At inference BN is one multiply-add per element (x * scale + shift).
int64_t BatchNormMacs(const ir::Node&, const std::vector<ir::Shape>&, const ir::Shape& out,
                      const ir::ParamShapes&) {
  return DimProduct(out, 1, out.size());
}

Result<exec::BoundKernel> BindBatchNorm(const ir::Node& n) {
  auto attrs = ParseBatchNormAttrs(n.attrs);
  if (!attrs) return MakeError(attrs.error());
  return exec::BoundKernel{[a = *attrs](const exec::KernelArgs& args) {
    const at::Tensor* p = args.params;
    return at::batch_norm(args.inputs[0], p[0], p[1], p[2], p[3], args.training, a.momentum, a.eps,
                          /*cudnn_enabled=*/true);
  }};
}

}  // namespace

ir::OpDef BatchNormOp() {
  ir::OpDef d = SimpleOp("batch_norm", ir::ChannelRelation::kPassThrough);
  d.params = {{"weight", true, true},
              {"bias", true, true},
              {"running_mean", true, false},
              {"running_var", true, false}};
  d.infer_shape = InferBatchNorm;
  d.macs = BatchNormMacs;
  d.bind_kernel = BindBatchNorm;
  return d;
}

}  // namespace hadmc::ops
