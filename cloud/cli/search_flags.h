// The flags `hadmc search` and the search experiments share: the model and data, the target and
// its LUT, the budget, the evaluator's proxy, the environment and the controllers' settings.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "hadmc/model/model.h"
#include "hadmc/search/environment.h"
#include "hadmc/search/search.h"
#include "hadmc/search/search_setup.h"
#include "model_data.h"

namespace hadmc::cli {

struct SearchFlags {
  std::string model_path, data;
  int64_t train_samples = 0;
  search::SearchSetupOptions setup;
  search::EnvironmentOptions env;
  search::SearchOptions search;
  bool no_measure_lut = false, no_distill = false, no_prune = false;

  SearchFlags();
};

void AddSearchFlags(CLI::App* cmd, SearchFlags& f);

// After parsing: the bit list and the switches into env/setup. Fails naming a bad flag.
void ResolveSearchFlags(SearchFlags& f);

// The model and its data (a stratified subset with --train-samples), and `out_dir` created.
// Fails naming what is missing.
struct SearchInputs {
  model::Model base;
  TrainTest data;
};
SearchInputs LoadSearchInputs(const SearchFlags& f, const std::string& out_dir);

// "hadmc <path> --flag value ..." of the flags given, for reports.
std::string CommandLine(const CLI::App* cmd, const std::string& path);

}  // namespace hadmc::cli
