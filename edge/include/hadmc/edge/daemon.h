// hadmc-edged's main loop: the state machine (state_machine.h) driving sync, runtime and the
// local API. One poll: CheckUpdate (sync) -> Download/Verify (inside the sync: only missing
// blocks, each verified) -> Load (assemble, verify the file, load, warm-up checks) -> Swap ->
// Probation -> Report -> Idle; any failure keeps the serving model, is logged and shown in
// /v1/status, and the next poll backs off exponentially (with jitter) up to max_backoff_s.
// A version that fails to load or check, or regresses during probation (and is rolled back),
// is rejected in the journal: never fetched or served again, the device waits for a newer one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "hadmc/edge/edged_config.h"
#include "hadmc/hal/device_class.h"
#include "hadmc/edge/local_api.h"
#include "hadmc/edge/profiler.h"
#include "hadmc/edge/runtime.h"
#include "hadmc/edge/state_machine.h"
#include "hadmc/edge/syncer.h"
#include "hadmc/net/https_server.h"

namespace hadmc::edge {

class Daemon {
 public:
  // Opens the state directory, the sync journal and block store, and the local API listener
  // (TLS with a certificate the daemon issues itself on first start: <state>/api/).
  static Result<std::unique_ptr<Daemon>> Create(const EdgedConfig& config);
  ~Daemon();

  // Serves the newest complete local version, if any (so a restart serves at once, before the
  // network answers), and starts the API. Then Run() polls until Stop().
  Status Start();
  void Run();
  void Stop();  // thread-safe, from a signal watcher or a test
  // The operator's rollback (POST /v1/rollback on the local API): thread-safe, acted on by the
  // loop at once — also in the middle of a probation window. The version rolled back from is
  // rejected (the channel still offers it; the device will not take it again).
  void RequestRollback();
  // POST /v1/profile on the local API: profile the serving model again and report it, on the
  // loop thread at its next wake-up (at once when idle). "" when taken, else why not.
  std::string RequestProfile();
  // SIGHUP: applies a re-read config. Poll timing (interval, jitter, backoff), the probation
  // window and thresholds, the runtime's latency bound and the profiler's settings take effect
  // at once; a change of server, identity, model, keys, state directory or API listener needs a
  // restart and is refused, naming the field (the running config stays).
  Status Reload(const EdgedConfig& next);
  EdgedConfig config() const;

  uint16_t api_port() const { return api_port_; }
  State state() const { return state_; }
  const Runtime& runtime() const { return runtime_; }
  std::string last_error() const;
  uint64_t heartbeats_sent() const { return heartbeats_; }

 private:
  explicit Daemon(EdgedConfig c)
      : config_(std::move(c)), runtime_(RuntimeOptions{5, config_.max_latency_ratio}) {}
  void Move(Event e);
  // One poll through the state machine; false when it failed.
  bool PollOnce();
  void Notify(const std::string& what) const;  // sd_notify when run under systemd
  // POSTs /v1/devices/{id}/heartbeat: version, state, health, p50/p99, errors, last error,
  // uptime, inference count, free disk (state directory) and memory, device class.
  void Heartbeat();
  void SetLastError(const std::string& message);
  // The operator's rollback from idle: back to the previous model, the current one rejected.
  void RollbackOnCommand();
  // The probation window after swapping `before` for `after`: the regression that fails it, or
  // nullopt when it passed (or probation is off, or the daemon is stopping).
  std::optional<std::string> WatchProbation(const LoadedModel& before, const LoadedModel& after);
  // The profiler's turn on the loop thread (docs/edge.md, Profiler): the serving version when
  // it has not been profiled yet or a profile was asked for, then the cloud's profiling jobs
  // when their interval is due. Stops early on Stop() or a rollback request.
  void ProfileIfDue(const EdgedConfig& c);

  EdgedConfig config_;  // timing fields under mu_ (Reload)
  Runtime runtime_;
  std::unique_ptr<Syncer> syncer_;
  std::unique_ptr<net::HttpsClient> report_client_;
  std::string device_id_;  // the CN of this device's client certificate
  const std::string device_class_ = hal::DetectDeviceClass();
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::shared_ptr<LocalApi> api_;
  std::unique_ptr<net::HttpsServer> server_;
  uint16_t api_port_ = 0;
  std::atomic<State> state_{State::kIdle};
  std::atomic<bool> stop_{false};
  std::atomic<bool> rollback_requested_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string last_error_;  // under mu_
  std::atomic<uint64_t> heartbeats_{0};
  // The profiler, its state: loop thread only, except the request flag.
  std::unique_ptr<Profiler> profiler_;
  std::atomic<bool> profile_requested_{false};
  std::set<uint64_t> profiled_;  // versions profiled by this process
  std::chrono::steady_clock::time_point next_jobs_check_{};
  uint64_t jobs_answered_ = 0;
  // The quiet spell (profile.quiet_s): the inference count last seen and since when it is so.
  uint64_t quiet_requests_ = 0;
  std::chrono::steady_clock::time_point quiet_since_ = std::chrono::steady_clock::now();
  bool waiting_logged_ = false;  // "waiting for a quiet spell" is logged once per wait
};

}  // namespace hadmc::edge
