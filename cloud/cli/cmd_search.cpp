// `hadmc search --model base.hmc --target x86_cpu --latency-fraction 0.3 --episodes 200
//  --out out/search`: the HAD-MC 2.0 compression search (search/search.h): a controller picks a
// prune ratio and bit width per layer (and the fine-tune's distillation settings), the action
// wall keeps the latency/size budget reachable, the evaluator scores each policy (proxy
// accuracy, LUT latency, size, energy estimate). The best policy is then built, fine-tuned and,
// when the target is this machine, measured against the base.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/compress/latency.h"
#include "hadmc/data/normalization.h"
#include "hadmc/exec/executor.h"
#include "hadmc/hal/detect.h"
#include "hadmc/hal/profile.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/search/environment.h"
#include "hadmc/search/evaluator.h"
#include "hadmc/search/policy_predictor.h"
#include "hadmc/search/search.h"
#include "hadmc/search/search_outputs.h"
#include "hadmc/train/evaluate.h"
#include "hadmc/train/input_transform.h"
#include "hadmc/train/model_metadata.h"
#include "model_data.h"

namespace hadmc::cli {
namespace {

struct SearchCommand {
  std::string model_path, data, target, lut_path, out_dir, work_dir, controller = "ppo", bits = "4,8,16,32";
  double latency_ms = 0, latency_fraction = 0, size_kb = 0, max_accuracy_drop = 1.0;
  double max_prune = 0.8;
  int64_t episodes = 200, rollout = 8, batch = 1, proxy_samples = 2000, recal_samples = 512;
  int64_t finetune_epochs = 1, train_samples = 0;
  double finetune_lr = 0.01;
  bool no_measure_lut = false, no_distill = false, no_prune = false;
  uint64_t seed = 0;
  std::string command_line;
};

std::vector<int> ParseBits(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      out.push_back(std::stoi(item));
    } catch (const std::exception&) {
      Fail("--bits: '" + item + "' is not a number (expected a list like 4,8,16,32)");
    }
  }
  return out;
}

hal::HardwareProfile LoadTarget(const std::string& arg, const hal::DeviceInfo& here, bool* local) {
  const std::string name = arg.empty() ? here.profile : arg;
  if (name.empty()) Fail("--target: this machine has no shipped profile; name one (hadmc hal list)");
  auto p = std::filesystem::exists(name) ? hal::LoadProfile(name) : hal::FindProfile(name);
  if (!p) Fail("--target: " + p.error().message());
  *local = p->name == here.profile;
  return *local ? hal::ScaledToCores(*p, here.cpu_cores) : *p;
}

void RunSearchCommand(SearchCommand& c) {
  auto base = model::LoadHmc(c.model_path);
  if (!base) Fail("loading " + c.model_path + ": " + base.error().message());
  TrainTest data = LoadTrainTest(*base, c.data);
  if (c.train_samples > 0)
    data.train = StratifiedSubset(data.train, c.train_samples, c.seed, "--train-samples");
  auto norm = train::NormalizationFromMetadata(base->metadata);
  if (!norm) Fail(norm.error().message());
  if (!*norm) Fail(c.model_path + " records no normalization (train it with `hadmc train`)");
  auto transform = train::MakeInputTransform(base->graph, data.train);
  if (!transform) Fail(transform.error().message());

  const hal::DeviceInfo here = hal::Detect();
  bool local = false;
  const hal::HardwareProfile profile = LoadTarget(c.target, here, &local);
  std::error_code ec;
  std::filesystem::create_directories(c.out_dir, ec);
  if (ec) Fail("creating " + c.out_dir + ": " + ec.message());

  // The search space: conv/linear layers with Taylor sensitivities on a few training batches.
  std::cout << "building the search space of " << c.model_path << "...\n";
  compress::CalibrationSet calib;
  {
    at::Generator gen = at::detail::createCPUGenerator(c.seed);
    at::Tensor order = at::randperm(data.train.size(), gen);
    for (int64_t i = 0; i + 64 <= std::min<int64_t>(512, data.train.size()); i += 64) {
      at::Tensor idx = order.narrow(0, i, 64);
      at::Tensor x = data::NormalizeImages(data.train.images.index_select(0, idx), **norm);
      calib.push_back({*transform ? (*transform)(x) : x, data.train.labels.index_select(0, idx)});
    }
  }
  auto space = search::BuildSearchSpace(*base, calib);
  if (!space) Fail(space.error().message());

  search::EvaluatorOptions eo;
  eo.profile = profile;
  eo.batch = c.batch;
  eo.recalibration_samples = c.recal_samples;
  eo.proxy_samples = c.proxy_samples;
  eo.seed = c.seed;
  eo.finetune_options.epochs = c.finetune_epochs;
  eo.finetune_options.lr = c.finetune_lr;
  eo.finetune_options.warmup_epochs = 0;
  eo.finetune_options.seed = c.seed;
  eo.finetune_options.progress_stream = &std::cerr;

  // The LUT: a file, or kernels timed here when the target is this machine, else the roofline.
  std::string lut_source = "roofline estimates only (no LUT)";
  if (!c.lut_path.empty()) {
    std::ifstream in(c.lut_path);
    const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) Fail(c.lut_path + ": not JSON");
    auto lut = hal::LutFromJson(j);
    if (!lut) Fail(c.lut_path + ": " + lut.error().message());
    if (lut->device_class() != profile.name)
      std::cerr << "warning: the LUT is of class '" << lut->device_class() << "', the target '"
                << profile.name << "'\n";
    eo.lut = *lut;
    lut_source = "LUT file " + c.lut_path + ", " + std::to_string(lut->rows().size()) + " rows";
  } else if (local && !c.no_measure_lut) {
    std::cout << "timing kernels on this machine for the " << profile.name << " LUT...\n";
    auto probe = search::PolicyEvaluator::Create(*base, *space, data.train, eo);
    if (!probe) Fail(probe.error().message());
    search::LocalLutOptions lo;
    lo.batch = c.batch;
    lo.progress = &std::cout;
    auto lut = search::MeasureLocalLut(*probe, profile.name, lo);
    if (!lut) Fail(lut.error().message());
    eo.lut = *lut;
    if (auto s = WriteFileAtomically(c.out_dir + "/lut.json", hal::ToJson(*lut).dump(1) + "\n"); !s)
      Fail(s.error().message());
    lut_source = "measured here, " + std::to_string(lut->rows().size()) + " kernel rows (lut.json)";
  } else {
    std::cerr << "warning: no LUT for " << profile.name
              << ": every latency is a roofline estimate (pass --lut from `hadmc lut export "
              << profile.name << "`)\n";
  }
  auto evaluator = search::PolicyEvaluator::Create(*base, *space, data.train, eo);
  if (!evaluator) Fail(evaluator.error().message());
  auto base_eval = evaluator->EvaluateBase();
  if (!base_eval) Fail(base_eval.error().message());

  // The budget.
  double budget_ms = c.latency_ms;
  double base_measured_ms = 0;
  if (c.latency_fraction > 0) {
    double reference = base_eval->objectives.latency_ms;
    std::string how = "its LUT prediction";
    if (local) {
      compress::LatencyOptions lo;
      lo.runs = 100;
      auto l = compress::MeasureLatency(*base, c.batch, 1, lo);
      if (!l) Fail(l.error().message());
      base_measured_ms = l->median_ms;
      reference = l->median_ms;
      how = "measured here, batch " + std::to_string(c.batch) + ", 1 thread";
    }
    budget_ms = c.latency_fraction * reference;
    std::cout << "latency budget " << budget_ms << " ms = " << c.latency_fraction
              << " x the base's " << reference << " ms (" << how << ")\n";
  }

  search::SearchOptions so;
  so.controller = *[&] {
    auto k = search::ParseController(c.controller);
    if (!k) Fail("--controller: " + k.error().message());
    return k;
  }();
  so.episodes = c.episodes;
  so.rollout_episodes = c.rollout;
  so.ppo.gamma = 1.0;  // one terminal reward per episode
  so.seed = c.seed;
  so.constraints.max_latency_ms = budget_ms;
  so.constraints.max_size_bytes = c.size_kb * 1024;
  if (c.max_accuracy_drop >= 0)
    so.constraints.min_accuracy = base_eval->objectives.accuracy - c.max_accuracy_drop / 100;
  so.checkpoint_dir = c.work_dir.empty() ? c.out_dir + "/checkpoint" : c.work_dir;
  so.progress = &std::cout;
  auto recorded = search::CheckpointConstraints(so.checkpoint_dir);
  if (!recorded) Fail(recorded.error().message());
  if (*recorded) {
    // Resuming: the budget the search started with (a re-measured one would differ a little).
    so.constraints = **recorded;
    budget_ms = so.constraints.max_latency_ms;
    std::cout << "resuming with the checkpoint's constraints: "
              << search::ToJson(so.constraints).dump() << "\n";
  }
  if (auto s = search::ValidateSearchOptions(so); !s) Fail(s.error().message());

  search::EnvironmentOptions env_options;
  env_options.constraints = so.constraints;
  env_options.max_prune_ratio = c.max_prune;
  env_options.bits = ParseBits(c.bits);
  env_options.prune = !c.no_prune;
  env_options.distillation = !c.no_distill;
  auto predictor = search::PolicyPredictor::Create(*base, *space, profile, eo.lut, c.batch);
  if (!predictor) Fail(predictor.error().message());
  auto env = search::SearchEnvironment::Create(*space, &*predictor, profile, env_options);
  if (!env) Fail(env.error().message());

  auto result = search::RunSearch(*evaluator, *env, so);
  if (!result) Fail(result.error().message());

  // The best policy, built and fine-tuned; measured here when the target is this machine.
  search::FinalCheck final_check;
  const search::EpisodeRecord& best = result->best_record();
  std::cout << "building the best policy (episode " << best.episode + 1 << ")"
            << (c.finetune_epochs > 0 ? ", fine-tuning " + std::to_string(c.finetune_epochs) +
                                            " epoch(s) with distillation"
                                      : "")
            << "...\n";
  auto compressed = evaluator->Apply(best.policy, c.finetune_epochs > 0);
  if (!compressed) Fail(compressed.error().message());
  compressed->metadata["compressed_from"] = c.model_path;
  compressed->metadata["search_policy"] = search::ToJson(best.policy).dump();
  const std::string model_out = c.out_dir + "/model.hmc";
  if (auto s = model::SaveHmc(*compressed, model_out); !s) Fail(s.error().message());
  final_check.predicted_latency_ms = best.evaluation.objectives.latency_ms;
  final_check.budget_ms = budget_ms;
  final_check.base_file_bytes = static_cast<int64_t>(std::filesystem::file_size(c.model_path, ec));
  final_check.best_file_bytes = static_cast<int64_t>(std::filesystem::file_size(model_out, ec));
  const auto test_accuracy = [&](const model::Model& m) {
    auto ex = exec::Executor::Create(m);
    if (!ex) Fail(ex.error().message());
    auto r = train::Evaluate(*ex, data.test, {512, **norm, *transform});
    if (!r) Fail(r.error().message());
    return r->accuracy;
  };
  final_check.base_test_accuracy = test_accuracy(*base);
  final_check.best_test_accuracy = test_accuracy(*compressed);
  if (local) {
    std::cout << "timing the base and the best model here (batch " << c.batch << ", 1 thread)...\n";
    compress::LatencyOptions lo;
    lo.runs = 100;
    auto l = compress::MeasureLatencyInterleaved({&*base, &*compressed}, c.batch, 1, lo);
    if (!l) Fail(l.error().message());
    final_check.done = true;
    final_check.base_latency_ms = (*l)[0].median_ms;
    final_check.best_latency_ms = (*l)[1].median_ms;
    final_check.meets_budget = budget_ms <= 0 || final_check.best_latency_ms <= budget_ms;
  }
  nlohmann::json context = {{"model", c.model_path},
                            {"target", profile.name},
                            {"target_is_this_machine", local},
                            {"lut_source", lut_source},
                            {"latency_budget_ms", budget_ms},
                            {"base_measured_ms", base_measured_ms},
                            {"constraints", search::ToJson(so.constraints)},
                            {"command", c.command_line}};
  if (auto s = search::WriteSearchOutputs(*result, c.out_dir, context, &final_check); !s)
    Fail(s.error().message());
  std::cout << "\nbest: proxy accuracy " << best.evaluation.objectives.accuracy * 100
            << "%, predicted latency " << best.evaluation.objectives.latency_ms << " ms, reward "
            << best.reward.total << (result->best_feasible ? "" : " (violates a constraint)") << "\n"
            << "test accuracy " << final_check.base_test_accuracy * 100 << "% -> "
            << final_check.best_test_accuracy * 100 << "%\n";
  if (final_check.done)
    std::cout << "measured latency " << final_check.base_latency_ms << " -> "
              << final_check.best_latency_ms << " ms"
              << (budget_ms > 0 ? (final_check.meets_budget ? " (meets the budget)" : " (MISSES the budget)")
                                : "")
              << "\n";
  else
    std::cout << "latency not measured: " << profile.name << " is not this machine ("
              << here.profile << "); the figures are LUT predictions\n";
  std::cout << "wrote " << model_out << ", " << c.out_dir
            << "/{report.md,search.json,best_policy.json,pareto.json,pareto.svg,convergence.svg}\n";
}

}  // namespace

void RegisterSearch(CLI::App& app, const GlobalOptions& g) {
  auto c = std::make_shared<SearchCommand>();
  CLI::App* cmd = app.add_subcommand(
      "search",
      "Search per-layer pruning and bit widths (PPO, DQN or random) under a latency/size budget, "
      "then build, fine-tune and measure the best policy");
  cmd->add_option("--model", c->model_path, "trained .hmc model (fp32, unfused)")->required();
  cmd->add_option("--data", c->data, "dataset (default: the one recorded in the model)");
  cmd->add_option("--target", c->target,
                  "hardware profile name or file (default: this machine's, see hadmc hal detect)");
  cmd->add_option("--lut", c->lut_path, "LUT file (hadmc lut export); default: time kernels here "
                                        "when the target is this machine, else roofline");
  cmd->add_flag("--no-measure-lut", c->no_measure_lut, "do not time kernels here");
  cmd->add_option("-o,--out", c->out_dir, "output directory")->required();
  cmd->add_option("--work", c->work_dir, "checkpoint directory (default <out>/checkpoint); a "
                                         "search started on a checkpoint resumes");
  cmd->add_option("--controller", c->controller, "ppo, dqn or random")
      ->check(CLI::IsMember({"ppo", "dqn", "random"}));
  cmd->add_option("--episodes", c->episodes, "episodes (policies evaluated)")->check(CLI::PositiveNumber);
  cmd->add_option("--rollout", c->rollout, "episodes per PPO update and per checkpoint (8)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--latency-ms", c->latency_ms, "latency budget in ms (batch --batch)");
  cmd->add_option("--latency-fraction", c->latency_fraction,
                  "latency budget as a fraction of the base's latency (measured here when the "
                  "target is this machine, else LUT-predicted)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--size-kb", c->size_kb, "size budget of the stored weights, KiB");
  cmd->add_option("--max-accuracy-drop", c->max_accuracy_drop,
                  "accuracy floor: proxy top-1 at most this many points under the base's (1.0); "
                  "negative: no floor");
  cmd->add_option("--bits", c->bits, "bit widths the search may choose (4,8,16,32)");
  cmd->add_option("--max-prune", c->max_prune, "highest prune ratio per layer (0.8)")
      ->check(CLI::Range(0.0, 0.9));
  cmd->add_flag("--no-prune", c->no_prune, "search bit widths only (HAQ-style)");
  cmd->add_flag("--no-distill-search", c->no_distill,
                "fix the fine-tune's temperature (4) and alpha (0.7) instead of searching them");
  cmd->add_option("--batch", c->batch, "latency batch (1)")->check(CLI::PositiveNumber);
  cmd->add_option("--proxy-samples", c->proxy_samples,
                  "held-out training images for the accuracy proxy (2000)");
  cmd->add_option("--recal-samples", c->recal_samples,
                  "training images for batch-norm recalibration (512)");
  cmd->add_option("--train-samples", c->train_samples,
                  "use a stratified subset of the training set (0: all)");
  cmd->add_option("--finetune-epochs", c->finetune_epochs,
                  "epochs of distillation fine-tuning of the best policy (1; 0: none)");
  cmd->add_option("--finetune-lr", c->finetune_lr, "its learning rate (0.01)");
  cmd->add_option("--seed", c->seed, "seed of the controller, splits and calibration");
  cmd->callback([c, cmd, &g] {
    ApplyGlobalOptions(g);
    // The options as given, for the report (what a reader needs to rerun it).
    std::ostringstream line;
    line << "hadmc search";
    for (const CLI::Option* o : cmd->get_options()) {
      if (o->count() == 0 || o->get_name() == "--help") continue;
      line << " " << o->get_name();
      for (const std::string& v : o->results()) line << " " << v;
    }
    c->command_line = line.str();
    RunSearchCommand(*c);
  });
}

}  // namespace hadmc::cli
