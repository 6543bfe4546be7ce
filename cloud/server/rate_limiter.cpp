#include "rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace hadmc::server {

void DeviceRateLimiter::Configure(double per_s, double burst) {
  per_s_ = per_s;
  burst_ = burst;
}

std::optional<DeviceRateLimiter::Refusal> DeviceRateLimiter::Take(const std::string& device,
                                                                  Clock::time_point now) {
  if (per_s_ <= 0) return std::nullopt;
  std::lock_guard lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(device, Bucket{burst_, now, false});
  Bucket& b = it->second;
  if (!fresh) {
    const double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * per_s_);
    b.at = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    b.refusing = false;
    if (fresh && buckets_.size() > sweep_above_) SweepFullBuckets(now);
    return std::nullopt;
  }
  const auto wait = static_cast<int64_t>(std::ceil((1 - b.tokens) / per_s_));
  Refusal r{std::chrono::seconds(std::max<int64_t>(1, wait)), !b.refusing};
  b.refusing = true;
  return r;
}

// A full bucket is the same as no bucket, so dropping it forgets nothing; this bounds the map by
// the devices active in the last burst/per_s seconds rather than by every device ever seen.
void DeviceRateLimiter::SweepFullBuckets(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double elapsed = std::chrono::duration<double>(now - it->second.at).count();
    if (it->second.tokens + elapsed * per_s_ >= burst_)
      it = buckets_.erase(it);
    else
      ++it;
  }
  sweep_above_ = std::max<size_t>(4096, 2 * buckets_.size());
}

}  // namespace hadmc::server
