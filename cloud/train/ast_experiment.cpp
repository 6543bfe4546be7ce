#include "hadmc/train/ast_experiment.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "hadmc/common/atomic_file.h"
#include "hadmc/common/format.h"
#include "hadmc/common/log.h"
#include "hadmc/common/svg_plot.h"
#include "hadmc/model/hmc_file.h"

namespace hadmc::train {
namespace {

std::string RunName(std::optional<double> target) {
  if (!target) return "full";
  char buf[32];
  std::snprintf(buf, sizeof buf, "ast-%g", *target);
  return buf;
}

AstRun Summarize(std::string name, std::optional<double> target, TrainResult result) {
  AstRun run;
  run.name = std::move(name);
  run.target = target;
  int64_t samples = 0, backpropagated = 0, scored = 0;
  double joules = 0;
  bool energy = false;
  for (const EpochRecord& e : result.history) {
    samples += e.samples;
    backpropagated += e.backpropagated;
    scored += e.scored;
    run.loop_seconds += e.train_seconds;
    run.est_gflops += e.est_gflops;
    if (e.energy_j) {
      energy = true;
      joules += *e.energy_j;
    }
  }
  run.activation_rate = samples > 0 ? static_cast<double>(backpropagated) / samples : 0;
  run.scored_rate = samples > 0 ? static_cast<double>(scored) / samples : 0;
  if (energy) run.energy_j = joules;
  run.result = std::move(result);
  return run;
}

double TestAccuracy(const AstRun& r) { return r.result.test ? r.result.test->accuracy : NAN; }

// The controller's per-step trace of every AST epoch, on a run-wide step axis.
void Trace(const AstRun& run, const char* field, PlotSeries& out) {
  int64_t offset = 0;
  for (const EpochRecord& e : run.result.history) {
    if (e.extra.contains("trace"))
      for (const auto& point : e.extra.at("trace")) {
        out.x.push_back(static_cast<double>(offset + point.at("step").get<int64_t>()));
        out.y.push_back(point.at(field).get<double>());
      }
    offset += e.steps;
  }
}

PlotOptions Labels(std::string title, std::string x, std::string y) {
  PlotOptions o;
  o.title = std::move(title);
  o.x_label = std::move(x);
  o.y_label = std::move(y);
  return o;
}

}  // namespace

Result<std::vector<AstRun>> RunAstExperiment(const data::Dataset& train, const data::Dataset& test,
                                             const AstExperimentOptions& o) {
  struct Plan {
    std::string name, base;
    std::optional<double> target;
    TrainOptions options;
    model::Model model;
    std::optional<TrainResult> result;
  };
  std::vector<Plan> plans;
  std::vector<std::optional<double>> targets = {std::nullopt};
  for (double t : o.targets) {
    if (!(t > 0 && t <= 1))
      return MakeError(Errc::kInvalidArgument, "target activation rates must be in (0, 1], got " +
                                                   std::to_string(t));
    targets.push_back(t);
  }
  for (const auto& target : targets) {
    Plan p;
    p.name = RunName(target);
    p.base = (std::filesystem::path(o.out_dir) / p.name).string();
    p.target = target;
    p.options = o.train;
    p.options.ast.enabled = target.has_value();
    if (target) p.options.ast.target_rate = *target;
    p.options.log_path = p.base + ".jsonl";
    p.options.checkpoint_dir = p.base + ".ckpt";
    HADMC_TRY_CTX(ValidateTrainOptions(p.options), p.name);
    auto m = o.make_model();
    if (!m) return tl::unexpected(m.error().WithContext(p.name));
    p.model = std::move(*m);
    plans.push_back(std::move(p));
  }
  // Interleaved by epoch (full epoch 1, each AST run's epoch 1, full epoch 2, ...): on a shared
  // machine a burst of load then hits every run alike instead of one run's whole training. Each
  // session resumes from the run's checkpoint, which continues the exact trajectory; the
  // compared times are the training loops', so the setup of a session is not counted. The test
  // split is evaluated once, after the last epoch.
  const data::Dataset none;
  for (int64_t epoch = 0; epoch < o.train.epochs; ++epoch) {
    const bool last = epoch + 1 == o.train.epochs;
    for (Plan& p : plans) {
      TrainOptions to = p.options;
      to.resume = epoch > 0;
      if (!last) to.on_epoch_end = [](const EpochRecord&) { return false; };
      Log().info("experiment ast: {} epoch {}/{}", p.name, epoch + 1, o.train.epochs);
      auto r = Train(p.model, train, last ? test : none, to);
      if (!r) return tl::unexpected(r.error().WithContext(p.name));
      if (static_cast<int64_t>(r->history.size()) != epoch + 1)
        return MakeError(Errc::kInternal, p.name + ": expected " + std::to_string(epoch + 1) +
                                              " finished epochs, the run has " +
                                              std::to_string(r->history.size()));
      p.result = std::move(*r);
    }
  }
  std::vector<AstRun> runs;
  for (Plan& p : plans) {
    HADMC_TRY_CTX(model::SaveHmc(p.model, p.base + ".hmc"), "saving " + p.base + ".hmc");
    nlohmann::json results = TrainResultToJson(*p.result);
    results["options"] = TrainOptionsToJson(p.options);
    HADMC_TRY(WriteFileAtomically(p.base + ".results.json", results.dump(2) + "\n"));
    std::error_code ec;
    std::filesystem::remove_all(p.options.checkpoint_dir, ec);  // the model and log are kept
    runs.push_back(Summarize(p.name, p.target, std::move(*p.result)));
  }
  return runs;
}

std::string AstExperimentMarkdown(const std::vector<AstRun>& runs) {
  std::string md =
      "| run | target | activation (measured) | test acc | Δ acc (points) | training loops (s) | "
      "time ratio | ideal ratio (s+3r)/3 | est. GFLOPs ratio | energy (J) |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n";
  const AstRun* full = nullptr;
  for (const AstRun& r : runs)
    if (!r.target) full = &r;
  for (const AstRun& r : runs) {
    const double acc = TestAccuracy(r);
    md += "| " + r.name + " | " + (r.target ? FormatFixed(*r.target, 2) : "-") + " | " +
          FormatFixed(r.activation_rate, 3) + " | " + (std::isnan(acc) ? "-" : FormatFixed(100 * acc, 2) + "%") +
          " | ";
    md += full && !std::isnan(acc) ? FormatFixed(100 * (acc - TestAccuracy(*full)), 2) : "-";
    md += " | " + FormatFixed(r.loop_seconds, 1) + " | ";
    md += full && full->loop_seconds > 0 ? FormatFixed(r.loop_seconds / full->loop_seconds, 3) : "-";
    md += " | " + FormatFixed((r.scored_rate + 3 * r.activation_rate) / 3, 3) + " | ";
    md += full && full->est_gflops > 0 ? FormatFixed(r.est_gflops / full->est_gflops, 3) : "-";
    md += " | " + (r.energy_j ? FormatFixed(*r.energy_j, 0) : std::string("-")) + " |\n";
  }
  const AstRun& any = runs.front();
  if (!any.result.history.empty() && any.result.history.front().energy_j) {
    const EpochRecord& e = any.result.history.front();
    md += "\nEnergy source: " + e.energy_source +
          (e.energy_measured ? " (measured)" : " (an estimate: TDP x time, no energy counter)") + "\n";
  }
  md += "\nThe ideal ratio counts a no-grad scoring pass as 1 and a training step as 3 per sample "
        "(s: share of samples scored, r: share back-propagated, warm-up epochs included); at "
        "r = 0.3 it is 0.633, a 1.58x speed-up.\n";
  return md;
}

nlohmann::json AstExperimentJson(const std::vector<AstRun>& runs) {
  nlohmann::json rows = nlohmann::json::array();
  for (const AstRun& r : runs) {
    const double acc = TestAccuracy(r);
    rows.push_back({{"run", r.name},
                    {"target", r.target ? nlohmann::json(*r.target) : nlohmann::json(nullptr)},
                    {"activation_rate", r.activation_rate},
                    {"test_acc", std::isnan(acc) ? nlohmann::json(nullptr) : nlohmann::json(acc)},
                    {"loop_seconds", r.loop_seconds},
                    {"train_seconds", r.result.train_seconds},
                    {"est_gflops", r.est_gflops},
                    {"energy_j", r.energy_j ? nlohmann::json(*r.energy_j) : nlohmann::json(nullptr)},
                    {"results", TrainResultToJson(r.result)}});
  }
  return {{"runs", rows}};
}

Status WriteAstPlots(const std::vector<AstRun>& runs, const std::string& dir) {
  PlotSeries points;
  points.label = "test accuracy";
  points.style = SeriesStyle::kLineMarkers;
  for (const AstRun& r : runs) {
    points.x.push_back(r.activation_rate);
    points.y.push_back(100 * TestAccuracy(r));
  }
  HADMC_TRY(WriteSvgPlot(dir + "/accuracy_vs_rate.svg", {points},
                         Labels("Test accuracy vs activation rate",
                                "activation rate (share of samples back-propagated)",
                                "test accuracy (%)")));

  std::vector<PlotSeries> rates, thresholds;
  PlotOptions rate_opts = Labels("Activation rate per step", "step",
                                 "share of the batch back-propagated");
  for (const AstRun& r : runs) {
    if (!r.target) continue;
    PlotSeries rate, threshold;
    rate.label = threshold.label = "target " + FormatFixed(*r.target, 2);
    Trace(r, "rate", rate);
    Trace(r, "threshold", threshold);
    rates.push_back(std::move(rate));
    thresholds.push_back(std::move(threshold));
    PlotReference target;
    target.label = FormatFixed(*r.target, 2);
    target.value = *r.target;
    rate_opts.references.push_back(target);
  }
  HADMC_TRY(WriteSvgPlot(dir + "/activation.svg", rates, rate_opts));
  return WriteSvgPlot(dir + "/threshold.svg", thresholds,
                      Labels("Significance threshold per step", "step",
                             "threshold (x running mean significance)"));
}

}  // namespace hadmc::train
