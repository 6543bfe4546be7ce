// The adaptive-sparse-training experiment: one full-data run and one AST run per target
// activation rate, all from the same initial weights, data order and recipe, in one process and
// interleaved epoch by epoch, so their wall times are comparable on a shared machine. Writes a markdown + JSON table and SVG plots (accuracy vs
// activation rate, activation rate and threshold per step).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"
#include "hadmc/data/dataset.h"
#include "hadmc/model/model.h"
#include "hadmc/train/trainer.h"

namespace hadmc::train {

struct AstExperimentOptions {
  std::vector<double> targets = {0.5, 0.3, 0.2};
  // The recipe of every run; its `ast` gives the controller settings (enabled and target_rate
  // are set per run), its log and checkpoint paths are replaced by files in out_dir.
  TrainOptions train;
  std::string out_dir;
  // A fresh model with the same initial weights on every call.
  std::function<Result<model::Model>()> make_model;
};

struct AstRun {
  std::string name;                   // "full", "ast-0.3"
  std::optional<double> target;       // absent for the full-data run
  TrainResult result;
  double activation_rate = 1;         // back-propagated / seen samples over the whole run
  double scored_rate = 0;             // samples given a no-grad scoring pass / seen samples
  double loop_seconds = 0;            // training loops (validation excluded)
  double est_gflops = 0;
  std::optional<double> energy_j;
};

// Runs the full-data baseline and each target, interleaved by epoch (each run resumes from its
// checkpoint for its next epoch: the same trajectory as an uninterrupted run), saving <out_dir>/<name>.hmc, .jsonl and
// .results.json. Preconditions: out_dir exists; targets in (0, 1].
Result<std::vector<AstRun>> RunAstExperiment(const data::Dataset& train, const data::Dataset& test,
                                             const AstExperimentOptions& options);

// One row per run: target, measured activation rate, test accuracy and its change from the full
// run, loop time and its ratio to the full run's, the ideal ratio (1 + 3r) / 3 at the measured
// rate, estimated GFLOPs ratio, energy.
std::string AstExperimentMarkdown(const std::vector<AstRun>& runs);
nlohmann::json AstExperimentJson(const std::vector<AstRun>& runs);
// accuracy_vs_rate.svg, activation.svg, threshold.svg in `dir`.
Status WriteAstPlots(const std::vector<AstRun>& runs, const std::string& dir);

}  // namespace hadmc::train
