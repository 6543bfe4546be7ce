#include "hadmc/search/lut_experiment.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

#include "hadmc/common/format.h"
#include "hadmc/common/svg_plot.h"
#include "hadmc/compress/pass_registry.h"
#include "hadmc/compress/prune_channels.h"
#include "hadmc/compress/quantize_int8.h"
#include "hadmc/data/dataset_registry.h"
#include "hadmc/data/normalization.h"
#include "hadmc/exec/executor.h"
#include "hadmc/hal/int8_backend.h"
#include "hadmc/hal/kernel_bench.h"
#include "hadmc/hal/lut.h"
#include "hadmc/hal/profile.h"
#include "hadmc/hal/roofline.h"
#include "hadmc/hal/sysinfo.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/model/model.h"
#include "hadmc/train/input_transform.h"
#include "hadmc/train/model_metadata.h"
#include "hadmc/zoo/zoo.h"

namespace hadmc::search {
namespace {

constexpr int64_t kCalibrationImages = 256;
const char* const kPredictors[] = {"kernel-sum", "isolated-sum", "held-out", "roofline"};

// A source model per architecture: the zoo's (random weights) or the given file.
struct Source {
  std::string arch;
  model::Model model;
};

Result<std::vector<Source>> Sources(const LutExperimentOptions& o) {
  std::vector<Source> out;
  if (!o.model_path.empty()) {
    auto m = model::LoadHmc(o.model_path);
    if (!m) return MakeError(m.error().WithContext("loading " + o.model_path));
    out.push_back({std::filesystem::path(o.model_path).stem().string(), std::move(*m)});
    return out;
  }
  for (const std::string& arch : o.archs) {
    zoo::ArchOptions a;
    a.in_channels = 1;
    a.num_classes = 10;
    a.image_size = o.image_size;
    auto m = zoo::BuildModel(arch, a);
    if (!m) {  // the ImageNet stem is too deep for small images on some archs
      a.small_input = true;
      m = zoo::BuildModel(arch, a);
    }
    if (!m) return MakeError(m.error().WithContext("building " + arch));
    out.push_back({arch, std::move(*m)});
  }
  return out;
}

// Normalized test images of `spec` shaped for `m`'s input; random normal inputs when the data
// cannot be had (the scales int8 calibration finds do not change kernel time). `how` says which.
std::vector<at::Tensor> CalibrationInputs(const model::Model& m, const std::string& spec,
                                          std::string* how) {
  const ir::Shape& in = m.graph.inputs.at(0).shape;
  auto random = [&](const std::string& why) {
    *how = "random normal inputs (" + why + ")";
    at::Generator gen = at::detail::createCPUGenerator(0);
    return std::vector<at::Tensor>{at::randn(
        {kCalibrationImages, in[1], std::max<int64_t>(in[2], 1), std::max<int64_t>(in[3], 1)},
        gen)};
  };
  if (spec.empty()) return random("no dataset named");
  auto test = data::LoadDataset(spec, data::Split::kTest);
  if (!test) return random(spec + " not loaded: " + test.error().message());
  auto recorded = train::NormalizationFromMetadata(m.metadata);
  data::Normalization norm = recorded && *recorded ? **recorded : data::Normalization{};
  if (norm.empty()) {
    auto computed = spec == "fashion-mnist"
                        ? Result<data::Normalization>(data::FashionMnistNormalization())
                        : data::ComputeNormalization(*test);
    if (!computed) return random(computed.error().message());
    norm = *computed;
  }
  auto transform = train::MakeInputTransform(m.graph, *test);
  if (!transform) return random(transform.error().message());
  at::Tensor x = data::NormalizeImages(
      test->images.slice(0, 0, std::min<int64_t>(kCalibrationImages, test->size())), norm);
  *how = std::to_string(x.size(0)) + " test images of " + spec;
  return {*transform ? (*transform)(x) : x};
}

Result<model::Model> MakeVariant(const model::Model& source, double ratio, bool int8,
                                 const std::vector<at::Tensor>& calib) {
  model::Model m = model::Clone(source);
  if (ratio > 0) {
    compress::PruneOptions p;
    p.ratio = ratio;
    p.importance = compress::Importance::kL1;
    HADMC_TRY_CTX(compress::PruneChannels(m, p, {}), "pruning");
  }
  HADMC_TRY_CTX(compress::RunFusion(m), "fusing");
  if (int8) HADMC_TRY_CTX(compress::QuantizeInt8(m, {}, calib), "quantizing");
  return m;
}

double MedianOf(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  return x.empty() ? 0 : x[x.size() / 2];
}

struct Score {
  int within10 = 0, n = 0;
  double sq = 0;
  void Add(double predicted, double measured) {
    ++n;
    if (std::abs(predicted - measured) <= 0.10 * measured) ++within10;
    sq += (predicted - measured) * (predicted - measured);
  }
};

// A variant being measured: what RunLutExperiment keeps besides the reported figures.
struct Measured {
  LutVariant v;
  std::vector<hal::KernelMeasurement> kernels;  // in context; medians over the rounds
  std::vector<double> e2e_rounds, e2e_p90_rounds;
  std::map<std::string, std::vector<double>> med_rounds, p90_rounds;  // by node
};

// One row per key, built as the cloud builds it from device reports: each variant's report has
// one row per key (repeats within a model averaged: MergeRepeatedKeys), and the LUT row is the
// median over the variants that report the key.
hal::LatencyLut BuildLut(const std::vector<const Measured*>& variants) {
  std::map<std::string, std::vector<double>> med, p90;
  std::map<std::string, hal::KernelKey> keys;
  for (const Measured* v : variants)
    for (const auto& k : hal::MergeRepeatedKeys(v->kernels)) {
      const std::string s = k.kernel.key.ToString();
      med[s].push_back(k.timing.median_ms);
      p90[s].push_back(k.timing.p90_ms);
      keys.emplace(s, k.kernel.key);
    }
  std::vector<hal::LutEntry> rows;
  for (const auto& [s, m] : med)
    rows.push_back({.key = keys.at(s),
                    .median_ms = MedianOf(m),
                    .p90_ms = std::max(MedianOf(m), MedianOf(p90.at(s))),
                    .count = static_cast<int64_t>(m.size()),
                    .source = "measured",
                    .updated_at = ""});
  return hal::LatencyLut("lut-experiment", std::move(rows));
}

// Round robin: every variant gets runs/rounds runs in every round.
Status MeasureRoundRobin(std::vector<Measured>& variants,
                         const std::vector<exec::Executor>& executors,
                         const LutExperimentOptions& o) {
  hal::BenchOptions bench;
  bench.warmup = o.warmup;
  bench.threads = o.threads;
  bench.batch = 1;
  bench.runs = std::max(1, o.runs / o.rounds);
  for (int round = 0; round < o.rounds; ++round) {
    for (size_t i = 0; i < variants.size(); ++i) {
      Measured& m = variants[i];
      auto kernels = hal::ProfileModelKernels(executors[i], bench);
      if (!kernels) return MakeError(kernels.error().WithContext("profiling " + m.v.name));
      auto e2e = hal::ProfileEndToEnd(executors[i], bench);
      if (!e2e) return MakeError(e2e.error().WithContext("timing " + m.v.name));
      m.e2e_rounds.push_back(e2e->median_ms);
      m.e2e_p90_rounds.push_back(e2e->p90_ms);
      for (const auto& k : *kernels) {
        m.med_rounds[k.kernel.node].push_back(k.timing.median_ms);
        m.p90_rounds[k.kernel.node].push_back(k.timing.p90_ms);
      }
      if (round > 0) continue;
      m.kernels = std::move(*kernels);
      hal::BenchOptions iso = bench;
      iso.timing = hal::KernelTiming::kIsolated;
      iso.runs = o.runs;
      auto isolated = hal::ProfileModelKernels(executors[i], iso);
      if (!isolated) return MakeError(isolated.error().WithContext("profiling " + m.v.name));
      for (const auto& k : *isolated) m.v.isolated_sum_ms += k.timing.median_ms;
    }
    if (o.progress) *o.progress << "round " << round + 1 << "/" << o.rounds << " done\n";
  }
  for (Measured& m : variants) {
    m.v.measured_median_ms = MedianOf(m.e2e_rounds);
    m.v.measured_p90_ms = std::max(m.v.measured_median_ms, MedianOf(m.e2e_p90_rounds));
    for (auto& k : m.kernels) {
      k.timing.median_ms = MedianOf(m.med_rounds.at(k.kernel.node));
      k.timing.p90_ms = MedianOf(m.p90_rounds.at(k.kernel.node));
      k.timing.runs = bench.runs * o.rounds;
    }
    m.v.kernels = static_cast<int>(m.kernels.size());
  }
  return {};
}

// The predictions of every variant, and the scores by predictor and group.
void Predict(std::vector<Measured>& variants, const hal::HardwareProfile& profile,
             LutExperiment& e) {
  std::vector<const Measured*> all, train;
  for (const Measured& m : variants) {
    all.push_back(&m);
    if (m.v.in_held_out_lut) train.push_back(&m);
  }
  const hal::LatencyLut full = BuildLut(all), held = BuildLut(train);
  e.lut_rows_full = static_cast<int64_t>(full.rows().size());
  e.lut_rows_held_out = static_cast<int64_t>(held.rows().size());
  std::map<std::string, std::map<std::string, Score>> scores;  // predictor -> group
  std::vector<std::string> groups;
  for (Measured& m : variants) {
    LutVariant& v = m.v;
    std::vector<hal::KernelInstance> ks;
    for (const auto& k : m.kernels) ks.push_back(k.kernel);
    v.kernel_sum_ms = full.PredictGraph(ks, &profile).ms;
    v.roofline_ms = hal::RooflineGraphMs(ks, profile);
    if (!v.in_held_out_lut) {
      const auto ph = held.PredictGraph(ks, &profile);
      v.held_out_ms = ph.ms;
      v.held_out_exact = ph.exact;
      v.held_out_neighbour = ph.neighbour;
      v.held_out_roofline = ph.roofline;
    }
    if (std::find(groups.begin(), groups.end(), v.arch) == groups.end()) groups.push_back(v.arch);
    for (const std::string& group : {v.arch, std::string("all")}) {
      scores["kernel-sum"][group].Add(v.kernel_sum_ms, v.measured_median_ms);
      scores["isolated-sum"][group].Add(v.isolated_sum_ms, v.measured_median_ms);
      if (!v.in_held_out_lut) scores["held-out"][group].Add(v.held_out_ms, v.measured_median_ms);
      scores["roofline"][group].Add(v.roofline_ms, v.measured_median_ms);
    }
  }
  groups.push_back("all");
  for (const char* predictor : kPredictors)
    for (const std::string& group : groups) {
      const Score s = scores[predictor][group];  // absent: no variant scored (n = 0)
      e.scores.push_back({predictor, group, s.n, s.n ? static_cast<double>(s.within10) / s.n : 0,
                          s.n ? std::sqrt(s.sq / s.n) : 0});
    }
}

}  // namespace

Status ValidateLutExperimentOptions(const LutExperimentOptions& o) {
  if (o.model_path.empty() && o.archs.empty())
    return MakeError(Errc::kInvalidArgument, "archs: name at least one architecture");
  if (o.ratios.empty()) return MakeError(Errc::kInvalidArgument, "ratios: at least one ratio");
  for (double r : o.ratios)
    if (!(r >= 0 && r < 1))
      return MakeError(Errc::kInvalidArgument, "ratios: " + FormatFixed(r, 3) + " is not in [0, 1)");
  if (o.rounds < 1) return MakeError(Errc::kInvalidArgument, "rounds: must be >= 1");
  if (o.runs < o.rounds) return MakeError(Errc::kInvalidArgument, "runs: must be >= rounds");
  if (o.threads < 1) return MakeError(Errc::kInvalidArgument, "threads: must be >= 1");
  if (o.warmup < 0) return MakeError(Errc::kInvalidArgument, "warmup: must be >= 0");
  if (o.image_size < 8) return MakeError(Errc::kInvalidArgument, "image_size: must be >= 8");
  return {};
}

Result<LutExperiment> RunLutExperiment(const LutExperimentOptions& o) {
  HADMC_TRY(ValidateLutExperimentOptions(o));
  const auto start = std::chrono::steady_clock::now();
  auto backend = hal::ConfigureInt8Backend();
  if (!backend) return MakeError(backend.error().WithContext("int8 backend"));
  auto profile = std::filesystem::exists(o.profile) ? hal::LoadProfile(o.profile)
                                                    : hal::FindProfile(o.profile);
  if (!profile) return MakeError(profile.error().WithContext("profile " + o.profile));
  auto sources = Sources(o);
  if (!sources) return MakeError(sources.error());

  LutExperiment e;
  e.options = o;
  e.options.progress = nullptr;
  std::vector<Measured> variants;
  std::vector<exec::Executor> executors;
  for (const Source& src : *sources) {
    std::string spec = o.calibration_data;
    if (spec.empty()) {
      auto it = src.model.metadata.find("dataset");
      spec = !o.model_path.empty() ? (it != src.model.metadata.end() ? it->second : "")
                                   : "fashion-mnist";
    }
    std::string how;
    const std::vector<at::Tensor> calib = CalibrationInputs(src.model, spec, &how);
    if (e.calibration.find(how) == std::string::npos)
      e.calibration += (e.calibration.empty() ? "" : "; ") + how;
    for (size_t r = 0; r < o.ratios.size(); ++r)
      for (bool int8 : {false, true}) {
        Measured m;
        m.v.arch = src.arch;
        m.v.prune_ratio = o.ratios[r];
        m.v.int8 = int8;
        m.v.in_held_out_lut = r % 2 == 0;
        m.v.name = src.arch + " prune " + FormatFixed(o.ratios[r], 2) + (int8 ? " int8" : " fp32");
        auto built = MakeVariant(src.model, o.ratios[r], int8, calib);
        if (!built) return MakeError(built.error().WithContext(m.v.name));
        auto ex = exec::Executor::Create(std::move(*built));
        if (!ex) return MakeError(ex.error().WithContext("binding " + m.v.name));
        executors.push_back(std::move(*ex));
        variants.push_back(std::move(m));
      }
  }
  if (o.progress)
    *o.progress << variants.size() << " variants built; int8 calibration on " << e.calibration
                << "\n";
  HADMC_TRY(MeasureRoundRobin(variants, executors, o));
  Predict(variants, *profile, e);
  for (Measured& m : variants) e.variants.push_back(std::move(m.v));
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return e;
}

std::string LutExperimentMarkdown(const LutExperiment& e) {
  const LutExperimentOptions& o = e.options;
  std::ostringstream md;
  md << "Every figure was measured in this run on this machine (batch 1, " << o.threads
     << " thread(s), " << o.rounds << " round(s) of " << std::max(1, o.runs / o.rounds)
     << " runs round robin over the variants; a figure is the median of its round medians). "
     << "**The LUT predictions use only kernel latencies measured here in this run** (no "
        "shipped or fleet LUT): kernel-sum from every variant's kernels ("
     << e.lut_rows_full << " rows), held-out from the variants at ratios ";
  for (size_t r = 0; r < o.ratios.size(); r += 2) md << (r ? ", " : "") << o.ratios[r];
  md << " only (" << e.lut_rows_held_out << " rows; the others predicted by exact hits and the "
     << "staircase neighbour rule). Roofline: the " << o.profile
     << " profile's estimate, no measurement. isolated-sum is not a predictor: each kernel timed "
        "alone on cache-hot inputs, to show why the profiler times kernels in context. int8 "
        "calibration: "
     << e.calibration << ". " << FormatFixed(e.seconds, 0) << " s.\n\n";
  md << "| variant | kernels | measured ms | kernel-sum ms | isolated-sum ms | held-out ms "
        "(exact/neighbour/roofline kernels) | roofline ms |\n|---|---|---|---|---|---|---|\n";
  for (const LutVariant& v : e.variants)
    md << "| " << v.name << " | " << v.kernels << " | " << FormatFixed(v.measured_median_ms, 3) << " | "
       << FormatFixed(v.kernel_sum_ms, 3) << " | " << FormatFixed(v.isolated_sum_ms, 3) << " | "
       << (v.in_held_out_lut ? std::string("(in the held-out LUT)")
                             : FormatFixed(v.held_out_ms, 3) + " (" + std::to_string(v.held_out_exact) +
                                   "/" + std::to_string(v.held_out_neighbour) + "/" +
                                   std::to_string(v.held_out_roofline) + ")")
       << " | " << FormatFixed(v.roofline_ms, 3) << " |\n";
  md << "\n| predictor | group | variants | within ±10% of measured | RMSE ms |\n"
     << "|---|---|---|---|---|\n";
  for (const LutPredictorScore& s : e.scores)
    md << "| " << s.predictor << " | " << s.group << " | " << s.variants << " | "
       << (s.variants ? FormatFixed(100 * s.within_10pct, 1) + "%" : "—") << " | "
       << (s.variants ? FormatFixed(s.rmse_ms, 3) : "—") << " |\n";
  return md.str();
}

nlohmann::json LutExperimentJson(const LutExperiment& e) {
  const LutExperimentOptions& o = e.options;
  nlohmann::json summary = nlohmann::json::object(), rows = nlohmann::json::array();
  for (const LutPredictorScore& s : e.scores)
    summary[s.predictor][s.group] = {
        {"variants", s.variants}, {"within_10pct", s.within_10pct}, {"rmse_ms", s.rmse_ms}};
  for (const LutVariant& v : e.variants) {
    nlohmann::json row = {{"variant", v.name},
                          {"arch", v.arch},
                          {"prune_ratio", v.prune_ratio},
                          {"precision", v.int8 ? "int8" : "fp32"},
                          {"kernels", v.kernels},
                          {"measured_median_ms", v.measured_median_ms},
                          {"measured_p90_ms", v.measured_p90_ms},
                          {"kernel_sum_ms", v.kernel_sum_ms},
                          {"isolated_sum_ms", v.isolated_sum_ms},
                          {"roofline_ms", v.roofline_ms},
                          {"in_held_out_lut", v.in_held_out_lut}};
    if (!v.in_held_out_lut)
      row["held_out"] = {{"ms", v.held_out_ms},
                         {"exact", v.held_out_exact},
                         {"neighbour", v.held_out_neighbour},
                         {"roofline", v.held_out_roofline}};
    rows.push_back(row);
  }
  nlohmann::json j = {{"runs", o.runs},
                      {"rounds", o.rounds},
                      {"threads", o.threads},
                      {"profile", o.profile},
                      {"ratios", o.ratios},
                      {"calibration", e.calibration},
                      {"predictions_from", "kernel latencies measured in this run only"},
                      {"lut_rows_full", e.lut_rows_full},
                      {"lut_rows_held_out", e.lut_rows_held_out},
                      {"seconds", e.seconds},
                      {"summary", summary},
                      {"variants", rows},
                      {"system", hal::ToJson(hal::CollectSystemInfo())}};
  if (o.model_path.empty()) {
    j["archs"] = o.archs;
    j["image_size"] = o.image_size;
  } else {
    j["model"] = o.model_path;
  }
  return j;
}

Status WriteLutExperimentPlot(const LutExperiment& e, const std::string& path) {
  std::vector<PlotSeries> series;
  double lo = 1e300, hi = 0;
  for (const char* predictor : {"kernel-sum", "held-out", "roofline"}) {
    PlotSeries s{predictor, {}, {}, SeriesStyle::kMarkers, ""};
    for (const LutVariant& v : e.variants) {
      const bool held = std::string(predictor) == "held-out";
      if (held && v.in_held_out_lut) continue;
      s.x.push_back(v.measured_median_ms);
      s.y.push_back(held                                     ? v.held_out_ms
                    : std::string(predictor) == "kernel-sum" ? v.kernel_sum_ms
                                                             : v.roofline_ms);
      lo = std::min({lo, s.x.back(), s.y.back()});
      hi = std::max({hi, s.x.back(), s.y.back()});
    }
    series.push_back(s);
  }
  if (hi > 0)
    series.push_back({"predicted = measured", {lo, hi}, {lo, hi}, SeriesStyle::kLine, "#888"});
  PlotOptions po;
  po.title = "LUT accuracy: predicted vs measured end-to-end latency (this machine)";
  po.x_label = "measured ms (batch 1)";
  po.y_label = "predicted ms";
  po.log_x = po.log_y = true;
  return WriteSvgPlot(path, series, po);
}

}  // namespace hadmc::search
