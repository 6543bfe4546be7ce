// `hadmc experiment sota` and `ppo-vs-dqn`: several methods (baselines.h) x several seeds on one
// prepared search (same evaluator, LUT, constraints), then each method's best policy over the
// seeds built, fine-tuned, tested and (when the target is this machine) timed. Tables as
// markdown + JSON, the convergence plot (mean running best per method).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"
#include "hadmc/data/dataset.h"
#include "hadmc/search/baselines.h"

namespace hadmc::search {

struct SearchExperimentOptions {
  std::vector<Method> methods;
  std::vector<uint64_t> seeds = {0, 1, 2};
  SearchOptions search;         // episodes, weights, PPO/DQN settings, progress
  EnvironmentOptions env;       // hadmc2's environment (the methods narrow it)
  bool final_finetune = true;   // the final check fine-tunes (setup's epochs)
  std::vector<Method> final_methods;  // empty: every method gets the final check
  int64_t batch = 1;
  std::string out_dir;          // each method's best model goes to <out_dir>/<method>.hmc
  std::string base_path;        // the base model file (for file sizes)
};

struct MethodRun {
  Method method;
  uint64_t seed = 0;
  SearchResult result;
};

struct MethodSummary {
  Method method;
  std::vector<double> best_rewards;  // one per seed
  double mean = 0, stddev = 0, min = 0, max = 0;
  int feasible_seeds = 0;
  int64_t evaluations = 0;       // per seed (the largest)
  double seconds = 0;            // total over seeds
  const MethodRun* best_run = nullptr;  // the seed with the best reward (feasible first)
  bool checked = false;
  FinalCheck final_check;
};

struct SearchExperiment {
  std::vector<MethodRun> runs;
  std::vector<MethodSummary> summaries;  // in options.methods order
};

Result<SearchExperiment> RunSearchExperiment(SearchSetup& setup, const data::Dataset& test,
                                             const SearchExperimentOptions& options);

std::string SearchExperimentMarkdown(const SearchExperiment& e, const SearchSetup& setup);
nlohmann::json SearchExperimentJson(const SearchExperiment& e, const SearchSetup& setup);
// convergence.svg (mean running best per method) and pareto.svg (every method's fronts).
Status WriteSearchExperimentPlots(const SearchExperiment& e, const std::string& dir);

}  // namespace hadmc::search
