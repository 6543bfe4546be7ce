// Turns a policy into a compressed model and its objectives, fast enough for hundreds of search
// episodes: prune each group by its ratio (kept channels rounded up to the target's channel step
// for the layer's precision) -> recalibrate batch norm on a few hundred training images (the
// proxy for fine-tuning) -> fuse -> int8 (bits 8, real kernels) and fp16/int4 weight storage
// (bits 16/4) -> accuracy on a held-out split of the TRAINING set (never the test set) ->
// latency from the target's LUT (roofline fallback, flagged), size from the serialized weights,
// energy as latency x the profile's TDP (an estimate, labelled so). Evaluations are cached by
// policy hash. The optional fine-tune (one epoch of distillation from the base model, with AST
// when the recipe enables it) is for the final policy or a search that can afford it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"
#include "hadmc/data/dataset.h"
#include "hadmc/hal/lut.h"
#include "hadmc/hal/profile.h"
#include "hadmc/model/model.h"
#include "hadmc/search/pareto.h"
#include "hadmc/search/policy.h"
#include "hadmc/search/search_space.h"
#include "hadmc/train/train_options.h"

namespace hadmc::search {

struct EvaluatorOptions {
  hal::HardwareProfile profile;  // the target device class
  hal::LatencyLut lut;           // its rows (may be empty: roofline for every kernel)
  int64_t batch = 1;             // latency batch
  int64_t recalibration_samples = 512;
  int64_t proxy_samples = 2000;  // held-out training images for the accuracy proxy
  uint64_t seed = 0;
  bool finetune = false;             // one epoch of distillation before measuring accuracy
  train::TrainOptions finetune_options;  // epochs, lr, batch, AST, ... of that fine-tune
};

struct Evaluation {
  std::string policy_hash;
  Objectives objectives;
  double proxy_accuracy = 0;    // = objectives.accuracy
  bool latency_estimated = false;  // some kernel fell back to the roofline (no LUT row)
  int lut_exact = 0, lut_neighbour = 0, lut_roofline = 0;
  bool energy_measured = false;    // always false here: latency x TDP
  nlohmann::json per_layer;        // kept channels and precision per layer
  double seconds = 0;              // wall time of this evaluation
  bool cached = false;
};

// AdaBN / EagleEye's proxy for fine-tuning after pruning: every batch_norm node's running
// statistics recomputed from `m`'s own activations on `batches` (normalized model inputs), in
// place. With one batch they become exactly that batch's statistics (the mean and the unbiased
// variance training-mode batch norm records); with several, their average over the batches.
// Other tensors are unchanged. Run it on the unfused model (after fusion there is no BN left).
// Errors: no batches, a failing forward pass.
Status RecalibrateBatchNorm(model::Model& m, const std::vector<at::Tensor>& batches);

class PolicyEvaluator {
 public:
  // `train` is split (seeded, stratified) into the recalibration/fine-tune part and the proxy
  // hold-out. Errors: empty data, a base model the space was not built from.
  static Result<PolicyEvaluator> Create(const model::Model& base, SearchSpace space,
                                        const data::Dataset& train, EvaluatorOptions options);
  PolicyEvaluator(PolicyEvaluator&&) noexcept;
  PolicyEvaluator& operator=(PolicyEvaluator&&) noexcept;
  ~PolicyEvaluator();

  // The base model's objectives under the same proxy (the reward's normalization): fused, fp32,
  // with the batch-norm statistics it was trained with (not recalibrated). Cached.
  Result<Evaluation> EvaluateBase();
  Result<Evaluation> Evaluate(const CompressionPolicy& p);
  // The compressed model itself (not cached), e.g. to save the search's best policy.
  Result<model::Model> Apply(const CompressionPolicy& p, bool finetune);

  const SearchSpace& space() const;
  int64_t cache_hits() const;
  int64_t evaluations() const;

 private:
  struct Impl;
  explicit PolicyEvaluator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hadmc::search
