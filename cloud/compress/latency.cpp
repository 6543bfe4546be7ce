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

Result<std::vector<Latency>> MeasureLatencyInterleaved(const std::vector<const model::Model*>& models,
                                                       int64_t batch, int threads,
                                                       const LatencyOptions& o) {
  std::vector<exec::Executor> executors;
  std::vector<at::Tensor> inputs;
  for (const model::Model* m : models) {
    if (m->graph.inputs.size() != 1)
      return MakeError(Errc::kUnsupported, "latency measurement needs a one-input graph");
    std::vector<int64_t> shape = m->graph.inputs[0].shape;
    shape[0] = batch;
    for (int64_t d : shape)
      if (d < 0)
        return MakeError(Errc::kInvalidArgument, "the graph input has a dynamic non-batch dim: " +
                                                     ir::ShapeString(m->graph.inputs[0].shape));
    auto ex = exec::Executor::Create(*m);
    if (!ex) return MakeError(ex.error().WithContext("latency"));
    executors.push_back(std::move(*ex));
    inputs.push_back(at::randn(shape));
  }
  const int before = at::get_num_threads();
  at::set_num_threads(threads);
  const size_t n = executors.size();
  std::vector<std::vector<double>> ms(n);
  Status status;
  auto time_one = [&](size_t k, bool keep) {
    const auto t0 = std::chrono::steady_clock::now();
    auto y = executors[k].Run(inputs[k], exec::Mode::kInference);
    const auto t1 = std::chrono::steady_clock::now();
    if (!y) status = MakeError(y.error());
    if (keep) ms[k].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  };
  for (size_t k = 0; k < n && status; ++k)
    for (int64_t i = 0; i < o.warmup && status; ++i) time_one(k, false);
  // Blocks of kBlock timed runs, the models taking turns block by block (each round starts
  // with the next model). One untimed run opens every block: alternating run by run would time
  // each model with the other's weights in the cache, which is not how a model serves.
  constexpr int64_t kBlock = 10;
  for (int64_t done = 0, round = 0; done < o.runs && status; done += kBlock, ++round) {
    const int64_t count = std::min(kBlock, o.runs - done);
    for (size_t j = 0; j < n && status; ++j) {
      const size_t k = (static_cast<size_t>(round) + j) % n;
      time_one(k, false);
      for (int64_t i = 0; i < count && status; ++i) time_one(k, true);
    }
  }
  at::set_num_threads(before);
  if (!status) return MakeError(status.error());
  std::vector<Latency> out;
  for (size_t k = 0; k < n; ++k)
    out.push_back({batch, threads, Percentile(ms[k], 0.5), Percentile(ms[k], 0.9)});
  return out;
}

Result<Latency> MeasureLatency(const model::Model& m, int64_t batch, int threads,
                               const LatencyOptions& o) {
  auto l = MeasureLatencyInterleaved({&m}, batch, threads, o);
  if (!l) return MakeError(l.error());
  return l->front();
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
