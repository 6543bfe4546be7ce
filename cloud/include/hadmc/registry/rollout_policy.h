// Which version a device should run: the newest rollout on its channel that covers it. A device
// is inside a rollout's percentage when its stable bucket (SHA256 of model, version and device id,
// in [0, 10000)) is below percent x 100, so raising a rollout's percentage only adds devices, and
// a device's answer does not change between polls.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hadmc/registry/registry.h"

namespace hadmc::registry {

// In [0, 10000).
uint32_t RolloutBucket(const std::string& model, uint64_t version, const std::string& device_id);

bool RolloutCovers(const RolloutRecord& r, const std::string& device_id);

// The first rollout (in the given newest-first order) covering the device.
std::optional<RolloutRecord> ChooseRollout(const std::vector<RolloutRecord>& newest_first,
                                           const std::string& device_id);

}  // namespace hadmc::registry
