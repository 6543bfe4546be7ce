#include "hadmc/common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace hadmc {

spdlog::logger& Log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_color_mt("hadmc");
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    return l;
  }();
  return *logger;
}

bool SetLogLevel(const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") return false;
  Log().set_level(parsed);
  return true;
}

}  // namespace hadmc
