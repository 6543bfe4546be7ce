// Content-addressed blocks on disk: <root>/objects/ab/cdef... (the id's first two hex chars name
// the directory). A block is written to a temporary file, fsynced, renamed into place and the
// directory fsynced, so a crash never leaves a partial block under a real id; two writers of the
// same block race harmlessly (same bytes, atomic rename). Reads verify the hash: a block whose
// bytes do not match its name is reported as corrupt and removed, so it can be fetched again.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::store {

struct GcStats {
  size_t kept = 0;
  size_t removed = 0;
  uint64_t removed_bytes = 0;
  size_t skipped_recent = 0;  // unreferenced but younger than the grace period
};

class BlockStore {
 public:
  // Opens (creating if needed) the store rooted at `root`.
  static Result<BlockStore> Open(const std::string& root);

  // Stores `bytes` under `id`. Errc::kInvalidArgument for a malformed id, Errc::kCorrupt when
  // SHA256(bytes) != id. Storing a block that is already present is a cheap no-op.
  Status Put(std::string_view id, std::string_view bytes) const;
  // Put for many blocks, `threads` at a time: each block costs two fsyncs, and overlapping them
  // is what makes a 45 MB publish fast. Stops at the first error.
  Status PutAll(const std::vector<std::pair<std::string, std::string_view>>& blocks,
                int threads = 8) const;
  // Stores `bytes` under their SHA256 and returns the id.
  Result<std::string> PutBytes(std::string_view bytes) const;
  // The block's bytes, verified. Errc::kNotFound when absent; Errc::kCorrupt when the bytes on
  // disk do not hash to `id` (the bad file is removed).
  Result<std::string> Get(std::string_view id) const;
  bool Contains(std::string_view id) const;
  // Ids of all stored blocks.
  Result<std::vector<std::string>> List() const;
  // Removes every block not in `keep` whose file is older than `grace` (a publish in progress has
  // written blocks that no registered version references yet), and stale temporary files.
  Result<GcStats> Gc(const std::set<std::string>& keep, std::chrono::seconds grace) const;

  // Path of a block's file. Precondition: IsSha256Hex(id).
  std::string PathFor(std::string_view id) const;
  const std::string& root() const { return root_; }

 private:
  explicit BlockStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

}  // namespace hadmc::store
