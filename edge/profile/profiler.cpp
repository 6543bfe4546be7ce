#include "hadmc/edge/profiler.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "hadmc/common/log.h"
#include "hadmc/hal/energy.h"
#include "hadmc/hal/profile.h"

namespace hadmc::edge {

using nlohmann::json;

namespace {

json TimingJson(const hal::Timing& t) {
  return {{"median_ms", t.median_ms}, {"p90_ms", t.p90_ms}, {"runs", t.runs}};
}

}  // namespace

json ToJson(const LatencyReport& r) {
  json kernels = json::array();
  for (const hal::KernelMeasurement& k : hal::MergeRepeatedKeys(r.kernels)) {
    json row = TimingJson(k.timing);
    row["key"] = k.kernel.key.ToString();
    kernels.push_back(std::move(row));
  }
  json j = {{"model", r.model},
            {"version", r.version},
            {"batch", r.batch},
            {"threads", r.threads},
            {"kernels", std::move(kernels)}};
  if (r.e2e) j["e2e"] = TimingJson(*r.e2e);
  if (r.e2e && r.energy)
    j["energy"] = {{"joules_per_inference", r.energy->joules_per_inference},
                   {"measured", r.energy->measured},
                   {"source", r.energy->source}};
  if (r.job) j["job"] = *r.job;
  return j;
}

Result<std::vector<ProfileJob>> ParseProfileJobs(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  auto bad = [](const std::string& what) {
    return MakeError(Errc::kParse, "profile-jobs response: " + what);
  };
  if (!j.is_object() || !j.contains("jobs") || !j["jobs"].is_array())
    return bad("expected {\"jobs\": [...]}");
  std::vector<ProfileJob> jobs;
  for (const json& e : j["jobs"]) {
    ProfileJob job;
    if (!e.is_object() || !e.contains("id") || !e["id"].is_number_integer() ||
        e["id"].get<int64_t>() < 1)
      return bad("each job needs an integer id >= 1");
    job.id = e["id"].get<int64_t>();
    const std::string where = "job " + std::to_string(job.id) + ": ";
    if (!e.contains("kernels") || !e["kernels"].is_array())
      return bad(where + "'kernels' must be a list of kernel keys");
    for (const json& k : e["kernels"]) {
      if (!k.is_string()) return bad(where + "'kernels' must be a list of kernel keys");
      job.kernels.push_back(k.get<std::string>());
    }
    if (e.contains("runs")) {
      if (!e["runs"].is_number_integer() || e["runs"].get<int64_t>() < 1 ||
          e["runs"].get<int64_t>() > 1000000)
        return bad(where + "'runs' must be an integer >= 1");
      job.runs = e["runs"].get<int>();
    }
    jobs.push_back(std::move(job));
  }
  return jobs;
}

hal::BenchOptions Profiler::Bench(const ProfilerOptions& o,
                                  const std::function<bool()>& keep_going) const {
  hal::BenchOptions b;
  b.warmup = o.warmup;
  b.runs = o.runs;
  b.threads = o.threads;
  b.batch = 1;
  b.max_duty_cycle = o.max_duty_cycle;
  b.keep_going = keep_going;
  return b;
}

Status Profiler::Post(const LatencyReport& r) {
  const std::string target = "/v1/devices/" + device_id_ + "/latency";
  auto res =
      client_.Request("POST", target, ToJson(r).dump(), {{"Content-Type", "application/json"}});
  if (!res) return MakeError(res.error().WithContext("POST " + target));
  if (res->status != 200)
    return MakeError(Errc::kInvalidArgument,
                     "POST " + target + ": HTTP " + std::to_string(res->status) + " " + res->body);
  return {};
}

std::optional<LatencyReport::Energy> Profiler::Energy(const LoadedModel& m,
                                                      const hal::BenchOptions& b,
                                                      const hal::Timing& e2e) const {
  auto profile = hal::FindProfile(device_class_);
  if (!profile) return std::nullopt;  // arm64_cpu, cpu: no hardware profile, no TDP to go on
  if (!hal::EnergyMeter::Open()) {
    return LatencyReport::Energy{.joules_per_inference = profile->tdp_w * e2e.median_ms / 1000,
                                 .measured = false,
                                 .source = "tdp-estimate"};
  }
  // A burst of inferences with the meter running (the counter covers the whole package, so many
  // inferences in one reading, divided), then the serving budget's pause for it.
  hal::BenchOptions burst = b;
  burst.warmup = 0;
  burst.max_duty_cycle = 1.0;
  bool ok = false;
  const hal::EnergyReading reading =
      hal::MeasureEnergy([&] { ok = static_cast<bool>(hal::ProfileEndToEnd(m.executor, burst)); },
                         *profile);
  if (!ok || !reading.measured || burst.runs < 1) return std::nullopt;
  if (b.max_duty_cycle < 1.0) {
    const auto pause = std::chrono::duration<double>(reading.seconds * (1.0 / b.max_duty_cycle - 1.0));
    const auto until = std::chrono::steady_clock::now() + pause;
    while (std::chrono::steady_clock::now() < until && (!b.keep_going || b.keep_going()))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return LatencyReport::Energy{.joules_per_inference = reading.joules / burst.runs,
                               .measured = true,
                               .source = reading.source};
}

Result<LatencyReport> Profiler::ProfileAndReport(const LoadedModel& m, const ProfilerOptions& o,
                                                 const std::function<bool()>& keep_going) {
  const hal::BenchOptions b = Bench(o, keep_going);
  const std::string what = "profiling version " + std::to_string(m.version);
  auto kernels = hal::ProfileModelKernels(m.executor, b);
  if (!kernels) return MakeError(kernels.error().WithContext(what));
  auto e2e = hal::ProfileEndToEnd(m.executor, b);
  if (!e2e) return MakeError(e2e.error().WithContext(what));
  LatencyReport r;
  r.model = model_;
  r.version = m.version;
  r.batch = b.batch;
  r.threads = b.threads;
  r.kernels = std::move(*kernels);
  r.e2e = *e2e;
  r.energy = Energy(m, b, *e2e);
  HADMC_TRY_CTX(Post(r), "reporting version " + std::to_string(m.version));
  return r;
}

Result<int> Profiler::AnswerJobs(const ProfilerOptions& o, uint64_t version,
                                 const std::function<bool()>& keep_going) {
  const std::string target = "/v1/devices/" + device_id_ + "/profile-jobs";
  auto res = client_.Request("GET", target);
  if (!res) return MakeError(res.error().WithContext("GET " + target));
  if (res->status != 200)
    return MakeError(Errc::kInvalidArgument,
                     "GET " + target + ": HTTP " + std::to_string(res->status) + " " + res->body);
  auto jobs = ParseProfileJobs(res->body);
  if (!jobs) return MakeError(jobs.error());
  int answered = 0;
  for (const ProfileJob& job : *jobs) {
    if (unanswerable_.count(job.id)) continue;
    ProfilerOptions jo = o;
    jo.runs = std::min(job.runs, o.max_job_runs);
    const hal::BenchOptions b = Bench(jo, keep_going);
    LatencyReport r;
    r.model = model_;
    r.version = version;
    r.batch = b.batch;
    r.threads = b.threads;
    r.job = job.id;
    for (const std::string& text : job.kernels) {
      auto key = hal::KernelKey::Parse(text);
      auto timed = key ? hal::ProfileSyntheticKernel(*key, b)
                       : Result<hal::KernelMeasurement>(tl::unexpected(key.error()));
      if (!timed && hal::IsCancelled(timed.error())) return MakeError(timed.error());
      if (!timed) {
        Log().warn("edged: profiling job {}: kernel '{}' skipped: {}", job.id, text,
                   timed.error().message());
        continue;
      }
      r.kernels.push_back(std::move(*timed));
    }
    if (r.kernels.empty()) {
      Log().warn("edged: profiling job {}: none of its {} kernels can be timed here", job.id,
                 job.kernels.size());
      unanswerable_.insert(job.id);
      continue;
    }
    HADMC_TRY_CTX(Post(r), "answering profiling job " + std::to_string(job.id));
    Log().info("edged: answered profiling job {} ({} of {} kernels)", job.id, r.kernels.size(),
               job.kernels.size());
    ++answered;
  }
  return answered;
}

}  // namespace hadmc::edge
