// Rebuilding an .hmc file from its manifest and blocks, verifying every block and the whole file.
#pragma once

#include <functional>
#include <string>

#include "hadmc/store/manifest.h"

namespace hadmc::store {

// Returns a block's bytes (from a local store or the network).
using BlockFetcher = std::function<Result<std::string>(const BlockRef&)>;

// The file's bytes. Fails with Errc::kCorrupt when a block's hash or size or the file's SHA256
// does not match the manifest.
Result<std::string> AssembleModel(const Manifest& m, const BlockFetcher& fetch);

// AssembleModel, then an atomic write of `path` (temp + fsync + rename): a crash leaves the old
// file or the complete new one.
Status AssembleModelFile(const Manifest& m, const BlockFetcher& fetch, const std::string& path);

}  // namespace hadmc::store
