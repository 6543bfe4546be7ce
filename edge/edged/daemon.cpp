#include "hadmc/edge/daemon.h"

#include <systemd/sd-daemon.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include "hadmc/common/atomic_file.h"
#include "hadmc/common/log.h"
#include "hadmc/crypto/certificates.h"
#include "hadmc/store/manifest.h"

#include <nlohmann/json.hpp>

namespace hadmc::edge {
namespace fs = std::filesystem;
namespace {

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
  sc.concurrency = config.concurrency;
  sc.retain_versions = config.retain_versions;
  auto syncer = Syncer::Open(sc);
  if (!syncer) return MakeError(syncer.error());
  d->syncer_ = std::move(*syncer);

  const fs::path api_dir = fs::path(config.state_dir) / "api";
  HADMC_TRY(EnsureApiCertificate(api_dir));
  d->api_ = std::make_shared<LocalApi>(d->runtime_);
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
  auto latest = syncer_->LatestComplete();
  if (!latest) return MakeError(latest.error());
  if (*latest) {
    auto bytes = syncer_->Assemble(**latest);
    Status st = bytes ? runtime_.Activate((*latest)->version, *bytes) : MakeError(bytes.error());
    if (!st) Log().warn("edged: the stored version {} does not load: {}", (*latest)->version, st.error().message());
    else Log().info("edged: serving stored version {}", (*latest)->version);
  }
  server_->Start();
  api_->SetDaemonStatus(StateName(state_), "");
  Notify("READY=1");
  return {};
}

bool Daemon::PollOnce() {
  auto fail = [this](const Error& e) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = e.message();
    }
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
  if (r->version == 0 || (active && active->version == r->version)) {
    Move(Event::kNoUpdate);
    return true;
  }
  Move(Event::kUpdateAvailable);
  Move(Event::kDownloaded);  // the sync fetched and verified every block
  auto bytes = syncer_->Assemble(r->manifest);
  if (!bytes) return fail(bytes.error());
  Move(Event::kVerified);
  Status st = runtime_.Activate(r->version, *bytes);
  if (!st) return fail(st.error());
  Move(Event::kLoaded);
  Move(Event::kSwapped);
  Move(Event::kProbationPassed);  // the probation window is not built yet (docs/edge.md)
  Move(Event::kReported);
  Log().info("edged: now serving version {}", r->version);
  std::lock_guard<std::mutex> lock(mu_);
  last_error_.clear();
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
                               {"message", error}};
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
  std::mt19937_64 rng(std::random_device{}());
  int failures = 0;
  while (!stop_) {
    const EdgedConfig timing = config();  // Reload may change it between polls
    const bool ok = PollOnce();
    failures = ok ? 0 : failures + 1;
    Heartbeat();  // after every poll: the cloud sees the outcome, good or bad
    Notify("WATCHDOG=1");
    double wait = timing.poll_interval_s;
    if (failures > 0)
      wait = std::min<double>(timing.max_backoff_s, timing.poll_interval_s * std::pow(2.0, failures));
    std::uniform_real_distribution<double> jitter(1 - timing.jitter, 1 + timing.jitter);
    wait *= jitter(rng);
    // Wait in slices of at most 10 s, pinging the systemd watchdog in each (WatchdogSec=30 in
    // systemd/hadmc-edged.service), so a long backoff is not mistaken for a hang.
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(wait));
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      cv_.wait_until(lock, std::min(until, std::chrono::steady_clock::now() + std::chrono::seconds(10)),
                     [this] { return stop_.load(); });
      Notify("WATCHDOG=1");
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
  config_.max_latency_ratio = next.max_latency_ratio;
  runtime_.SetMaxLatencyRatio(next.max_latency_ratio);
  Log().info("edged: config reloaded (poll every {} s, jitter {}, backoff up to {} s)",
             config_.poll_interval_s, config_.jitter, config_.max_backoff_s);
  return {};  // the new timing applies from the next poll
}

void Daemon::Stop() {
  stop_ = true;
  cv_.notify_all();
}

}  // namespace hadmc::edge
