// Options of adaptive sparse training (AST), kept torch-free so recipes and the CLI can parse and
// check them without LibTorch. The step itself is in ast.h.
//
// Significance of a sample = cross-entropy + entropy_weight * entropy(softmax(logits)), from a
// no-grad forward pass over the whole batch, divided by a running mean of the batches'
// significance (so the threshold does not depend on the loss's scale, which shrinks several-fold
// during training). The samples above the threshold are the active set and only they are run
// forward again with autograd and back-propagated. A PI controller moves the threshold so the
// (smoothed) share of active samples tracks target_rate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"

namespace hadmc::train {

struct AstOptions {
  bool enabled = false;
  double target_rate = 0.3;     // share of samples to back-propagate, in (0, 1]
  double entropy_weight = 0.5;  // significance = loss + w * entropy (nats)
  // Controller gains, in units of the relative significance per unit of rate error (and per step
  // for ki):  threshold = base + kp * e + ki * sum(e),  e = smoothed_rate - target_rate,
  // where base is the first AST batch's (1 - target_rate) quantile of relative significance.
  double kp = 1.0;
  double ki = 0.05;
  double smoothing = 0.2;  // EMA weight of the newest batch's activation rate, in (0, 1]
  // Full-data epochs before AST starts (the controller starts with the next epoch).
  int64_t warmup_epochs = 0;
  // > 0: kp and ki ramp linearly from 0 to their value over this many AST epochs.
  double gain_warmup_epochs = 0;
  // Top-k floor: at least max(2, ceil(min_active_fraction * batch)) samples are back-propagated,
  // the most significant ones, whatever the threshold says.
  double min_active_fraction = 0.05;
  // The active count is rounded up to a multiple of this (with the next most significant
  // samples), at most the batch. The CPU's convolution kernels (oneDNN) are generated and cached
  // per input shape, and an active set whose size wanders over ~40 values every step evicts them
  // from the cache: resnet8's AST step measured 63 ms with re-generated kernels against 52 ms
  // for the same work at a fixed size (docs/benchmarks.md). 1 = no rounding.
  int64_t active_multiple = 8;
  // The loss back-propagated for an active sub-batch of k out of n:
  //   kActive: the mean over the k active samples (each step as large as a full batch's);
  //   kBatch:  the sum over the k divided by n: the gradient of the whole batch's mean loss with
  //            the inactive samples' terms at 0 (steps shrink with the activation rate).
  enum class Loss { kActive, kBatch };
  Loss loss = Loss::kActive;
  // 0: each batch's active samples are trained at once, as a sub-batch of that batch. n > 0: the
  // active samples of successive batches are gathered and trained n at a time (every training
  // step then has exactly n samples; active_multiple no longer applies). A small active sub-batch
  // runs a net's kernels far below their full-batch efficiency (ResNet-18 at 28x28 trains 38
  // samples in 0.37 of the time of 128), so gathering them to a full batch saves that. With the
  // loss kBatch each sample then weighs 1 / (the batch size), as in its own batch's mean loss
  // (the batches' kBatch gradients accumulated): at n = the batch size that is kActive. Samples still
  // gathered when the run ends (fewer than n) are not trained, and a resumed run starts with
  // none gathered.
  int64_t train_batch = 0;
  // The scoring pass's arithmetic. kBf16 scores with a bfloat16 copy of the model (weights and
  // batch-norm statistics copied and cast again whenever a training step has changed them,
  // 1.2 ms for ResNet-18) and casts the logits back to fp32 for the significance. On a CPU with
  // AVX512-BF16 ResNet-18's pass takes ~0.8 of the fp32 time; elsewhere bf16 may be slower than
  // fp32. bf16 keeps fp32's range with 8 bits of mantissa: a sample's significance moves by
  // ~1%, which moves only samples right at the threshold across it. A graph with fp16, int4 or
  // int8 nodes is scored in fp32 (with a warning).
  enum class ScorePrecision { kFp32, kBf16 };
  ScorePrecision score_precision = ScorePrecision::kFp32;
};

// "active" / "batch", and back (nullopt for any other name).
const char* LossName(AstOptions::Loss l);
std::optional<AstOptions::Loss> LossFromName(const std::string& name);
// "fp32" / "bf16", and back.
const char* ScorePrecisionName(AstOptions::ScorePrecision p);
std::optional<AstOptions::ScorePrecision> ScorePrecisionFromName(const std::string& name);

// Errors name the option, as the CLI and recipe spell it (--ast-target / ast_target, ...).
Status ValidateAstOptions(const AstOptions& o);

// Flat recipe keys: ast (bool), ast_target, ast_entropy_weight, ast_kp, ast_ki, ast_smoothing,
// ast_warmup_epochs, ast_gain_warmup_epochs, ast_min_active, ast_active_multiple,
// ast_loss ("active" or "batch"), ast_train_batch, ast_score_precision ("fp32" or "bf16").
// ToJson writes all of them.
nlohmann::json AstOptionsToJson(const AstOptions& o);
// Reads the keys `j` has over `defaults` (other keys are ignored: the caller checks unknown
// keys); a wrong type or range is an error naming the key.
Result<AstOptions> AstOptionsFromJson(const nlohmann::json& j, const AstOptions& defaults = {});
// The recipe keys above, for callers that reject unknown keys.
const std::vector<const char*>& AstRecipeKeys();

}  // namespace hadmc::train
