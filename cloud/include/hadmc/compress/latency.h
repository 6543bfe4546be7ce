// Measured CPU latency of a model through the executor (inference mode, real int8 kernels):
// warm-up, then >= 50 timed runs, median and p90 — the TFLite/ONNX Runtime benchmark practice.
// At batch 1 two threads can be slower than one (measured 8.2 vs 5.4 ms for a ResNet-18), so
// the best thread count is measured, not assumed.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hadmc/model/model.h"

namespace hadmc::compress {

struct LatencyOptions {
  int64_t warmup = 10;
  int64_t runs = 50;
};

struct Latency {
  int64_t batch = 1;
  int threads = 1;
  double median_ms = 0;
  double p90_ms = 0;
};

// Times `m` on random input of its graph input shape with batch `batch` at `threads` threads
// (restores the previous thread count).
Result<Latency> MeasureLatency(const model::Model& m, int64_t batch, int threads,
                               const LatencyOptions& options = {});

// Times several models in one run, taking turns in blocks of 10 runs (each opened by an untimed
// run so the model's weights are back in cache), so a noisy neighbour slows all of them alike
// and their ratios stay honest. Each model gets its own warm-up first; one Latency per model.
Result<std::vector<Latency>> MeasureLatencyInterleaved(const std::vector<const model::Model*>& models,
                                                       int64_t batch, int threads,
                                                       const LatencyOptions& options = {});

// The lowest median of `measured`.
Latency BestOf(const std::vector<Latency>& measured);

nlohmann::json ToJson(const Latency& l);

}  // namespace hadmc::compress
