// hadmc-edged's main loop: the state machine (state_machine.h) driving sync, runtime and the
// local API. One poll: CheckUpdate (sync) -> Download/Verify (inside the sync: only missing
// blocks, each verified) -> Load (assemble, verify the file, load, warm-up checks) -> Swap ->
// Probation -> Report -> Idle; any failure keeps the serving model, is logged and shown in
// /v1/status, and the next poll backs off exponentially (with jitter) up to max_backoff_s.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "hadmc/edge/edged_config.h"
#include "hadmc/edge/local_api.h"
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
  // SIGHUP: applies a re-read config. Poll timing (interval, jitter, backoff) and the runtime's
  // latency bound take effect at once; a change of server, identity, model, keys, state
  // directory or API listener needs a restart and is refused, naming the field (the running
  // config stays).
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
  // POSTs /v1/devices/{id}/heartbeat: version, state, health, p50/p99, errors, last error.
  void Heartbeat();

  EdgedConfig config_;  // timing fields under mu_ (Reload)
  Runtime runtime_;
  std::unique_ptr<Syncer> syncer_;
  std::unique_ptr<net::HttpsClient> report_client_;
  std::string device_id_;  // the CN of this device's client certificate
  std::shared_ptr<LocalApi> api_;
  std::unique_ptr<net::HttpsServer> server_;
  uint16_t api_port_ = 0;
  std::atomic<State> state_{State::kIdle};
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string last_error_;  // under mu_
  std::atomic<uint64_t> heartbeats_{0};
};

}  // namespace hadmc::edge
