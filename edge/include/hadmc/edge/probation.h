// The probation window after a swap (DESIGN.md, edge daemon): the new version serves real
// requests while the daemon watches its error rate and latency against the version it replaced;
// a clear regression rolls it back. Torch-free: the runtime records every inference of a model
// in that model's LiveStats, and the daemon judges snapshots of them.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hadmc::edge {

// What one model has done since it was loaded: counts, and the latencies of its most recent
// successful inferences.
struct WindowStats {
  uint64_t requests = 0;
  uint64_t errors = 0;      // failed runs and non-finite outputs
  uint64_t latencies = 0;   // successful runs whose latency is in the sample (<= kRing)
  double p99_ms = 0;        // over that sample; 0 without one
  double error_rate() const { return requests ? static_cast<double>(errors) / requests : 0; }
};

// Thread-safe; one per loaded model, shared by every request that runs on it.
class LiveStats {
 public:
  static constexpr size_t kRing = 2048;
  void Record(bool ok, double ms);
  WindowStats Snapshot() const;

 private:
  mutable std::mutex mu_;
  uint64_t requests_ = 0, errors_ = 0;
  std::vector<double> ring_;  // the last kRing successful latencies
  size_t next_ = 0;
};

struct ProbationPolicy {
  // Judged only once the new version has served this many requests: fewer say nothing.
  uint64_t min_requests = 20;
  // Fail when the new error rate exceeds the old one by more than this (absolute, 0.05 = 5
  // points).
  double max_error_rate_increase = 0.05;
  // Fail when the new p99 exceeds this multiple of the old one (0: latency not judged). The
  // old p99 needs min_requests samples of its own.
  double max_p99_ratio = 3.0;
};

// Why `during` (the new version since its swap) regressed against `before` (the version it
// replaced, over its life), or nullopt when it did not or there is too little traffic to say.
// The error rate is judged as soon as there are min_requests requests; latency only once the
// window is over, when one slow request among the first few cannot decide it.
std::optional<std::string> ProbationRegression(const WindowStats& before, const WindowStats& during,
                                               const ProbationPolicy& policy, bool window_over);

}  // namespace hadmc::edge
