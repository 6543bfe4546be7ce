// hadmc-loadgen: inference load on an edge daemon's local API (POST /v1/infer), to watch what
// clients see while the daemon swaps models. Each of --concurrency threads keeps one HTTPS
// connection alive. Closed loop by default: a thread sends the next request when the previous
// answer is read, so the load is as high as the daemon can serve. With --rate R (open loop) the
// threads send R requests per second in all on a fixed schedule, and a request's latency counts
// from its scheduled time, so a request that had to wait for a late answer on its connection
// counts the wait (no coordinated omission). At the end
// (after --duration, --requests, or SIGINT/SIGTERM) it prints requests ok and failed, latency
// percentiles and how many answers each served version gave; --csv keeps every request.
//
//   hadmc-loadgen --url https://127.0.0.1:8470 --ca /var/lib/hadmc/api/ca.crt --shape 1,1,28,28
//                 --concurrency 2 --duration 30 --csv requests.csv
//
// Exit status: 0 after a run (failed requests are counted and printed, not hidden), 1 when the
// API could not be reached at all, 2 for bad usage (options, CA file, CSV path).
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "hadmc/net/https_client.h"
#include "load_report.h"

namespace {

using hadmc::edge::loadgen::RequestRecord;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string url = "https://127.0.0.1:8470";
  std::string ca;
  int concurrency = 2;
  double duration_s = 0;  // 0: no time limit
  uint64_t requests = 0;  // 0: no request limit
  std::string shape_text;
  std::string csv;
  bool json = false;
  int timeout_ms = 10'000;
  double rate = 0;  // requests per second in all; 0: closed loop
};

// What the worker threads share.
struct Run {
  Clock::time_point start;
  std::optional<Clock::time_point> deadline;
  uint64_t max_requests = 0;
  std::atomic<uint64_t> issued{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::string first_error;  // under mu

  double Ms(Clock::time_point t) const {
    return std::chrono::duration<double, std::milli>(t - start).count();
  }
  void NoteError(const std::string& e) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.empty()) first_error = e;
  }
};

// Sends requests until the run ends; returns this connection's records. `interval` > 0: open
// loop, one request every `interval` from `first` on, each timed from its scheduled start.
std::vector<RequestRecord> Work(Run& run, hadmc::net::HttpsClient& client,
                                const std::string& body, Clock::duration interval,
                                Clock::time_point first) {
  const hadmc::net::HeaderList headers = {{"Content-Type", "application/json"}};
  std::vector<RequestRecord> records;
  Clock::time_point scheduled = first;
  while (!run.stop.load()) {
    double late_ms = 0;
    if (run.max_requests > 0 && run.issued.fetch_add(1) >= run.max_requests) break;
    Clock::time_point t0 = Clock::now();
    if (interval.count() > 0) {
      // Sleep in short steps so SIGINT/SIGTERM still ends the run promptly.
      while (t0 < scheduled && !run.stop.load()) {
        std::this_thread::sleep_for(std::min<Clock::duration>(scheduled - t0,
                                                              std::chrono::milliseconds(100)));
        t0 = Clock::now();
      }
      if (run.stop.load()) break;
      late_ms = std::chrono::duration<double, std::milli>(t0 - scheduled).count();
      t0 = scheduled;
      scheduled += interval;
    }
    if (run.deadline && t0 >= *run.deadline) break;
    auto r = client.Request("POST", "/v1/infer", body, headers);
    RequestRecord rec;
    rec.start_ms = run.Ms(t0);
    rec.send_late_ms = late_ms;
    rec.latency_ms = run.Ms(Clock::now()) - rec.start_ms;
    if (!r) {
      run.NoteError(r.error().message());
      records.push_back(rec);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // no busy loop while it is down
      continue;
    }
    rec.status = r->status;
    rec.version = r->status == 200 ? hadmc::edge::loadgen::VersionOf(r->body) : -1;
    if (rec.version < 0)
      run.NoteError("HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 200));
    records.push_back(rec);
  }
  return records;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "hadmc-loadgen: closed-loop POST /v1/infer load on an edge daemon's local API; prints "
      "requests ok/failed, latency p50/p99/max and requests per served version at the end"};
  Options o;
  app.add_option("--url", o.url, "the local API")->capture_default_str();
  app.add_option("--ca", o.ca,
                 "CA of the API's certificate: <state_dir>/api/ca.crt of hadmc-edged (default: "
                 "the system roots)");
  app.add_option("--concurrency,-c", o.concurrency,
                 "threads, each with its own kept-alive connection")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  auto* duration = app.add_option("--duration", o.duration_s, "stop after this many seconds")
                       ->check(CLI::PositiveNumber);
  app.add_option("--requests,-n", o.requests, "stop after this many requests in all")
      ->check(CLI::PositiveNumber)
      ->excludes(duration);
  app.add_option("--shape", o.shape_text,
                 "input shape N,C,H,W of the served model, e.g. 1,1,28,28 (/v1/status does not "
                 "report it); the data is pseudo-random")
      ->required();
  app.add_option("--csv", o.csv,
                 "write one line per request: start_ms (since start), latency_ms, status (0: no "
                 "answer), version, send_late_ms (open loop: how late it was sent after its "
                 "scheduled start)");
  app.add_flag("--json", o.json, "print the summary as JSON");
  app.add_option("--rate", o.rate,
                 "open loop: send this many requests per second in all, spread evenly over the "
                 "connections on a fixed schedule; a latency counts from the request's scheduled "
                 "time (default: closed loop, each connection as fast as it is answered)")
      ->check(CLI::PositiveNumber);
  app.add_option("--timeout-ms", o.timeout_ms, "per connect, handshake, write and read")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.footer(
      "Without --duration or --requests it runs until SIGINT or SIGTERM, then prints the summary.\n"
      "A request is ok when the answer is HTTP 200 naming a version; any other answer or a\n"
      "transport error is failed. Latency percentiles are over ok requests.\n"
      "Exit status: 0 after a run (failures are reported, not hidden), 1 if the API could never\n"
      "be reached, 2 for bad usage.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  auto shape = hadmc::edge::loadgen::ParseShape(o.shape_text);
  if (!shape) {
    std::cerr << "error: --shape: " << shape.error().message() << "\n";
    return 2;
  }
  std::ofstream csv;
  if (!o.csv.empty()) {
    csv.open(o.csv, std::ios::trunc);
    if (!csv) {
      std::cerr << "error: cannot write --csv " << o.csv << "\n";
      return 2;
    }
  }
  const hadmc::net::HttpsClientOptions tls{o.ca, "", "", std::chrono::milliseconds(o.timeout_ms)};
  std::vector<std::unique_ptr<hadmc::net::HttpsClient>> clients;
  for (int i = 0; i < o.concurrency; ++i) {
    auto c = hadmc::net::HttpsClient::Create(o.url, tls);
    if (!c) {
      std::cerr << "error: " << c.error().message() << "\n";
      return 2;
    }
    clients.push_back(std::move(*c));
  }
  // One status request first: an unreachable API fails fast instead of counting errors.
  auto probe = clients[0]->Request("GET", "/v1/status");
  if (!probe) {
    std::cerr << "error: cannot reach " << o.url << ": " << probe.error().message() << "\n";
    return 1;
  }

  // SIGINT/SIGTERM end the run; blocked here so only the watcher thread receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Run run;
  run.max_requests = o.requests;
  std::ostringstream limit;
  if (o.requests > 0)
    limit << o.requests << " requests";
  else if (o.duration_s > 0)
    limit << o.duration_s << " s";
  else
    limit << "until SIGINT/SIGTERM";
  std::cerr << "hadmc-loadgen: " << o.concurrency << " connection(s) to " << o.url << "/v1/infer, "
            << (o.rate > 0 ? "open loop at " + std::to_string(o.rate) + " requests/s, "
                           : std::string("closed loop, "))
            << limit.str() << std::endl;
  run.start = Clock::now();
  if (o.duration_s > 0)
    run.deadline = run.start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(o.duration_s));
  std::thread watcher([&run, &signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    run.stop.store(true);
  });
  std::vector<std::vector<RequestRecord>> per_thread(clients.size());
  std::vector<std::thread> workers;
  // Open loop: each connection sends every concurrency / rate seconds, the connections staggered
  // by 1 / rate so the requests arrive evenly.
  const Clock::duration interval =
      o.rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(o.concurrency / o.rate))
                 : Clock::duration::zero();
  for (size_t i = 0; i < clients.size(); ++i)
    workers.emplace_back([&, i] {
      const double offset_s = o.rate > 0 ? static_cast<double>(i) / o.rate : 0.0;
      const Clock::time_point first =
          run.start + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(offset_s));
      per_thread[i] = Work(run, *clients[i], hadmc::edge::loadgen::InferBody(*shape, i + 1),
                           interval, first);
    });
  for (auto& w : workers) w.join();
  const double seconds = run.Ms(Clock::now()) / 1000.0;
  if (!run.stop.load()) pthread_kill(watcher.native_handle(), SIGTERM);  // wake the watcher
  watcher.join();

  std::vector<RequestRecord> records;
  for (auto& v : per_thread) records.insert(records.end(), v.begin(), v.end());
  std::sort(records.begin(), records.end(),
            [](const RequestRecord& a, const RequestRecord& b) { return a.start_ms < b.start_ms; });
  if (csv.is_open()) {
    csv << hadmc::edge::loadgen::CsvHeader() << "\n";
    for (const RequestRecord& r : records) csv << hadmc::edge::loadgen::CsvLine(r) << "\n";
  }
  const auto summary = hadmc::edge::loadgen::Summarize(records, seconds, run.first_error);
  if (o.json)
    std::cout << hadmc::edge::loadgen::SummaryToJson(summary).dump(2) << std::endl;
  else
    std::cout << hadmc::edge::loadgen::FormatSummary(summary) << std::flush;
  const bool answered = std::any_of(records.begin(), records.end(),
                                    [](const RequestRecord& r) { return r.status != 0; });
  if (!records.empty() && !answered) {
    std::cerr << "error: no request got an answer from " << o.url << "\n";
    return 1;
  }
  return 0;
}
