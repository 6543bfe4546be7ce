// https_load: a closed-loop HTTPS load generator for the loopback benchmarks, with client
// certificates (wrk cannot present one, so the mTLS device endpoints are measured with this).
// Each connection is a thread with one kept-alive HttpsClient; it runs for --seconds or
// --max-requests per connection, whichever comes first, then prints req/s and latency quantiles.
//   https_load --url https://127.0.0.1:8443 --path /v1/devices/edge-b/heartbeat --method POST
//              --body '{"state":"serving","health":"ok"}' --ca ca.crt --cert d.crt --key d.key
//              --connections 8 --seconds 10
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "hadmc/net/https_client.h"

int main(int argc, char** argv) {
  CLI::App app{"closed-loop HTTPS load on loopback"};
  std::string url, path = "/healthz", method = "GET", body, ca, cert, key;
  std::vector<std::string> headers;
  int connections = 4;
  double seconds = 10;
  uint64_t max_requests = 1'000'000;
  app.add_option("--url", url, "https://127.0.0.1:PORT")->required();
  app.add_option("--path", path);
  app.add_option("--method", method);
  app.add_option("--body", body);
  app.add_option("-H,--header", headers, "'Name: value'");
  app.add_option("--ca", ca)->required();
  app.add_option("--cert", cert);
  app.add_option("--key", key);
  app.add_option("--connections", connections)->check(CLI::Range(1, 256));
  app.add_option("--seconds", seconds)->check(CLI::Range(0.1, 120.0));
  app.add_option("--max-requests", max_requests, "per connection");
  CLI11_PARSE(app, argc, argv);
  // Load goes to this machine only.
  if (url.rfind("https://127.", 0) != 0 && url.rfind("https://localhost", 0) != 0 &&
      url.rfind("https://[::1]", 0) != 0) {
    std::cerr << "https_load only targets loopback addresses\n";
    return 2;
  }
  hadmc::net::HeaderList hl;
  for (const auto& h : headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos) continue;
    hl.push_back({h.substr(0, colon), h.substr(h.find_first_not_of(' ', colon + 1))});
  }

  std::mutex mu;
  std::vector<double> latencies_ms;
  std::map<int, uint64_t> statuses;
  uint64_t errors = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c)
    threads.emplace_back([&] {
      auto client = hadmc::net::HttpsClient::Create(url, {ca, cert, key, std::chrono::seconds(10)});
      if (!client) {
        std::lock_guard lock(mu);
        std::cerr << client.error().String() << "\n";
        ++errors;
        return;
      }
      std::vector<double> mine;
      std::map<int, uint64_t> my_status;
      uint64_t my_errors = 0;
      for (uint64_t i = 0; i < max_requests && std::chrono::steady_clock::now() < deadline; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = (*client)->Request(method, path, body, hl);
        const auto t1 = std::chrono::steady_clock::now();
        if (!r) {
          ++my_errors;
          continue;
        }
        ++my_status[r->status];
        mine.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
      std::lock_guard lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
      for (auto [s, n] : my_status) statuses[s] += n;
      errors += my_errors;
    });
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto q = [&](double p) {
    return latencies_ms.empty() ? 0.0 : latencies_ms[std::min(
                                            latencies_ms.size() - 1,
                                            static_cast<size_t>(p * latencies_ms.size()))];
  };
  std::cout << method << " " << path << ": " << latencies_ms.size() << " requests in " << elapsed
            << " s over " << connections << " connections = " << latencies_ms.size() / elapsed
            << " req/s; latency ms p50 " << q(0.50) << " p90 " << q(0.90) << " p99 " << q(0.99)
            << " max " << (latencies_ms.empty() ? 0 : latencies_ms.back()) << "; errors " << errors
            << "; status";
  for (auto [s, n] : statuses) std::cout << " " << s << "x" << n;
  std::cout << "\n";
  return errors == 0 ? 0 : 1;
}
