#include "hadmc/store/block_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "hadmc/common/atomic_file.h"
#include "hadmc/common/log.h"
#include "hadmc/crypto/sha256.h"

namespace hadmc::store {
namespace {

namespace fs = std::filesystem;

Status CheckId(std::string_view id) {
  if (!crypto::IsSha256Hex(id))
    return MakeError(Errc::kInvalidArgument,
                     "block id must be 64 lower-case hex characters, got '" +
                         std::string(id.substr(0, 80)) + "'");
  return {};
}

// mkdir that tolerates a concurrent creator, fsyncing the parent when it created the directory.
Status EnsureDir(const std::string& dir, const std::string& parent) {
  if (::mkdir(dir.c_str(), 0755) == 0) return SyncDirectory(parent);
  if (errno == EEXIST) return {};
  return MakeError(ErrnoError("mkdir " + dir));
}

}  // namespace

Result<BlockStore> BlockStore::Open(const std::string& root) {
  std::error_code ec;
  fs::create_directories(root + "/objects", ec);
  if (ec) return MakeError(Errc::kIo, "creating " + root + "/objects: " + ec.message());
  return BlockStore(root);
}

std::string BlockStore::PathFor(std::string_view id) const {
  std::string p = root_ + "/objects/";
  p.append(id.substr(0, 2)).push_back('/');
  p.append(id.substr(2));
  return p;
}

bool BlockStore::Contains(std::string_view id) const {
  return crypto::IsSha256Hex(id) && ::access(PathFor(id).c_str(), F_OK) == 0;
}

Status BlockStore::Put(std::string_view id, std::string_view bytes) const {
  HADMC_TRY(CheckId(id));
  if (crypto::Sha256Hex(bytes) != id)
    return MakeError(Errc::kCorrupt, "block bytes do not hash to " + std::string(id));
  const std::string path = PathFor(id);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == bytes.size())
    return {};
  const std::string objects = root_ + "/objects";
  HADMC_TRY(EnsureDir(objects + "/" + std::string(id.substr(0, 2)), objects));
  HADMC_TRY_CTX(WriteFileAtomically(path, bytes, 0444), "storing block " + std::string(id));
  return {};
}

Status BlockStore::PutAll(const std::vector<std::pair<std::string, std::string_view>>& blocks,
                          int threads) const {
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::optional<Error> first_error;
  auto work = [&] {
    for (size_t i = next++; i < blocks.size(); i = next++) {
      if (auto s = Put(blocks[i].first, blocks[i].second); !s) {
        std::lock_guard lock(mu);
        if (!first_error) first_error = s.error();
        next = blocks.size();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (first_error) return MakeError(*first_error);
  return {};
}

Result<std::string> BlockStore::PutBytes(std::string_view bytes) const {
  std::string id = crypto::Sha256Hex(bytes);
  HADMC_TRY(Put(id, bytes));
  return id;
}

Result<std::string> BlockStore::Get(std::string_view id) const {
  HADMC_TRY(CheckId(id));
  const std::string path = PathFor(id);
  if (::access(path.c_str(), F_OK) != 0)
    return MakeError(Errc::kNotFound, "block " + std::string(id) + " is not in the store");
  auto bytes = ReadFile(path);
  if (!bytes) return bytes;
  if (crypto::Sha256Hex(*bytes) != id) {
    Log().error("block store: {} does not match its id; removing it", path);
    ::unlink(path.c_str());
    return MakeError(Errc::kCorrupt, "block " + std::string(id) + " is corrupt on disk");
  }
  return bytes;
}

Result<std::vector<std::string>> BlockStore::List() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(root_ + "/objects", ec)) {
    if (!dir.is_directory()) continue;
    const std::string prefix = dir.path().filename().string();
    for (const auto& f : fs::directory_iterator(dir.path(), ec)) {
      std::string id = prefix + f.path().filename().string();
      if (crypto::IsSha256Hex(id)) ids.push_back(std::move(id));
    }
  }
  if (ec) return MakeError(Errc::kIo, "listing " + root_ + ": " + ec.message());
  return ids;
}

Result<GcStats> BlockStore::Gc(const std::set<std::string>& keep,
                               std::chrono::seconds grace) const {
  GcStats stats;
  const auto cutoff = fs::file_time_type::clock::now() - grace;
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(root_ + "/objects", ec)) {
    if (!dir.is_directory()) continue;
    const std::string prefix = dir.path().filename().string();
    for (const auto& f : fs::directory_iterator(dir.path(), ec)) {
      const std::string id = prefix + f.path().filename().string();
      const bool is_block = crypto::IsSha256Hex(id);
      if (is_block && keep.count(id)) {
        ++stats.kept;
        continue;
      }
      std::error_code fec;
      if (fs::last_write_time(f.path(), fec) > cutoff || fec) {
        ++stats.skipped_recent;
        continue;
      }
      const uint64_t size = f.file_size(fec);
      if (fs::remove(f.path(), fec) && is_block) {
        ++stats.removed;
        stats.removed_bytes += fec ? 0 : size;
      }
    }
  }
  if (ec) return MakeError(Errc::kIo, "garbage-collecting " + root_ + ": " + ec.message());
  return stats;
}

}  // namespace hadmc::store
