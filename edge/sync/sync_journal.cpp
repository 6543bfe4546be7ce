#include "hadmc/edge/sync_journal.h"

#include "hadmc/store/manifest.h"

namespace hadmc::edge {
namespace {

const std::vector<db::Migration> kMigrations = {
    {1, "CREATE TABLE versions ("
        "  version INTEGER PRIMARY KEY,"
        "  manifest_sha256 TEXT NOT NULL,"
        "  manifest_json TEXT NOT NULL,"
        "  complete INTEGER NOT NULL DEFAULT 0,"
        "  updated_at TEXT NOT NULL)"},
    // Versions the runtime refused or rolled back: never fetched or served again here.
    {2, "CREATE TABLE rejected ("
        "  version INTEGER PRIMARY KEY,"
        "  reason TEXT NOT NULL,"
        "  rejected_at TEXT NOT NULL)"},
};

JournalVersion Row(const db::Statement& s) {
  return {static_cast<uint64_t>(s.Int(0)), s.Text(1), s.Text(2), s.Int(3) != 0};
}

}  // namespace

Result<std::unique_ptr<SyncJournal>> SyncJournal::Open(const std::string& path) {
  auto db = db::Database::Open(path);
  if (!db) return MakeError(db.error().WithContext("sync journal " + path));
  HADMC_TRY_CTX((*db)->Migrate(kMigrations), "sync journal " + path);
  return std::unique_ptr<SyncJournal>(new SyncJournal(std::move(*db)));
}

Status SyncJournal::Begin(const JournalVersion& v) {
  auto s = db_->Prepare(
      "INSERT OR IGNORE INTO versions (version, manifest_sha256, manifest_json, complete, "
      "updated_at) VALUES (?, ?, ?, 0, ?)");
  if (!s) return MakeError(s.error());
  return s->Bind(1, static_cast<int64_t>(v.version))
      .Bind(2, v.manifest_sha256)
      .Bind(3, v.manifest_json)
      .Bind(4, store::NowRfc3339())
      .Run();
}

Status SyncJournal::MarkComplete(uint64_t version) {
  auto s = db_->Prepare("UPDATE versions SET complete = 1, updated_at = ? WHERE version = ?");
  if (!s) return MakeError(s.error());
  return s->Bind(1, store::NowRfc3339()).Bind(2, static_cast<int64_t>(version)).Run();
}

Status SyncJournal::Forget(uint64_t version) {
  auto s = db_->Prepare("DELETE FROM versions WHERE version = ?");
  if (!s) return MakeError(s.error());
  return s->Bind(1, static_cast<int64_t>(version)).Run();
}

Result<std::optional<JournalVersion>> SyncJournal::Get(uint64_t version) {
  auto s = db_->Prepare(
      "SELECT version, manifest_sha256, manifest_json, complete FROM versions WHERE version = ?");
  if (!s) return MakeError(s.error());
  s->Bind(1, static_cast<int64_t>(version));
  auto row = s->Step();
  if (!row) return MakeError(row.error());
  if (!*row) return std::optional<JournalVersion>{};
  return std::optional<JournalVersion>{Row(*s)};
}

Result<std::vector<JournalVersion>> SyncJournal::List() {
  auto s = db_->Prepare(
      "SELECT version, manifest_sha256, manifest_json, complete FROM versions "
      "ORDER BY version DESC");
  if (!s) return MakeError(s.error());
  std::vector<JournalVersion> out;
  while (true) {
    auto row = s->Step();
    if (!row) return MakeError(row.error());
    if (!*row) break;
    out.push_back(Row(*s));
  }
  return out;
}

Status SyncJournal::MarkRejected(uint64_t version, const std::string& reason) {
  auto s = db_->Prepare(
      "INSERT OR REPLACE INTO rejected (version, reason, rejected_at) VALUES (?, ?, ?)");
  if (!s) return MakeError(s.error());
  return s->Bind(1, static_cast<int64_t>(version)).Bind(2, reason).Bind(3, store::NowRfc3339()).Run();
}

Result<std::optional<std::string>> SyncJournal::Rejected(uint64_t version) {
  auto s = db_->Prepare("SELECT reason FROM rejected WHERE version = ?");
  if (!s) return MakeError(s.error());
  s->Bind(1, static_cast<int64_t>(version));
  auto row = s->Step();
  if (!row) return MakeError(row.error());
  if (!*row) return std::optional<std::string>{};
  return std::optional<std::string>{s->Text(0)};
}

}  // namespace hadmc::edge
