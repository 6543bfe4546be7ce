#include "hadmc/db/sqlite.h"

#include <sqlite3.h>

namespace hadmc::db {
namespace {

Error SqliteError(sqlite3* db, const std::string& what) {
  const int code = sqlite3_extended_errcode(db) & 0xff;
  const std::string message = what + ": " + sqlite3_errmsg(db);
  // Busy or locked after the busy timeout: another process holds the lock. Worth retrying, so
  // it keeps its own code (the server answers it 503 with Retry-After, not 500).
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
    return Error(std::make_error_code(std::errc::device_or_resource_busy), message);
  return Error(code == SQLITE_CONSTRAINT ? Errc::kAlreadyExists : Errc::kInternal, message);
}

}  // namespace

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement& Statement::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Statement& Statement::Bind(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}
Statement& Statement::Bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindNull(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return MakeError(SqliteError(db_, "sqlite step"));
}

Status Statement::Run() {
  for (;;) {
    auto row = Step();
    if (!row) return MakeError(row.error());
    if (!*row) return {};
  }
}

Status Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  return {};
}

int64_t Statement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::Real(int col) const { return sqlite3_column_double(stmt_, col); }
std::string Statement::Text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : "";
}
bool Statement::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

Result<std::unique_ptr<Database>> Database::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  std::unique_ptr<Database> db(new Database(raw));
  if (rc != SQLITE_OK) return MakeError(SqliteError(raw, "opening " + path));
  sqlite3_busy_timeout(raw, 5000);
  // WAL: readers never block the writer; synchronous=NORMAL is durable across application
  // crashes and loses at most the last transactions on power loss, which heartbeats tolerate.
  HADMC_TRY_CTX(db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                         "PRAGMA foreign_keys=ON;"),
                "configuring " + path);
  return db;
}

Database::~Database() { sqlite3_close_v2(db_); }

Status Database::Exec(const std::string& sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    Error e = SqliteError(db_, "sqlite exec");
    sqlite3_free(msg);
    return MakeError(e);
  }
  return {};
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK)
    return MakeError(SqliteError(db_, "preparing '" + std::string(sql.substr(0, 60)) + "'"));
  return Statement(s, db_);
}

Result<int> Database::SchemaVersion() {
  HADMC_TRY(Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  auto st = Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  if (!st) return MakeError(st.error());
  auto row = st->Step();
  if (!row) return MakeError(row.error());
  return static_cast<int>(st->Int(0));
}

Status Database::Migrate(const std::vector<Migration>& migrations) {
  auto current = SchemaVersion();
  if (!current) return MakeError(current.error());
  for (const auto& m : migrations) {
    if (m.version <= *current) continue;
    auto tx = Transaction::Begin(*this);
    if (!tx) return MakeError(tx.error());
    // Re-read inside the write lock: another process may have migrated meanwhile.
    auto now = SchemaVersion();
    if (!now) return MakeError(now.error());
    if (m.version <= *now) continue;
    HADMC_TRY_CTX(Exec(m.sql), "schema migration " + std::to_string(m.version));
    auto st = Prepare("INSERT INTO schema_version(version) VALUES (?)");
    if (!st) return MakeError(st.error());
    HADMC_TRY(st->Bind(1, static_cast<int64_t>(m.version)).Run());
    HADMC_TRY(tx->Commit());
  }
  return {};
}

int64_t Database::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int Database::Changes() const { return sqlite3_changes(db_); }

Result<Transaction> Transaction::Begin(Database& db) {
  HADMC_TRY(db.Exec("BEGIN IMMEDIATE"));
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_) (void)db_->Exec("ROLLBACK");
}

Status Transaction::Commit() {
  Database* db = db_;
  db_ = nullptr;
  return db->Exec("COMMIT");
}

}  // namespace hadmc::db
