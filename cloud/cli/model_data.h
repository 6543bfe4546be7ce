// Shared by the commands that work on a trained model and its data (compress, experiment).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "hadmc/data/dataset.h"
#include "hadmc/model/model.h"

namespace hadmc::cli {

struct TrainTest {
  data::Dataset train, test;
};

// Train and test splits of `spec`, or of the dataset the model records when `spec` is empty.
// Fails (cli::Fail) with a message naming what is missing.
TrainTest LoadTrainTest(const model::Model& m, const std::string& spec);

// Reads a recipe file (YAML, or JSON for *.json); an empty path gives the defaults.
nlohmann::json ReadRecipeFile(const std::string& path);

// A stratified subset of `n` samples (quick experiments, timing runs); n <= 0 or >= size: all.
// Fails naming `flag` when the split is impossible.
data::Dataset StratifiedSubset(const data::Dataset& d, int64_t n, uint64_t seed,
                               const std::string& flag);

// A freshly initialized zoo architecture sized for `train` (channels, classes, image size: the
// dataset's when square and image_size is 0). Fails with the zoo's message.
model::Model BuildZooModelFor(const std::string& arch, const data::Dataset& train,
                              int64_t image_size, bool small_input, uint64_t seed);

}  // namespace hadmc::cli
