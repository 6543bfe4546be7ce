// conv2d -> batch_norm (eval statistics) becomes one conv2d:
//   W' = W * gamma / sqrt(var + eps)   (per output channel)
//   b' = (b - mean) * gamma / sqrt(var + eps) + beta
#include <ATen/ATen.h>

#include "hadmc/compress/graph_edit.h"
#include "hadmc/compress/pass_registry.h"
#include "hadmc/ir/ops.h"

namespace hadmc::compress {
namespace {

std::vector<std::string> FindConvBn(const ir::Graph& g, const char* producer_op) {
  std::vector<std::string> matches;
  for (const ir::Node& n : g.nodes) {
    if (n.op != "batch_norm") continue;
    const ir::Node* p = g.Producer(n.inputs[0]);
    if (!p || p->op != producer_op || p->precision != ir::Precision::kFp32) continue;
    // A fused activation would sit between the conv and the BN: not foldable.
    auto act = p->attrs.GetString("activation", "none");
    if (!act || *act != "none") continue;
    if (!HasSoleConsumer(g, p->output())) continue;
    matches.push_back(p->name);
  }
  return matches;
}

}  // namespace

// Shared with fuse_linear_batchnorm.cpp: folds the BN after `producer` (conv2d or linear) into
// its weight (dim 0 = output channels) and bias.
Result<int> FoldBatchNorms(model::Model& m, const char* producer_op) {
  int folded = 0;
  for (const std::string& name : FindConvBn(m.graph, producer_op)) {
    ir::Node* p = m.graph.FindNode(name);
    const ir::Node* bn = m.graph.Consumers(p->output()).at(0);
    auto eps = bn->attrs.GetFloat("eps", 1e-5);
    if (!eps) return MakeError(eps.error().WithContext("node '" + bn->name + "'"));
    at::Tensor gamma = ParamOf(m, *bn, "weight"), beta = ParamOf(m, *bn, "bias");
    at::Tensor mean = ParamOf(m, *bn, "running_mean"), var = ParamOf(m, *bn, "running_var");
    at::Tensor w = ParamOf(m, *p, "weight");
    at::Tensor b = ParamOf(m, *p, "bias");
    // Fold in double precision: the error bound of the fused graph is 1e-5 absolute.
    at::Tensor inv_std = (var.to(at::kDouble) + *eps).rsqrt() * gamma.to(at::kDouble);
    std::vector<int64_t> bshape(w.dim(), 1);
    bshape[0] = -1;
    at::Tensor w2 = (w.to(at::kDouble) * inv_std.view(bshape)).to(w.scalar_type());
    at::Tensor b0 = b.defined() ? b.to(at::kDouble) : at::zeros_like(mean, at::kDouble);
    at::Tensor b2 = ((b0 - mean.to(at::kDouble)) * inv_std + beta.to(at::kDouble)).to(w.scalar_type());
    const std::string bias_name = p->params.count("bias") ? p->params.at("bias") : p->name + ".bias";
    SetParam(m, p->params.at("weight"), w2.contiguous());
    SetParam(m, bias_name, b2.contiguous());
    p->params["bias"] = bias_name;
    AbsorbNode(m.graph, p->name, bn->name);
    ++folded;
  }
  DropUnusedParams(m);
  return folded;
}

GraphPass FuseConvBatchNormPass() {
  return {"fuse_conv_batchnorm", "fold batch_norm into the conv2d before it",
          [](const ir::Graph& g) { return FindConvBn(g, "conv2d"); },
          [](model::Model& m) { return FoldBatchNorms(m, "conv2d"); }};
}

// Exposed for fuse_linear_batchnorm.cpp.
std::vector<std::string> FindProducerBatchNorm(const ir::Graph& g, const char* producer_op) {
  return FindConvBn(g, producer_op);
}

}  // namespace hadmc::compress
