// LUT accuracy (the seeds' Experiment 7): how well does a latency look-up table of fused-kernel
// measurements predict the end-to-end latency of compressed models on this machine? A thin
// wrapper over search::RunLutExperiment (cloud/include/hadmc/search/lut_experiment.h), which
// `hadmc experiment lut` also runs; this one prints the tables and writes the JSON only.
//
//   build/bench/lut_accuracy_bench [--runs 100] [--rounds 5] [--threads 1] [--out
//   lut_accuracy.json]
//                                  [--archs resnet8,resnet18,mobilenet_v2]
//                                  [--ratios 0,0.15,0.3,0.45,0.6,0.75] [--profile x86_cpu]
//
// Variants (arch x L1 prune ratio x fp32/int8), how they are measured and the predictors
// (kernel-sum, held-out, roofline; isolated-sum for contrast) are described in lut_experiment.h.
// `hadmc experiment lut --out-dir DIR` runs the same and also writes lut.md and a scatter plot.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <string>

#include "hadmc/hal/allocator.h"
#include "hadmc/search/lut_experiment.h"

int main(int argc, char** argv) {
  using namespace hadmc;  // NOLINT: a benchmark program
  search::LutExperimentOptions o;
  o.calibration_data = "fashion-mnist";
  std::string out = "lut_accuracy.json";
  CLI::App app{"LUT accuracy on this machine (search/lut_experiment.h)"};
  app.add_option("--runs", o.runs, "timed runs per variant over all rounds");
  app.add_option("--rounds", o.rounds, "round-robin rounds");
  app.add_option("--threads", o.threads, "LibTorch threads while timing");
  app.add_option("--out", out, "JSON output");
  app.add_option("--archs", o.archs, "zoo architectures")->delimiter(',');
  app.add_option("--ratios", o.ratios, "L1 prune ratios")->delimiter(',');
  app.add_option("--profile", o.profile, "the roofline's hardware profile");
  CLI11_PARSE(app, argc, argv);
  hal::ConfigureAllocator();
  o.progress = &std::cerr;
  auto e = search::RunLutExperiment(o);
  if (!e) {
    std::cerr << "lut_accuracy_bench: " << e.error().String() << "\n";
    return 1;
  }
  std::cout << search::LutExperimentMarkdown(*e);
  nlohmann::json j = search::LutExperimentJson(*e);
  j["command"] = "lut_accuracy_bench";
  std::ofstream(out) << j.dump(2) << "\n";
  std::cerr << "wrote " << out << "\n";
  return 0;
}
