// What `hadmc search` and the search experiments write, and the LUT they measure when the
// target is this machine.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"
#include "hadmc/hal/lut.h"
#include "hadmc/search/evaluator.h"
#include "hadmc/search/search.h"

namespace hadmc::search {

// A LUT of kernels timed HERE (source "measured"), for a target that is this machine's device
// class: the base model and variants of it (prune ratios `ratios` x {fp32, int8, int8 with fp32
// first/last layers, int8 and fp32 alternating}, built by the evaluator) profiled in context at
// batch `batch`, 1 thread, `runs` timed runs each (hal::ProfileModelKernels); repeated keys
// merged. It covers the channel staircases the search walks and the quantize/dequantize
// boundaries of mixed policies, so most kernels of a searched policy have an exact row or a
// neighbour between two rows.
struct LocalLutOptions {
  std::vector<double> ratios = {0.0, 0.2, 0.4, 0.6, 0.8};  // from kPruneRatios
  int64_t batch = 1;
  int runs = 50;
  std::ostream* progress = nullptr;
};
Result<hal::LatencyLut> MeasureLocalLut(PolicyEvaluator& evaluator, const std::string& device_class,
                                        const LocalLutOptions& options);

// The final check of a search's best policy (and the base), all on this machine.
struct FinalCheck {
  bool done = false;           // false when the target is not this machine (nothing measured)
  double base_test_accuracy = 0, best_test_accuracy = 0;  // after the final fine-tune
  double base_latency_ms = 0, best_latency_ms = 0;        // measured, batch 1, 1 thread, median
  double predicted_latency_ms = 0;                        // the evaluator's LUT prediction
  double budget_ms = 0;                                   // 0: none
  bool meets_budget = false;                              // measured <= budget
  int64_t base_file_bytes = 0, best_file_bytes = 0;
};
nlohmann::json ToJson(const FinalCheck& f);

// Writes into `dir`: search.json (the whole result), best_policy.json, pareto.json,
// pareto.svg (accuracy vs latency: every episode, the front, the budget), convergence.svg
// (reward per episode and the running best), and report.md (the table a user reads first).
// `context` is added to search.json and report.md (model, target, budget, LUT source, command).
Status WriteSearchOutputs(const SearchResult& r, const std::string& dir,
                          const nlohmann::json& context, const FinalCheck* final_check);

// The running best reward after each episode (feasible policies first, as RunSearch picks).
std::vector<double> RunningBest(const SearchResult& r);

}  // namespace hadmc::search
