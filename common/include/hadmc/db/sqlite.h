// A thin SQLite wrapper: one connection, prepared statements with typed binds, transactions and
// numbered schema migrations recorded in a `schema_version` table. Shared by the cloud registry
// and the edge daemon's state database.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hadmc/common/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace hadmc::db {

class Statement {
 public:
  Statement(Statement&& o) noexcept : stmt_(o.stmt_), db_(o.db_) { o.stmt_ = nullptr; }
  Statement(const Statement&) = delete;
  ~Statement();

  // Binds are 1-based, as in SQLite.
  Statement& Bind(int i, int64_t v);
  Statement& Bind(int i, double v);
  Statement& Bind(int i, std::string_view v);
  Statement& BindNull(int i);
  // Steps once: true when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion (for statements without rows).
  Status Run();
  Status Reset();

  int64_t Int(int col) const;
  double Real(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;

 private:
  friend class Database;
  Statement(sqlite3_stmt* s, sqlite3* db) : stmt_(s), db_(db) {}
  sqlite3_stmt* stmt_;
  sqlite3* db_;
};

// A schema step: migration N brings the schema from version N-1 to N.
struct Migration {
  int version;
  const char* sql;
};

class Database {
 public:
  // Opens (creating) the file in WAL mode with foreign keys on and a busy timeout, so a CLI and
  // the server can share it. A lock still held when the timeout ends is an error with code
  // std::errc::device_or_resource_busy (retry later); a constraint violation is kAlreadyExists.
  static Result<std::unique_ptr<Database>> Open(const std::string& path);
  ~Database();

  Status Exec(const std::string& sql);
  Result<Statement> Prepare(std::string_view sql);
  // Applies the migrations newer than the recorded version, each in its own transaction.
  // Precondition: `migrations` is sorted by version, starting at 1.
  Status Migrate(const std::vector<Migration>& migrations);
  Result<int> SchemaVersion();
  int64_t LastInsertRowId() const;
  int Changes() const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back when destroyed without Commit().
class Transaction {
 public:
  static Result<Transaction> Begin(Database& db);
  Transaction(Transaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
};

}  // namespace hadmc::db
