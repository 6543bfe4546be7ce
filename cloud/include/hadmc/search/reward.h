// The search's reward for one evaluated policy (torch-free):
//   R = w_acc * R_acc + w_lat * R_lat + w_energy * R_energy + w_size * R_size
//       - penalty + bonus
//   R_acc    = (accuracy - base.accuracy) / 0.01 / 10   (-0.1 per point of top-1 lost)
//   R_lat    = 1 - latency_ms / base.latency_ms          (share of the latency saved)
//   R_energy = 1 - energy_mj / base.energy_mj
//   R_size   = 1 - size_bytes / base.size_bytes
//   penalty  = w_penalty * sum over violated constraints of (1 + relative excess), e.g. a latency
//              10% over its budget costs w_penalty * 1.1, an accuracy 2 points under its floor
//              costs w_penalty * (1 + 0.02 / floor)
//   bonus    = w_pareto when the point entered the Pareto front
// A base objective <= 0 makes its term 0 (nothing to normalize by).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"
#include "hadmc/search/pareto.h"

namespace hadmc::search {

// 0 (or less) means "no constraint".
struct Constraints {
  double min_accuracy = 0;  // top-1 in [0, 1]
  double max_latency_ms = 0;
  double max_size_bytes = 0;
  double max_energy_mj = 0;
};

struct RewardWeights {
  double accuracy = 1.0;
  double latency = 1.0;
  double energy = 0.0;
  double size = 0.2;
  double penalty = 2.0;
  double pareto = 0.1;
};

struct RewardBreakdown {
  double total = 0;
  double accuracy = 0, latency = 0, energy = 0, size = 0;  // the weighted terms
  double penalty = 0;  // >= 0, subtracted
  double bonus = 0;
  std::vector<std::string> violated;  // "accuracy", "latency", "size", "energy"
  bool feasible() const { return violated.empty(); }
};

// Errors name the field: weights must be finite and >= 0, constraints finite.
Status ValidateReward(const Constraints& c, const RewardWeights& w);

RewardBreakdown ComputeReward(const Objectives& o, const Objectives& base, const Constraints& c,
                              const RewardWeights& w, bool entered_pareto_front);

nlohmann::json ToJson(const RewardBreakdown& r);
nlohmann::json ToJson(const Constraints& c);
nlohmann::json ToJson(const RewardWeights& w);
// Reads the keys present over the defaults; unknown keys and bad values are errors naming the key.
Result<Constraints> ConstraintsFromJson(const nlohmann::json& j, Constraints defaults = {});
Result<RewardWeights> RewardWeightsFromJson(const nlohmann::json& j, RewardWeights defaults = {});

}  // namespace hadmc::search
