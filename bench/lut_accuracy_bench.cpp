// LUT accuracy (the seeds' Experiment 7): how well does a latency look-up table of fused-kernel
// measurements predict the end-to-end latency of compressed models on this machine?
//
//   build/bench/lut_accuracy_bench [--runs 100] [--rounds 5] [--threads 1] [--out lut_accuracy.json]
//                                  [--archs resnet8,resnet18,mobilenet_v2]
//                                  [--ratios 0,0.15,0.3,0.45,0.6,0.75] [--profile x86_cpu]
//
// Variants: each architecture, structurally pruned (L1, per group, kept channels NOT rounded, so
// the odd counts test the staircase) at every ratio, in fp32 and in int8 (PTQ on real int8
// kernels) — 36 models with the defaults. For every variant the bench measures (hal/kernel_bench),
// round robin over all variants (--rounds rounds of runs/rounds runs each; a figure is the
// median of its round medians, so a burst of load from a neighbour hits one round):
//   * each fused kernel in context: its stretch of whole inference runs, what the edge profiler
//     reports (and, once, in isolation: the same kernel called again and again on cached
//     inputs and weights — shown as "isolated-sum" to say why the profiler does not do that);
//   * the whole model end to end: the truth every prediction is compared with.
// Then the predictors of each variant's end-to-end median:
//   kernel-sum   LUT = the kernels measured on all variants; a variant's prediction is the sum
//                of its own kernels' rows (exact hits): nn-Meter's claim that a graph's latency
//                is the sum of its fused kernels.
//   held-out     LUT = kernels of the variants at every other ratio (0, 0.3, 0.6 by default);
//                the remaining variants are predicted through exact hits where shapes coincide
//                and the staircase nearest-neighbour fallback elsewhere (what a search sees for
//                configurations no device has profiled yet).
//   roofline     no measurement at all: the x86_cpu profile's roofline estimate.
// For each: the share of variants within +-10% of the measured median, and the RMSE in ms.
// Latency is independent of the weights' values, so the models keep their random
// initialization; calibration for int8 uses Fashion-MNIST test images when the dataset is
// installed, random normal inputs otherwise (the scales do not change kernel time).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "hadmc/compress/pass_registry.h"
#include "hadmc/compress/prune_channels.h"
#include "hadmc/compress/quantize_int8.h"
#include "hadmc/data/dataset_registry.h"
#include "hadmc/data/normalization.h"
#include "hadmc/exec/executor.h"
#include "hadmc/hal/allocator.h"
#include "hadmc/hal/int8_backend.h"
#include "hadmc/hal/kernel_bench.h"
#include "hadmc/hal/kernels.h"
#include "hadmc/hal/lut.h"
#include "hadmc/hal/profile.h"
#include "hadmc/hal/roofline.h"
#include "hadmc/hal/sysinfo.h"
#include "hadmc/model/model.h"
#include "hadmc/zoo/zoo.h"

namespace {

using namespace hadmc;  // NOLINT: a benchmark program

struct Args {
  int runs = 100;
  int rounds = 5;
  int threads = 1;
  std::string out = "lut_accuracy.json";
  std::vector<std::string> archs = {"resnet8", "resnet18", "mobilenet_v2"};
  std::vector<double> ratios = {0, 0.15, 0.3, 0.45, 0.6, 0.75};
  std::string profile = "x86_cpu";
};

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "lut_accuracy_bench: " << what << "\n";
  std::exit(1);
}

template <typename T>
T Check(Result<T> r, const std::string& what) {
  if (!r) Die(what + ": " + r.error().String());
  return std::move(*r);
}

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << "usage: lut_accuracy_bench [--runs N] [--rounds N] [--threads N] [--out FILE] "
                   "[--archs a,b] [--ratios r1,r2] [--profile NAME]\n";
      std::exit(0);
    }
    if (i + 1 >= argc) Die("missing value for " + flag);
    std::string v = argv[++i];
    if (flag == "--runs") a.runs = std::stoi(v);
    else if (flag == "--rounds") a.rounds = std::stoi(v);
    else if (flag == "--threads") a.threads = std::stoi(v);
    else if (flag == "--out") a.out = v;
    else if (flag == "--archs") a.archs = SplitList(v);
    else if (flag == "--profile") a.profile = v;
    else if (flag == "--ratios") {
      a.ratios.clear();
      for (const auto& r : SplitList(v)) a.ratios.push_back(std::stod(r));
    } else Die("unknown flag " + flag);
  }
  if (a.runs < 1 || a.threads < 1 || a.rounds < 1)
    Die("--runs, --rounds and --threads must be >= 1");
  return a;
}

std::vector<at::Tensor> CalibrationInputs() {
  auto test = data::LoadDataset("fashion-mnist", data::Split::kTest);
  if (!test) {
    std::cerr << "fashion-mnist not found (" << test.error().message()
              << "): calibrating on random inputs\n";
    return {torch::randn({256, 1, 28, 28})};
  }
  at::Tensor images = test->images.slice(0, 0, 256);
  return {data::NormalizeImages(images, data::FashionMnistNormalization())};
}

struct Variant {
  std::string arch;
  double ratio = 0;
  bool int8 = false;
  std::string name;
  std::vector<hal::KernelMeasurement> kernels;   // in context (what the profiler reports)
  std::vector<hal::KernelMeasurement> isolated;  // each kernel alone, cache-hot
  hal::Timing e2e;
};

model::Model MakeVariant(const std::string& arch, double ratio, bool int8,
                         const std::vector<at::Tensor>& calib) {
  zoo::ArchOptions o;
  o.in_channels = 1;
  o.num_classes = 10;
  o.image_size = 28;
  auto m = zoo::BuildModel(arch, o);
  if (!m) {  // the ImageNet stem is too deep for 28 px on some archs: use the small-input stem
    o.small_input = true;
    m = zoo::BuildModel(arch, o);
  }
  model::Model model = Check(std::move(m), "building " + arch);
  if (ratio > 0) {
    compress::PruneOptions p;
    p.ratio = ratio;
    p.importance = compress::Importance::kL1;
    Check(compress::PruneChannels(model, p, {}), "pruning " + arch);
  }
  Check(compress::RunFusion(model), "fusing " + arch);
  if (int8) Check(compress::QuantizeInt8(model, {}, calib), "quantizing " + arch);
  return model;
}

double MedianOf(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  return x.empty() ? 0 : x[x.size() / 2];
}

struct Score {
  int within10 = 0;
  int n = 0;
  double sq = 0;
  double share() const { return n ? static_cast<double>(within10) / n : 0; }
  double rmse() const { return n ? std::sqrt(sq / n) : 0; }
  void Add(double predicted, double measured) {
    ++n;
    if (std::abs(predicted - measured) <= 0.10 * measured) ++within10;
    sq += (predicted - measured) * (predicted - measured);
  }
};

// One row per key, built as the cloud builds it from device reports: each variant's report has
// one row per key (repeats within a model averaged: MergeRepeatedKeys), and the LUT row is the
// median over the variants that report the key.
hal::LatencyLut BuildLut(const std::vector<const Variant*>& variants) {
  std::map<std::string, std::vector<double>> med, p90;
  std::map<std::string, hal::KernelKey> keys;
  for (const Variant* v : variants)
    for (const auto& k : hal::MergeRepeatedKeys(v->kernels)) {
      const std::string s = k.kernel.key.ToString();
      med[s].push_back(k.timing.median_ms);
      p90[s].push_back(k.timing.p90_ms);
      keys.emplace(s, k.kernel.key);
    }
  auto median = [](std::vector<double> x) {
    std::sort(x.begin(), x.end());
    return x[x.size() / 2];
  };
  std::vector<hal::LutEntry> rows;
  for (const auto& [s, m] : med)
    rows.push_back({.key = keys.at(s),
                    .median_ms = median(m),
                    .p90_ms = median(p90.at(s)),
                    .count = static_cast<int64_t>(m.size()),
                    .source = "measured",
                    .updated_at = ""});
  return hal::LatencyLut("bench", std::move(rows));
}

std::string Pct(double x) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << 100 * x << "%";
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = ParseArgs(argc, argv);
  hal::ConfigureAllocator();
  auto backend = hal::ConfigureInt8Backend();
  if (!backend) Die("int8 backend: " + backend.error().String());
  const hal::HardwareProfile profile =
      Check(hal::FindProfile(args.profile), "hardware profile " + args.profile);
  const std::vector<at::Tensor> calib = CalibrationInputs();

  hal::BenchOptions bench;
  bench.warmup = 10;
  bench.runs = args.runs;
  bench.threads = args.threads;
  bench.batch = 1;

  std::vector<Variant> variants;
  std::vector<exec::Executor> executors;
  for (const auto& arch : args.archs)
    for (double ratio : args.ratios)
      for (bool int8 : {false, true}) {
        Variant v;
        v.arch = arch;
        v.ratio = ratio;
        v.int8 = int8;
        std::ostringstream name;
        name << arch << " prune " << ratio << (int8 ? " int8" : " fp32");
        v.name = name.str();
        executors.push_back(Check(exec::Executor::Create(MakeVariant(arch, ratio, int8, calib)),
                                  "binding " + v.name));
        variants.push_back(std::move(v));
      }
  std::cerr << variants.size() << " variants built\n";

  // Round robin: every variant gets a share of its runs in every round, so a burst of load from
  // a neighbour on this shared machine lands on one round of many variants rather than on all
  // runs of one; a variant's figure is the median of its round medians.
  bench.runs = std::max(1, args.runs / args.rounds);
  std::vector<std::vector<double>> e2e_rounds(variants.size());
  std::vector<std::map<std::string, std::vector<double>>> med_rounds(variants.size()),
      p90_rounds(variants.size());
  for (int round = 0; round < args.rounds; ++round) {
    for (size_t i = 0; i < variants.size(); ++i) {
      Variant& v = variants[i];
      auto kernels = Check(hal::ProfileModelKernels(executors[i], bench), "profiling " + v.name);
      const hal::Timing e = Check(hal::ProfileEndToEnd(executors[i], bench), "timing " + v.name);
      e2e_rounds[i].push_back(e.median_ms);
      for (const auto& k : kernels) {
        med_rounds[i][k.kernel.node].push_back(k.timing.median_ms);
        p90_rounds[i][k.kernel.node].push_back(k.timing.p90_ms);
      }
      if (round == 0) {
        v.kernels = std::move(kernels);
        hal::BenchOptions iso = bench;
        iso.timing = hal::KernelTiming::kIsolated;
        iso.runs = args.runs;
        v.isolated = Check(hal::ProfileModelKernels(executors[i], iso), "profiling " + v.name);
      }
    }
    std::cerr << "round " << round + 1 << "/" << args.rounds << " done\n";
  }
  for (size_t i = 0; i < variants.size(); ++i) {
    Variant& v = variants[i];
    v.e2e.median_ms = MedianOf(e2e_rounds[i]);
    v.e2e.runs = bench.runs * args.rounds;
    for (auto& k : v.kernels) {
      k.timing.median_ms = MedianOf(med_rounds[i].at(k.kernel.node));
      k.timing.p90_ms = MedianOf(p90_rounds[i].at(k.kernel.node));
      k.timing.runs = bench.runs * args.rounds;
    }
    std::cerr << v.name << ": " << v.kernels.size() << " kernels, e2e " << v.e2e.median_ms
              << " ms\n";
  }

  // Predictors.
  std::vector<const Variant*> all, train;
  for (const auto& v : variants) {
    all.push_back(&v);
    const auto pos = std::find(args.ratios.begin(), args.ratios.end(), v.ratio) - args.ratios.begin();
    if (pos % 2 == 0) train.push_back(&v);
  }
  const hal::LatencyLut full = BuildLut(all), held = BuildLut(train);

  std::map<std::string, Score> kernel_sum, isolated_sum, held_out, roofline;  // by arch, "all"
  nlohmann::json rows = nlohmann::json::array();
  std::cout << "| variant | kernels | measured ms | kernel-sum ms | isolated-sum ms "
               "| held-out ms (exact/nn/roofline) | roofline ms |\n|---|---|---|---|---|---|---|\n";
  for (const Variant* v : all) {
    std::vector<hal::KernelInstance> ks;
    for (const auto& k : v->kernels) ks.push_back(k.kernel);
    const double measured = v->e2e.median_ms;
    const auto ps = full.PredictGraph(ks, &profile);
    const bool is_train = std::find(train.begin(), train.end(), v) != train.end();
    const auto ph = held.PredictGraph(ks, &profile);
    const double pr = hal::RooflineGraphMs(ks, profile);
    double iso_ms = 0;
    for (const auto& k : v->isolated) iso_ms += k.timing.median_ms;
    for (const std::string& group : {v->arch, std::string("all")}) {
      kernel_sum[group].Add(ps.ms, measured);
      isolated_sum[group].Add(iso_ms, measured);
      if (!is_train) held_out[group].Add(ph.ms, measured);
      roofline[group].Add(pr, measured);
    }
    std::cout << std::fixed << std::setprecision(3) << "| " << v->name << " | " << ks.size()
              << " | " << measured << " | " << ps.ms << " | " << iso_ms << " | "
              << (is_train ? std::string("(in the LUT)")
                           : std::to_string(ph.ms).substr(0, 6) + " (" +
                                 std::to_string(ph.exact) + "/" + std::to_string(ph.neighbour) +
                                 "/" + std::to_string(ph.roofline) + ")")
              << " | " << pr << " |\n";
    nlohmann::json row = {{"variant", v->name},       {"arch", v->arch},
                          {"prune_ratio", v->ratio},  {"precision", v->int8 ? "int8" : "fp32"},
                          {"kernels", ks.size()},     {"measured_median_ms", measured},
                          {"measured_p90_ms", v->e2e.p90_ms},
                          {"kernel_sum_ms", ps.ms},   {"isolated_sum_ms", iso_ms},
                          {"roofline_ms", pr},
                          {"in_held_out_lut", is_train}};
    if (!is_train)
      row["held_out"] = {{"ms", ph.ms},
                         {"exact", ph.exact},
                         {"neighbour", ph.neighbour},
                         {"roofline", ph.roofline}};
    rows.push_back(row);
  }

  nlohmann::json summary = nlohmann::json::object();
  std::cout << "\n| predictor | group | variants | within +-10% | RMSE ms |\n|---|---|---|---|---|\n";
  for (const auto& [label, scores] : std::vector<std::pair<std::string, std::map<std::string, Score>*>>{
           {"kernel-sum", &kernel_sum}, {"isolated-sum", &isolated_sum},
           {"held-out", &held_out}, {"roofline", &roofline}})
    for (const auto& [group, s] : *scores) {
      std::cout << "| " << label << " | " << group << " | " << s.n << " | " << Pct(s.share())
                << " | " << std::setprecision(3) << s.rmse() << " |\n";
      summary[label][group] = {{"variants", s.n}, {"within_10pct", s.share()}, {"rmse_ms", s.rmse()}};
    }

  nlohmann::json out = {{"command", "lut_accuracy_bench"},
                        {"runs", args.runs},
                        {"rounds", args.rounds},
                        {"rounds", args.rounds},
                        {"threads", args.threads},
                        {"profile", args.profile},
                        {"lut_rows_full", full.rows().size()},
                        {"lut_rows_held_out", held.rows().size()},
                        {"summary", summary},
                        {"variants", rows},
                        {"system", hal::ToJson(hal::CollectSystemInfo())}};
  std::ofstream(args.out) << out.dump(2) << "\n";
  std::cerr << "wrote " << args.out << "\n";
  return 0;
}
