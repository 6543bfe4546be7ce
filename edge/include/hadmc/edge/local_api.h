// The edge daemon's local API (loopback by default; TLS with the daemon's own certificate):
//   POST /v1/infer   {"shape": [N, C, H, W], "data": [floats]} -> {"version", "shape",
//                    "output", "argmax", "latency_ms"}; or a PNG/JPEG body (Content-Type
//                    image/png or image/jpeg), preprocessed as the model was trained
//                    (image_input.h): batch 1, same response
//   GET  /v1/status  active version, daemon state, last sync, last error, input shape,
//                    request/error/swap counts
//   GET  /healthz    200 with a model loaded, 503 before the first one
//   GET  /metrics    Prometheus text: requests, errors, latency histogram, sync bytes, swaps
//   POST /v1/rollback  the operator's rollback to the previous version (202; the daemon acts)
//   POST /v1/profile   profile the serving model now and report it to the cloud (202; 409
//                      without a model or with the profiler off); /v1/status shows the outcome
// Requests run on a snapshot of the runtime's model, so a swap never fails one.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hadmc/edge/runtime.h"
#include "hadmc/net/https_server.h"
#include "hadmc/net/router.h"

namespace hadmc::edge {

// The last profile of the serving model (profiler.h), as /v1/status shows it.
struct ProfileStatus {
  std::string at;       // RFC 3339, when it finished
  uint64_t version = 0;
  size_t kernels = 0;   // kernels timed
  double e2e_ms = 0;    // end-to-end median
  std::string error;    // "" when it was reported
};

class LocalApi : public net::RequestHandler {
 public:
  // Upper bounds (ms) of the latency histogram's buckets; +Inf is implied.
  static constexpr std::array<double, 11> kBucketsMs = {0.5, 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000};

  LocalApi(const Runtime& runtime, uint64_t max_body_bytes = 16u << 20);

  // What the daemon tells the API about itself (thread-safe).
  void SetDaemonStatus(const std::string& state, const std::string& last_sync);
  void AddSyncBytes(uint64_t n) { sync_bytes_ += n; }
  // The daemon's last failure ("" after a success), shown by /v1/status.
  void SetLastError(const std::string& message);
  // What POST /v1/rollback calls (the daemon's RequestRollback); 501 without one. The route has
  // no token: the API listens on loopback by default, and whoever can reach it can also stop
  // the service.
  void SetRollbackHandler(std::function<void()> handler);
  // What POST /v1/profile calls (the daemon's RequestProfile): "" when the request is taken,
  // else why not (409). 501 without one.
  void SetProfileHandler(std::function<std::string()> handler);
  // A finished profile (or profiling job round): shown by /v1/status, counted in /metrics.
  void SetLastProfile(const ProfileStatus& status);
  void CountProfileRun(bool ok) { ++(ok ? profile_runs_ : profile_errors_); }
  // The cloud's profiling jobs: answered so far, and the last round's error ("" if none).
  void SetProfileJobs(uint64_t answered, const std::string& error);

  uint64_t BodyLimit(const net::HttpRequest& head) const override;
  net::HttpResponse Handle(const net::HttpRequest& req) override;

  uint64_t requests() const { return requests_; }
  // p50 and p99 (ms) of the last kWindow successful inferences; {0, 0} before the first.
  std::pair<double, double> RecentLatency() const;
  static constexpr size_t kWindow = 1024;
  uint64_t errors() const { return errors_; }

 private:
  net::HttpResponse Infer(const net::HttpRequest& req);
  net::HttpResponse Status() const;
  net::HttpResponse Metrics() const;

  const Runtime& runtime_;
  net::Router router_;
  std::atomic<uint64_t> requests_{0}, errors_{0}, sync_bytes_{0};
  std::array<std::atomic<uint64_t>, kBucketsMs.size() + 1> buckets_{};
  std::atomic<uint64_t> latency_sum_us_{0};
  mutable std::mutex mu_;
  std::string state_ = "starting", last_sync_, last_error_;
  std::function<void()> rollback_;  // under mu_
  std::function<std::string()> profile_;  // under mu_
  std::optional<ProfileStatus> last_profile_;  // under mu_
  uint64_t jobs_answered_ = 0;                  // under mu_
  std::string jobs_error_;                      // under mu_
  std::atomic<uint64_t> profile_runs_{0}, profile_errors_{0};
  std::vector<double> recent_ms_;  // ring of the last kWindow latencies, under mu_
  size_t recent_next_ = 0;
};

}  // namespace hadmc::edge
