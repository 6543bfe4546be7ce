// What `hadmc sysinfo` and `hadmc hal detect` print about the device: its detected class, the
// evidence, and which execution backends can run here and why (not).
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

#include "hadmc/hal/detect.h"

namespace hadmc::cli {

void PrintDeviceReport(std::ostream& out, const hal::DeviceInfo& info);
// hal::ToJson(info) plus "backends": [{"name","available","reason"}].
nlohmann::json DeviceReportJson(const hal::DeviceInfo& info);

}  // namespace hadmc::cli
