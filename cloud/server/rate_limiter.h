// Private to cloud/server: one token bucket per device (client certificate CN). A bucket holds at
// most `burst` tokens and refills at `per_s`; each request takes one. A refused request learns how
// long until a token is back: the Retry-After the device is told.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace hadmc::server {

class DeviceRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Refusal {
    std::chrono::seconds retry_after;  // whole seconds, at least 1
    bool first = false;                // the first refusal since this device was last served
  };

  // per_s == 0: unlimited. Precondition: burst >= 1 when per_s > 0 (LoadCloudConfig checks it).
  // Not thread-safe; call before the server starts.
  void Configure(double per_s, double burst);

  // Takes one token from `device`'s bucket: nullopt when the request may proceed.
  std::optional<Refusal> Take(const std::string& device, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point at;
    bool refusing = false;
  };
  void SweepFullBuckets(Clock::time_point now);

  double per_s_ = 0, burst_ = 0;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  size_t sweep_above_ = 4096;  // buckets kept before full (idle) ones are dropped
};

}  // namespace hadmc::server
