// Channel scores for pruning: first-order Taylor (gradient sensitivity, the HAD-MC criterion)
// and L1 norm (the usual data-free baseline).
#include <ATen/ATen.h>
#include <torch/torch.h>

#include "hadmc/compress/prune_channels.h"
#include "hadmc/exec/executor.h"

namespace hadmc::compress {
namespace {

// Sums `t`'s magnitude per channel of a slice: channel i covers indices
// [offset + i*stride, offset + (i+1)*stride) of dimension `dim`.
at::Tensor SlicePerChannel(const at::Tensor& t, const ChannelSlice& s, int64_t channels) {
  at::Tensor part = t.narrow(s.dim, s.offset, channels * s.stride).abs();
  part = part.transpose(0, s.dim).reshape({channels, -1});
  return part.sum(1).to(at::kDouble);
}

}  // namespace

Result<Importance> ParseImportance(const std::string& s) {
  if (s == "taylor") return Importance::kTaylor;
  if (s == "l1") return Importance::kL1;
  return MakeError(Errc::kInvalidArgument,
                   "unknown importance '" + s + "' (expected taylor or l1)");
}

Result<std::vector<at::Tensor>> ScoreChannels(const model::Model& m,
                                              const std::vector<DependencyGroup>& groups,
                                              Importance importance, const CalibrationSet& calib) {
  std::vector<at::Tensor> scores(groups.size());
  if (importance == Importance::kL1) {
    at::NoGradGuard no_grad;
    for (size_t g = 0; g < groups.size(); ++g) {
      if (!groups[g].prunable()) continue;
      scores[g] = at::zeros({groups[g].channels}, at::kDouble);
      for (const ChannelSlice& s : groups[g].slices)
        if (s.trainable)
          scores[g] += SlicePerChannel(m.tensors.at(s.param), s, groups[g].channels);
    }
    return scores;
  }

  if (calib.empty())
    return MakeError(Errc::kInvalidArgument, "Taylor importance needs calibration batches");
  // Gradients through a private copy, so the caller's tensors never get requires_grad or .grad.
  model::Model work = model::Clone(m);
  auto ex = exec::Executor::Create(work.graph, work.tensors);
  if (!ex) return MakeError(ex.error().WithContext("scoring channels"));
  ex->EnableGrad(true);
  const auto names = ex->TrainableParameterNames();
  const auto params = ex->TrainableParameters();
  std::map<std::string, at::Tensor> by_name;
  for (size_t i = 0; i < names.size(); ++i) by_name[names[i]] = params[i];
  for (size_t g = 0; g < groups.size(); ++g)
    if (groups[g].prunable()) scores[g] = at::zeros({groups[g].channels}, at::kDouble);

  for (const auto& [x, y] : calib) {
    // Eval mode: BN uses its running statistics, as the deployed model will; no stat updates.
    auto logits = ex->Run(x, exec::Mode::kEval);
    if (!logits) return MakeError(logits.error().WithContext("scoring channels"));
    at::Tensor loss = torch::nn::functional::cross_entropy(*logits, y);
    for (auto& p : params)
      if (p.grad().defined()) p.mutable_grad().zero_();
    loss.backward();
    at::NoGradGuard no_grad;
    for (size_t g = 0; g < groups.size(); ++g) {
      if (!groups[g].prunable()) continue;
      for (const ChannelSlice& s : groups[g].slices) {
        auto it = by_name.find(s.param);
        if (it == by_name.end() || !it->second.grad().defined()) continue;  // BN statistics
        scores[g] += SlicePerChannel(it->second * it->second.grad(), s, groups[g].channels);
      }
    }
  }
  ex->EnableGrad(false);
  return scores;
}

}  // namespace hadmc::compress
