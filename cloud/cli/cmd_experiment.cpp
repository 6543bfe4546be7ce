// `hadmc experiment ablation base.hmc --out-dir DIR [--recipe r.yaml] [--prune 0.5
//  --distill-epochs 3 ...]`: the HAD-MC ablation study on one model (compress/ablation.h).
// `hadmc experiment ast` is in cmd_experiment_ast.cpp, `sota` and `ppo-vs-dqn` in
// cmd_experiment_search.cpp, `lut` and `cross-platform` in cmd_experiment_platform.cpp.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "hadmc/compress/ablation.h"
#include "hadmc/model/hmc_file.h"
#include "model_data.h"

namespace hadmc::cli {
namespace {

struct AblationCommand {
  std::string model_path, out_dir, data, recipe_path;
  double prune = 0.5;
  int64_t distill_epochs = 3;
  double lr = 0.02;
  int64_t latency_runs = 50;
  uint64_t seed = 0;
};

void RunAblation(const AblationCommand& c, const std::vector<std::string>& set_flags) {
  nlohmann::json j = ReadRecipeFile(c.recipe_path);
  auto given = [&](const std::string& flag) {
    return std::find(set_flags.begin(), set_flags.end(), flag) != set_flags.end();
  };
  // The full recipe: the file's keys, the flags over them, and the defaults above for a file
  // that does not say (prune 0.5, 3 distillation epochs, int8).
  if (given("--prune") || !j.contains("prune")) j["prune"] = c.prune;
  if (given("--distill-epochs") || !j.contains("distill_epochs")) j["distill_epochs"] = c.distill_epochs;
  if (given("--lr")) j["lr"] = c.lr;
  if (given("--latency-runs")) j["latency_runs"] = c.latency_runs;
  if (given("--seed")) j["seed"] = c.seed;
  if (!j.contains("bits")) j["bits"] = 8;
  auto full = compress::RecipeFromJson(j);
  if (!full) Fail("recipe: " + full.error().message());
  if (auto check = compress::AblationRecipes(*full); !check) Fail(check.error().message());

  auto m = model::LoadHmc(c.model_path);
  if (!m) Fail("loading " + c.model_path + ": " + m.error().message());
  const TrainTest data = LoadTrainTest(*m, c.data);
  auto rows = compress::RunAblation(*m, c.model_path, *full, data.train, data.test, c.out_dir,
                                    &std::cout);
  if (!rows) Fail(rows.error().message());
  const std::string table = compress::AblationMarkdown(*rows);
  std::ofstream(c.out_dir + "/ablation.md")
      << "# Ablation: " << c.model_path << "\n\nFull recipe: `"
      << compress::RecipeToJson(*full).dump() << "`\n\n" << table;
  std::ofstream(c.out_dir + "/ablation.json")
      << nlohmann::json{{"model", c.model_path},
                        {"full_recipe", compress::RecipeToJson(*full)},
                        {"rows", compress::AblationJson(*rows)}}.dump(2)
      << "\n";
  std::cout << "\n" << table << "wrote " << c.out_dir << "/ablation.md and ablation.json\n";
}

}  // namespace

void RegisterExperiment(CLI::App& app, const GlobalOptions& g) {
  CLI::App* exp = app.add_subcommand("experiment", "Reproducible experiments on a trained model");
  exp->require_subcommand(1);
  RegisterExperimentAst(exp, g);
  RegisterExperimentSearch(exp, g);
  RegisterExperimentPlatform(exp, g);
  auto c = std::make_shared<AblationCommand>();
  CLI::App* cmd = exp->add_subcommand(
      "ablation",
      "Run baseline, fuse, quant, prune, distill, prune+quant, prune+distill and the full "
      "pipeline on one model; write one table (markdown + JSON)");
  cmd->add_option("model", c->model_path, "trained .hmc model")->required();
  cmd->add_option("--out-dir", c->out_dir, "directory for the models and tables")->required();
  cmd->add_option("--data", c->data, "dataset (default: the one recorded in the model)");
  cmd->add_option("--recipe", c->recipe_path,
                  "full recipe, YAML or JSON (*.json) as for `hadmc compress`; flags override it");
  cmd->add_option("--prune", c->prune, "fraction of channels the pruning rows remove (0.5)");
  cmd->add_option("--distill-epochs", c->distill_epochs,
                  "fine-tuning epochs of the pruning/distillation rows (3)");
  cmd->add_option("--lr", c->lr, "fine-tuning learning rate (0.02)");
  cmd->add_option("--latency-runs", c->latency_runs, "timed runs per latency measurement (>= 50)");
  cmd->add_option("--seed", c->seed, "seed for calibration samples and fine-tuning");
  cmd->callback([c, cmd, &g] {
    ApplyGlobalOptions(g);
    std::vector<std::string> set;
    for (const CLI::Option* o : cmd->get_options())
      if (o->count() > 0) set.push_back(o->get_name());
    RunAblation(*c, set);
  });
}

}  // namespace hadmc::cli
