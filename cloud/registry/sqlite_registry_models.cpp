// Models, versions, rollouts and admin tokens.
#include "schema.h"
#include "sqlite_registry.h"

namespace hadmc::registry {
namespace {

constexpr char kRolloutColumns[] =
    "SELECT r.id, m.name, r.channel, r.version, r.percent, r.device_filter, r.created_at "
    "FROM rollouts r JOIN models m ON m.id = r.model_id ";

RolloutRecord RolloutFromRow(const db::Statement& s) {
  RolloutRecord r;
  r.id = s.Int(0);
  r.model = s.Text(1);
  r.channel = s.Text(2);
  r.version = static_cast<uint64_t>(s.Int(3));
  r.percent = s.Real(4);
  r.device_filter = s.Text(5);
  r.created_at = s.Text(6);
  return r;
}

}  // namespace

Result<std::unique_ptr<Registry>> OpenSqliteRegistry(const std::string& path) {
  auto db = db::Database::Open(path);
  if (!db) return MakeError(db.error());
  HADMC_TRY_CTX((*db)->Migrate(SchemaMigrations()), "migrating " + path);
  return std::unique_ptr<Registry>(new SqliteRegistry(std::move(*db)));
}

Result<int64_t> SqliteRegistry::ModelId(const std::string& name, bool create) {
  if (create) {
    auto ins = db_->Prepare("INSERT OR IGNORE INTO models(name) VALUES (?)");
    if (!ins) return MakeError(ins.error());
    HADMC_TRY(ins->Bind(1, name).Run());
  }
  auto st = db_->Prepare("SELECT id FROM models WHERE name = ?");
  if (!st) return MakeError(st.error());
  st->Bind(1, name);
  auto row = st->Step();
  if (!row) return MakeError(row.error());
  if (!*row) return MakeError(Errc::kNotFound, "no model named '" + name + "'");
  return st->Int(0);
}

Status SqliteRegistry::AddVersion(const VersionRecord& v) {
  std::lock_guard lock(mu_);
  auto tx = db::Transaction::Begin(*db_);
  if (!tx) return MakeError(tx.error());
  auto model_id = ModelId(v.model, /*create=*/true);
  if (!model_id) return MakeError(model_id.error());
  auto st = db_->Prepare(
      "INSERT INTO versions(model_id, version, parent, manifest, manifest_sha256, file_size, "
      "graph_sha256, created_at) VALUES (?,?,?,?,?,?,?,?)");
  if (!st) return MakeError(st.error());
  st->Bind(1, *model_id)
      .Bind(2, static_cast<int64_t>(v.version))
      .Bind(3, static_cast<int64_t>(v.parent))
      .Bind(4, v.manifest_json)
      .Bind(5, v.manifest_sha256)
      .Bind(6, static_cast<int64_t>(v.file_size))
      .Bind(7, v.graph_sha256)
      .Bind(8, v.created_at);
  if (auto r = st->Run(); !r) {
    if (r.error().Is(Errc::kAlreadyExists))
      return MakeError(Errc::kAlreadyExists, v.model + " version " + std::to_string(v.version) +
                                                 " is already published (versions are immutable)");
    return r;
  }
  return tx->Commit();
}

Result<uint64_t> SqliteRegistry::LatestVersion(const std::string& model) {
  std::lock_guard lock(mu_);
  auto st = db_->Prepare(
      "SELECT COALESCE(MAX(v.version), 0) FROM versions v JOIN models m ON m.id = v.model_id "
      "WHERE m.name = ?");
  if (!st) return MakeError(st.error());
  st->Bind(1, model);
  auto row = st->Step();
  if (!row) return MakeError(row.error());
  return static_cast<uint64_t>(st->Int(0));
}

Result<VersionRecord> SqliteRegistry::GetVersion(const std::string& model, uint64_t version) {
  std::lock_guard lock(mu_);
  auto st = db_->Prepare(
      "SELECT v.parent, v.manifest, v.manifest_sha256, v.file_size, v.graph_sha256, v.created_at "
      "FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = ? AND v.version = ?");
  if (!st) return MakeError(st.error());
  st->Bind(1, model).Bind(2, static_cast<int64_t>(version));
  auto row = st->Step();
  if (!row) return MakeError(row.error());
  if (!*row)
    return MakeError(Errc::kNotFound, model + " version " + std::to_string(version) +
                                          " is not published");
  return VersionRecord{model,         version,
                       static_cast<uint64_t>(st->Int(0)),
                       st->Text(1),   st->Text(2),
                       static_cast<uint64_t>(st->Int(3)),
                       st->Text(4),   st->Text(5)};
}

Result<std::vector<VersionRecord>> SqliteRegistry::ListVersions(const std::string& model) {
  std::lock_guard lock(mu_);
  auto st = db_->Prepare(
      "SELECT v.version, v.parent, v.manifest_sha256, v.file_size, v.graph_sha256, v.created_at "
      "FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = ? "
      "ORDER BY v.version DESC");
  if (!st) return MakeError(st.error());
  st->Bind(1, model);
  std::vector<VersionRecord> out;
  for (;;) {
    auto row = st->Step();
    if (!row) return MakeError(row.error());
    if (!*row) break;
    out.push_back({model, static_cast<uint64_t>(st->Int(0)), static_cast<uint64_t>(st->Int(1)),
                   "", st->Text(2), static_cast<uint64_t>(st->Int(3)), st->Text(4),
                   st->Text(5)});
  }
  return out;
}

Result<std::vector<ModelRecord>> SqliteRegistry::ListModels() {
  std::lock_guard lock(mu_);
  auto st = db_->Prepare(
      "SELECT m.name, COALESCE(MAX(v.version), 0), COUNT(v.version) FROM models m "
      "LEFT JOIN versions v ON v.model_id = m.id GROUP BY m.id ORDER BY m.name");
  if (!st) return MakeError(st.error());
  std::vector<ModelRecord> out;
  for (;;) {
    auto row = st->Step();
    if (!row) return MakeError(row.error());
    if (!*row) break;
    out.push_back({st->Text(0), static_cast<uint64_t>(st->Int(1)),
                   static_cast<uint64_t>(st->Int(2))});
  }
  return out;
}

Result<std::vector<std::string>> SqliteRegistry::AllManifests() {
  std::lock_guard lock(mu_);
  auto st = db_->Prepare("SELECT manifest FROM versions");
  if (!st) return MakeError(st.error());
  std::vector<std::string> out;
  for (;;) {
    auto row = st->Step();
    if (!row) return MakeError(row.error());
    if (!*row) break;
    out.push_back(st->Text(0));
  }
  return out;
}

Result<RolloutRecord> SqliteRegistry::AddRollout(const RolloutSpec& r) {
  if (!(r.percent >= 0 && r.percent <= 100))
    return MakeError(Errc::kInvalidArgument, "rollout percent must be within [0, 100]");
  if (r.channel.empty()) return MakeError(Errc::kInvalidArgument, "rollout needs a channel");
  int64_t id = 0;
  {
    std::lock_guard lock(mu_);
    auto tx = db::Transaction::Begin(*db_);
    if (!tx) return MakeError(tx.error());
    auto model_id = ModelId(r.model, /*create=*/false);
    if (!model_id) return MakeError(model_id.error());
    auto exists = db_->Prepare("SELECT 1 FROM versions WHERE model_id = ? AND version = ?");
    if (!exists) return MakeError(exists.error());
    exists->Bind(1, *model_id).Bind(2, static_cast<int64_t>(r.version));
    auto row = exists->Step();
    if (!row) return MakeError(row.error());
    if (!*row)
      return MakeError(Errc::kNotFound, r.model + " version " + std::to_string(r.version) +
                                            " is not published");
    auto ch = db_->Prepare("INSERT OR IGNORE INTO channels(model_id, name) VALUES (?, ?)");
    if (!ch) return MakeError(ch.error());
    HADMC_TRY(ch->Bind(1, *model_id).Bind(2, r.channel).Run());
    auto st = db_->Prepare(
        "INSERT INTO rollouts(model_id, channel, version, percent, device_filter) "
        "VALUES (?,?,?,?,?)");
    if (!st) return MakeError(st.error());
    st->Bind(1, *model_id)
        .Bind(2, r.channel)
        .Bind(3, static_cast<int64_t>(r.version))
        .Bind(4, r.percent)
        .Bind(5, r.device_filter);
    HADMC_TRY(st->Run());
    id = db_->LastInsertRowId();
    HADMC_TRY(tx->Commit());
  }
  return GetRollout(id);
}

Result<RolloutRecord> SqliteRegistry::GetRollout(int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->Prepare(std::string(kRolloutColumns) + "WHERE r.id = ?");
  if (!st) return MakeError(st.error());
  st->Bind(1, id);
  auto row = st->Step();
  if (!row) return MakeError(row.error());
  if (!*row) return MakeError(Errc::kNotFound, "no rollout " + std::to_string(id));
  return RolloutFromRow(*st);
}

Result<std::vector<RolloutRecord>> SqliteRegistry::ListRollouts(const std::string& model,
                                                                const std::string& channel) {
  std::lock_guard lock(mu_);
  auto st =
      db_->Prepare(std::string(kRolloutColumns) + "WHERE m.name = ? AND r.channel = ? "
                                                  "ORDER BY r.id DESC");
  if (!st) return MakeError(st.error());
  st->Bind(1, model).Bind(2, channel);
  std::vector<RolloutRecord> out;
  for (;;) {
    auto row = st->Step();
    if (!row) return MakeError(row.error());
    if (!*row) break;
    out.push_back(RolloutFromRow(*st));
  }
  return out;
}

Status SqliteRegistry::AddAdminToken(const std::string& name, const std::string& sha256) {
  std::lock_guard lock(mu_);
  auto st = db_->Prepare("INSERT INTO admin_tokens(sha256, name) VALUES (?, ?)");
  if (!st) return MakeError(st.error());
  return st->Bind(1, sha256).Bind(2, name).Run();
}

Result<std::string> SqliteRegistry::FindAdminToken(const std::string& sha256) {
  std::lock_guard lock(mu_);
  auto st = db_->Prepare("SELECT name FROM admin_tokens WHERE sha256 = ?");
  if (!st) return MakeError(st.error());
  st->Bind(1, sha256);
  auto row = st->Step();
  if (!row) return MakeError(row.error());
  if (!*row) return MakeError(Errc::kNotFound, "unknown admin token");
  return st->Text(0);
}

}  // namespace hadmc::registry
