// Private to cloud/server: request counters and latency sums, rendered as Prometheus text.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace hadmc::server {

class Metrics {
 public:
  void Observe(const std::string& listener, const std::string& route, int status,
               std::chrono::microseconds elapsed);
  // Refused for authentication (401/403 before any handler ran).
  void CountRefusal(const std::string& listener, const std::string& reason);
  // Refused to protect the server: "rate_limited" (429), "busy" (503).
  void CountLoadRefusal(const std::string& listener, const std::string& reason);
  // A block answered 200 or 206 with `bytes` of body: what devices actually downloaded.
  void CountBlockServed(uint64_t bytes);
  // Counters in the Prometheus text exposition format; `extra` lines are appended as they are.
  std::string Render(const std::string& extra) const;

 private:
  struct Series {
    uint64_t count = 0;
    double seconds = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, Series> requests_;
  std::map<std::pair<std::string, std::string>, uint64_t> refusals_;
  std::map<std::pair<std::string, std::string>, uint64_t> load_refusals_;
  uint64_t blocks_served_ = 0, block_bytes_served_ = 0;
};

}  // namespace hadmc::server
