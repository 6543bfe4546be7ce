#include "hadmc/compress/pass_registry.h"

namespace hadmc::compress {

const std::vector<GraphPass>& FusionPasses() {
  static const std::vector<GraphPass> passes = {
      // Identities first: they would otherwise sit between a conv and its BN and hide the match.
      RemoveIdentityPass(),
      // BN folds before activations: Conv-BN-ReLU becomes Conv-ReLU, which the next pass fuses;
      // the other order would leave the BN between conv and relu and match nothing.
      FuseConvBatchNormPass(),
      FuseLinearBatchNormPass(),
      // Last: relu/relu6 into the conv, linear or add that produces their input (these are the
      // kernels that have fused-activation variants, fp32 and int8 alike).
      FuseActivationPass(),
  };
  return passes;
}

const GraphPass* FindPass(const std::string& name) {
  for (const GraphPass& p : FusionPasses())
    if (name == p.name) return &p;
  return nullptr;
}

Result<std::vector<PassRun>> RunFusion(model::Model& m, const std::set<std::string>& disabled) {
  for (const std::string& name : disabled)
    if (!FindPass(name)) return MakeError(Errc::kInvalidArgument, "no pass named '" + name + "'");
  std::vector<PassRun> runs;
  for (const GraphPass& p : FusionPasses()) {
    if (disabled.count(p.name)) continue;
    auto n = p.apply(m);
    if (!n) return MakeError(n.error().WithContext(std::string("pass ") + p.name));
    runs.push_back({p.name, *n});
  }
  HADMC_TRY_CTX(model::CheckConsistent(m), "after fusion");
  return runs;
}

}  // namespace hadmc::compress
