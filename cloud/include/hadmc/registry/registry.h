// The cloud's records: models, published versions (immutable), channels and staged rollouts,
// devices with their latest heartbeat, the latency LUT of each device class (raw reports and
// merged entries), profiling jobs and admin token hashes. A small interface so that PostgreSQL
// can replace the embedded SQLite implementation; implementations are safe to call from several
// threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/hal/lut.h"

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

// One fused kernel's timing in a device's latency report.
struct KernelTiming {
  hal::KernelKey key;
  double median_ms = 0;
  double p90_ms = 0;
  int64_t runs = 0;  // timed runs behind the numbers
};

// The whole model's timing (and energy, when known) in a latency report.
struct E2eTiming {
  double median_ms = 0;
  double p90_ms = 0;
  int64_t runs = 0;
  std::optional<double> joules_per_inference;
  bool energy_measured = false;
  std::string energy_source;  // "rapl", "tdp-estimate", ...
};

// What POST /v1/devices/{id}/latency carries. Preconditions (checked by the server): numbers
// finite, ms >= 0, p90 >= median, runs >= 1.
struct LatencyReport {
  std::string model;
  uint64_t version = 0;
  int64_t batch = 1;
  int64_t threads = 1;
  std::vector<KernelTiming> kernels;
  std::optional<E2eTiming> e2e;
  std::optional<int64_t> job;  // the profiling job this report answers
};

// The merged end-to-end latency of one model version at one batch size on a device class.
struct E2eLatencyRow {
  std::string model;
  uint64_t version = 0;
  int64_t batch = 1;
  double median_ms = 0;
  double p90_ms = 0;
  int64_t count = 0;
  std::optional<double> joules_per_inference;  // median of the last reports that had one
  std::string energy_source;                   // of the newest such report
  std::string updated_at;
};

// A device class's LUT as the cloud holds it.
struct DeviceLut {
  std::string device_class;
  std::vector<hal::LutEntry> rows;  // by key
  std::vector<E2eLatencyRow> e2e;   // by model, version, batch
};

// A request to every device of a class to time these kernels (what a search needs measured).
struct ProfileJob {
  int64_t id = 0;
  std::string device_class;
  std::vector<hal::KernelKey> kernels;
  int64_t runs = 50;
  std::string created_at;
  int64_t answered = 0;  // devices that posted a report with this job's id
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

  // The latency LUT. Every report is kept raw (lut_reports, e2e_latency); the LUT entry of a
  // (device class, kernel key) is merged from the reports of that key:
  //   - only measured reports count when at least one exists, so imported "estimated" rows never
  //     overwrite measurements (source = "measured"); otherwise the estimated ones do;
  //   - median_ms = the median of the last 8 such reports' medians, p90_ms = the median of their
  //     p90s (a device that drifts, say after a firmware update, moves the entry within 8
  //     reports; one outlier report does not);
  //   - count = the sum of runs over all such reports; updated_at = the newest report's time.
  // End-to-end rows merge the same way per (model, version, batch).
  // RecordLatencyReport files the report under the device's registered class (its heartbeat's
  // detected class when none was registered; Errc::kInvalidArgument when it has neither).
  // A report with a job id marks the job answered by this device; the job must exist and be for
  // the device's class (Errc::kNotFound otherwise). Returns the rows accepted.
  virtual Result<int64_t> RecordLatencyReport(const std::string& device_id,
                                              const LatencyReport& report) = 0;
  virtual Result<DeviceLut> Lut(const std::string& device_class) = 0;
  // Merges rows from a LUT file as reports without a device (each row's count as its runs, its
  // source as given). Returns the rows imported.
  virtual Result<int64_t> ImportLut(const std::string& device_class,
                                    const std::vector<hal::LutEntry>& rows) = 0;

  // Profiling jobs. Kernels must be non-empty and runs >= 1 (Errc::kInvalidArgument).
  virtual Result<ProfileJob> AddProfileJob(const std::string& device_class,
                                           const std::vector<hal::KernelKey>& kernels,
                                           int64_t runs) = 0;
  // Oldest first, with the answered counts.
  virtual Result<std::vector<ProfileJob>> ListProfileJobs(const std::string& device_class) = 0;
  // The jobs for the device's class that it has not answered yet, oldest first.
  virtual Result<std::vector<ProfileJob>> PendingProfileJobs(const std::string& device_id) = 0;

  // Admin tokens: only SHA256 hashes are stored. FindAdminToken returns the token's name.
  virtual Status AddAdminToken(const std::string& name, const std::string& sha256) = 0;
  virtual Result<std::string> FindAdminToken(const std::string& sha256) = 0;
};

// The embedded implementation: one SQLite file in WAL mode, migrated to the current schema.
Result<std::unique_ptr<Registry>> OpenSqliteRegistry(const std::string& path);

}  // namespace hadmc::registry
