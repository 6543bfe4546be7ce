#include "metrics.h"

#include <sstream>

namespace hadmc::server {

void Metrics::Observe(const std::string& listener, const std::string& route, int status,
                      std::chrono::microseconds elapsed) {
  std::lock_guard lock(mu_);
  auto& s = requests_[{listener, route.empty() ? "unmatched" : route, status}];
  ++s.count;
  s.seconds += elapsed.count() / 1e6;
}

void Metrics::CountRefusal(const std::string& listener, const std::string& reason) {
  std::lock_guard lock(mu_);
  ++refusals_[{listener, reason}];
}

std::string Metrics::Render(const std::string& extra) const {
  std::ostringstream out;
  std::lock_guard lock(mu_);
  out << "# HELP hadmc_http_requests_total HTTP requests answered, by listener, route, status.\n"
      << "# TYPE hadmc_http_requests_total counter\n";
  for (const auto& [k, s] : requests_)
    out << "hadmc_http_requests_total{listener=\"" << std::get<0>(k) << "\",route=\""
        << std::get<1>(k) << "\",status=\"" << std::get<2>(k) << "\"} " << s.count << "\n";
  out << "# HELP hadmc_http_request_seconds_sum Time spent in handlers.\n"
      << "# TYPE hadmc_http_request_seconds_sum counter\n";
  for (const auto& [k, s] : requests_)
    out << "hadmc_http_request_seconds_sum{listener=\"" << std::get<0>(k) << "\",route=\""
        << std::get<1>(k) << "\",status=\"" << std::get<2>(k) << "\"} " << s.seconds << "\n";
  out << "# HELP hadmc_auth_refusals_total Requests refused for authentication.\n"
      << "# TYPE hadmc_auth_refusals_total counter\n";
  for (const auto& [k, n] : refusals_)
    out << "hadmc_auth_refusals_total{listener=\"" << k.first << "\",reason=\"" << k.second
        << "\"} " << n << "\n";
  out << extra;
  return out.str();
}

}  // namespace hadmc::server
