#include "hadmc/edge/daemon.h"

#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include "hadmc/common/atomic_file.h"
#include "hadmc/common/log.h"
#include "hadmc/crypto/certificates.h"
#include "hadmc/hal/device_class.h"
#include "hadmc/hal/threads.h"
#include "hadmc/store/manifest.h"

#include <nlohmann/json.hpp>

namespace hadmc::edge {
namespace fs = std::filesystem;
namespace {

constexpr int kBackgroundNice = 19;

// The API's TLS certificate: issued by a local CA on first start and kept in <state>/api/, so
// local clients can pin <state>/api/ca.crt.
Status EnsureApiCertificate(const fs::path& dir) {
  if (fs::exists(dir / "api.crt") && fs::exists(dir / "api.key")) return {};
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return MakeError(Errc::kIo, "cannot create " + dir.string() + ": " + ec.message());
  auto ca = crypto::CreateCa("hadmc-edged local API CA");
  if (!ca) return MakeError(ca.error());
  auto cert = crypto::IssueCertificate(
      *ca, {"localhost", crypto::CertRole::kServer, {"localhost"}, {"127.0.0.1", "::1"}, 3650});
  if (!cert) return MakeError(cert.error());
  HADMC_TRY(WriteFileAtomically((dir / "ca.crt").string(), ca->cert_pem));
  HADMC_TRY(WriteFileAtomically((dir / "api.key").string(), cert->key_pem, 0600));
  return WriteFileAtomically((dir / "api.crt").string(), cert->cert_pem);
}

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::Create(const EdgedConfig& config) {
  std::unique_ptr<Daemon> d(new Daemon(config));
  SyncConfig sc;
  sc.server_url = config.server_url;
  sc.model = config.model;
  sc.channel = config.channel;
  sc.tls = {config.ca_file, config.cert_file, config.key_file, std::chrono::seconds(30)};
  for (const std::string& path : config.pinned_keys) {
    auto key = crypto::VerifyKey::Load(path);
    if (!key) return MakeError(key.error().WithContext("pinned key " + path));
    sc.pinned_keys.push_back(*key);
  }
  sc.state_dir = config.state_dir;
  auto cert_pem = ReadFile(config.cert_file);
  if (!cert_pem) return MakeError(cert_pem.error().WithContext("device certificate"));
  auto cn = crypto::CertificateCommonName(*cert_pem);
  if (!cn) return MakeError(cn.error().WithContext("device certificate " + config.cert_file));
  d->device_id_ = *cn;
  auto report = net::HttpsClient::Create(config.server_url, sc.tls);
  if (!report) return MakeError(report.error());
  d->report_client_ = std::move(*report);
  d->profiler_ =
      std::make_unique<Profiler>(*d->report_client_, d->device_id_, config.model, d->device_class_);
  sc.concurrency = config.concurrency;
  sc.retain_versions = config.retain_versions;
  auto syncer = Syncer::Open(sc);
  if (!syncer) return MakeError(syncer.error());
  d->syncer_ = std::move(*syncer);

  const fs::path api_dir = fs::path(config.state_dir) / "api";
  HADMC_TRY(EnsureApiCertificate(api_dir));
  d->api_ = std::make_shared<LocalApi>(d->runtime_);
  d->api_->SetRollbackHandler([raw = d.get()] { raw->RequestRollback(); });
  d->api_->SetProfileHandler([raw = d.get()] { return raw->RequestProfile(); });
  auto server = net::HttpsServer::Create(2);
  if (!server) return MakeError(server.error());
  d->server_ = std::move(*server);
  net::ListenerOptions o;
  o.name = "local";
  o.address = config.api_address;
  o.port = static_cast<uint16_t>(config.api_port);
  o.cert_file = (api_dir / "api.crt").string();
  o.key_file = (api_dir / "api.key").string();
  auto port = d->server_->AddListener(o, d->api_);
  if (!port) return MakeError(port.error().WithContext("local API on " + config.api_address));
  d->api_port_ = *port;
  return d;
}

Daemon::~Daemon() {
  Stop();
  if (server_) server_->Stop(std::chrono::seconds(5));
}

std::string Daemon::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

void Daemon::Notify(const std::string& what) const {
  // A no-op unless $NOTIFY_SOCKET is set (systemd Type=notify).
  sd_notify(0, what.c_str());
}

void Daemon::Move(Event e) {
  auto next = Next(state_, e);
  if (!next) {
    Log().error("edged: {}", next.error().message());  // a bug: stay put, say so
    return;
  }
  state_ = *next;
  api_->SetDaemonStatus(StateName(state_), store::NowRfc3339());
  Notify(std::string("STATUS=") + StateName(state_));
}

Status Daemon::Start() {
  // The newest stored version that loads; one that does not is rejected and the next older one
  // tried, so a restart never leaves the device without a working model it still has.
  while (true) {
    auto latest = syncer_->LatestComplete();
    if (!latest) return MakeError(latest.error());
    if (!*latest) break;
    const uint64_t v = (*latest)->version;
    auto bytes = syncer_->Assemble(**latest);
    Status st = bytes ? runtime_.Activate(v, *bytes) : MakeError(bytes.error());
    if (st) {
      Log().info("edged: serving stored version {}", v);
      break;
    }
    Log().warn("edged: the stored version {} does not load: {}", v, st.error().message());
    SetLastError("version " + std::to_string(v) + " was rejected: " + st.error().message());
    if (Runtime::IsLatencyRefusal(st.error())) break;  // cannot happen without a serving model
    HADMC_TRY(syncer_->Reject(v, st.error().message()));
  }
  server_->Start();
  api_->SetDaemonStatus(StateName(state_), "");
  Notify("READY=1");
  return {};
}

void Daemon::SetLastError(const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = message;
  }
  api_->SetLastError(message);
}

std::optional<std::string> Daemon::WatchProbation(const LoadedModel& before,
                                                  const LoadedModel& after) {
  const EdgedConfig c = config();
  if (c.probation_s <= 0) return std::nullopt;
  ProbationPolicy policy;
  policy.min_requests = static_cast<uint64_t>(c.probation_min_requests);
  policy.max_error_rate_increase = c.probation_max_error_rate;
  policy.max_p99_ratio = c.probation_max_p99_ratio;
  const WindowStats base = before.live->Snapshot();
  Heartbeat();  // the cloud sees the new version on probation
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(c.probation_s);
  while (!stop_) {
    const bool over = std::chrono::steady_clock::now() >= until;
    const WindowStats during = after.live->Snapshot();
    if (rollback_requested_.exchange(false)) return std::string("the operator asked for it");
    if (auto why = ProbationRegression(base, during, policy, over)) return why;
    if (over) {
      Log().info("edged: version {} passed probation: {} requests, {} errors, p99 {:.2f} ms "
                 "(before: p99 {:.2f} ms)",
                 after.version, during.requests, during.errors, during.p99_ms, base.p99_ms);
      return std::nullopt;
    }
    std::unique_lock<std::mutex> lock(mu_);
    // Looked at ten times a second: a broken version fails requests until it is judged.
    cv_.wait_until(lock,
                   std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(100)),
                   [this] { return stop_.load() || rollback_requested_.load(); });
    Notify("WATCHDOG=1");
  }
  return std::nullopt;  // stopping: the version stays, judged by nobody (docs/edge.md)
}

bool Daemon::PollOnce() {
  auto fail = [this](const Error& e) {
    SetLastError(e.message());
    Log().warn("edged: {} (still serving version {})", e.message(),
               runtime_.Active() ? runtime_.Active()->version : 0);
    Move(Event::kError);
    Move(Event::kReported);
    return false;
  };
  Move(Event::kPollDue);
  auto r = syncer_->SyncOnce();
  if (!r) return fail(r.error());
  api_->AddSyncBytes(r->bytes_fetched);
  auto active = runtime_.Active();
  if (r->rejected) {  // the channel still offers a version refused here: wait for a newer one
    SetLastError("version " + std::to_string(r->version) + " was rejected: " + r->rejected_reason);
    Move(Event::kNoUpdate);
    return true;
  }
  if (r->version == 0 || (active && active->version == r->version)) {
    Move(Event::kNoUpdate);
    return true;
  }
  Move(Event::kUpdateAvailable);
  Move(Event::kDownloaded);  // the sync fetched and verified every block
  auto bytes = syncer_->Assemble(r->manifest);
  if (!bytes) return fail(bytes.error());
  Move(Event::kVerified);
  Log().info("edged: version {} assembled and verified ({} bytes); loading", r->version,
             bytes->size());
  Status st = runtime_.Activate(r->version, *bytes);
  if (!st) {
    // A version that does not load or fails its checks is refused for good; only the latency
    // comparison depends on the moment and is tried again at the next poll.
    if (!Runtime::IsLatencyRefusal(st.error()))
      if (Status rej = syncer_->Reject(r->version, st.error().message()); !rej)
        Log().error("edged: cannot record version {} as rejected: {}", r->version,
                    rej.error().message());
    return fail(st.error());  // the message names the version and the check
  }
  Move(Event::kLoaded);
  Move(Event::kSwapped);
  Log().info("edged: now serving version {}", r->version);
  auto now = runtime_.Active();
  if (active) {  // the first model ever has nothing to be compared with or rolled back to
    if (auto why = WatchProbation(*active, *now)) {
      const std::string reason = "rolled back during probation: " + *why;
      Log().warn("edged: version {} {}; serving version {} again", r->version, reason,
                 active->version);
      Move(Event::kProbationFailed);
      if (Status rb = runtime_.Rollback(); !rb)
        Log().error("edged: rollback failed: {}", rb.error().message());
      if (Status rej = syncer_->Reject(r->version, reason); !rej)
        Log().error("edged: cannot record version {} as rejected: {}", r->version,
                    rej.error().message());
      Move(Event::kRolledBack);
      SetLastError("version " + std::to_string(r->version) + " " + reason);
      Move(Event::kReported);
      return false;
    }
  }
  Move(Event::kProbationPassed);
  Move(Event::kReported);
  SetLastError("");
  return true;
}

void Daemon::Heartbeat() {
  auto m = runtime_.Active();
  const std::string error = last_error();
  const auto [p50, p99] = api_->RecentLatency();
  const nlohmann::json body = {{"state", StateName(state_)},
                               {"health", !m ? "no_model" : error.empty() ? "ok" : "degraded"},
                               {"model", config_.model},
                               {"version", m ? m->version : 0},
                               {"p50_ms", p50},
                               {"p99_ms", p99},
                               {"errors", api_->errors()},
                               {"message", error},
                               {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(
                                                std::chrono::steady_clock::now() - started_)
                                                .count()},
                               {"inferences", api_->requests()},
                               {"free_disk_bytes", hal::FreeDiskBytes(config_.state_dir)},
                               {"free_memory_bytes", hal::AvailableMemoryBytes()},
                               {"device_class", device_class_}};
  auto r = report_client_->Request("POST", "/v1/devices/" + device_id_ + "/heartbeat", body.dump(),
                                   {{"Content-Type", "application/json"}});
  if (!r || r->status != 200) {
    Log().warn("edged: heartbeat not delivered: {}",
               r ? "HTTP " + std::to_string(r->status) + " " + r->body : r.error().message());
    return;
  }
  ++heartbeats_;
}

void Daemon::Run() {
  // Sync, assembly, loading and warm-up are background work: on a 2-core box they compete
  // with the inferences the API is serving. This thread (and the fetch threads it starts) runs
  // at low priority, and its LibTorch ops on one thread, so the serving threads go first
  // (docs/benchmarks.md: p99 during swaps).
  hal::MakeThisThreadBackground(kBackgroundNice);
  std::mt19937_64 rng(std::random_device{}());
  int failures = 0;
  while (!stop_) {
    const EdgedConfig timing = config();  // Reload may change it between polls
    const bool ok = PollOnce();
    failures = ok ? 0 : failures + 1;
    Heartbeat();  // after every poll: the cloud sees the outcome, good or bad
    Notify("WATCHDOG=1");
    ProfileIfDue(timing);  // a new version is profiled once it has passed probation
    double wait = timing.poll_interval_s;
    if (failures > 0)
      wait = std::min<double>(timing.max_backoff_s, timing.poll_interval_s * std::pow(2.0, failures));
    std::uniform_real_distribution<double> jitter(1 - timing.jitter, 1 + timing.jitter);
    wait *= jitter(rng);
    // A busy server's Retry-After (429/503) is a floor: it knows its load, we only guess.
    if (!ok) wait = std::max<double>(wait, syncer_->retry_after_s());
    // Wait in slices of at most 10 s, pinging the systemd watchdog in each (WatchdogSec=30 in
    // systemd/hadmc-edged.service), so a long backoff is not mistaken for a hang.
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(wait));
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      cv_.wait_until(lock, std::min(until, std::chrono::steady_clock::now() + std::chrono::seconds(10)),
                     [this] {
                       return stop_.load() || rollback_requested_.load() ||
                              profile_requested_.load();
                     });
      Notify("WATCHDOG=1");
      if (!stop_ && rollback_requested_.exchange(false)) {
        lock.unlock();
        RollbackOnCommand();
        lock.lock();
      }
      if (!stop_ && profile_requested_.load()) {
        lock.unlock();
        ProfileIfDue(config());
        lock.lock();
      }
    }
  }
  Move(Event::kStop);
  Notify("STOPPING=1");
}

EdgedConfig Daemon::config() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_;
}

Status Daemon::Reload(const EdgedConfig& next) {
  std::lock_guard<std::mutex> lock(mu_);
  const EdgedConfig& cur = config_;
  const std::pair<const char*, bool> fixed[] = {
      {"server.url", next.server_url != cur.server_url},
      {"server.ca", next.ca_file != cur.ca_file},
      {"server.cert", next.cert_file != cur.cert_file},
      {"server.key", next.key_file != cur.key_file},
      {"model", next.model != cur.model},
      {"channel", next.channel != cur.channel},
      {"pinned_keys", next.pinned_keys != cur.pinned_keys},
      {"state_dir", next.state_dir != cur.state_dir},
      {"sync.concurrency", next.concurrency != cur.concurrency},
      {"sync.retain_versions", next.retain_versions != cur.retain_versions},
      {"runtime.threads", next.threads != cur.threads},
      {"api.address", next.api_address != cur.api_address},
      {"api.port", next.api_port != cur.api_port}};
  for (const auto& [field, changed] : fixed)
    if (changed)
      return MakeError(Errc::kUnsupported, std::string("reload: '") + field +
                                               "' changed; that needs a restart (config not applied)");
  config_.poll_interval_s = next.poll_interval_s;
  config_.jitter = next.jitter;
  config_.max_backoff_s = next.max_backoff_s;
  config_.probation_s = next.probation_s;
  config_.probation_min_requests = next.probation_min_requests;
  config_.probation_max_error_rate = next.probation_max_error_rate;
  config_.probation_max_p99_ratio = next.probation_max_p99_ratio;
  config_.max_latency_ratio = next.max_latency_ratio;
  config_.profile_enabled = next.profile_enabled;
  config_.profile_runs = next.profile_runs;
  config_.profile_threads = next.profile_threads;
  config_.profile_max_duty_cycle = next.profile_max_duty_cycle;
  config_.profile_jobs_interval_s = next.profile_jobs_interval_s;
  config_.profile_quiet_s = next.profile_quiet_s;
  runtime_.SetMaxLatencyRatio(next.max_latency_ratio);
  Log().info("edged: config reloaded (poll every {} s, jitter {}, backoff up to {} s)",
             config_.poll_interval_s, config_.jitter, config_.max_backoff_s);
  return {};  // the new timing applies from the next poll
}

void Daemon::RequestRollback() {
  rollback_requested_ = true;
  cv_.notify_all();
}

std::string Daemon::RequestProfile() {
  if (!config().profile_enabled) return "the profiler is off (profile.enabled in the config)";
  profile_requested_ = true;
  cv_.notify_all();
  return "";
}

void Daemon::ProfileIfDue(const EdgedConfig& c) {
  const bool requested = profile_requested_.exchange(false);
  if (!c.profile_enabled) return;
  ProfilerOptions o;
  o.runs = c.profile_runs;
  o.threads = c.profile_threads;
  o.max_duty_cycle = c.profile_max_duty_cycle;
  // Timing waits for a quiet spell (profile.quiet_s) unless an operator asked for it: timings
  // under traffic measure the contention, and a long profile at low priority would hold the
  // next sync back.
  const auto now = std::chrono::steady_clock::now();
  const uint64_t served = api_->requests();
  if (served != quiet_requests_) {
    quiet_requests_ = served;
    quiet_since_ = now;
  }
  const bool wait_for_quiet = c.profile_quiet_s > 0 && !requested;
  auto m = runtime_.Active();
  const bool version_due = m && (requested || !profiled_.count(m->version));
  const bool jobs_due = c.profile_jobs_interval_s > 0 && now >= next_jobs_check_;
  if (wait_for_quiet && (version_due || jobs_due) &&
      now - quiet_since_ < std::chrono::duration<double>(c.profile_quiet_s)) {
    if (!waiting_logged_)
      Log().info("edged: profiling waits until the API has served no inference for {} s",
                 c.profile_quiet_s);
    waiting_logged_ = true;
    return;
  }
  waiting_logged_ = false;
  // Timing a big model takes a while: keep the watchdog fed, and give way at once to a stop, an
  // operator's rollback or (while waiting for quiet) an inference (the version is then profiled
  // at a later turn).
  const auto keep_going = [this, wait_for_quiet, served] {
    Notify("WATCHDOG=1");
    return !stop_ && !rollback_requested_ && !(wait_for_quiet && api_->requests() != served);
  };
  if (version_due) {
    auto r = profiler_->ProfileAndReport(*m, o, keep_going);
    if (!r && hal::IsCancelled(r.error())) {
      Log().info("edged: profiling version {} stopped", m->version);
    } else {
      // Profiled, reported or not: a failed report is retried on request, not at every poll.
      profiled_.insert(m->version);
      ProfileStatus st{store::NowRfc3339(), m->version, r ? r->kernels.size() : 0,
                       r && r->e2e ? r->e2e->median_ms : 0.0, r ? "" : r.error().message()};
      if (r)
        Log().info("edged: version {} profiled and reported: {} kernels, {:.3f} ms end to end",
                   m->version, st.kernels, st.e2e_ms);
      else
        Log().warn("edged: {}", st.error);
      api_->SetLastProfile(st);
      api_->CountProfileRun(r.has_value());
    }
  }
  if (!jobs_due || stop_) return;
  next_jobs_check_ = now + std::chrono::seconds(c.profile_jobs_interval_s);
  auto answered = profiler_->AnswerJobs(o, m ? m->version : 0, keep_going);
  if (!answered && hal::IsCancelled(answered.error())) {
    next_jobs_check_ = now;  // asked again at the next turn
    return;
  }
  if (answered) jobs_answered_ += static_cast<uint64_t>(*answered);
  else Log().warn("edged: profiling jobs: {}", answered.error().message());
  for (int i = 0; answered && i < *answered; ++i) api_->CountProfileRun(true);
  if (!answered) api_->CountProfileRun(false);
  api_->SetProfileJobs(jobs_answered_, answered ? "" : answered.error().message());
}

void Daemon::RollbackOnCommand() {
  auto from = runtime_.Active();
  Move(Event::kRollbackCommand);
  Status st = runtime_.Rollback();
  if (!st) {
    Log().warn("edged: rollback asked for, but {}", st.error().message());
    SetLastError("rollback refused: " + st.error().message());
  } else {
    const std::string reason = "rolled back by the operator";
    Log().warn("edged: version {} {}; serving version {}", from->version, reason,
               runtime_.Active()->version);
    if (Status rej = syncer_->Reject(from->version, reason); !rej)
      Log().error("edged: cannot record version {} as rejected: {}", from->version,
                  rej.error().message());
    SetLastError("version " + std::to_string(from->version) + " " + reason);
  }
  Move(Event::kRolledBack);
  Move(Event::kReported);
  Heartbeat();
}

void Daemon::Stop() {
  stop_ = true;
  cv_.notify_all();
}

}  // namespace hadmc::edge
