// The edge runtime (DESIGN.md, edge daemon): the model being served, and the hot swap.
//
// A candidate version is loaded from its .hmc bytes, bound by the executor (int8 nodes on real
// kernels), warmed up and checked — outputs finite, output shape as declared, warm latency
// within `max_latency_ratio` of the serving model's, both timed now taking turns — and only
// then swapped in. The live model sits behind a shared_ptr that is swapped atomically: a
// request takes a snapshot and finishes on the model it started with; the old model is freed
// when its last request ends. A candidate
// that fails to load or fails a check is never served; the current model keeps serving and the
// error says why. The previous model is kept for Rollback.
#pragma once

#include <ATen/core/Tensor.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/edge/preprocessing.h"
#include "hadmc/edge/probation.h"
#include "hadmc/exec/executor.h"

namespace hadmc::edge {

struct RuntimeOptions {
  int warmup_runs = 5;             // timed; the median is the model's warm latency
  double max_latency_ratio = 3.0;  // candidate fastest run <= ratio x serving one's (0: no check)
};

struct LoadedModel {
  uint64_t version = 0;
  exec::Executor executor;
  std::vector<int64_t> input_shape;   // batch 1
  std::vector<int64_t> output_shape;  // batch 1
  double warm_latency_ms = 0;
  // From the model metadata; std::nullopt when it records none (the API then refuses images).
  std::optional<Preprocessing> preprocessing;
  // Every Infer on this model: requests, errors, recent latencies (the probation window).
  std::shared_ptr<LiveStats> live = std::make_shared<LiveStats>();
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {}) : options_(options) {}

  // Loads, checks and swaps in `version`. On any failure the serving model is unchanged and
  // the error names the check that failed.
  Status Activate(uint64_t version, const std::string& hmc_bytes);
  // Swaps back to the model that served before the last Activate (no reload).
  Status Rollback();

  // The serving model (nullptr before the first Activate). Hold it for the whole request.
  std::shared_ptr<const LoadedModel> Active() const { return std::atomic_load(&active_); }
  // Runs `input` on a snapshot of the serving model and records the outcome in its LiveStats.
  // Non-finite outputs are an error (the model is broken for this input), not a result.
  Result<at::Tensor> Infer(const at::Tensor& input) const;
  // The same on a snapshot the caller holds (the API checks the input against it first).
  static Result<at::Tensor> InferOn(const LoadedModel& m, const at::Tensor& input);

  // True for Activate's "too slow" refusal: it depends on the load at that moment, so the
  // version may be tried again; every other refusal is a property of the version itself.
  static bool IsLatencyRefusal(const Error& e);

  uint64_t swaps() const { return swaps_; }
  void SetMaxLatencyRatio(double ratio) { max_latency_ratio_ = ratio; }

 private:
  Result<std::shared_ptr<const LoadedModel>> LoadAndCheck(uint64_t version,
                                                          const std::string& bytes) const;
  RuntimeOptions options_;
  std::atomic<double> max_latency_ratio_{options_.max_latency_ratio};
  std::shared_ptr<const LoadedModel> active_;    // atomic_load / atomic_store only
  std::shared_ptr<const LoadedModel> previous_;  // under swap_mu_
  std::mutex swap_mu_;                           // one Activate/Rollback at a time
  std::atomic<uint64_t> swaps_{0};
};

}  // namespace hadmc::edge
