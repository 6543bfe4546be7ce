// Devices, heartbeats and the fleet summary.
#include "sqlite_registry.h"

namespace hadmc::registry {
namespace {

constexpr char kNow[] = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";
constexpr char kDeviceColumns[] =
    "SELECT id, device_class, first_seen, last_seen, model, version, state, health, p50_ms, "
    "p99_ms, errors, message, uptime_s, inferences, free_disk_bytes, free_memory_bytes, "
    "reported_class FROM devices ";

DeviceRecord DeviceFromRow(const db::Statement& s) {
  DeviceRecord d;
  d.id = s.Text(0);
  d.device_class = s.Text(1);
  d.first_seen = s.Text(2);
  d.last_seen = s.Text(3);
  d.last.device_id = d.id;
  d.last.model = s.Text(4);
  d.last.version = static_cast<uint64_t>(s.Int(5));
  d.last.state = s.Text(6);
  d.last.health = s.Text(7);
  d.last.p50_ms = s.Real(8);
  d.last.p99_ms = s.Real(9);
  d.last.errors = s.Int(10);
  d.last.message = s.Text(11);
  d.last.uptime_s = s.Int(12);
  d.last.inferences = s.Int(13);
  d.last.free_disk_bytes = s.Int(14);
  d.last.free_memory_bytes = s.Int(15);
  d.last.device_class = s.Text(16);
  return d;
}

// Runs a "SELECT key, COUNT(*) ... GROUP BY key" query into `out`.
Status CountInto(db::Database& db, const std::string& sql, std::map<std::string, int64_t>& out) {
  auto st = db.Prepare(sql);
  if (!st) return MakeError(st.error());
  for (;;) {
    auto row = st->Step();
    if (!row) return MakeError(row.error());
    if (!*row) return {};
    out[st->Text(0)] = st->Int(1);
  }
}

}  // namespace

Status SqliteRegistry::RegisterDevice(const std::string& id, const std::string& device_class) {
  std::lock_guard lock(mu_);
  auto st = db_->Prepare(
      "INSERT INTO devices(id, device_class) VALUES (?, ?) "
      "ON CONFLICT(id) DO UPDATE SET device_class = excluded.device_class");
  if (!st) return MakeError(st.error());
  return st->Bind(1, id).Bind(2, device_class).Run();
}

Status SqliteRegistry::RecordHeartbeat(const Heartbeat& h) {
  std::lock_guard lock(mu_);
  auto tx = db::Transaction::Begin(*db_);
  if (!tx) return MakeError(tx.error());
  auto dev = db_->Prepare(
      std::string("INSERT INTO devices(id, last_seen, model, version, state, health, p50_ms, "
                  "p99_ms, errors, message, uptime_s, inferences, free_disk_bytes, "
                  "free_memory_bytes, reported_class) VALUES (?1, ") +
      kNow +
      ", ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT(id) DO UPDATE SET "
      "last_seen = excluded.last_seen, model = ?2, version = ?3, state = ?4, health = ?5, "
      "p50_ms = ?6, p99_ms = ?7, errors = ?8, message = ?9, uptime_s = ?10, inferences = ?11, "
      "free_disk_bytes = ?12, free_memory_bytes = ?13, reported_class = ?14");
  if (!dev) return MakeError(dev.error());
  dev->Bind(1, h.device_id)
      .Bind(2, h.model)
      .Bind(3, static_cast<int64_t>(h.version))
      .Bind(4, h.state)
      .Bind(5, h.health)
      .Bind(6, h.p50_ms)
      .Bind(7, h.p99_ms)
      .Bind(8, h.errors)
      .Bind(9, h.message)
      .Bind(10, h.uptime_s)
      .Bind(11, h.inferences)
      .Bind(12, h.free_disk_bytes)
      .Bind(13, h.free_memory_bytes)
      .Bind(14, h.device_class);
  HADMC_TRY(dev->Run());
  auto log = db_->Prepare(std::string("INSERT INTO heartbeats(device_id, at, model, version, "
                                      "state, health, p50_ms, p99_ms, errors) VALUES (?, ") +
                          kNow + ", ?, ?, ?, ?, ?, ?, ?)");
  if (!log) return MakeError(log.error());
  log->Bind(1, h.device_id)
      .Bind(2, h.model)
      .Bind(3, static_cast<int64_t>(h.version))
      .Bind(4, h.state)
      .Bind(5, h.health)
      .Bind(6, h.p50_ms)
      .Bind(7, h.p99_ms)
      .Bind(8, h.errors);
  HADMC_TRY(log->Run());
  return tx->Commit();
}

Result<DeviceRecord> SqliteRegistry::GetDevice(const std::string& id) {
  std::lock_guard lock(mu_);
  auto st = db_->Prepare(std::string(kDeviceColumns) + "WHERE id = ?");
  if (!st) return MakeError(st.error());
  st->Bind(1, id);
  auto row = st->Step();
  if (!row) return MakeError(row.error());
  if (!*row) return MakeError(Errc::kNotFound, "no device '" + id + "'");
  return DeviceFromRow(*st);
}

Result<std::vector<DeviceRecord>> SqliteRegistry::ListDevices(int64_t limit, int64_t offset) {
  std::lock_guard lock(mu_);
  auto st = db_->Prepare(std::string(kDeviceColumns) + "ORDER BY id LIMIT ? OFFSET ?");
  if (!st) return MakeError(st.error());
  st->Bind(1, limit).Bind(2, offset);
  std::vector<DeviceRecord> out;
  for (;;) {
    auto row = st->Step();
    if (!row) return MakeError(row.error());
    if (!*row) break;
    out.push_back(DeviceFromRow(*st));
  }
  return out;
}

Result<FleetSummary> SqliteRegistry::Fleet() {
  std::lock_guard lock(mu_);
  FleetSummary f;
  auto st = db_->Prepare("SELECT COUNT(*), COALESCE(SUM(last_seen != ''), 0) FROM devices");
  if (!st) return MakeError(st.error());
  auto row = st->Step();
  if (!row) return MakeError(row.error());
  f.devices = st->Int(0);
  f.reporting = st->Int(1);
  HADMC_TRY(CountInto(*db_,
                      "SELECT model || '@' || version, COUNT(*) FROM devices WHERE model != '' "
                      "GROUP BY model, version",
                      f.by_version));
  HADMC_TRY(CountInto(*db_,
                      "SELECT health, COUNT(*) FROM devices WHERE health != '' GROUP BY health",
                      f.by_health));
  HADMC_TRY(CountInto(*db_, "SELECT device_class, COUNT(*) FROM devices GROUP BY device_class",
                      f.by_class));
  return f;
}

}  // namespace hadmc::registry
