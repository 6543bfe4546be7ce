// Everything a search needs before its first episode, shared by `hadmc search` and the search
// experiments: the target profile (this machine's when none is named), the LUT (a file, kernels
// timed here when the target is this machine, or none: roofline), the search space, the
// evaluator and the wall's predictor, the base's objectives and the constraints (a latency
// budget given in ms or as a fraction of the base's latency — measured here when the target is
// this machine — a size budget and an accuracy floor below the base's proxy accuracy). And the
// final check of a chosen policy: built, fine-tuned, tested on the test set and, here, timed.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>

#include "hadmc/common/error.h"
#include "hadmc/data/dataset.h"
#include "hadmc/hal/detect.h"
#include "hadmc/hal/lut.h"
#include "hadmc/hal/profile.h"
#include "hadmc/model/model.h"
#include "hadmc/search/environment.h"
#include "hadmc/search/evaluator.h"
#include "hadmc/search/policy_predictor.h"
#include "hadmc/search/reward.h"
#include "hadmc/search/search_outputs.h"
#include "hadmc/search/search_space.h"

namespace hadmc::search {

struct SearchSetupOptions {
  std::string target;    // profile name or file; "" = this machine's profile
  std::string lut_path;  // a LUT file (hadmc lut export); "" = time kernels here if local
  bool measure_lut = true;
  std::string lut_out;   // where a LUT timed here is written ("" = not written)
  int64_t batch = 1;
  int64_t proxy_samples = 2000;
  int64_t recal_samples = 512;
  int64_t finetune_epochs = 1;  // of a final check
  double finetune_lr = 0.01;
  uint64_t seed = 0;
  double latency_ms = 0;        // budget; 0 = none unless latency_fraction is set
  double latency_fraction = 0;  // budget = fraction x the base's latency
  double size_kb = 0;
  double max_accuracy_drop = 1.0;  // points under the base's proxy accuracy; < 0 = no floor
  std::ostream* progress = nullptr;
};

struct SearchSetup {
  model::Model base;
  hal::HardwareProfile profile;
  bool local = false;  // the target is this machine: latencies can be measured
  hal::LatencyLut lut;
  std::string lut_source;  // for reports: which latencies are measured, which projected
  SearchSpace space;
  std::unique_ptr<PolicyEvaluator> evaluator;
  std::unique_ptr<PolicyPredictor> predictor;
  EvaluatorOptions evaluator_options;  // what the evaluator was created with (LUT included)
  data::Dataset train;                 // the data it splits (shared tensors, not a copy)
  Evaluation base_evaluation;
  Constraints constraints;
  double base_measured_ms = 0;  // the budget's reference when measured here (else 0)
};

// The target's profile: `target` names a shipped profile or a profile file; empty means this
// machine's. `*local` says whether it is this machine's profile (then scaled to its cores).
Result<hal::HardwareProfile> LoadSearchTarget(const std::string& target,
                                              const hal::DeviceInfo& here, bool* local);

// Errors: a model without recorded normalization, an unknown target, a bad LUT file, empty data.
Result<std::unique_ptr<SearchSetup>> PrepareSearch(const model::Model& base,
                                                   const data::Dataset& train,
                                                   const SearchSetupOptions& options);

// The environment of a setup, with the setup's constraints on the wall.
Result<SearchEnvironment> MakeEnvironment(const SearchSetup& s, EnvironmentOptions options);

// Builds `p` (fine-tuned when finetune_epochs > 0 in the setup's evaluator options), writes it
// to `model_out` ("" = not written), tests both models on `test`, and times both here (batch
// `batch`, 1 thread, interleaved) when the target is this machine.
Result<FinalCheck> CheckPolicy(SearchSetup& s, const CompressionPolicy& p, bool finetune,
                               const data::Dataset& test, int64_t batch,
                               const std::string& model_out, const std::string& base_path);

}  // namespace hadmc::search
