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

void Metrics::CountLoadRefusal(const std::string& listener, const std::string& reason) {
  std::lock_guard lock(mu_);
  ++load_refusals_[{listener, reason}];
}

void Metrics::CountBlockServed(uint64_t bytes) {
  std::lock_guard lock(mu_);
  ++blocks_served_;
  block_bytes_served_ += bytes;
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
  out << "# HELP hadmc_load_refusals_total Requests refused to protect the server "
         "(rate_limited: 429, busy: 503).\n"
      << "# TYPE hadmc_load_refusals_total counter\n";
  for (const auto& [k, n] : load_refusals_)
    out << "hadmc_load_refusals_total{listener=\"" << k.first << "\",reason=\"" << k.second
        << "\"} " << n << "\n";
  out << "# HELP hadmc_blocks_served_total Block requests answered with bytes (200 or 206).\n"
      << "# TYPE hadmc_blocks_served_total counter\n"
      << "hadmc_blocks_served_total " << blocks_served_ << "\n"
      << "# HELP hadmc_block_bytes_served_total Block bytes sent in 200 and 206 answers.\n"
      << "# TYPE hadmc_block_bytes_served_total counter\n"
      << "hadmc_block_bytes_served_total " << block_bytes_served_ << "\n";
  out << extra;
  return out.str();
}

}  // namespace hadmc::server
