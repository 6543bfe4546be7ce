// The on-device profiler (docs/edge.md, Profiler): micro-benchmarks every fused kernel of the
// serving model at its real shapes and precision (hal/kernel_bench.h: warm-up, then timed runs
// at a fixed thread count, median and p90) plus the model end to end, and reports them to the
// cloud's latency LUT (POST /v1/devices/{id}/latency). It also answers the cloud's profiling
// jobs: kernel configurations a search wants timed on this device class
// (GET /v1/devices/{id}/profile-jobs), each built as a one-node model and timed the same way.
// Timing pauses between kernels so that it uses at most max_duty_cycle of a core, and stops at
// keep_going's word; the daemon runs it on its background thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"
#include "hadmc/edge/runtime.h"
#include "hadmc/hal/device_class.h"
#include "hadmc/hal/kernel_bench.h"
#include "hadmc/net/https_client.h"

namespace hadmc::edge {

struct ProfilerOptions {
  int warmup = 5;
  int runs = 50;    // timed runs per kernel and end to end
  int threads = 1;  // LibTorch threads while timing
  double max_duty_cycle = 0.25;
  int max_job_runs = 1000;  // a job asking for more runs gets this many
};

// One report: the body of POST /v1/devices/{id}/latency (helper wire format, docs/edge.md).
struct LatencyReport {
  std::string model;
  uint64_t version = 0;
  int64_t batch = 1;
  int threads = 1;
  std::vector<hal::KernelMeasurement> kernels;
  std::optional<hal::Timing> e2e;
  std::optional<int64_t> job;  // the profiling job this answers
  // Energy per inference: measured over a burst of inferences where the device has an energy
  // counter (RAPL, Jetson INA3221: hal/energy.h), else the hardware profile's TDP × the median
  // inference time, labelled an estimate. Absent when the device class has no profile.
  struct Energy {
    double joules_per_inference = 0;
    bool measured = false;
    std::string source;  // "rapl:…", "ina3221:…", "tdp-estimate"
  };
  std::optional<Energy> energy;
};
// {"model","version","batch","threads","kernels":[{"key","median_ms","p90_ms","runs"}],
//  "e2e":{"median_ms","p90_ms","runs"}, "energy":{"joules_per_inference","measured","source"},
//  "job"}; e2e, energy and job only when set.
nlohmann::json ToJson(const LatencyReport& r);

struct ProfileJob {
  int64_t id = 0;
  std::vector<std::string> kernels;  // KernelKey::ToString() forms
  int runs = 50;
};
// The body of GET /v1/devices/{id}/profile-jobs: {"jobs":[{"id","kernels","runs"}]}.
Result<std::vector<ProfileJob>> ParseProfileJobs(const std::string& body);

class Profiler {
 public:
  // `client` talks to the cloud's device listener (mTLS); it must outlive the profiler and is
  // used only from the thread that calls the profiler.
  // `device_class` (hal::DetectDeviceClass() by default) picks the hardware profile whose TDP
  // estimates energy where the device has no energy counter.
  Profiler(net::HttpsClient& client, std::string device_id, std::string model_name,
           std::string device_class = hal::DetectDeviceClass())
      : client_(client),
        device_id_(std::move(device_id)),
        model_(std::move(model_name)),
        device_class_(std::move(device_class)) {}

  // Profiles `m` (every kernel, then end to end) and posts the report. Errors name the step;
  // hal::IsCancelled(error) when keep_going stopped it (nothing is posted then).
  Result<LatencyReport> ProfileAndReport(const LoadedModel& m, const ProfilerOptions& o,
                                         const std::function<bool()>& keep_going);

  // Fetches the pending profiling jobs, times each job's kernels and posts one answer per job
  // (with "job"). Keys this build cannot rebuild are skipped (logged); a job none of whose keys
  // can be built cannot be answered (the server needs timings) and is not tried again by this
  // process. `version` is the serving version the reports carry (0: none). Returns the number
  // of jobs answered.
  Result<int> AnswerJobs(const ProfilerOptions& o, uint64_t version,
                         const std::function<bool()>& keep_going);

 private:
  Status Post(const LatencyReport& r);
  hal::BenchOptions Bench(const ProfilerOptions& o, const std::function<bool()>& keep_going) const;
  std::optional<LatencyReport::Energy> Energy(const LoadedModel& m, const hal::BenchOptions& b,
                                              const hal::Timing& e2e) const;

  net::HttpsClient& client_;
  const std::string device_id_;
  const std::string model_;
  const std::string device_class_;
  std::set<int64_t> unanswerable_;  // job ids with no key this build can time
};

}  // namespace hadmc::edge
