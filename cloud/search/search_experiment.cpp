#include "hadmc/search/search_experiment.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <ostream>
#include <sstream>

#include "hadmc/common/format.h"
#include "hadmc/common/svg_plot.h"

namespace hadmc::search {
namespace {

bool Wanted(const std::vector<Method>& list, Method m) {
  return list.empty() || std::find(list.begin(), list.end(), m) != list.end();
}

}  // namespace

Result<SearchExperiment> RunSearchExperiment(SearchSetup& setup, const data::Dataset& test,
                                             const SearchExperimentOptions& o) {
  if (o.methods.empty()) return MakeError(Errc::kInvalidArgument, "no methods to compare");
  if (o.seeds.empty()) return MakeError(Errc::kInvalidArgument, "no seeds");
  SearchExperiment e;
  std::ostream* out = o.search.progress;
  for (uint64_t seed : o.seeds) {
    for (Method m : o.methods) {
      if (out) *out << "\n== " << MethodName(m) << ", seed " << seed << " ==\n";
      SearchOptions so = o.search;
      so.seed = seed;
      auto r = RunMethod(m, setup, so, o.env);
      if (!r) return MakeError(r.error().WithContext(std::string(MethodName(m)) + " seed " +
                                                     std::to_string(seed)));
      e.runs.push_back({m, seed, std::move(*r)});
    }
  }
  for (Method m : o.methods) {
    MethodSummary s;
    s.method = m;
    for (const MethodRun& run : e.runs) {
      if (run.method != m) continue;
      const EpisodeRecord& b = run.result.best_record();
      s.best_rewards.push_back(b.reward.total);
      s.feasible_seeds += run.result.best_feasible;
      s.evaluations = std::max<int64_t>(s.evaluations, static_cast<int64_t>(run.result.history.size()));
      s.seconds += run.result.seconds;
      if (!s.best_run ||
          (run.result.best_feasible != s.best_run->result.best_feasible
               ? run.result.best_feasible
               : b.reward.total > s.best_run->result.best_record().reward.total))
        s.best_run = &run;
    }
    const double n = static_cast<double>(s.best_rewards.size());
    for (double v : s.best_rewards) s.mean += v / n;
    for (double v : s.best_rewards) s.stddev += (v - s.mean) * (v - s.mean) / std::max(1.0, n - 1);
    s.stddev = std::sqrt(s.stddev);
    s.min = *std::min_element(s.best_rewards.begin(), s.best_rewards.end());
    s.max = *std::max_element(s.best_rewards.begin(), s.best_rewards.end());
    e.summaries.push_back(s);
  }
  for (MethodSummary& s : e.summaries) {
    if (!Wanted(o.final_methods, s.method)) continue;
    if (out)
      *out << "\nfinal check of " << MethodName(s.method) << " (seed " << s.best_run->seed
           << ", episode " << s.best_run->result.best_record().episode + 1 << ")...\n";
    const std::string model_out =
        o.out_dir.empty() ? "" : o.out_dir + "/" + MethodName(s.method) + ".hmc";
    auto fc = CheckPolicy(setup, s.best_run->result.best_record().policy, o.final_finetune, test,
                          o.batch, model_out, o.base_path);
    if (!fc) return MakeError(fc.error().WithContext(std::string("final check of ") + MethodName(s.method)));
    s.checked = true;
    s.final_check = *fc;
  }
  return e;
}

std::string SearchExperimentMarkdown(const SearchExperiment& e, const SearchSetup& setup) {
  std::ostringstream md;
  const Objectives& base = setup.base_evaluation.objectives;
  md << "Target " << setup.profile.name << (setup.local ? " (this machine)" : " (not this machine)")
     << "; latencies: " << setup.lut_source << ". Constraints: latency <= "
     << FormatFixed(setup.constraints.max_latency_ms, 3) << " ms, proxy accuracy >= "
     << FormatFixed(setup.constraints.min_accuracy * 100, 2) << "%"
     << (setup.constraints.max_size_bytes > 0
             ? ", size <= " + FormatFixed(setup.constraints.max_size_bytes / 1024, 0) + " KiB"
             : "")
     << ". Base: proxy " << FormatFixed(base.accuracy * 100, 2) << "%, " << FormatFixed(base.latency_ms, 3)
     << " ms predicted, " << FormatFixed(base.size_bytes / 1024, 1) << " KiB.\n\n";
  md << "| method | best reward, mean ± sd (min..max) | feasible seeds | evaluations/seed | "
        "best: proxy acc | latency ms (LUT) | size KiB | search s |\n"
     << "|---|---|---|---|---|---|---|---|\n";
  for (const MethodSummary& s : e.summaries) {
    const EpisodeRecord& b = s.best_run->result.best_record();
    md << "| " << MethodName(s.method) << " | " << FormatFixed(s.mean, 3) << " ± " << FormatFixed(s.stddev, 3)
       << " (" << FormatFixed(s.min, 3) << ".." << FormatFixed(s.max, 3) << ") | " << s.feasible_seeds << "/"
       << s.best_rewards.size() << " | " << s.evaluations << " | "
       << FormatFixed(b.evaluation.objectives.accuracy * 100, 2) << "% | "
       << FormatFixed(b.evaluation.objectives.latency_ms, 3) << " | "
       << FormatFixed(b.evaluation.objectives.size_bytes / 1024, 1) << " | " << FormatFixed(s.seconds, 0)
       << " |\n";
  }
  bool any = false;
  for (const MethodSummary& s : e.summaries) any |= s.checked;
  if (any) {
    md << "\nEach method's best policy over the seeds, built"
       << " and fine-tuned, on the test set; latency measured here (batch 1, 1 thread, median) "
       << (setup.local ? "" : "— not measured: the target is not this machine") << ".\n\n"
       << "| method | test acc | Δ vs base | measured ms | predicted ms | budget met (measured) |\n"
       << "|---|---|---|---|---|---|\n";
    for (const MethodSummary& s : e.summaries) {
      if (!s.checked) continue;
      const FinalCheck& f = s.final_check;
      md << "| " << MethodName(s.method) << " | " << FormatFixed(f.best_test_accuracy * 100, 2) << "% | "
         << FormatFixed((f.best_test_accuracy - f.base_test_accuracy) * 100, 2) << " | "
         << (f.done ? FormatFixed(f.best_latency_ms, 3) : "—") << " | "
         << FormatFixed(f.predicted_latency_ms, 3) << " | "
         << (f.done ? (f.meets_budget ? "yes" : "**no**") : "—") << " |\n";
    }
    for (const MethodSummary& s : e.summaries)
      if (s.checked && s.final_check.done) {
        md << "\nBase: test " << FormatFixed(s.final_check.base_test_accuracy * 100, 2) << "%, "
           << FormatFixed(s.final_check.base_latency_ms, 3) << " ms measured in the same run.\n";
        break;
      }
  }
  return md.str();
}

nlohmann::json SearchExperimentJson(const SearchExperiment& e, const SearchSetup& setup) {
  nlohmann::json methods = nlohmann::json::array();
  for (const MethodSummary& s : e.summaries) {
    nlohmann::json j = {{"method", MethodName(s.method)},
                        {"description", MethodDescription(s.method)},
                        {"best_rewards", s.best_rewards},
                        {"mean", s.mean},
                        {"stddev", s.stddev},
                        {"feasible_seeds", s.feasible_seeds},
                        {"evaluations", s.evaluations},
                        {"seconds", s.seconds},
                        {"best_seed", s.best_run->seed},
                        {"best", ToJson(s.best_run->result.best_record())}};
    if (s.checked) j["final"] = ToJson(s.final_check);
    methods.push_back(j);
  }
  nlohmann::json runs = nlohmann::json::array();
  for (const MethodRun& r : e.runs) {
    nlohmann::json rewards = nlohmann::json::array();
    for (const EpisodeRecord& h : r.result.history) rewards.push_back(h.reward.total);
    runs.push_back({{"method", MethodName(r.method)},
                    {"seed", r.seed},
                    {"best", r.result.best},
                    {"best_feasible", r.result.best_feasible},
                    {"rewards", rewards},
                    {"updates", r.result.updates},
                    {"pareto", r.result.archive.ToJson()}});
  }
  return {{"target", setup.profile.name},
          {"target_is_this_machine", setup.local},
          {"lut_source", setup.lut_source},
          {"constraints", ToJson(setup.constraints)},
          {"base", ToJson(setup.base_evaluation)},
          {"methods", methods},
          {"runs", runs}};
}

Status WriteSearchExperimentPlots(const SearchExperiment& e, const std::string& dir) {
  std::vector<PlotSeries> curves, fronts;
  for (const MethodSummary& s : e.summaries) {
    // Mean over seeds of the running best feasible reward (NaN until every seed has one).
    std::vector<std::vector<double>> per_seed;
    size_t len = 0;
    for (const MethodRun& r : e.runs)
      if (r.method == s.method) {
        per_seed.push_back(RunningBest(r.result));
        len = std::max(len, per_seed.back().size());
      }
    PlotSeries c{MethodName(s.method), {}, {}, SeriesStyle::kLine, ""};
    for (size_t i = 0; i < len; ++i) {
      double sum = 0;
      bool all = true;
      for (const auto& v : per_seed) {
        const double x = v.empty() ? std::nan("") : v[std::min(i, v.size() - 1)];
        all &= !std::isnan(x);
        sum += x;
      }
      c.x.push_back(static_cast<double>(i + 1));
      c.y.push_back(all ? sum / static_cast<double>(per_seed.size())
                        : std::numeric_limits<double>::quiet_NaN());
    }
    curves.push_back(c);
    PlotSeries f{MethodName(s.method), {}, {}, SeriesStyle::kLineMarkers, ""};
    for (const ParetoPoint& p : s.best_run->result.archive.front()) {
      f.x.push_back(p.objectives.latency_ms);
      f.y.push_back(p.objectives.accuracy * 100);
    }
    fronts.push_back(f);
  }
  PlotOptions co;
  co.title = "best feasible reward so far (mean over seeds)";
  co.x_label = "evaluations";
  co.y_label = "reward";
  HADMC_TRY(WriteSvgPlot(dir + "/convergence.svg", curves, co));
  PlotOptions fo;
  fo.title = "Pareto fronts (best seed of each method)";
  fo.x_label = "latency, ms (LUT)";
  fo.y_label = "proxy top-1, %";
  return WriteSvgPlot(dir + "/pareto.svg", fronts, fo);
}

}  // namespace hadmc::search
