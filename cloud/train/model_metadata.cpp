#include "hadmc/train/model_metadata.h"

#include <nlohmann/json.hpp>

namespace hadmc::train {

void SetClassNames(Metadata& md, const std::vector<std::string>& names) {
  md["class_names"] = nlohmann::json(names).dump();
}

void SetNormalization(Metadata& md, const data::Normalization& norm) {
  md["normalization"] = nlohmann::json{{"mean", norm.mean}, {"std", norm.std}}.dump();
}

void SetInputShape(Metadata& md, const ir::Shape& shape) {
  md["input_shape"] = nlohmann::json(shape).dump();
}

Result<std::optional<std::vector<std::string>>> ClassNamesFromMetadata(const Metadata& md) {
  auto it = md.find("class_names");
  if (it == md.end()) return std::optional<std::vector<std::string>>();
  try {
    return std::optional<std::vector<std::string>>(
        nlohmann::json::parse(it->second).get<std::vector<std::string>>());
  } catch (const nlohmann::json::exception& e) {
    return MakeError(Errc::kParse, std::string("metadata 'class_names' must be a JSON list of "
                                               "strings: ") + e.what());
  }
}

Result<std::optional<data::Normalization>> NormalizationFromMetadata(const Metadata& md) {
  auto it = md.find("normalization");
  if (it == md.end()) return std::optional<data::Normalization>();
  try {
    const auto j = nlohmann::json::parse(it->second);
    data::Normalization norm;
    if (!j.is_null()) {
      norm.mean = j.at("mean").get<std::vector<float>>();
      norm.std = j.at("std").get<std::vector<float>>();
    }
    if (norm.mean.size() != norm.std.size())
      return MakeError(Errc::kParse, "metadata 'normalization': mean and std differ in length");
    return std::optional<data::Normalization>(std::move(norm));
  } catch (const nlohmann::json::exception& e) {
    return MakeError(Errc::kParse, std::string("metadata 'normalization' must be "
                                               "{\"mean\": [...], \"std\": [...]}: ") + e.what());
  }
}

}  // namespace hadmc::train
