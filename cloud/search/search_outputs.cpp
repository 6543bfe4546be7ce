#include "hadmc/search/search_outputs.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <map>
#include <ostream>
#include <sstream>

#include "hadmc/common/atomic_file.h"
#include "hadmc/common/format.h"
#include "hadmc/common/svg_plot.h"
#include "hadmc/hal/kernel_bench.h"
#include "hadmc/store/manifest.h"

namespace hadmc::search {
namespace {

CompressionPolicy Uniform(const SearchSpace& s, double ratio, int bits) {
  CompressionPolicy p;
  for (const SearchLayer& l : s.layers) p.layers.push_back({l.group >= 0 ? ratio : 0.0, bits});
  return p;
}

}  // namespace

Result<hal::LatencyLut> MeasureLocalLut(PolicyEvaluator& evaluator, const std::string& device_class,
                                        const LocalLutOptions& o) {
  std::map<std::string, hal::LutEntry> rows;  // first measurement of a key wins
  std::vector<std::string> order;
  const std::string now = store::NowRfc3339();
  // Variants: fp32; int8 everywhere; int8 with fp32 first/last layers; int8 and fp32 layers
  // alternating (quantize/dequantize boundaries at many shapes, in the layouts mixed policies
  // run them in).
  enum Variant { kFp32, kInt8, kInt8Edges, kAlternating };
  const char* names[] = {"fp32", "int8", "int8, fp32 first/last", "int8/fp32 alternating"};
  for (Variant v : {kFp32, kInt8, kInt8Edges, kAlternating}) {
    for (double ratio : o.ratios) {
      if (o.progress)
        *o.progress << "  timing kernels: prune " << ratio << ", " << names[v] << "...\n";
      CompressionPolicy p = Uniform(evaluator.space(), ratio, v == kFp32 ? 32 : 8);
      for (size_t i = 0; i < p.layers.size(); ++i) {
        const SearchLayer& l = evaluator.space().layers[i];
        if ((v == kInt8Edges && l.first_or_last) || (v == kAlternating && i % 2 == 1))
          p.layers[i].bits = 32;
      }
      auto m = evaluator.Apply(p, false);
      if (!m) return MakeError(m.error().WithContext("local LUT"));
      hal::BenchOptions bo;
      bo.runs = o.runs;
      bo.batch = o.batch;
      bo.threads = 1;
      auto measured = hal::ProfileModelKernels(*m, bo);
      if (!measured) return MakeError(measured.error().WithContext("local LUT"));
      for (const hal::KernelMeasurement& k : hal::MergeRepeatedKeys(*measured)) {
        const std::string key = k.kernel.key.ToString();
        if (rows.count(key)) continue;
        hal::LutEntry e;
        e.key = k.kernel.key;
        e.median_ms = k.timing.median_ms;
        e.p90_ms = k.timing.p90_ms;
        e.count = k.timing.runs;
        e.source = "measured";
        e.updated_at = now;
        rows[key] = e;
        order.push_back(key);
      }
    }
  }
  std::vector<hal::LutEntry> out;
  for (const std::string& k : order) out.push_back(rows.at(k));
  return hal::LatencyLut(device_class, std::move(out));
}

nlohmann::json ToJson(const FinalCheck& f) {
  return {{"done", f.done},
          {"base_test_accuracy", f.base_test_accuracy},
          {"best_test_accuracy", f.best_test_accuracy},
          {"base_latency_ms", f.base_latency_ms},
          {"best_latency_ms", f.best_latency_ms},
          {"predicted_latency_ms", f.predicted_latency_ms},
          {"budget_ms", f.budget_ms},
          {"meets_budget", f.meets_budget},
          {"base_file_bytes", f.base_file_bytes},
          {"best_file_bytes", f.best_file_bytes}};
}

std::vector<double> RunningBest(const SearchResult& r) {
  std::vector<double> out;
  double best = std::numeric_limits<double>::quiet_NaN();
  for (const EpisodeRecord& e : r.history) {
    if (e.reward.feasible() && (std::isnan(best) || e.reward.total > best)) best = e.reward.total;
    out.push_back(best);
  }
  return out;
}

Status WriteSearchOutputs(const SearchResult& r, const std::string& dir,
                          const nlohmann::json& context, const FinalCheck* final_check) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return MakeError(Errc::kIo, "creating " + dir + ": " + ec.message());
  nlohmann::json all = ToJson(r);
  all["context"] = context;
  if (final_check) all["final"] = ToJson(*final_check);
  HADMC_TRY(WriteFileAtomically(dir + "/search.json", all.dump(1) + "\n"));
  if (r.best >= 0) {
    const EpisodeRecord& b = r.best_record();
    nlohmann::json best = ToJson(b.policy);
    best["episode"] = b.episode;
    best["feasible"] = r.best_feasible;
    best["objectives"] = ToJson(b.evaluation)["objectives"];
    best["reward"] = ToJson(b.reward);
    HADMC_TRY(WriteFileAtomically(dir + "/best_policy.json", best.dump(2) + "\n"));
  }
  HADMC_TRY(WriteFileAtomically(dir + "/pareto.json", r.archive.ToJson().dump(2) + "\n"));

  // Accuracy vs latency: every evaluated policy, the front, the base and the budget.
  PlotSeries episodes{"episodes", {}, {}, SeriesStyle::kMarkers, "#bbbbbb"};
  for (const EpisodeRecord& e : r.history) {
    episodes.x.push_back(e.evaluation.objectives.latency_ms);
    episodes.y.push_back(e.evaluation.objectives.accuracy * 100);
  }
  PlotSeries front{"Pareto front", {}, {}, SeriesStyle::kLineMarkers, ""};
  for (const ParetoPoint& p : r.archive.front()) {
    front.x.push_back(p.objectives.latency_ms);
    front.y.push_back(p.objectives.accuracy * 100);
  }
  PlotSeries base{"base", {r.base.objectives.latency_ms}, {r.base.objectives.accuracy * 100},
                  SeriesStyle::kMarkers, ""};
  PlotOptions po;
  po.title = "accuracy vs predicted latency (" + r.controller + ")";
  po.x_label = "latency, ms (LUT)";
  po.y_label = "proxy top-1, %";
  const double budget = context.value("latency_budget_ms", 0.0);
  if (budget > 0) po.references.push_back({"budget", budget, true});
  HADMC_TRY(WriteSvgPlot(dir + "/pareto.svg", {episodes, front, base}, po));

  PlotSeries reward{"reward", {}, {}, SeriesStyle::kMarkers, "#999999"};
  PlotSeries best{"best feasible so far", {}, RunningBest(r), SeriesStyle::kLine, ""};
  for (const EpisodeRecord& e : r.history) {
    reward.x.push_back(static_cast<double>(e.episode + 1));
    reward.y.push_back(e.reward.total);
    best.x.push_back(static_cast<double>(e.episode + 1));
  }
  PlotOptions co;
  co.title = "search convergence (" + r.controller + ")";
  co.x_label = "episode";
  co.y_label = "reward";
  HADMC_TRY(WriteSvgPlot(dir + "/convergence.svg", {reward, best}, co));

  std::ostringstream md;
  md << "# Compression search: " << context.value("model", std::string("?")) << " for "
     << context.value("target", std::string("?")) << "\n\n";
  if (context.contains("command")) md << "Command: `" << context["command"].get<std::string>() << "`\n\n";
  md << "Controller " << r.controller << ", " << r.history.size() << " episodes, "
     << FormatFixed(r.seconds, 0) << " s. Latencies are LUT predictions ("
     << context.value("lut_source", std::string("?"))
     << "); accuracy is the proxy (batch-norm recalibration, held-out training images), never the "
        "test set; energy is latency x TDP (an estimate).\n\n";
  if (!r.budget_reachable)
    md << "**The budget cannot be met even by the most compressed policy (predicted).**\n\n";
  md << "| | proxy acc | latency ms | size KiB | energy mJ | reward |\n|---|---|---|---|---|---|\n";
  const auto row = [&](const std::string& name, const Objectives& o, const std::string& reward_s) {
    md << "| " << name << " | " << FormatFixed(o.accuracy * 100, 2) << "% | " << FormatFixed(o.latency_ms, 3)
       << " | " << FormatFixed(o.size_bytes / 1024, 1) << " | " << FormatFixed(o.energy_mj, 3) << " | "
       << reward_s << " |\n";
  };
  row("base", r.base.objectives, "—");
  if (r.best >= 0) {
    const EpisodeRecord& b = r.best_record();
    row("best (episode " + std::to_string(b.episode + 1) + (r.best_feasible ? "" : ", violates") + ")",
        b.evaluation.objectives, FormatFixed(b.reward.total, 3));
  }
  md << "\nPareto front: " << r.archive.size() << " policies (pareto.json, pareto.svg); "
     << "convergence.svg; every episode in search.json.\n";
  if (final_check && final_check->done) {
    const FinalCheck& f = *final_check;
    md << "\n## Measured on this machine (batch 1, 1 thread, median)\n\n"
       << "| | test acc | latency ms | file bytes |\n|---|---|---|---|\n"
       << "| base | " << FormatFixed(f.base_test_accuracy * 100, 2) << "% | " << FormatFixed(f.base_latency_ms, 3)
       << " | " << f.base_file_bytes << " |\n"
       << "| best | " << FormatFixed(f.best_test_accuracy * 100, 2) << "% | " << FormatFixed(f.best_latency_ms, 3)
       << " | " << f.best_file_bytes << " |\n\n"
       << "Predicted latency of the best policy: " << FormatFixed(f.predicted_latency_ms, 3) << " ms.";
    if (f.budget_ms > 0)
      md << " Budget " << FormatFixed(f.budget_ms, 3) << " ms: "
         << (f.meets_budget ? "met as measured." : "**missed as measured.**");
    md << "\n";
  }
  return WriteFileAtomically(dir + "/report.md", md.str());
}

}  // namespace hadmc::search
