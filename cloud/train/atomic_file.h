// Private to cloud/train: whole-file writes that a crash cannot leave half-done, and the CRC
// that lets a checkpoint notice a damaged companion file.
// (common/model has the same helper privately; promote one copy to a public common header when a
// third user appears.)
#pragma once

#include <cstdint>
#include <string>

#include "hadmc/common/error.h"

namespace hadmc::train {

// Writes `bytes` to "<path>.tmp.<pid>", fsyncs it, renames it over `path` and fsyncs the
// directory: readers see the old file or the complete new one. The directory must exist.
Status WriteFileAtomically(const std::string& path, const std::string& bytes);

// Reads a whole regular file.
Result<std::string> ReadFile(const std::string& path);

// CRC-32 (zlib) of `bytes`.
uint32_t Crc32(const std::string& bytes);

}  // namespace hadmc::train
