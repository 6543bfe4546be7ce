// Number formatting shared by the reports and tables (markdown, progress lines).
#pragma once

#include <cstdio>
#include <string>

namespace hadmc {

// `v` with exactly `digits` decimals ("0.384" for (0.38372, 3)).
inline std::string FormatFixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace hadmc
