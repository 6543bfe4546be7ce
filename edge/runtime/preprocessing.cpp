#include "hadmc/edge/preprocessing.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace hadmc::edge {

Result<std::optional<Preprocessing>> PreprocessingFromMetadata(
    const std::map<std::string, std::string>& metadata, const std::vector<int64_t>& input_shape) {
  auto it = metadata.find("normalization");
  if (it == metadata.end()) return std::optional<Preprocessing>();
  Preprocessing pre;
  try {
    // Same reading as the cloud's NormalizationFromMetadata: null means "scaled to [0, 1] only".
    const auto j = nlohmann::json::parse(it->second);
    if (!j.is_null()) {
      pre.mean = j.at("mean").get<std::vector<float>>();
      pre.std = j.at("std").get<std::vector<float>>();
    }
  } catch (const nlohmann::json::exception& e) {
    return MakeError(Errc::kParse, std::string("metadata 'normalization' must be "
                                               "{\"mean\": [...], \"std\": [...]}: ") +
                                       e.what());
  }
  if (pre.mean.size() != pre.std.size())
    return MakeError(Errc::kParse, "metadata 'normalization' has " +
                                       std::to_string(pre.mean.size()) + " means and " +
                                       std::to_string(pre.std.size()) + " stds");
  if (!pre.mean.empty() && input_shape.size() == 4 &&
      static_cast<int64_t>(pre.mean.size()) != input_shape[1])
    return MakeError(Errc::kShapeMismatch,
                     "metadata 'normalization' has " + std::to_string(pre.mean.size()) +
                         " channels, the model input has " + std::to_string(input_shape[1]));
  for (size_t c = 0; c < pre.std.size(); ++c) {
    if (!(pre.std[c] > 0.0f) || !std::isfinite(pre.std[c]) || !std::isfinite(pre.mean[c]))
      return MakeError(Errc::kParse, "metadata 'normalization' channel " + std::to_string(c) +
                                         ": std must be positive and finite, mean finite (got " +
                                         std::to_string(pre.mean[c]) + ", " +
                                         std::to_string(pre.std[c]) + ")");
  }
  return std::optional<Preprocessing>(std::move(pre));
}

}  // namespace hadmc::edge
