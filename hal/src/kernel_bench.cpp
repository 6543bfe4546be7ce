// Kernel micro-benchmarks (kernel_bench.h): every fused kernel of a model timed on the inputs a
// real run gives it, the model end to end, and one-node synthetic models (synthetic_kernel.cpp
// builds them).
#include "hadmc/hal/kernel_bench.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <thread>

#include "hadmc/exec/executor.h"
#include "synthetic_kernel.h"

namespace hadmc::hal {
namespace {

using Clock = std::chrono::steady_clock;

class BenchCategoryImpl : public std::error_category {
 public:
  const char* name() const noexcept override { return "hadmc.bench"; }
  std::string message(int c) const override {
    return c == static_cast<int>(BenchErrc::kCancelled) ? "cancelled" : "unknown";
  }
};

Error Cancelled(const std::string& what) {
  return Error(std::error_code(static_cast<int>(BenchErrc::kCancelled), BenchCategory()),
               what + ": stopped on request");
}

bool KeepGoing(const BenchOptions& o) { return !o.keep_going || o.keep_going(); }

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The serving budget: after `busy` of timing, pause busy * (1/duty - 1), in slices so that a
// stop request is noticed within 50 ms. False when keep_going said stop.
bool PauseForDutyCycle(std::chrono::duration<double> busy, const BenchOptions& o) {
  if (o.max_duty_cycle >= 1.0 || o.max_duty_cycle <= 0) return KeepGoing(o);
  const auto until =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(busy * (1.0 / o.max_duty_cycle - 1.0));
  while (Clock::now() < until) {
    if (!KeepGoing(o)) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(),
                                                          std::chrono::milliseconds(50)));
  }
  return KeepGoing(o);
}

// LibTorch's intra-op thread count for the calling thread only, restored on destruction. With
// OpenMP (Debian's LibTorch) the count is a per-thread setting, so the edge daemon's serving
// threads keep theirs; at::set_num_threads would also change the process-wide default that
// threads starting their first parallel op later pick up (a serving thread could then be stuck
// with the profiler's count). Without OpenMP the pool is process-wide and at::set_num_threads
// is all there is. The BLAS's own pool (OpenBLAS with pthreads) is process-wide: it runs one
// thread while timing, as hal::ConfigureThreads leaves it in the daemon and the CLI (threads.h:
// LibTorch owns the parallelism), else a "1 thread" timing would use the BLAS's pool too.
class ThreadCount {
 public:
  explicit ThreadCount(int threads) {
    before_ = at::get_num_threads();  // also LibTorch's lazy per-thread init, done first
    Set(std::max(threads, 1));
    if (blas_get_ && blas_set_) {
      blas_before_ = blas_get_();
      if (blas_before_ != 1) blas_set_(1);
    }
  }
  ~ThreadCount() {
    Set(before_);
    if (blas_set_ && blas_before_ > 1) blas_set_(blas_before_);
  }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  using SetFn = void (*)(int);
  using GetFn = int (*)();
  template <typename Fn>
  static Fn Lookup(const char* name) {
    return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
  }
  static void Set(int threads) {
    static const auto omp_set = Lookup<SetFn>("omp_set_num_threads");
    if (omp_set) {
      omp_set(threads);
      return;
    }
    try {
      at::set_num_threads(threads);
    } catch (const std::exception&) {
      // a native pool that already started cannot be resized; timings then use its size
    }
  }
  const SetFn blas_set_ = Lookup<SetFn>("openblas_set_num_threads");
  const GetFn blas_get_ = Lookup<GetFn>("openblas_get_num_threads");
  int before_ = 1;
  int blas_before_ = -1;
};

Status CheckOptions(const BenchOptions& o) {
  if (o.runs < 1 || o.warmup < 0 || o.threads < 1 || o.batch < 1 || !(o.max_duty_cycle > 0) ||
      o.max_duty_cycle > 1)
    return MakeError(Errc::kInvalidArgument,
                     "benchmark options need runs >= 1, warmup >= 0, threads >= 1, batch >= 1 and "
                     "max_duty_cycle in (0, 1]");
  return {};
}

// Times `kernel` on `args`: warm-up, then o.runs timed calls.
Timing TimeKernel(const exec::BoundKernel& kernel, const exec::KernelArgs& args,
                  const BenchOptions& o) {
  for (int i = 0; i < o.warmup; ++i) (void)kernel.run(args);
  std::vector<double> samples;
  samples.reserve(static_cast<size_t>(o.runs));
  for (int i = 0; i < o.runs; ++i) {
    const auto t0 = Clock::now();
    at::Tensor y = kernel.run(args);
    samples.push_back(MsSince(t0));
  }
  return Summarize(std::move(samples));
}

// The graph's single input at batch o.batch: uniform [0, 1), like a normalized image.
Result<at::Tensor> RandomInput(const ir::Graph& g, int64_t batch) {
  if (g.inputs.size() != 1)
    return MakeError(Errc::kUnsupported, "graph '" + g.name + "' has " +
                                             std::to_string(g.inputs.size()) + " inputs, not one");
  std::vector<int64_t> shape = g.inputs[0].shape;
  if (!shape.empty() && shape[0] < 0) shape[0] = batch;
  for (int64_t d : shape)
    if (d < 0)
      return MakeError(Errc::kUnsupported,
                       "graph '" + g.name + "' input has a dynamic dimension besides the batch");
  return at::rand(shape);
}

Result<std::vector<KernelMeasurement>> Measurements(std::vector<KernelInstance> kernels,
                                                    const std::map<std::string, Timing>& timed) {
  std::vector<KernelMeasurement> out;
  out.reserve(kernels.size());
  for (KernelInstance& k : kernels) {
    auto it = timed.find(k.node);
    if (it == timed.end())
      return MakeError(Errc::kInternal, "node '" + k.node + "' was listed but never ran");
    out.push_back({std::move(k), it->second});
  }
  return out;
}

}  // namespace

const std::error_category& BenchCategory() {
  static const BenchCategoryImpl category;
  return category;
}

bool IsCancelled(const Error& e) {
  return e.code() == std::error_code(static_cast<int>(BenchErrc::kCancelled), BenchCategory());
}

Timing Summarize(std::vector<double> samples_ms) {
  Timing t;
  if (samples_ms.empty()) return t;
  std::sort(samples_ms.begin(), samples_ms.end());
  const size_t n = samples_ms.size();
  // Nearest rank: the ceil(p * n)-th smallest sample (1-based).
  auto rank = [&](double p) {
    const auto r = static_cast<size_t>(std::ceil(p * static_cast<double>(n)));
    return samples_ms[std::clamp<size_t>(r, 1, n) - 1];
  };
  t.median_ms = rank(0.5);
  t.p90_ms = rank(0.9);
  t.min_ms = samples_ms.front();
  t.runs = static_cast<int>(n);
  return t;
}

namespace {

// KernelTiming::kInContext: whole runs, each step's stretch between the observer's calls.
Status TimeStepsInContext(const exec::Executor& ex, const at::Tensor& input, const BenchOptions& o,
                          std::map<std::string, Timing>& timed) {
  const ir::Graph& g = ex.graph();
  std::vector<std::vector<double>> samples(g.nodes.size());
  std::vector<Clock::time_point> stamps;
  std::vector<size_t> order;
  stamps.reserve(g.nodes.size());
  order.reserve(g.nodes.size());
  bool cancelled = false;
  auto observe = [&](const exec::Executor::StepCall& step) {
    if (!KeepGoing(o)) {
      cancelled = true;
      return false;
    }
    order.push_back(step.node_index);
    stamps.push_back(Clock::now());
    return true;
  };
  for (int i = 0; i < o.warmup + o.runs; ++i) {
    stamps.clear();
    order.clear();
    const auto t0 = Clock::now();
    auto run = ex.RunObserved({input}, exec::Mode::kInference, observe);
    const auto end = Clock::now();
    if (cancelled) return MakeError(Cancelled("profiling the kernels of '" + g.name + "'"));
    if (!run) return MakeError(run.error().WithContext("profiling the kernels of '" + g.name + "'"));
    if (i >= o.warmup)
      for (size_t k = 0; k < order.size(); ++k) {
        const auto next = k + 1 < stamps.size() ? stamps[k + 1] : end;
        samples[order[k]].push_back(std::chrono::duration<double, std::milli>(next - stamps[k]).count());
      }
    if (!PauseForDutyCycle(end - t0, o))
      return MakeError(Cancelled("profiling the kernels of '" + g.name + "'"));
  }
  // Each kernel's typical time is its mean over the middle half of the runs ranked by total time
  // (a trimmed mean of whole runs): then a model's kernel times add up to its median run. Per-
  // kernel medians add up to less — each kernel's own noise is skewed to the slow side, so the
  // sum of medians sits below the median of sums (7-10% for ResNet-18 here). p90 and min stay
  // per kernel over all runs.
  std::vector<double> totals(static_cast<size_t>(o.runs), 0.0);
  for (const auto& per_node : samples)
    for (size_t r = 0; r < per_node.size() && r < totals.size(); ++r) totals[r] += per_node[r];
  std::vector<size_t> by_total(totals.size());
  for (size_t r = 0; r < by_total.size(); ++r) by_total[r] = r;
  std::sort(by_total.begin(), by_total.end(),
            [&](size_t a, size_t b) { return totals[a] < totals[b]; });
  const size_t lo = by_total.size() / 4,
               hi = std::max(lo + 1, by_total.size() - by_total.size() / 4);
  for (size_t n = 0; n < samples.size(); ++n) {
    if (samples[n].empty()) continue;
    double typical = 0;
    for (size_t i = lo; i < hi; ++i) typical += samples[n][by_total[i]];
    typical /= static_cast<double>(hi - lo);
    Timing t = Summarize(std::move(samples[n]));
    t.median_ms = typical;
    t.p90_ms = std::max(t.p90_ms, typical);
    timed[g.nodes[n].name] = t;
  }
  return {};
}

}  // namespace

Result<std::vector<KernelMeasurement>> ProfileModelKernels(const exec::Executor& ex,
                                                           const BenchOptions& o) {
  HADMC_TRY(CheckOptions(o));
  const ir::Graph& g = ex.graph();
  auto kernels = KernelsOf(g, o.batch);
  if (!kernels) return MakeError(kernels.error());
  auto input = RandomInput(g, o.batch);
  if (!input) return MakeError(input.error());

  ThreadCount threads(o.threads);
  std::map<std::string, Timing> timed;  // by node name
  if (o.timing == KernelTiming::kInContext) {
    HADMC_TRY(TimeStepsInContext(ex, *input, o, timed));
    return Measurements(std::move(*kernels), timed);
  }
  bool cancelled = false;
  auto observe = [&](const exec::Executor::StepCall& step) {
    if (!KeepGoing(o)) {
      cancelled = true;
      return false;
    }
    // Copies, so that a kernel writing into its input cannot change what the run goes on with.
    std::vector<at::Tensor> inputs;
    for (size_t i = 0; i < step.args.num_inputs; ++i) inputs.push_back(step.args.inputs[i].clone());
    const exec::KernelArgs args{inputs.data(), inputs.size(), step.args.params, false};
    const auto t0 = Clock::now();
    timed[g.nodes[step.node_index].name] = TimeKernel(step.kernel, args, o);
    if (!PauseForDutyCycle(Clock::now() - t0, o)) {
      cancelled = true;
      return false;
    }
    return true;
  };
  auto run = ex.RunObserved({*input}, exec::Mode::kInference, observe);
  if (cancelled) return MakeError(Cancelled("profiling the kernels of '" + g.name + "'"));
  if (!run) return MakeError(run.error().WithContext("profiling the kernels of '" + g.name + "'"));

  return Measurements(std::move(*kernels), timed);
}

std::vector<KernelMeasurement> MergeRepeatedKeys(const std::vector<KernelMeasurement>& measured) {
  std::vector<KernelMeasurement> out;
  std::map<std::string, std::pair<size_t, int>> seen;  // key -> (index in out, occurrences)
  for (const KernelMeasurement& k : measured) {
    const std::string key = k.kernel.key.ToString();
    auto it = seen.find(key);
    if (it == seen.end()) {
      seen.emplace(key, std::make_pair(out.size(), 1));
      out.push_back(k);
      continue;
    }
    auto& [index, n] = it->second;
    Timing& t = out[index].timing;
    t.median_ms = (t.median_ms * n + k.timing.median_ms) / (n + 1);
    t.p90_ms = std::max({t.p90_ms, k.timing.p90_ms, t.median_ms});
    t.min_ms = std::min(t.min_ms, k.timing.min_ms);
    t.runs += k.timing.runs;
    ++n;
  }
  return out;
}

Result<std::vector<KernelMeasurement>> ProfileModelKernels(const model::Model& m,
                                                           const BenchOptions& o) {
  auto ex = exec::Executor::Create(m);
  if (!ex) return MakeError(ex.error());
  return ProfileModelKernels(*ex, o);
}

Result<Timing> ProfileEndToEnd(const exec::Executor& ex, const BenchOptions& o) {
  HADMC_TRY(CheckOptions(o));
  auto input = RandomInput(ex.graph(), o.batch);
  if (!input) return MakeError(input.error());
  ThreadCount threads(o.threads);
  std::vector<double> samples;
  for (int i = 0; i < o.warmup + o.runs; ++i) {
    if (!KeepGoing(o)) return MakeError(Cancelled("timing '" + ex.graph().name + "'"));
    const auto t0 = Clock::now();
    auto y = ex.Run(std::vector<at::Tensor>{*input}, exec::Mode::kInference);
    const double ms = MsSince(t0);
    if (!y) return MakeError(y.error().WithContext("timing '" + ex.graph().name + "'"));
    if (i >= o.warmup) samples.push_back(ms);
    // Paused after every run: one run of a big model is already a long stretch of a core.
    if (!PauseForDutyCycle(std::chrono::duration<double, std::milli>(ms), o))
      return MakeError(Cancelled("timing '" + ex.graph().name + "'"));
  }
  return Summarize(std::move(samples));
}

Result<Timing> ProfileEndToEnd(const model::Model& m, const BenchOptions& o) {
  auto ex = exec::Executor::Create(m);
  if (!ex) return MakeError(ex.error());
  return ProfileEndToEnd(*ex, o);
}

Result<KernelMeasurement> ProfileSyntheticKernel(const KernelKey& key, const BenchOptions& o) {
  HADMC_TRY(CheckOptions(o));
  auto synthetic = BuildSyntheticKernel(key);
  if (!synthetic) return MakeError(synthetic.error().WithContext("kernel " + key.ToString()));
  auto ex = exec::Executor::Create(synthetic->model);
  if (!ex) return MakeError(ex.error().WithContext("kernel " + key.ToString()));
  auto kernels = KernelsOf(ex->graph(), synthetic->input_shapes);
  if (!kernels) return MakeError(kernels.error().WithContext("kernel " + key.ToString()));
  if (kernels->size() != 1 || !(kernels->front().key == key))
    return MakeError(Errc::kInvalidArgument,
                     "kernel " + key.ToString() + " is not what a node of that kind and input "
                     "has (it would be " +
                         (kernels->empty() ? std::string("nothing") : kernels->front().key.ToString()) +
                         "): check out_channels, window, stride, padding and precision");
  if (!KeepGoing(o)) return MakeError(Cancelled("kernel " + key.ToString()));

  ThreadCount threads(o.threads);
  std::optional<Timing> timing;
  auto observe = [&](const exec::Executor::StepCall& step) {
    const auto t0 = Clock::now();
    timing = TimeKernel(step.kernel, step.args, o);
    (void)PauseForDutyCycle(Clock::now() - t0, o);
    return false;  // the one kernel is timed; no need to finish the run
  };
  auto run = ex->RunObserved(synthetic->inputs, exec::Mode::kInference, observe);
  if (!run) return MakeError(run.error().WithContext("kernel " + key.ToString()));
  if (!timing) return MakeError(Errc::kInternal, "kernel " + key.ToString() + " never ran");
  return KernelMeasurement{std::move(kernels->front()), *timing};
}

}  // namespace hadmc::hal
