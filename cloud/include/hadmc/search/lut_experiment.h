// The LUT-accuracy experiment (the seeds' Experiment 7), shared by `hadmc experiment lut` and
// bench/lut_accuracy_bench: how well does a latency look-up table of fused-kernel measurements
// predict the end-to-end latency of compressed models on THIS machine?
//
// Variants: each architecture (or one given model), structurally pruned (L1, per group, kept
// channels NOT rounded, so odd counts test the staircase) at every ratio, in fp32 and in int8
// (PTQ on real int8 kernels). Every variant is measured round robin (`rounds` rounds of
// runs/rounds runs; a figure is the median of its round medians, so a burst of load from a
// neighbour hits one round of many variants rather than every run of one):
//   * each fused kernel in context (hal::ProfileModelKernels, what the edge profiler reports),
//     and once in isolation (the same kernel called again and again on cached inputs: shown as
//     "isolated-sum" to say why the profiler does not do that);
//   * the whole model end to end: the truth every prediction is compared with.
// Predictors of each variant's end-to-end median, all from kernel times measured in this run:
//   kernel-sum  LUT = every variant's kernels; a variant's prediction is the sum of its own
//               kernels' rows (exact hits): nn-Meter's claim that a graph's latency is the sum
//               of its fused kernels.
//   held-out    LUT = kernels of the variants at every other ratio (the 1st, 3rd, ... given);
//               the others are predicted through exact hits where shapes coincide and the
//               staircase neighbour rule elsewhere (what a search sees for configurations no
//               device has profiled yet).
//   roofline    no measurement at all: the profile's roofline estimate.
// Scores: the share of variants within +-10% of the measured median and the RMSE in ms, per
// architecture and over all. Latency does not depend on the weights' values, so zoo models keep
// their random initialization; int8 calibration uses test images of `calibration_data` when it
// loads, random normal inputs otherwise (scales do not change kernel time; the result says which).
// Torch-free header.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::search {

struct LutExperimentOptions {
  // Zoo architectures, built for 1-channel images of image_size px and 10 classes
  // (Fashion-MNIST's shape; small-input stem where the ImageNet one does not fit).
  std::vector<std::string> archs = {"resnet8", "resnet18", "mobilenet_v2"};
  int64_t image_size = 28;
  // Non-empty: variants of this .hmc model (fp32, unfused, as `hadmc train` writes) instead of
  // the archs; its recorded normalization and input shape are used.
  std::string model_path;
  std::vector<double> ratios = {0, 0.15, 0.3, 0.45, 0.6, 0.75};  // each in [0, 1)
  int runs = 100;  // timed runs per variant, spread over the rounds (>= rounds)
  int rounds = 5;  // >= 1
  int warmup = 10;
  int threads = 1;                  // torch intra-op threads while timing
  std::string profile = "x86_cpu";  // the roofline's hardware profile: name or file
  // int8 calibration images (test split): a dataset name or folder; "" = the model's recorded
  // dataset with model_path, else fashion-mnist. Not loadable: random normal inputs.
  std::string calibration_data;
  std::ostream* progress = nullptr;  // variants built, rounds done
};

// Errors name the field.
Status ValidateLutExperimentOptions(const LutExperimentOptions& o);

struct LutVariant {
  std::string name, arch;  // name: "resnet8 prune 0.3 int8"
  double prune_ratio = 0;
  bool int8 = false;
  int kernels = 0;
  double measured_median_ms = 0, measured_p90_ms = 0;  // end to end, batch 1
  double kernel_sum_ms = 0, isolated_sum_ms = 0, roofline_ms = 0;
  bool in_held_out_lut = false;  // its kernels built the held-out LUT (not scored there)
  double held_out_ms = 0;        // the held-out prediction (only when !in_held_out_lut)
  int held_out_exact = 0, held_out_neighbour = 0, held_out_roofline = 0;  // kernels per method
};

struct LutPredictorScore {
  std::string predictor;  // "kernel-sum", "isolated-sum", "held-out", "roofline"
  std::string group;      // an arch, or "all"
  int variants = 0;
  double within_10pct = 0;  // share in [0, 1]
  double rmse_ms = 0;
};

struct LutExperiment {
  LutExperimentOptions options;  // as run (progress not kept)
  std::string calibration;       // what the int8 calibration used
  std::vector<LutVariant> variants;
  std::vector<LutPredictorScore> scores;  // predictor order above, then group order ("all" last)
  int64_t lut_rows_full = 0, lut_rows_held_out = 0;
  double seconds = 0;
};

// Builds, measures and scores every variant. Errors: invalid options, an unknown arch or
// profile, a model that cannot be loaded, pruned or quantized, a failing measurement.
Result<LutExperiment> RunLutExperiment(const LutExperimentOptions& options);

// lut.md's body: how it was measured, the per-variant table and the predictor summary.
std::string LutExperimentMarkdown(const LutExperiment& e);
// {"runs", "rounds", "threads", "profile", "ratios", "archs" | "model", "calibration",
//  "lut_rows_full", "lut_rows_held_out", "seconds",
//  "summary": {predictor: {group: {"variants", "within_10pct", "rmse_ms"}}},
//  "variants": [{"variant", "arch", "prune_ratio", "precision", "kernels", "measured_median_ms",
//               "measured_p90_ms", "kernel_sum_ms", "isolated_sum_ms", "roofline_ms",
//               "in_held_out_lut", "held_out"?: {"ms", "exact", "neighbour", "roofline"}}],
//  "system": this machine (hal::CollectSystemInfo)}
nlohmann::json LutExperimentJson(const LutExperiment& e);
// Predicted vs measured end-to-end ms, log-log, one series per predictor, and the y = x line.
Status WriteLutExperimentPlot(const LutExperiment& e, const std::string& path);

}  // namespace hadmc::search
