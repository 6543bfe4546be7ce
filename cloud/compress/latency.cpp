#include "hadmc/compress/latency.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "hadmc/exec/executor.h"

namespace hadmc::compress {
namespace {

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

Result<Latency> MeasureLatency(const model::Model& m, int64_t batch, int threads,
                               const LatencyOptions& o) {
  if (m.graph.inputs.size() != 1)
    return MakeError(Errc::kUnsupported, "latency measurement needs a one-input graph");
  std::vector<int64_t> shape = m.graph.inputs[0].shape;
  shape[0] = batch;
  for (int64_t d : shape)
    if (d < 0)
      return MakeError(Errc::kInvalidArgument, "the graph input has a dynamic non-batch dim: " +
                                                   ir::ShapeString(m.graph.inputs[0].shape));
  auto ex = exec::Executor::Create(m);
  if (!ex) return MakeError(ex.error().WithContext("latency"));
  const int before = at::get_num_threads();
  at::set_num_threads(threads);
  const at::Tensor x = at::randn(shape);
  std::vector<double> ms;
  Status status;
  for (int64_t i = 0; i < o.warmup + o.runs && status; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto y = ex->Run(x, exec::Mode::kInference);
    const auto t1 = std::chrono::steady_clock::now();
    if (!y) status = MakeError(y.error());
    if (i >= o.warmup) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  at::set_num_threads(before);
  if (!status) return MakeError(status.error());
  return Latency{batch, threads, Percentile(ms, 0.5), Percentile(ms, 0.9)};
}

Result<std::vector<Latency>> MeasureLatencies(const model::Model& m, int64_t batch,
                                              const std::vector<int>& thread_counts,
                                              const LatencyOptions& o) {
  std::vector<Latency> out;
  for (int t : thread_counts) {
    auto l = MeasureLatency(m, batch, t, o);
    if (!l) return MakeError(l.error());
    out.push_back(*l);
  }
  return out;
}

Latency BestOf(const std::vector<Latency>& measured) {
  return *std::min_element(measured.begin(), measured.end(), [](const Latency& a, const Latency& b) {
    return a.median_ms < b.median_ms;
  });
}

nlohmann::json ToJson(const Latency& l) {
  return {{"batch", l.batch}, {"threads", l.threads}, {"median_ms", l.median_ms},
          {"p90_ms", l.p90_ms}};
}

}  // namespace hadmc::compress
