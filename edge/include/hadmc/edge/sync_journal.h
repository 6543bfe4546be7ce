// The edge's sync journal (SQLite, <state>/journal.db): which model versions the device has
// started to fetch and which it holds completely. Blocks themselves live in the block store,
// where a present block is a verified one (BlockStore::Put checks the hash before the atomic
// rename), so after a kill -9 the journal plus the store say exactly what is left to fetch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/db/sqlite.h"

namespace hadmc::edge {

struct JournalVersion {
  uint64_t version = 0;
  std::string manifest_sha256;  // SHA256 of the signed manifest JSON (the server's ETag)
  std::string manifest_json;    // verified when it was recorded
  bool complete = false;
};

class SyncJournal {
 public:
  static Result<std::unique_ptr<SyncJournal>> Open(const std::string& path);

  // Records that `version` is being fetched (a no-op when it is already recorded).
  Status Begin(const JournalVersion& v);
  Status MarkComplete(uint64_t version);
  Status Forget(uint64_t version);
  Result<std::optional<JournalVersion>> Get(uint64_t version);
  // Every recorded version, newest first.
  Result<std::vector<JournalVersion>> List();
  // A version the runtime refused (load or checks failed) or rolled back after probation. It
  // stays rejected, also across restarts and after its blocks are collected: the device waits
  // for a newer version instead of fetching and trying the same one again.
  Status MarkRejected(uint64_t version, const std::string& reason);
  Result<std::optional<std::string>> Rejected(uint64_t version);  // the reason, if rejected

 private:
  explicit SyncJournal(std::unique_ptr<db::Database> db) : db_(std::move(db)) {}
  std::unique_ptr<db::Database> db_;
};

}  // namespace hadmc::edge
