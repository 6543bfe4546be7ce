// One structured logger for the whole project (spdlog). Library code logs through Log(), never
// std::cerr; the CLI sets the level and pattern once at start-up.
#pragma once

#include <spdlog/spdlog.h>

namespace hadmc {

// The project logger ("hadmc"), writing to stderr.
spdlog::logger& Log();

// Sets the level by name: trace, debug, info, warn, error, off. Returns false for an unknown name.
bool SetLogLevel(const std::string& level);

}  // namespace hadmc
