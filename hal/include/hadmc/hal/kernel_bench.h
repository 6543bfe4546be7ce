// On-device kernel micro-benchmarks (the edge profiler's engine, and the LUT benchmark's): every
// fused kernel of a model timed in isolation at its real shapes, precision and weights, plus the
// model end to end; or a synthetic kernel built from a KernelKey (what the cloud asks a device
// class to profile for the search). TFLite / ONNX Runtime practice: warm-up runs, then >= 50
// timed runs at a fixed thread count; median and p90. Header is torch-free.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/hal/kernels.h"

namespace hadmc::model {
struct Model;
}
namespace hadmc::exec {
class Executor;
}

namespace hadmc::hal {

// How a model's kernels are timed (ProfileModelKernels).
enum class KernelTiming {
  // The model runs warmup + runs times; a kernel's time is the stretch of each run it occupies
  // (its call plus the executor's bookkeeping around it, up to the next step). Caches hold what
  // a real run leaves in them: a 45 MB fp32 ResNet-18 streams its weights from memory, exactly
  // as when serving. A kernel's median_ms is its typical time: its mean over the middle half of
  // the runs ranked by total time, so that a model's kernels add up to its median run (per-kernel
  // medians add up 7-10% short: each kernel's noise is skewed). p90/min are per kernel over all
  // runs. The default.
  kInContext,
  // Each kernel is called warmup + runs times in a row on inputs captured from one real run:
  // weights and input stay in cache, so memory-bound kernels of models larger than the
  // last-level cache look faster than they run (docs/benchmarks.md: LUT accuracy).
  kIsolated,
};

struct BenchOptions {
  KernelTiming timing = KernelTiming::kInContext;
  int warmup = 5;
  int runs = 50;    // timed runs per kernel (>= 1; the profiler uses >= 50)
  int threads = 1;  // torch intra-op threads while timing (restored afterwards)
  int64_t batch = 1;
  // Serving budget: after each kernel's timing, sleep so that timing uses at most this share of
  // one core's wall time (1.0 = no pause). The edge daemon sets it from its config.
  double max_duty_cycle = 1.0;
  // Called between kernels (and between end-to-end runs, and during the duty-cycle pauses);
  // returning false stops early with a BenchErrc::kCancelled error (IsCancelled).
  std::function<bool()> keep_going;
};

// The benchmarks' own error codes (the project's Errc has no "stopped on request").
enum class BenchErrc { kCancelled = 1 };
const std::error_category& BenchCategory();
// True for the error of a benchmark that keep_going stopped.
bool IsCancelled(const Error& e);

struct Timing {
  double median_ms = 0;
  double p90_ms = 0;
  double min_ms = 0;
  int runs = 0;
};
// median / p90 (nearest rank) / min of the samples in ms.
Timing Summarize(std::vector<double> samples_ms);

struct KernelMeasurement {
  KernelInstance kernel;
  Timing timing;
};

// Times every kernel of `m` (as KernelsOf(m.graph, batch) lists them) at its real shapes,
// precision and weights (int8 on the real int8 kernels), as o.timing says: in context (the
// default) or in isolation on the inputs of one real run.
Result<std::vector<KernelMeasurement>> ProfileModelKernels(const model::Model& m,
                                                           const BenchOptions& o);
// The same on an executor already bound (the edge daemon's serving one: no second copy of the
// prepacked weights). Executor runs are const and may overlap with serving.
Result<std::vector<KernelMeasurement>> ProfileModelKernels(const exec::Executor& ex,
                                                           const BenchOptions& o);
// One measurement per distinct key: a key that occurs several times in a model (ResNet's
// repeated blocks) gets the mean of its occurrences' times (its typical time in this model; the
// kernels' sum is unchanged), the largest p90, the smallest min and the runs of all occurrences.
// First-occurrence order. What a LUT report sends.
std::vector<KernelMeasurement> MergeRepeatedKeys(const std::vector<KernelMeasurement>& measured);
// The whole model, inference mode, same options.
Result<Timing> ProfileEndToEnd(const model::Model& m, const BenchOptions& o);
Result<Timing> ProfileEndToEnd(const exec::Executor& ex, const BenchOptions& o);
// A one-node model with random weights for `key` (int8 keys get int8 weights and scales and a
// quint8 input), timed like the above. Kinds: conv2d, linear, add, mul, batch_norm, the
// activations, pools, flatten, quantize, dequantize (each with a fused _relu/_relu6 where the
// op takes one); others (concat, upsample: the key lacks their inputs or scale) are
// kUnsupported. adaptive_avg_pool2d is built with a 1x1 output (the key does not record it;
// every zoo model pools to 1x1), pools without ceil_mode.
Result<KernelMeasurement> ProfileSyntheticKernel(const KernelKey& key, const BenchOptions& o);

}  // namespace hadmc::hal
