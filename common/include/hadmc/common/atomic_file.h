// Whole-file reads and crash-safe whole-file writes, shared by the store, keys and certificates.
// (common/model and cloud/train keep private copies of the same idea; they can move onto this.)
#pragma once

#include <string>
#include <string_view>

#include "hadmc/common/error.h"

namespace hadmc {

// Reads a whole file.
Result<std::string> ReadFile(const std::string& path);

enum class Overwrite { kAllow, kRefuse };

// Writes `bytes` to a temporary file next to `path` with permissions `mode`, fsyncs it, renames
// it over `path` and fsyncs the directory: readers see the old file or the complete new one.
// With Overwrite::kRefuse an existing `path` is an error (keys are never silently replaced).
// Precondition: the directory exists.
Status WriteFileAtomically(const std::string& path, std::string_view bytes, unsigned mode = 0644,
                           Overwrite overwrite = Overwrite::kAllow);

// fsync of a directory, so a rename or create inside it survives a crash.
Status SyncDirectory(const std::string& dir);

}  // namespace hadmc
