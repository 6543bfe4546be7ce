#include "model_data.h"

#include "commands.h"
#include "hadmc/common/yaml_json.h"
#include "hadmc/data/dataset_registry.h"
#include "hadmc/zoo/zoo.h"

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

data::Dataset StratifiedSubset(const data::Dataset& d, int64_t n, uint64_t seed,
                               const std::string& flag) {
  if (n <= 0 || n >= d.size()) return d;
  auto split = data::StratifiedSplit(d, static_cast<double>(n) / d.size(), seed);
  if (!split) Fail(flag + ": " + split.error().message());
  auto subset = data::SelectSamples(d, split->test);
  if (!subset) Fail(flag + ": " + subset.error().message());
  return *subset;
}

model::Model BuildZooModelFor(const std::string& arch, const data::Dataset& train,
                              int64_t image_size, bool small_input, uint64_t seed) {
  zoo::ArchOptions a;
  a.in_channels = train.channels();
  a.num_classes = train.num_classes();
  a.image_size = image_size > 0                      ? image_size
                 : train.height() == train.width() ? train.height()
                                                   : 0;
  a.small_input = small_input;
  a.seed = seed;
  auto m = zoo::BuildModel(arch, a);
  if (!m) Fail(m.error().message());
  return std::move(*m);
}

}  // namespace hadmc::cli
