#include "hadmc/search/policy.h"

#include <cmath>
#include <iterator>

#include "hadmc/crypto/sha256.h"

namespace hadmc::search {
namespace {

auto Invalid(const std::string& message) { return MakeError(Errc::kInvalidArgument, message); }

template <typename T, size_t N>
bool OneOf(const T (&table)[N], T v) {
  for (const T& t : table)
    if (std::abs(static_cast<double>(t) - static_cast<double>(v)) < 1e-9) return true;
  return false;
}

template <typename T, size_t N>
std::string Choices(const T (&table)[N]) {
  std::string s;
  for (size_t i = 0; i < N; ++i) s += (i ? ", " : "") + nlohmann::json(table[i]).dump();
  return s;
}

}  // namespace

nlohmann::json ToJson(const CompressionPolicy& p) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerDecision& l : p.layers) layers.push_back({{"prune", l.prune_ratio}, {"bits", l.bits}});
  return {{"layers", layers}, {"temperature", p.temperature}, {"alpha", p.alpha}};
}

// nlohmann::json keeps object keys sorted and prints doubles in the shortest form that reads
// back exactly, so equal policies dump to equal bytes.
std::string PolicyHash(const CompressionPolicy& p) { return crypto::Sha256Hex(ToJson(p).dump()); }

Result<CompressionPolicy> PolicyFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Invalid("a policy is a JSON object");
  for (const auto& [key, value] : j.items())
    if (key != "layers" && key != "temperature" && key != "alpha")
      return Invalid("policy: unknown key '" + key + "'");
  if (!j.contains("layers") || !j.at("layers").is_array())
    return Invalid("policy: 'layers' must be a list");
  CompressionPolicy p;
  const nlohmann::json& layers = j.at("layers");
  for (size_t i = 0; i < layers.size(); ++i) {
    const nlohmann::json& l = layers[i];
    const std::string where = "policy: layers[" + std::to_string(i) + "]";
    if (!l.is_object() || !l.contains("prune") || !l.contains("bits"))
      return Invalid(where + " must have 'prune' and 'bits'");
    if (!l.at("prune").is_number() || !OneOf(kPruneRatios, l.at("prune").get<double>()))
      return Invalid(where + ".prune must be one of " + Choices(kPruneRatios));
    if (!l.at("bits").is_number_integer() || !OneOf(kBitWidths, l.at("bits").get<int>()))
      return Invalid(where + ".bits must be one of " + Choices(kBitWidths));
    p.layers.push_back({l.at("prune").get<double>(), l.at("bits").get<int>()});
  }
  if (j.contains("temperature")) {
    if (!j.at("temperature").is_number() || !OneOf(kTemperatures, j.at("temperature").get<double>()))
      return Invalid("policy: temperature must be one of " + Choices(kTemperatures));
    p.temperature = j.at("temperature").get<double>();
  }
  if (j.contains("alpha")) {
    if (!j.at("alpha").is_number() || !OneOf(kAlphas, j.at("alpha").get<double>()))
      return Invalid("policy: alpha must be one of " + Choices(kAlphas));
    p.alpha = j.at("alpha").get<double>();
  }
  return p;
}

}  // namespace hadmc::search
