#include "hadmc/store/assemble.h"

#include "hadmc/common/atomic_file.h"
#include "hadmc/crypto/sha256.h"

namespace hadmc::store {

Result<std::string> AssembleModel(const Manifest& m, const BlockFetcher& fetch) {
  std::string file;
  file.reserve(m.file_size);
  for (const auto& ref : FileBlocks(m)) {
    auto bytes = fetch(ref);
    if (!bytes) return MakeError(bytes.error().WithContext("block " + ref.id));
    if (bytes->size() != ref.size || crypto::Sha256Hex(*bytes) != ref.id)
      return MakeError(Errc::kCorrupt, "block " + ref.id + " does not match its id");
    file += *bytes;
  }
  if (file.size() != m.file_size || crypto::Sha256Hex(file) != m.file_sha256)
    return MakeError(Errc::kCorrupt, "assembled file does not match the manifest's file_sha256");
  return file;
}

Status AssembleModelFile(const Manifest& m, const BlockFetcher& fetch, const std::string& path) {
  auto file = AssembleModel(m, fetch);
  if (!file) return MakeError(file.error());
  return WriteFileAtomically(path, *file);
}

}  // namespace hadmc::store
