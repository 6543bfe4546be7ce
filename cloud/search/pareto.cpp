#include "hadmc/search/pareto.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

namespace hadmc::search {
namespace {

bool AllFinite(const Objectives& o) {
  return std::isfinite(o.accuracy) && std::isfinite(o.latency_ms) && std::isfinite(o.size_bytes) &&
         std::isfinite(o.energy_mj);
}

// The front's order: latency, then size (the contract); energy, accuracy (descending) and the
// hash only break ties, so the written front does not depend on insertion order.
bool FrontOrder(const ParetoPoint& a, const ParetoPoint& b) {
  const Objectives& x = a.objectives;
  const Objectives& y = b.objectives;
  return std::make_tuple(x.latency_ms, x.size_bytes, x.energy_mj, -x.accuracy,
                         std::cref(a.policy_hash)) < std::make_tuple(y.latency_ms, y.size_bytes,
                                                                     y.energy_mj, -y.accuracy,
                                                                     std::cref(b.policy_hash));
}

// One objective of front[index]: a finite number.
Result<double> ReadNumber(const nlohmann::json& entry, const char* field, size_t index) {
  const std::string where = "front[" + std::to_string(index) + "]." + field;
  auto it = entry.find(field);
  if (it == entry.end()) return MakeError(Errc::kParse, where + ": missing");
  if (!it->is_number())
    return MakeError(Errc::kParse, where + ": expected a number, got " + it->dump());
  const double v = it->get<double>();
  if (!std::isfinite(v)) return MakeError(Errc::kParse, where + ": not finite");
  return v;
}

Result<ParetoPoint> PointFromJson(const nlohmann::json& entry, size_t index) {
  const std::string where = "front[" + std::to_string(index) + "]";
  if (!entry.is_object()) return MakeError(Errc::kParse, where + ": expected an object");
  ParetoPoint p;
  const std::pair<const char*, double*> fields[] = {
      {"accuracy", &p.objectives.accuracy},
      {"latency_ms", &p.objectives.latency_ms},
      {"size_bytes", &p.objectives.size_bytes},
      {"energy_mj", &p.objectives.energy_mj},
  };
  for (const auto& [name, out] : fields) {
    auto v = ReadNumber(entry, name, index);
    if (!v) return MakeError(v.error());
    *out = *v;
  }
  auto hash = entry.find("policy_hash");
  if (hash == entry.end() || !hash->is_string())
    return MakeError(Errc::kParse, where + ".policy_hash: expected a string");
  p.policy_hash = hash->get<std::string>();
  if (auto payload = entry.find("payload"); payload != entry.end()) p.payload = *payload;
  return p;
}

}  // namespace

bool Dominates(const Objectives& a, const Objectives& b) {
  const bool no_worse = a.accuracy >= b.accuracy && a.latency_ms <= b.latency_ms &&
                        a.size_bytes <= b.size_bytes && a.energy_mj <= b.energy_mj;
  const bool better = a.accuracy > b.accuracy || a.latency_ms < b.latency_ms ||
                      a.size_bytes < b.size_bytes || a.energy_mj < b.energy_mj;
  return no_worse && better;
}

bool ParetoArchive::WouldEnter(const Objectives& o) const {
  if (!AllFinite(o)) return false;
  return std::none_of(front_.begin(), front_.end(),
                      [&o](const ParetoPoint& p) { return Dominates(p.objectives, o); });
}

bool ParetoArchive::Insert(ParetoPoint point) {
  if (!WouldEnter(point.objectives)) return false;
  const bool known = std::any_of(front_.begin(), front_.end(), [&point](const ParetoPoint& p) {
    return p.policy_hash == point.policy_hash;
  });
  if (known) return false;
  front_.erase(std::remove_if(front_.begin(), front_.end(),
                              [&point](const ParetoPoint& p) {
                                return Dominates(point.objectives, p.objectives);
                              }),
               front_.end());
  auto at = std::upper_bound(front_.begin(), front_.end(), point, FrontOrder);
  front_.insert(at, std::move(point));
  return true;
}

nlohmann::json ParetoArchive::ToJson() const {
  nlohmann::json front = nlohmann::json::array();
  for (const ParetoPoint& p : front_) {
    front.push_back({{"accuracy", p.objectives.accuracy},
                     {"latency_ms", p.objectives.latency_ms},
                     {"size_bytes", p.objectives.size_bytes},
                     {"energy_mj", p.objectives.energy_mj},
                     {"policy_hash", p.policy_hash},
                     {"payload", p.payload}});
  }
  return {{"front", front}};
}

Result<ParetoArchive> ParetoArchive::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return MakeError(Errc::kParse, "pareto archive: expected a JSON object");
  auto front = j.find("front");
  if (front == j.end() || !front->is_array())
    return MakeError(Errc::kParse, "front: expected an array");
  ParetoArchive archive;
  // A dominated entry (a hand-edited file) is dropped by Insert; a repeated hash means two
  // entries claim the same policy, which no archive writes, so it is an error.
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < front->size(); ++i) {
    auto p = PointFromJson((*front)[i], i);
    if (!p) return MakeError(p.error());
    auto [it, fresh] = seen.emplace(p->policy_hash, i);
    if (!fresh)
      return MakeError(Errc::kParse, "front[" + std::to_string(i) + "].policy_hash: '" +
                                         p->policy_hash + "' repeats front[" +
                                         std::to_string(it->second) + "]");
    archive.Insert(std::move(*p));
  }
  return archive;
}

}  // namespace hadmc::search
