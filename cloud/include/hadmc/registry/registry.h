// The cloud's records: models, published versions (immutable), channels and staged rollouts,
// devices with their latest heartbeat, latency reports (the LUT's raw rows) and admin token
// hashes. A small interface so that PostgreSQL can replace the embedded SQLite implementation;
// implementations are safe to call from several threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::registry {

struct VersionRecord {
  std::string model;
  uint64_t version = 0;
  uint64_t parent = 0;
  std::string manifest_json;  // the signed manifest as published
  std::string manifest_sha256;
  uint64_t file_size = 0;
  std::string graph_sha256;
  std::string created_at;
};

struct ModelRecord {
  std::string name;
  uint64_t latest_version = 0;
  uint64_t version_count = 0;
};

struct RolloutSpec {
  std::string model;
  std::string channel;
  uint64_t version = 0;
  double percent = 100;       // of devices matching the filter, by stable hash of the device id
  std::string device_filter;  // glob on the device id ("jetson-*"); "" = every device
};

struct RolloutRecord : RolloutSpec {
  int64_t id = 0;
  std::string created_at;
};

struct Heartbeat {
  std::string device_id;
  std::string model;
  uint64_t version = 0;
  std::string state;   // idle, downloading, serving, rolling_back, ...
  std::string health;  // ok, degraded, failed
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t errors = 0;
  std::string message;
  // What the device says about itself (edge daemon heartbeats; -1: not reported).
  int64_t uptime_s = 0;
  int64_t inferences = 0;
  int64_t free_disk_bytes = -1;
  int64_t free_memory_bytes = -1;
  std::string device_class;  // as detected on the device (hal::DetectDeviceClass)
};

struct DeviceRecord {
  std::string id;
  std::string device_class;
  std::string first_seen;
  std::string last_seen;  // "" until the first heartbeat
  Heartbeat last;         // the latest heartbeat's fields
};

struct LatencySample {
  std::string key;  // kernel signature or "e2e:<model>:<version>"
  double ms = 0;
};

struct LutRow {
  std::string key;
  int64_t samples = 0;
  double mean_ms = 0;
  double min_ms = 0;
  double max_ms = 0;
};

struct FleetSummary {
  int64_t devices = 0;
  int64_t reporting = 0;  // devices that sent at least one heartbeat
  std::map<std::string, int64_t> by_version;  // "model@version"
  std::map<std::string, int64_t> by_health;
  std::map<std::string, int64_t> by_class;
};

class Registry {
 public:
  virtual ~Registry() = default;

  // Versions. AddVersion fails with Errc::kAlreadyExists when (model, version) is taken.
  virtual Status AddVersion(const VersionRecord& v) = 0;
  virtual Result<uint64_t> LatestVersion(const std::string& model) = 0;  // 0 when none
  virtual Result<VersionRecord> GetVersion(const std::string& model, uint64_t version) = 0;
  // Newest first; manifest_json is left empty.
  virtual Result<std::vector<VersionRecord>> ListVersions(const std::string& model) = 0;
  virtual Result<std::vector<ModelRecord>> ListModels() = 0;
  // Every version's manifest, for block garbage collection.
  virtual Result<std::vector<std::string>> AllManifests() = 0;

  // Rollouts. The version must exist (Errc::kNotFound otherwise).
  virtual Result<RolloutRecord> AddRollout(const RolloutSpec& r) = 0;
  virtual Result<RolloutRecord> GetRollout(int64_t id) = 0;
  // Newest first.
  virtual Result<std::vector<RolloutRecord>> ListRollouts(const std::string& model,
                                                          const std::string& channel) = 0;

  // Devices. RegisterDevice upserts the class; RecordHeartbeat registers unknown devices.
  virtual Status RegisterDevice(const std::string& id, const std::string& device_class) = 0;
  virtual Status RecordHeartbeat(const Heartbeat& h) = 0;
  virtual Result<DeviceRecord> GetDevice(const std::string& id) = 0;
  virtual Result<std::vector<DeviceRecord>> ListDevices(int64_t limit, int64_t offset) = 0;
  virtual Result<FleetSummary> Fleet() = 0;

  // Latency reports: raw samples from a device, aggregated per key for its device class.
  virtual Status RecordLatency(const std::string& device_id,
                               const std::vector<LatencySample>& samples) = 0;
  virtual Result<std::vector<LutRow>> Lut(const std::string& device_class) = 0;

  // Admin tokens: only SHA256 hashes are stored. FindAdminToken returns the token's name.
  virtual Status AddAdminToken(const std::string& name, const std::string& sha256) = 0;
  virtual Result<std::string> FindAdminToken(const std::string& sha256) = 0;
};

// The embedded implementation: one SQLite file in WAL mode, migrated to the current schema.
Result<std::unique_ptr<Registry>> OpenSqliteRegistry(const std::string& path);

}  // namespace hadmc::registry
