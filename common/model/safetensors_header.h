// Private to common/model: encoding and checking the safetensors header of an .hmc file.
#pragma once

#include <string>
#include <vector>

#include "file_io.h"
#include "hadmc/model/hmc_header.h"

namespace hadmc::model::detail {

// The 8-byte length prefix followed by the space-padded JSON header for `entries` (which must
// already tile the buffer in order). Fails on a reserved metadata key, a tensor named
// "__metadata__" or text that is not valid UTF-8.
Result<std::string> EncodeHmcHeader(const ir::Graph& graph,
                                    const std::map<std::string, std::string>& metadata,
                                    const std::vector<HmcTensorEntry>& entries);

// Reads and checks the header of the .hmc bytes in `src` (see ReadHmcHeader).
Result<HmcHeader> ParseHmcHeaderFrom(const ByteSource& src);

}  // namespace hadmc::model::detail
