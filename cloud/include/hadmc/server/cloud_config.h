// configs/cloud.json: where the server listens, its TLS material and its limits. Every key is
// optional; relative paths are taken inside state_dir.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/server/state_dir.h"

namespace hadmc::server {

struct ListenerConfig {
  std::string address = "127.0.0.1";
  uint16_t port = 0;
};

// Per-device token buckets on the device listener (the device is the client certificate's CN).
// Block GETs have their own bucket: a sync fetches hundreds of blocks at once over several
// connections, while manifest polls, heartbeats and latency reports come a few per minute. A
// request over its bucket is answered 429 with Retry-After. A rate of 0 turns that bucket off.
struct DeviceApiLimits {
  double rate_limit_per_s = 5;          // manifest, heartbeat, latency (and unknown routes)
  double rate_limit_burst = 60;
  double block_rate_limit_per_s = 256;  // GET /v1/blocks/{id}: 64 MiB/s at 256 KiB blocks
  double block_rate_limit_burst = 4096; // a first sync of 1 GiB (256 KiB blocks) never waits
};

struct CloudConfig {
  std::string state_dir;  // "" = DefaultStateDir()
  int threads = 2;
  ListenerConfig device{"127.0.0.1", 8443};  // mTLS: devices
  ListenerConfig admin{"127.0.0.1", 8444};   // bearer tokens: operators, /healthz, /metrics
  std::string tls_cert = "tls/server.crt";
  std::string tls_key = "tls/server.key";
  std::string client_ca = "ca/ca.crt";
  std::vector<std::string> publisher_keys = {"keys/signing.pub"};
  size_t max_connections = 1024;  // per listener
  uint32_t handshake_timeout_ms = 10'000;
  uint32_t read_timeout_ms = 30'000;
  uint32_t write_timeout_ms = 30'000;
  uint64_t json_body_bytes = 64 * 1024;        // heartbeats, latency reports, rollouts
  uint64_t publish_body_bytes = 2ull << 30;    // model uploads
  uint32_t drain_timeout_ms = 10'000;
  uint32_t fleet_cache_ms = 1'000;  // GET /v1/fleet is recomputed at most this often
  DeviceApiLimits device_api;

  StateDir State() const { return {state_dir}; }
  // `path` if absolute, else state_dir/path.
  std::string Resolve(const std::string& path) const;
};

// Reads a config file; unknown keys are errors (a typo must not silently keep a default).
Result<CloudConfig> LoadCloudConfig(const std::string& path);

}  // namespace hadmc::server
