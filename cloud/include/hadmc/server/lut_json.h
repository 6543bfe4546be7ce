// The JSON of a device class's LUT as GET /v1/lut/{device_class} answers it, and as `hadmc lut`
// prints it from a local registry: {"device_class", "rows": [hal LutEntry…], "e2e": […]}. Its
// "device_class" and "rows" are exactly hal::ToJson(LatencyLut), the `hadmc lut export` file.
#pragma once

#include <nlohmann/json.hpp>

#include "hadmc/registry/registry.h"

namespace hadmc::server {

nlohmann::json DeviceLutJson(const registry::DeviceLut& lut);

// Device classes are 1-64 characters of [a-z0-9_-] (they appear in URL paths).
bool IsValidDeviceClass(const std::string& s);

}  // namespace hadmc::server
