#include "hadmc/edge/runtime.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "hadmc/common/log.h"
#include "hadmc/model/hmc_file.h"

namespace hadmc::edge {

namespace {

// Median latency of `runs` runs of `m` on a constant input of its shape, after two untimed runs
// (the first run of a fresh executor sets up kernels and memory); every run's output is checked.
Result<double> WarmLatency(const exec::Executor& ex, const std::vector<int64_t>& shape, int runs,
                           const std::vector<int64_t>* expect_out, const std::string& what) {
  c10::InferenceMode guard;
  const at::Tensor x = at::full(shape, 0.5f);
  std::vector<double> ms;
  constexpr int kUntimed = 2;
  for (int i = 0; i < kUntimed + std::max(1, runs); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto y = ex.Run(x, exec::Mode::kInference);
    const auto t1 = std::chrono::steady_clock::now();
    if (!y) return MakeError(y.error().WithContext(what + " failed its warm-up run"));
    if (expect_out && y->sizes().vec() != *expect_out)
      return MakeError(Errc::kShapeMismatch, what + " produced " + ir::ShapeString(y->sizes().vec()) +
                                                 ", expected " + ir::ShapeString(*expect_out));
    if (!at::isfinite(*y).all().item<bool>())
      return MakeError(Errc::kCorrupt, what + " produces non-finite outputs (NaN or inf)");
    if (i >= kUntimed) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// The fastest of `runs` timed runs of each model, the two taking turns run by run. Other work
// on the machine only ever adds time, and taking turns puts both models under the same load:
// timing one after the other let a busy spell land on one model only (a CI run once accepted a
// 10x slower candidate that way).
std::pair<double, double> FastestInterleaved(const LoadedModel& a, const LoadedModel& b,
                                             int runs) {
  c10::InferenceMode guard;
  const at::Tensor xa = at::full(a.input_shape, 0.5f), xb = at::full(b.input_shape, 0.5f);
  double best_a = 1e300, best_b = 1e300;
  auto time = [](const LoadedModel& m, const at::Tensor& x) {
    const auto t0 = std::chrono::steady_clock::now();
    (void)m.executor.Run(x, exec::Mode::kInference);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  for (int i = 0; i < runs; ++i) {
    best_a = std::min(best_a, time(a, xa));
    best_b = std::min(best_b, time(b, xb));
  }
  return {best_a, best_b};
}

}  // namespace

Result<std::shared_ptr<const LoadedModel>> Runtime::LoadAndCheck(uint64_t version,
                                                                 const std::string& bytes) const {
  const std::string what = "version " + std::to_string(version);
  auto m = model::ParseHmc(bytes, what);
  if (!m) return MakeError(m.error().WithContext(what + " failed to load"));
  if (m->graph.inputs.size() != 1 || m->graph.outputs.size() != 1)
    return MakeError(Errc::kUnsupported, what + ": the runtime serves one-input, one-output graphs");
  auto shapes = ir::InferShapes(m->graph);
  if (!shapes) return MakeError(shapes.error().WithContext(what));
  std::vector<int64_t> in = m->graph.inputs[0].shape, out = shapes->at(m->graph.outputs[0]);
  if (!in.empty()) in[0] = 1;
  if (!out.empty()) out[0] = 1;
  for (int64_t d : in)
    if (d < 1) return MakeError(Errc::kUnsupported, what + ": the input shape is not fixed");
  auto pre = PreprocessingFromMetadata(m->metadata, in);
  if (!pre) return MakeError(pre.error().WithContext(what));
  auto ex = exec::Executor::Create(std::move(m->graph), std::move(m->tensors));
  if (!ex) return MakeError(ex.error().WithContext(what + " failed to load"));

  // Warm-up on a fixed input: finite outputs of the declared shape, and the warm latency.
  auto warm = WarmLatency(*ex, in, options_.warmup_runs, &out, what);
  if (!warm) return MakeError(warm.error());
  auto loaded = std::make_shared<LoadedModel>(LoadedModel{.version = version,
                                                          .executor = std::move(*ex),
                                                          .input_shape = in,
                                                          .output_shape = out,
                                                          .warm_latency_ms = *warm,
                                                          .preprocessing = std::move(*pre)});
  return std::shared_ptr<const LoadedModel>(std::move(loaded));
}

Status Runtime::Activate(uint64_t version, const std::string& hmc_bytes) {
  std::lock_guard<std::mutex> lock(swap_mu_);
  auto candidate = LoadAndCheck(version, hmc_bytes);
  if (!candidate) {
    Log().warn("runtime: {} (still serving the current model)", candidate.error().message());
    return MakeError(candidate.error());
  }
  std::shared_ptr<const LoadedModel> current = Active();
  const double max_ratio = max_latency_ratio_;
  if (current && max_ratio > 0) {
    // Both models are timed now, taking turns: the serving model's latency from when it was
    // loaded would blame the candidate for whatever else the machine is doing.
    const auto [cand_ms, serving_ms] =
        FastestInterleaved(**candidate, *current, std::max(5, 2 * options_.warmup_runs));
    if (cand_ms > max_ratio * serving_ms) {
      return MakeError(Errc::kUnsupported,
                       "version " + std::to_string(version) + " is too slow: " +
                           std::to_string(cand_ms) + " ms vs " + std::to_string(serving_ms) +
                           " ms for the serving model at batch 1, fastest of interleaved runs "
                           "(limit " + std::to_string(max_ratio) + "x)");
    }
  }
  previous_ = current;
  std::atomic_store(&active_, std::move(*candidate));
  ++swaps_;
  return {};
}

bool Runtime::IsLatencyRefusal(const Error& e) {
  return e.Is(Errc::kUnsupported) && e.message().find(" is too slow: ") != std::string::npos;
}

Status Runtime::Rollback() {
  std::lock_guard<std::mutex> lock(swap_mu_);
  if (!previous_) return MakeError(Errc::kNotFound, "no previous model to roll back to");
  std::shared_ptr<const LoadedModel> current = Active();
  std::atomic_store(&active_, previous_);
  previous_ = std::move(current);
  ++swaps_;
  return {};
}

Result<at::Tensor> Runtime::Infer(const at::Tensor& input) const {
  std::shared_ptr<const LoadedModel> m = Active();  // this request's model, whatever swaps
  if (!m) return MakeError(Errc::kNotFound, "no model is loaded yet");
  return InferOn(*m, input);
}

Result<at::Tensor> Runtime::InferOn(const LoadedModel& m, const at::Tensor& input) {
  c10::InferenceMode guard;
  const auto t0 = std::chrono::steady_clock::now();
  auto y = m.executor.Run(input, exec::Mode::kInference);
  if (y && !at::isfinite(*y).all().item<bool>())
    y = MakeError(Errc::kCorrupt, "version " + std::to_string(m.version) +
                                      " produced non-finite outputs (NaN or inf) for this input");
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  m.live->Record(static_cast<bool>(y), ms);
  return y;
}

}  // namespace hadmc::edge
