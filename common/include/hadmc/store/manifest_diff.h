// What a device must download to move to a new manifest.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hadmc/store/manifest.h"

namespace hadmc::store {

struct BlockDiff {
  std::vector<BlockRef> fetch;  // distinct blocks to download, in file order
  uint64_t fetch_bytes = 0;
  uint64_t reused_bytes = 0;    // bytes of `next`'s distinct blocks already present
  size_t distinct_blocks = 0;   // distinct blocks in `next`
};

// Blocks of `next` that `old` does not have.
BlockDiff ManifestDiff(const Manifest& old, const Manifest& next);
// Blocks of `next` for which `have(id)` is false (e.g. a local block store).
BlockDiff MissingBlocks(const Manifest& next, const std::function<bool(const std::string&)>& have);

}  // namespace hadmc::store
