// `hadmc experiment cross-platform`: the same search (HAD-MC 2.0's PPO, same model, episodes,
// seed and accuracy floor) once per target device class, each with a latency budget that is the
// same fraction of THAT target's base latency; then each target's best policy built, fine-tuned
// and tested. Where a target's latencies come from is part of every row:
//   "measured here"        the target is this machine: kernels timed here for the search's LUT,
//                          the base and the best policy measured end to end here;
//   "LUT file"             <lut_dir>/<target>.json (hadmc lut export), a projection from
//                          another device's measurements (kernels without a row: roofline);
//   "roofline projection"  no measurement at all: the target profile's roofline.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/data/dataset.h"
#include "hadmc/model/model.h"
#include "hadmc/search/environment.h"
#include "hadmc/search/search.h"
#include "hadmc/search/search_outputs.h"
#include "hadmc/search/search_setup.h"

namespace hadmc::search {

struct CrossPlatformOptions {
  std::vector<std::string> targets = {"x86_cpu", "jetson_orin", "ascend_310", "mlu370"};
  // "" = none; else <lut_dir>/<target>.json is used for a target that is not this machine when
  // the file exists (this machine always times its own kernels).
  std::string lut_dir;
  // The budget (latency_fraction > 0 required), accuracy floor, seed, proxy, fine-tune; target,
  // lut_path and lut_out are set per target.
  SearchSetupOptions setup;
  SearchOptions search;    // episodes, rollout, PPO settings, weights, progress; seed = setup's
  EnvironmentOptions env;  // the search's environment (bits, max prune, wall)
  bool final_finetune = true;
  std::string out_dir;    // "" = nothing written; else <target>.hmc and the LUT timed here
  std::string base_path;  // the base model file (for file sizes)
};

struct CrossPlatformRow {
  std::string target;
  // Non-empty: this target's search or check failed (why); the fields below are unset. The
  // other targets still run.
  std::string error;
  bool local = false;          // the target is this machine
  std::string latency_source;  // "measured here", "LUT file" or "roofline projection"
  std::string lut_detail;      // SearchSetup::lut_source (file and rows, or kernels timed)
  double base_predicted_ms = 0;
  double base_measured_ms = 0;  // local only (the budget's reference), else 0
  double budget_ms = 0;
  Evaluation base;
  EpisodeRecord best;
  bool best_feasible = false;
  int64_t episodes = 0;
  double search_seconds = 0;
  FinalCheck final_check;  // test accuracy always; latency measured only when local
  std::string precision_summary;
};

struct CrossPlatformExperiment {
  std::vector<CrossPlatformRow> rows;  // in options.targets order
};

// Errors: no targets, no latency_fraction, an unknown target (all are checked before the first
// search). A target whose search fails (a bad LUT file, a failing evaluation) gets a row with its
// error and the others still run.
Result<CrossPlatformExperiment> RunCrossPlatformExperiment(const model::Model& base,
                                                           const data::Dataset& train,
                                                           const data::Dataset& test,
                                                           const CrossPlatformOptions& options);

// "int8 ×19, fp32 ×2; mean prune 0.12": layers per precision (most first) and the mean of the
// per-layer prune ratios, from an evaluation's per_layer.
std::string PrecisionSummary(const Evaluation& e);
// The best policy's speed-up: measured (base and best timed here in one run) when local, else
// the predicted base over the predicted best.
double SpeedUp(const CrossPlatformRow& r);

std::string CrossPlatformMarkdown(const CrossPlatformExperiment& e);
// {"targets": [{"target", "target_is_this_machine", "latency_source", "lut_source",
//   "base_latency_ms": {"predicted", "measured"?}, "budget_ms", "best": EpisodeRecord,
//   "best_feasible", "best_latency_ms": {"predicted", "measured"?}, "speed_up", "speed_up_kind",
//   "proxy_accuracy", "test_accuracy", "base_test_accuracy", "stored_bytes",
//   "energy_mj_estimate", "precision_summary", "episodes", "search_seconds", "final"}]}
nlohmann::json CrossPlatformJson(const CrossPlatformExperiment& e);
// Speed-up per target as bars: predicted (LUT or roofline) and, for this machine, measured.
Status WriteCrossPlatformPlot(const CrossPlatformExperiment& e, const std::string& path);

}  // namespace hadmc::search
