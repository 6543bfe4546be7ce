#include "model_data.h"

#include "commands.h"
#include "hadmc/common/yaml_json.h"
#include "hadmc/data/dataset_registry.h"

namespace hadmc::cli {

TrainTest LoadTrainTest(const model::Model& m, const std::string& spec_in) {
  std::string spec = spec_in;
  if (spec.empty()) {
    auto it = m.metadata.find("dataset");
    if (it == m.metadata.end()) Fail("the model does not record its dataset; pass --data");
    spec = it->second;
  }
  auto train = data::LoadDataset(spec, data::Split::kTrain);
  if (!train) Fail(train.error().message());
  auto test = data::LoadDataset(spec, data::Split::kTest);
  if (!test) Fail(test.error().message());
  return {std::move(*train), std::move(*test)};
}

nlohmann::json ReadRecipeFile(const std::string& path) {
  if (path.empty()) return nlohmann::json::object();
  auto j = ReadJsonOrYamlFile(path);
  if (!j) Fail("recipe: " + j.error().message());
  return *j;
}

}  // namespace hadmc::cli
