#include "hadmc/search/cross_platform_experiment.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <map>
#include <ostream>
#include <sstream>

#include "hadmc/common/format.h"
#include "hadmc/common/log.h"
#include "hadmc/common/svg_plot.h"
#include "hadmc/hal/detect.h"
#include "hadmc/hal/profile.h"
#include "hadmc/search/baselines.h"

namespace hadmc::search {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Whether `target` (a profile name or file) is the profile `hadmc hal detect` gives this machine:
// the same test PrepareSearch makes, needed before it to pick the target's LUT.
Result<CrossPlatformRow> RunTarget(const std::string& target, bool local, const model::Model& base,
                                   const data::Dataset& train, const data::Dataset& test,
                                   const CrossPlatformOptions& o) {
  std::ostream* out = o.search.progress;
  CrossPlatformRow row;
  row.target = target;
  SearchSetupOptions so = o.setup;
  so.target = target;
  so.lut_path.clear();
  so.lut_out.clear();
  const std::string lut_file = o.lut_dir.empty() ? "" : o.lut_dir + "/" + target + ".json";
  if (!local && !lut_file.empty() && std::filesystem::exists(lut_file)) so.lut_path = lut_file;
  if (local && !o.out_dir.empty()) so.lut_out = o.out_dir + "/lut-" + target + ".json";
  row.latency_source = !so.lut_path.empty()      ? "LUT file"
                       : local && so.measure_lut ? "measured here"
                                                 : "roofline projection";
  if (out) *out << "\n== " << target << ": " << row.latency_source << " ==\n";

  auto setup = PrepareSearch(base, train, so);
  if (!setup) return MakeError(setup.error());
  SearchSetup& s = **setup;
  row.local = s.local;
  row.lut_detail = s.lut_source;
  row.base = s.base_evaluation;
  row.base_predicted_ms = s.base_evaluation.objectives.latency_ms;
  row.base_measured_ms = s.base_measured_ms;
  row.budget_ms = s.constraints.max_latency_ms;

  SearchOptions search = o.search;
  search.seed = o.setup.seed;
  auto r = RunMethod(Method::kHadmc2, s, search, o.env);
  if (!r) return MakeError(r.error());
  row.best = r->best_record();
  row.best_feasible = r->best_feasible;
  row.episodes = static_cast<int64_t>(r->history.size());
  row.search_seconds = r->seconds;
  row.precision_summary = PrecisionSummary(row.best.evaluation);

  if (out) *out << "final check of " << target << "'s best policy...\n";
  const std::string model_out = o.out_dir.empty() ? "" : o.out_dir + "/" + target + ".hmc";
  auto fc = CheckPolicy(s, row.best.policy, o.final_finetune && so.finetune_epochs > 0, test,
                        so.batch, model_out, o.base_path);
  if (!fc) return MakeError(fc.error().WithContext("final check"));
  row.final_check = *fc;
  return row;
}

std::string AccuracyCell(double acc, double base) {
  const double delta = (acc - base) * 100;
  return FormatFixed(acc * 100, 2) + "% (" + (delta >= 0 ? "+" : "") + FormatFixed(delta, 2) + ")";
}

}  // namespace

std::string PrecisionSummary(const Evaluation& e) {
  std::map<std::string, int> count;
  double prune = 0;
  int layers = 0;
  for (const nlohmann::json& l : e.per_layer) {
    ++count[l.value("precision", std::string("?"))];
    prune += l.value("prune_ratio", 0.0);
    ++layers;
  }
  std::vector<std::pair<std::string, int>> sorted(count.begin(), count.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [precision, n] : sorted)
    out += (out.empty() ? "" : ", ") + precision + " ×" + std::to_string(n);
  return out + "; mean prune " + FormatFixed(layers ? prune / layers : 0.0, 2);
}

double SpeedUp(const CrossPlatformRow& r) {
  const FinalCheck& f = r.final_check;
  if (f.done) return f.best_latency_ms > 0 ? f.base_latency_ms / f.best_latency_ms : 0;
  const double best = r.best.evaluation.objectives.latency_ms;
  return best > 0 ? r.base_predicted_ms / best : 0;
}

Result<CrossPlatformExperiment> RunCrossPlatformExperiment(const model::Model& base,
                                                           const data::Dataset& train,
                                                           const data::Dataset& test,
                                                           const CrossPlatformOptions& o) {
  if (o.targets.empty()) return MakeError(Errc::kInvalidArgument, "targets: name at least one");
  if (!(o.setup.latency_fraction > 0 && o.setup.latency_fraction <= 1))
    return MakeError(Errc::kInvalidArgument,
                     "latency_fraction: the budget is a fraction in (0, 1] of each target's base");
  const hal::DeviceInfo here = hal::Detect();
  std::vector<bool> local(o.targets.size(), false);
  for (size_t i = 0; i < o.targets.size(); ++i) {
    bool here_too = false;
    if (auto p = LoadSearchTarget(o.targets[i], here, &here_too); !p)
      return MakeError(p.error().WithContext(o.targets[i]));
    local[i] = here_too;
  }
  CrossPlatformExperiment e;
  for (size_t i = 0; i < o.targets.size(); ++i) {
    auto row = RunTarget(o.targets[i], local[i], base, train, test, o);
    if (row) {
      e.rows.push_back(std::move(*row));
      continue;
    }
    // One target's failure (a bad LUT file, a failing evaluation) is that row's result; the
    // others still run.
    Log().warn("experiment cross-platform: target {} failed: {}", o.targets[i],
               row.error().message());
    CrossPlatformRow failed;
    failed.target = o.targets[i];
    failed.local = local[i];
    failed.error = row.error().message();
    e.rows.push_back(std::move(failed));
  }
  return e;
}

std::string CrossPlatformMarkdown(const CrossPlatformExperiment& e) {
  std::ostringstream md;
  md << "Latency source: **measured here** = the target is this machine: the search's LUT is "
        "kernels timed here, the base and the best policy are timed end to end here (batch 1, "
        "1 thread, median); **LUT file** = a projection from that class's exported LUT (kernels "
        "without a row: roofline); **roofline projection** = no measurement, the target "
        "profile's roofline only. Budget = the fraction × the target's base latency (measured "
        "for this machine, else projected). Test accuracy: the best policy built, fine-tuned and "
        "tested on the test set (Δ vs the base, points). Energy = latency × the profile's TDP, "
        "an estimate on every target.\n\n";
  md << "| target | latency source | base ms | budget ms | best ms, predicted | best ms, "
        "measured here | speed-up | proxy acc | test acc (Δ) | stored KiB | energy mJ "
        "(estimate) | per-layer precision |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const CrossPlatformRow& r : e.rows) {
    if (!r.error.empty()) {
      std::string why = r.error;
      for (size_t at = why.find('|'); at != std::string::npos; at = why.find('|', at + 2))
        why.replace(at, 1, "\\|");
      md << "| " << r.target << " | **failed**: " << why << " |";
      for (int cell = 0; cell < 10; ++cell) md << " |";
      md << "\n";
      continue;
    }
    const FinalCheck& f = r.final_check;
    const Objectives& b = r.best.evaluation.objectives;
    md << "| " << r.target << (r.local ? " (this machine)" : "") << " | " << r.latency_source
       << " | "
       << FormatFixed(r.local && r.base_measured_ms > 0 ? r.base_measured_ms : r.base_predicted_ms, 3)
       << " | " << FormatFixed(r.budget_ms, 3) << " | " << FormatFixed(b.latency_ms, 3)
       << (r.best_feasible ? "" : " (misses a constraint)") << " | "
       << (f.done ? FormatFixed(f.best_latency_ms, 3) + (f.meets_budget ? "" : " **over budget**") : "")
       << " | " << FormatFixed(SpeedUp(r), 2) << "× " << (f.done ? "measured" : "projected") << " | "
       << FormatFixed(b.accuracy * 100, 2) << "% | "
       << AccuracyCell(f.best_test_accuracy, f.base_test_accuracy) << " | "
       << FormatFixed(b.size_bytes / 1024, 1) << " | " << FormatFixed(b.energy_mj, 3) << " | "
       << r.precision_summary << " |\n";
  }
  md << "\n| target | LUT | episodes | search s |\n|---|---|---|---|\n";
  for (const CrossPlatformRow& r : e.rows)
    if (r.error.empty())
      md << "| " << r.target << " | " << r.lut_detail << " | " << r.episodes << " | "
         << FormatFixed(r.search_seconds, 0) << " |\n";
  return md.str();
}

nlohmann::json CrossPlatformJson(const CrossPlatformExperiment& e) {
  nlohmann::json targets = nlohmann::json::array();
  for (const CrossPlatformRow& r : e.rows) {
    if (!r.error.empty()) {
      targets.push_back({{"target", r.target}, {"target_is_this_machine", r.local}, {"error", r.error}});
      continue;
    }
    const FinalCheck& f = r.final_check;
    const Objectives& b = r.best.evaluation.objectives;
    nlohmann::json base_ms = {{"predicted", r.base_predicted_ms}};
    nlohmann::json best_ms = {{"predicted", b.latency_ms}};
    if (r.local && r.base_measured_ms > 0) base_ms["measured"] = r.base_measured_ms;
    if (f.done) best_ms["measured"] = f.best_latency_ms;
    targets.push_back({{"target", r.target},
                       {"target_is_this_machine", r.local},
                       {"latency_source", r.latency_source},
                       {"lut_source", r.lut_detail},
                       {"base_latency_ms", base_ms},
                       {"budget_ms", r.budget_ms},
                       {"base", ToJson(r.base)},
                       {"best", ToJson(r.best)},
                       {"best_feasible", r.best_feasible},
                       {"best_latency_ms", best_ms},
                       {"speed_up", SpeedUp(r)},
                       {"speed_up_kind", f.done ? "measured" : "projected"},
                       {"proxy_accuracy", b.accuracy},
                       {"test_accuracy", f.best_test_accuracy},
                       {"base_test_accuracy", f.base_test_accuracy},
                       {"stored_bytes", b.size_bytes},
                       {"energy_mj_estimate", b.energy_mj},
                       {"precision_summary", r.precision_summary},
                       {"episodes", r.episodes},
                       {"search_seconds", r.search_seconds},
                       {"final", ToJson(f)}});
  }
  return {{"targets", targets}};
}

Status WriteCrossPlatformPlot(const CrossPlatformExperiment& e, const std::string& path) {
  PlotSeries projected{"speed-up, predicted (LUT or roofline)", {}, {}, SeriesStyle::kBars, ""};
  PlotSeries measured{"speed-up, measured here", {}, {}, SeriesStyle::kBars, ""};
  PlotOptions po;
  po.title = "best policy's speed-up over the base, per target (same budget fraction)";
  po.x_label = "target";
  po.y_label = "speed-up, x";
  for (size_t i = 0; i < e.rows.size(); ++i) {
    const CrossPlatformRow& r = e.rows[i];
    const double best = r.error.empty() ? r.best.evaluation.objectives.latency_ms : 0;
    po.x_categories.push_back(r.target);
    projected.x.push_back(static_cast<double>(i));
    projected.y.push_back(best > 0 ? r.base_predicted_ms / best : kNaN);
    measured.x.push_back(static_cast<double>(i));
    measured.y.push_back(r.final_check.done ? SpeedUp(r) : kNaN);
  }
  po.references.push_back({"no speed-up", 1.0, false});
  return WriteSvgPlot(path, {projected, measured}, po);
}

}  // namespace hadmc::search
