// Private to cloud/registry: the SQLite Registry. One connection behind a mutex (SQLite serializes
// writers anyway; WAL lets the CLI read and write the same file while the server runs).
#pragma once

#include <mutex>

#include "hadmc/db/sqlite.h"
#include "hadmc/registry/registry.h"

namespace hadmc::registry {

class SqliteRegistry : public Registry {
 public:
  explicit SqliteRegistry(std::unique_ptr<db::Database> db) : db_(std::move(db)) {}

  Status AddVersion(const VersionRecord& v) override;
  Result<uint64_t> LatestVersion(const std::string& model) override;
  Result<VersionRecord> GetVersion(const std::string& model, uint64_t version) override;
  Result<std::vector<VersionRecord>> ListVersions(const std::string& model) override;
  Result<std::vector<ModelRecord>> ListModels() override;
  Result<std::vector<std::string>> AllManifests() override;

  Result<RolloutRecord> AddRollout(const RolloutSpec& r) override;
  Result<RolloutRecord> GetRollout(int64_t id) override;
  Result<std::vector<RolloutRecord>> ListRollouts(const std::string& model,
                                                  const std::string& channel) override;

  Status RegisterDevice(const std::string& id, const std::string& device_class) override;
  Status RecordHeartbeat(const Heartbeat& h) override;
  Result<DeviceRecord> GetDevice(const std::string& id) override;
  Result<std::vector<DeviceRecord>> ListDevices(int64_t limit, int64_t offset) override;
  Result<FleetSummary> Fleet() override;

  Result<int64_t> RecordLatencyReport(const std::string& device_id,
                                      const LatencyReport& report) override;
  Result<DeviceLut> Lut(const std::string& device_class) override;
  Result<int64_t> ImportLut(const std::string& device_class,
                            const std::vector<hal::LutEntry>& rows) override;
  Result<ProfileJob> AddProfileJob(const std::string& device_class,
                                   const std::vector<hal::KernelKey>& kernels,
                                   int64_t runs) override;
  Result<std::vector<ProfileJob>> ListProfileJobs(const std::string& device_class) override;
  Result<std::vector<ProfileJob>> PendingProfileJobs(const std::string& device_id) override;

  Status AddAdminToken(const std::string& name, const std::string& sha256) override;
  Result<std::string> FindAdminToken(const std::string& sha256) override;

 private:
  // The model's row id, creating the model when `create` is set (Errc::kNotFound otherwise).
  Result<int64_t> ModelId(const std::string& name, bool create);
  // The class a device's reports are filed under (see RecordLatencyReport). Caller holds mu_.
  Result<std::string> ReportingClass(const std::string& device_id);
  // Re-merges the LUT entry of (device_class, key) from its reports. Caller holds mu_ and a
  // transaction.
  Status MergeEntry(const std::string& device_class, const std::string& key);

  std::mutex mu_;
  std::unique_ptr<db::Database> db_;
};

}  // namespace hadmc::registry
