#include "hadmc/search/reward.h"

#include <cmath>
#include <sstream>

namespace hadmc::search {
namespace {

// One number of a settings struct, by name: the single list that ToJson, FromJson and the
// validation walk, so a new field cannot be written but not read.
template <typename T>
struct Field {
  const char* name;
  double T::*member;
};

const Field<Constraints> kConstraintFields[] = {
    {"min_accuracy", &Constraints::min_accuracy},
    {"max_latency_ms", &Constraints::max_latency_ms},
    {"max_size_bytes", &Constraints::max_size_bytes},
    {"max_energy_mj", &Constraints::max_energy_mj},
};

const Field<RewardWeights> kWeightFields[] = {
    {"accuracy", &RewardWeights::accuracy}, {"latency", &RewardWeights::latency},
    {"energy", &RewardWeights::energy},     {"size", &RewardWeights::size},
    {"penalty", &RewardWeights::penalty},   {"pareto", &RewardWeights::pareto},
};

std::string Num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

Status ValidateConstraints(const Constraints& c) {
  for (const auto& f : kConstraintFields)
    if (!std::isfinite(c.*f.member))
      return MakeError(Errc::kInvalidArgument, std::string("constraints: ") + f.name +
                                                   " must be finite, got " + Num(c.*f.member));
  // Top-1 is a fraction; a floor above 1 (e.g. 75 meant as a percentage) would make every policy
  // infeasible without saying why.
  if (c.min_accuracy > 1)
    return MakeError(
        Errc::kInvalidArgument,
        "constraints: min_accuracy must be <= 1 (top-1 as a fraction), got " + Num(c.min_accuracy));
  return {};
}

Status ValidateWeights(const RewardWeights& w) {
  for (const auto& f : kWeightFields) {
    const double v = w.*f.member;
    if (!std::isfinite(v) || v < 0)
      return MakeError(Errc::kInvalidArgument, std::string("reward weights: ") + f.name +
                                                   " must be finite and >= 0, got " + Num(v));
  }
  return {};
}

template <typename T, size_t N>
nlohmann::json FieldsToJson(const T& value, const Field<T> (&fields)[N]) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& f : fields) j[f.name] = value.*f.member;
  return j;
}

// Overwrites the fields named in `j`; `what` names the struct in errors.
template <typename T, size_t N>
Result<T> FieldsFromJson(const nlohmann::json& j, T value, const Field<T> (&fields)[N],
                         const std::string& what) {
  if (!j.is_object())
    return MakeError(Errc::kInvalidArgument, what + ": expected a JSON object, got " + j.dump());
  for (const auto& [key, v] : j.items()) {
    const Field<T>* field = nullptr;
    for (const auto& f : fields)
      if (key == f.name) field = &f;
    if (!field) return MakeError(Errc::kInvalidArgument, what + ": unknown key '" + key + "'");
    if (!v.is_number())
      return MakeError(Errc::kInvalidArgument,
                       what + ": '" + key + "' must be a number, got " + v.dump());
    value.*field->member = v.template get<double>();
  }
  return value;
}

// 1 - value / base: the share of the base's cost saved; 0 without a positive base.
double Saving(double value, double base) { return base > 0 ? 1.0 - value / base : 0.0; }

struct Limit {
  const char* name;
  double value, limit;
  bool floor;  // true: value must be >= limit; false: value must be <= limit
};

// The relative excess of a violated limit, or a negative number when it holds (or is off).
double RelativeExcess(const Limit& l) {
  if (l.limit <= 0) return -1;
  const double excess = l.floor ? l.limit - l.value : l.value - l.limit;
  return excess > 0 ? excess / l.limit : -1;
}

}  // namespace

Status ValidateReward(const Constraints& c, const RewardWeights& w) {
  HADMC_TRY(ValidateConstraints(c));
  HADMC_TRY(ValidateWeights(w));
  return {};
}

// Precondition: the objectives are finite (a failed evaluation has no reward).
RewardBreakdown ComputeReward(const Objectives& o, const Objectives& base, const Constraints& c,
                              const RewardWeights& w, bool entered_pareto_front) {
  RewardBreakdown r;
  // -0.1 per point of top-1: a loss of a few points weighs about as much as halving the latency.
  const double r_acc = base.accuracy > 0 ? (o.accuracy - base.accuracy) / 0.01 / 10.0 : 0.0;
  r.accuracy = w.accuracy * r_acc;
  r.latency = w.latency * Saving(o.latency_ms, base.latency_ms);
  r.energy = w.energy * Saving(o.energy_mj, base.energy_mj);
  r.size = w.size * Saving(o.size_bytes, base.size_bytes);

  // Each violation costs at least w_penalty, so an infeasible point cannot buy its way back with
  // a tiny excess; beyond that the cost grows with how far it is over.
  const Limit limits[] = {
      {"accuracy", o.accuracy, c.min_accuracy, true},
      {"latency", o.latency_ms, c.max_latency_ms, false},
      {"size", o.size_bytes, c.max_size_bytes, false},
      {"energy", o.energy_mj, c.max_energy_mj, false},
  };
  for (const Limit& l : limits) {
    const double excess = RelativeExcess(l);
    if (excess < 0) continue;
    r.penalty += w.penalty * (1.0 + excess);
    r.violated.push_back(l.name);
  }
  r.bonus = entered_pareto_front ? w.pareto : 0.0;
  r.total = r.accuracy + r.latency + r.energy + r.size - r.penalty + r.bonus;
  return r;
}

nlohmann::json ToJson(const RewardBreakdown& r) {
  return {{"total", r.total},   {"accuracy", r.accuracy}, {"latency", r.latency},
          {"energy", r.energy}, {"size", r.size},         {"penalty", r.penalty},
          {"bonus", r.bonus},   {"violated", r.violated}, {"feasible", r.feasible()}};
}

nlohmann::json ToJson(const Constraints& c) { return FieldsToJson(c, kConstraintFields); }

nlohmann::json ToJson(const RewardWeights& w) { return FieldsToJson(w, kWeightFields); }

Result<Constraints> ConstraintsFromJson(const nlohmann::json& j, Constraints defaults) {
  auto c = FieldsFromJson(j, defaults, kConstraintFields, "constraints");
  if (!c) return c;
  HADMC_TRY(ValidateConstraints(*c));
  return c;
}

Result<RewardWeights> RewardWeightsFromJson(const nlohmann::json& j, RewardWeights defaults) {
  auto w = FieldsFromJson(j, defaults, kWeightFields, "reward weights");
  if (!w) return w;
  HADMC_TRY(ValidateWeights(*w));
  return w;
}

}  // namespace hadmc::search
