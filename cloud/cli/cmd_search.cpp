// `hadmc search --model base.hmc --target x86_cpu --latency-fraction 0.3 --episodes 200
//  --out out/search`: the HAD-MC 2.0 compression search (search/search.h): a controller picks a
// prune ratio and bit width per layer (and the fine-tune's distillation settings), the action
// wall keeps the latency/size budget reachable, the evaluator scores each policy (proxy
// accuracy, LUT latency, size, energy estimate). The best policy is then built, fine-tuned and,
// when the target is this machine, measured against the base.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/search/search.h"
#include "hadmc/search/search_setup.h"
#include "model_data.h"
#include "search_flags.h"

namespace hadmc::cli {
namespace {

struct SearchCommand {
  SearchFlags flags;
  std::string out_dir, work_dir, controller = "ppo";
  std::string command_line;
};

void RunSearchCommand(SearchCommand& c) {
  SearchFlags& f = c.flags;
  ResolveSearchFlags(f);
  SearchInputs in = LoadSearchInputs(f, c.out_dir);
  TrainTest& data = in.data;

  search::SearchSetupOptions so = f.setup;
  so.lut_out = c.out_dir + "/lut.json";
  so.progress = &std::cout;
  const std::string checkpoint = c.work_dir.empty() ? c.out_dir + "/checkpoint" : c.work_dir;
  auto recorded = search::CheckpointConstraints(checkpoint);
  if (!recorded) Fail(recorded.error().message());
  if (*recorded) so.latency_fraction = 0;  // resuming: the recorded budget, not a new measurement
  auto setup = search::PrepareSearch(in.base, data.train, so);
  if (!setup) Fail(setup.error().message());
  search::SearchSetup& s = **setup;
  if (*recorded) {
    s.constraints = **recorded;
    std::cout << "resuming with the checkpoint's constraints: "
              << search::ToJson(s.constraints).dump() << "\n";
  }

  search::SearchOptions opts = f.search;
  opts.controller = *[&] {
    auto k = search::ParseController(c.controller);
    if (!k) Fail("--controller: " + k.error().message());
    return k;
  }();
  opts.seed = f.setup.seed;
  opts.constraints = s.constraints;
  opts.checkpoint_dir = checkpoint;
  opts.progress = &std::cout;
  if (auto st = search::ValidateSearchOptions(opts); !st) Fail(st.error().message());

  auto env = search::MakeEnvironment(s, f.env);
  if (!env) Fail(env.error().message());

  auto result = search::RunSearch(*s.evaluator, *env, opts);
  if (!result) Fail(result.error().message());

  const search::EpisodeRecord& best = result->best_record();
  std::cout << "building the best policy (episode " << best.episode + 1 << ")"
            << (f.setup.finetune_epochs > 0 ? ", fine-tuning " + std::to_string(f.setup.finetune_epochs) +
                                            " epoch(s) with distillation"
                                      : "")
            << "...\n";
  const std::string model_out = c.out_dir + "/model.hmc";
  auto final_check = search::CheckPolicy(s, best.policy, f.setup.finetune_epochs > 0, data.test,
                                         f.setup.batch, model_out, f.model_path);
  if (!final_check) Fail(final_check.error().message());
  const double budget_ms = s.constraints.max_latency_ms;
  nlohmann::json context = {{"model", f.model_path},
                            {"target", s.profile.name},
                            {"target_is_this_machine", s.local},
                            {"lut_source", s.lut_source},
                            {"latency_budget_ms", budget_ms},
                            {"base_measured_ms", s.base_measured_ms},
                            {"constraints", search::ToJson(s.constraints)},
                            {"command", c.command_line}};
  if (auto st = search::WriteSearchOutputs(*result, c.out_dir, context, &*final_check); !st)
    Fail(st.error().message());
  std::cout << std::fixed << std::setprecision(3) << "\nbest: proxy accuracy " << best.evaluation.objectives.accuracy * 100
            << "%, predicted latency " << best.evaluation.objectives.latency_ms << " ms, reward "
            << best.reward.total << (result->best_feasible ? "" : " (violates a constraint)") << "\n"
            << "test accuracy " << final_check->base_test_accuracy * 100 << "% -> "
            << final_check->best_test_accuracy * 100 << "%\n";
  if (final_check->done)
    std::cout << "measured latency " << final_check->base_latency_ms << " -> "
              << final_check->best_latency_ms << " ms"
              << (budget_ms > 0 ? (final_check->meets_budget ? " (meets the budget)"
                                                             : " (MISSES the budget)")
                                : "")
              << "\n";
  else
    std::cout << "latency not measured: " << s.profile.name
              << " is not this machine; the figures are LUT predictions\n";
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
  AddSearchFlags(cmd, c->flags);
  cmd->add_option("-o,--out", c->out_dir, "output directory")->required();
  cmd->add_option("--work", c->work_dir, "checkpoint directory (default <out>/checkpoint); a "
                                         "search started on a checkpoint resumes");
  cmd->add_option("--controller", c->controller, "ppo, dqn or random")
      ->check(CLI::IsMember({"ppo", "dqn", "random"}));
  cmd->callback([c, cmd, &g] {
    ApplyGlobalOptions(g);
    c->flags.env.action_wall = cmd->get_option("--no-wall")->count() == 0;
    c->command_line = CommandLine(cmd, "search");
    RunSearchCommand(*c);
  });
}

}  // namespace hadmc::cli
