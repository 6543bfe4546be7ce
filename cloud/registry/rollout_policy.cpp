#include "hadmc/registry/rollout_policy.h"

#include <fnmatch.h>

#include "hadmc/crypto/sha256.h"

namespace hadmc::registry {

uint32_t RolloutBucket(const std::string& model, uint64_t version, const std::string& device_id) {
  const auto d = crypto::Sha256(model + "\n" + std::to_string(version) + "\n" + device_id);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | d[i];
  return static_cast<uint32_t>(v % 10000);
}

bool RolloutCovers(const RolloutRecord& r, const std::string& device_id) {
  if (!r.device_filter.empty() && ::fnmatch(r.device_filter.c_str(), device_id.c_str(), 0) != 0)
    return false;
  return RolloutBucket(r.model, r.version, device_id) < r.percent * 100.0;
}

std::optional<RolloutRecord> ChooseRollout(const std::vector<RolloutRecord>& newest_first,
                                           const std::string& device_id) {
  for (const auto& r : newest_first)
    if (RolloutCovers(r, device_id)) return r;
  return std::nullopt;
}

}  // namespace hadmc::registry
