// The latency LUT as a table: rows by key, and its JSON file format (the `hadmc lut export` file
// and the "rows" of GET /v1/lut/{device_class}). Prediction is in lut_predict.cpp, so that code
// which only stores and ships rows (the registry, the server) does not link the roofline.
#include "hadmc/hal/lut.h"

#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>

namespace hadmc::hal {
namespace {

using nlohmann::json;

Result<double> Milliseconds(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_number())
    return MakeError(Errc::kInvalidArgument, std::string("'") + field + "' must be a number");
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < 0)
    return MakeError(Errc::kInvalidArgument,
                     std::string("'") + field + "' must be finite and >= 0");
  return v;
}

}  // namespace

json ToJson(const LutEntry& e) {
  return {{"key", e.key.ToString()}, {"median_ms", e.median_ms}, {"p90_ms", e.p90_ms},
          {"count", e.count},        {"source", e.source},       {"updated_at", e.updated_at}};
}

Result<LutEntry> LutEntryFromJson(const json& j) {
  if (!j.is_object()) return MakeError(Errc::kInvalidArgument, "a LUT row must be an object");
  for (const auto& [name, value] : j.items())
    if (name != "key" && name != "median_ms" && name != "p90_ms" && name != "count" &&
        name != "source" && name != "updated_at")
      return MakeError(Errc::kInvalidArgument, "unknown field '" + name + "'");
  LutEntry e;
  auto key = j.find("key");
  if (key == j.end() || !key->is_string())
    return MakeError(Errc::kInvalidArgument, "'key' must be a string");
  auto parsed = KernelKey::Parse(key->get<std::string>());
  if (!parsed) return MakeError(Errc::kInvalidArgument, "'key': " + parsed.error().message());
  e.key = std::move(*parsed);
  auto median = Milliseconds(j, "median_ms");
  if (!median) return MakeError(median.error());
  auto p90 = Milliseconds(j, "p90_ms");
  if (!p90) return MakeError(p90.error());
  if (*p90 < *median) return MakeError(Errc::kInvalidArgument, "'p90_ms' must be >= 'median_ms'");
  e.median_ms = *median;
  e.p90_ms = *p90;
  auto count = j.find("count");
  if (count == j.end() || !count->is_number_integer() || count->get<int64_t>() < 0)
    return MakeError(Errc::kInvalidArgument, "'count' must be an integer >= 0");
  e.count = count->get<int64_t>();
  auto source = j.find("source");
  if (source == j.end() || !source->is_string() ||
      (*source != "measured" && *source != "estimated"))
    return MakeError(Errc::kInvalidArgument, "'source' must be \"measured\" or \"estimated\"");
  e.source = source->get<std::string>();
  if (auto at = j.find("updated_at"); at != j.end()) {
    if (!at->is_string() || at->get<std::string>().size() > 64)
      return MakeError(Errc::kInvalidArgument, "'updated_at' must be an ISO-8601 string");
    e.updated_at = at->get<std::string>();
  }
  return e;
}

LatencyLut::LatencyLut(std::string device_class, std::vector<LutEntry> rows)
    : device_class_(std::move(device_class)), rows_(std::move(rows)) {
  // A later row with the same key wins (LutFromJson refuses duplicates before they get here).
  for (size_t i = 0; i < rows_.size(); ++i) by_key_[rows_[i].key.ToString()] = i;
}

const LutEntry* LatencyLut::Find(const KernelKey& k) const {
  auto it = by_key_.find(k.ToString());
  return it == by_key_.end() ? nullptr : &rows_[it->second];
}

json ToJson(const LatencyLut& lut) {
  json rows = json::array();
  for (const LutEntry& e : lut.rows()) rows.push_back(ToJson(e));
  return {{"device_class", lut.device_class()}, {"rows", std::move(rows)}};
}

Result<LatencyLut> LutFromJson(const json& j) {
  if (!j.is_object()) return MakeError(Errc::kInvalidArgument, "a LUT must be a JSON object");
  auto cls = j.find("device_class");
  if (cls == j.end() || !cls->is_string() || !IsValidDeviceClass(cls->get<std::string>()))
    return MakeError(Errc::kInvalidArgument, "'device_class' must be 1-64 characters [a-z0-9_-]");
  auto rows = j.find("rows");
  if (rows == j.end() || !rows->is_array())
    return MakeError(Errc::kInvalidArgument, "'rows' must be a list");
  std::vector<LutEntry> out;
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < rows->size(); ++i) {
    auto e = LutEntryFromJson((*rows)[i]);
    if (!e) return MakeError(e.error().WithContext("rows[" + std::to_string(i) + "]"));
    const std::string key = e->key.ToString();
    if (auto [it, fresh] = seen.emplace(key, i); !fresh)
      return MakeError(Errc::kInvalidArgument, "rows[" + std::to_string(i) + "]: key '" + key +
                                                   "' repeats rows[" + std::to_string(it->second) +
                                                   "]");
    out.push_back(std::move(*e));
  }
  return LatencyLut(cls->get<std::string>(), std::move(out));
}

bool IsValidDeviceClass(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
      return false;
  return true;
}

}  // namespace hadmc::hal
