#include "hadmc/edge/probation.h"

#include <algorithm>
#include <cstdio>

namespace hadmc::edge {

void LiveStats::Record(bool ok, double ms) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_;
  if (!ok) {
    ++errors_;
    return;
  }
  if (ring_.size() < kRing) {
    ring_.push_back(ms);
  } else {
    ring_[next_] = ms;
    next_ = (next_ + 1) % kRing;
  }
}

WindowStats LiveStats::Snapshot() const {
  std::vector<double> sample;
  WindowStats w;
  {
    std::lock_guard<std::mutex> lock(mu_);
    w.requests = requests_;
    w.errors = errors_;
    sample = ring_;
  }
  w.latencies = sample.size();
  if (!sample.empty()) {
    // Nearest rank: the smallest latency with at least 99% of the sample at or below it.
    const size_t rank = (sample.size() * 99 + 99) / 100;
    std::nth_element(sample.begin(), sample.begin() + (rank - 1), sample.end());
    w.p99_ms = sample[rank - 1];
  }
  return w;
}

std::optional<std::string> ProbationRegression(const WindowStats& before, const WindowStats& during,
                                               const ProbationPolicy& policy, bool window_over) {
  if (during.requests < policy.min_requests) return std::nullopt;
  char buf[256];
  if (during.error_rate() > before.error_rate() + policy.max_error_rate_increase) {
    std::snprintf(buf, sizeof buf,
                  "error rate %.1f%% (%llu of %llu requests) against %.1f%% before the swap",
                  100 * during.error_rate(), static_cast<unsigned long long>(during.errors),
                  static_cast<unsigned long long>(during.requests), 100 * before.error_rate());
    return std::string(buf);
  }
  if (window_over && policy.max_p99_ratio > 0 && before.latencies >= policy.min_requests &&
      during.latencies >= policy.min_requests && before.p99_ms > 0 &&
      during.p99_ms > policy.max_p99_ratio * before.p99_ms) {
    std::snprintf(buf, sizeof buf, "p99 latency %.2f ms against %.2f ms before the swap (limit %.1fx)",
                  during.p99_ms, before.p99_ms, policy.max_p99_ratio);
    return std::string(buf);
  }
  return std::nullopt;
}

}  // namespace hadmc::edge
