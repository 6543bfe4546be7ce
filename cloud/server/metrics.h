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
  void CountRefusal(const std::string& listener, const std::string& reason);
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
};

}  // namespace hadmc::server
