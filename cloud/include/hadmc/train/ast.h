// Adaptive sparse training (options in ast_options.h): a TrainStep that wraps another step (plain
// cross-entropy, or distillation) and hands it only the significant samples of each batch.
//
// Cost per batch of N samples at activation rate r, counting a forward pass as 1 and a backward
// pass as 2: 1 (no-grad scoring of all N, in inference mode) + 3r (training the active ones)
// instead of 3, so the best possible speed-up is 3 / (1 + 3r): 1.58x at r = 0.3. The reported
// train loss and accuracy of an AST epoch come from the scoring pass (inference-mode batch norm,
// all samples), not from the training forward of the active samples.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"
#include "hadmc/train/ast_options.h"
#include "hadmc/train/train_step.h"

namespace hadmc::train {

// The threshold's PI controller (torch-free):
//   rate_s <- (1 - smoothing) * rate_s + smoothing * rate      (starts at the target)
//   e = rate_s - target;  integral <- integral + e  (anti-windup: not while the output is pinned
//   at a bound and e pushes further; |integral| <= integral_limit)
//   threshold = clamp(base + g * (kp * e + ki * integral), lower, upper)
// with g in [0, 1] the gain warm-up factor given to Update.
class ThresholdController {
 public:
  ThresholdController(const AstOptions& o, double lower = 0.0, double upper = 1e6,
                      double integral_limit = 1e4);
  // Sets the base threshold and clears the integral and the smoothed rate.
  void Start(double base_threshold);
  bool started() const { return started_; }
  // Feeds one batch's activation rate in [0, 1]; returns the threshold for the next batch.
  double Update(double rate, double gain = 1.0);
  double threshold() const { return threshold_; }
  double smoothed_rate() const { return smoothed_; }
  double integral() const { return integral_; }

  nlohmann::json Save() const;
  Status Load(const nlohmann::json& j);

 private:
  AstOptions o_;
  double lower_, upper_, integral_limit_;
  bool started_ = false;
  double base_ = 0, threshold_ = 0, smoothed_ = 0, integral_ = 0;
};

// Per-sample significance (no grad): cross-entropy(logits_i, label_i) + w * entropy(p_i). [N]
at::Tensor Significance(const at::Tensor& logits, const at::Tensor& labels, double entropy_weight);

// Weight of each batch's mean significance in the running mean that significance is divided by.
constexpr double kSignificanceScaleSmoothing = 0.05;

// Positions (int64, ascending) of the samples with score > threshold, or of the `min_active`
// highest scores when fewer pass (all of them when min_active >= N). With multiple > 1 the count
// is then rounded up to a multiple of it (at most N) by taking the next highest scores.
at::Tensor SelectActive(const at::Tensor& scores, double threshold, int64_t min_active,
                        int64_t multiple = 1);

// The minimum active count for a batch of n: max(2, ceil(min_active_fraction * n)), at most n.
int64_t MinActive(const AstOptions& o, int64_t n);

// Wraps `inner` (which receives sub-batches of active samples).
// EpochStats adds activation_rate, threshold (end of epoch, relative significance),
// threshold_mean, significance_scale (the running mean the scores are divided by),
// smoothed_rate, ast_active (bool: AST ran this epoch) and a per-step trace (every `trace_every`
// steps: {"step", "rate", "threshold"}).
std::unique_ptr<TrainStep> MakeAstStep(std::unique_ptr<TrainStep> inner,
                                       const TrainStepContext& context, const AstOptions& o,
                                       int64_t trace_every = 10);

}  // namespace hadmc::train
