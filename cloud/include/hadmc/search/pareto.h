// The Pareto archive of a compression search: every evaluated policy's objectives
// (accuracy up; latency, size and energy down), keeping the non-dominated set. The reward gives
// a bonus to a policy that enters the front, and the search writes the front as its result.
// Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"

namespace hadmc::search {

struct Objectives {
  double accuracy = 0;    // top-1 in [0, 1]; higher is better
  double latency_ms = 0;  // lower is better
  double size_bytes = 0;  // lower is better
  double energy_mj = 0;   // per inference; lower is better
};

// a dominates b: a is no worse in every objective and strictly better in at least one.
// Equal objectives do not dominate each other.
bool Dominates(const Objectives& a, const Objectives& b);

struct ParetoPoint {
  Objectives objectives;
  std::string policy_hash;  // the evaluated policy's cache key (search/policy.h)
  nlohmann::json payload;   // e.g. the per-layer policy and the episode number
};

class ParetoArchive {
 public:
  // Adds the point if no archived point dominates it or has the same policy hash, and drops the
  // points it dominates. Returns true when the point entered the front. A point with a non-finite
  // objective is refused (false).
  bool Insert(ParetoPoint point);
  // Would `o` enter the front (no archived point dominates it)? Does not modify the archive.
  bool WouldEnter(const Objectives& o) const;
  // The front, ordered by latency then size (ascending).
  const std::vector<ParetoPoint>& front() const { return front_; }
  size_t size() const { return front_.size(); }

  // {"front": [{"accuracy", "latency_ms", "size_bytes", "energy_mj", "policy_hash", "payload"}]}
  nlohmann::json ToJson() const;
  // Errors name the bad entry and field; rebuilds the front through Insert.
  static Result<ParetoArchive> FromJson(const nlohmann::json& j);

 private:
  std::vector<ParetoPoint> front_;
};

}  // namespace hadmc::search
