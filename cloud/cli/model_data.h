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

}  // namespace hadmc::cli
