// `hadmc compress base.hmc --out small.hmc [--recipe r.json] [--prune 0.5 --bits 8
// --distill-epochs 3 ...]`: the HAD-MC pipeline (prune -> distill -> fuse -> int8) with a
// before/after report (accuracy, parameters, file size, MACs, measured latency).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "ast_flags.h"
#include "commands.h"
#include "hadmc/compress/pipeline.h"
#include "hadmc/model/hmc_file.h"
#include "model_data.h"

namespace hadmc::cli {
namespace {

struct CompressCommand {
  std::string model_path, out_path, data, recipe_path, report_path;
  compress::CompressRecipe recipe;
  std::string importance = "taylor", observer = "percentile";
  std::vector<std::string> disabled;
  bool no_distill = false, no_fuse = false, fp32_first_last = true;
  AstFlags ast;
};

void RunCompress(CompressCommand& c, const std::vector<std::string>& set_flags) {
  // Recipe file first; flags given on the command line override it.
  compress::CompressRecipe r;
  if (!c.recipe_path.empty()) {
    auto parsed = compress::RecipeFromJson(ReadRecipeFile(c.recipe_path));
    if (!parsed) Fail("recipe " + c.recipe_path + ": " + parsed.error().message());
    r = *parsed;
  }
  auto given = [&](const std::string& flag) {
    return std::find(set_flags.begin(), set_flags.end(), flag) != set_flags.end();
  };
  nlohmann::json flags;
  if (given("--prune")) flags["prune"] = c.recipe.prune_ratio;
  if (given("--importance")) flags["importance"] = c.importance;
  if (given("--global")) flags["global"] = c.recipe.global;
  if (given("--round-to")) flags["round_to"] = c.recipe.round_to;
  if (given("--distill-epochs")) flags["distill_epochs"] = c.recipe.finetune_epochs;
  if (given("--no-distill")) flags["distill"] = false;
  if (given("--alpha")) flags["alpha"] = c.recipe.distillation.alpha;
  if (given("--temperature")) flags["temperature"] = c.recipe.distillation.temperature;
  if (given("--lr")) flags["lr"] = c.recipe.finetune_lr;
  if (given("--augment")) flags["augment"] = true;
  if (given("--no-fuse")) flags["fuse"] = false;
  if (given("--disable-pass")) flags["disable_passes"] = c.disabled;
  if (given("--bits")) flags["bits"] = c.recipe.bits;
  if (given("--mixed-budget-kb")) flags["mixed_budget_kb"] = c.recipe.mixed_budget_kb;
  if (given("--qat-epochs")) flags["qat_epochs"] = c.recipe.qat_epochs;
  if (given("--qat-lr")) flags["qat_lr"] = c.recipe.qat_lr;
  if (given("--observer")) flags["observer"] = c.observer;
  if (given("--int8-first-last")) flags["keep_first_last"] = false;
  if (given("--latency-runs")) flags["latency_runs"] = c.recipe.latency.runs;
  if (given("--seed")) flags["seed"] = c.recipe.seed;
  auto merged = compress::RecipeFromJson(flags, r);
  if (!merged) Fail(merged.error().message());
  merged->ast = ResolveAstOptions(c.ast, merged->ast);

  auto m = model::LoadHmc(c.model_path);
  if (!m) Fail("loading " + c.model_path + ": " + m.error().message());
  const TrainTest data = LoadTrainTest(*m, c.data);

  const std::string work_dir = c.out_path + ".work";
  std::filesystem::create_directories(work_dir);
  compress::CompressInputs inputs{&data.train, &data.test, c.out_path, work_dir, &std::cout};
  auto report = compress::Compress(*m, c.model_path, *merged, inputs);
  if (!report) Fail(report.error().message());
  std::cout << "\n" << compress::FormatReport(*report);
  const std::string report_path = c.report_path.empty() ? c.out_path + ".report.json" : c.report_path;
  std::ofstream(report_path) << compress::ReportToJson(*report).dump(2) << "\n";
  std::cout << "wrote " << c.out_path << " and " << report_path << "\n";
}

}  // namespace

void RegisterCompress(CLI::App& app, const GlobalOptions& g) {
  auto c = std::make_shared<CompressCommand>();
  CLI::App* cmd = app.add_subcommand(
      "compress",
      "Compress a trained .hmc: prune -> distill -> fuse -> int8, with a before/after report");
  cmd->add_option("model", c->model_path, "trained .hmc model")->required();
  cmd->add_option("-o,--out", c->out_path, "compressed .hmc to write")->required();
  cmd->add_option("--data", c->data, "dataset (default: the one recorded in the model)");
  cmd->add_option("--recipe", c->recipe_path, "recipe file, YAML or JSON (*.json); flags override its keys");
  cmd->add_option("--report", c->report_path, "JSON report (default <out>.report.json)");
  cmd->add_option("--prune", c->recipe.prune_ratio, "fraction of channels to remove, [0, 1)");
  cmd->add_option("--importance", c->importance, "channel importance")
      ->check(CLI::IsMember({"taylor", "l1"}));
  cmd->add_flag("--global", c->recipe.global, "one global threshold instead of per-group ratios");
  cmd->add_option("--round-to", c->recipe.round_to, "kept channels rounded up to a multiple (8)");
  cmd->add_option("--distill-epochs", c->recipe.finetune_epochs,
                  "fine-tuning epochs after pruning (distilled from the original)");
  cmd->add_flag("--no-distill", c->no_distill, "fine-tune with plain cross-entropy");
  cmd->add_option("--alpha", c->recipe.distillation.alpha, "soft-label weight (0.7)");
  cmd->add_option("--temperature", c->recipe.distillation.temperature, "distillation temperature (4)");
  cmd->add_option("--lr", c->recipe.finetune_lr, "fine-tuning learning rate (0.02)");
  cmd->add_flag("--augment", c->recipe.augment, "random crop + flip while fine-tuning");
  cmd->add_flag("--no-fuse", c->no_fuse, "skip the fusion passes");
  cmd->add_option("--disable-pass", c->disabled, "turn off a fusion pass by name (repeatable)");
  cmd->add_option("--bits", c->recipe.bits,
                  "32: keep fp32; 8: int8 on real kernels; 16 / 4: weights stored fp16 / int4 "
                  "(smaller file, fp32 compute: no CPU speed-up)")
      ->check(CLI::IsMember({4, 8, 16, 32}));
  cmd->add_option("--mixed-budget-kb", c->recipe.mixed_budget_kb,
                  "with --bits 8: move the least loss-sensitive layers to int4 until conv/linear "
                  "weights fit this many KiB");
  cmd->add_option("--qat-epochs", c->recipe.qat_epochs,
                  "with --bits 8: quantization-aware training epochs before conversion (0)");
  cmd->add_option("--qat-lr", c->recipe.qat_lr, "QAT learning rate (0.002)");
  cmd->add_option("--observer", c->observer, "activation calibration")
      ->check(CLI::IsMember({"minmax", "percentile", "mse"}));
  cmd->add_flag("--int8-first-last", "quantize the first and last weight layers too");
  cmd->add_option("--latency-runs", c->recipe.latency.runs, "timed runs per measurement (>= 50)");
  cmd->add_option("--seed", c->recipe.seed, "seed for calibration samples and fine-tuning");
  AddAstFlags(cmd, c->ast);
  cmd->callback([c, cmd, &g] {
    ApplyGlobalOptions(g);
    std::vector<std::string> set;
    for (const CLI::Option* o : cmd->get_options())
      if (o->count() > 0) set.push_back(o->get_name());
    RunCompress(*c, set);
  });
}

}  // namespace hadmc::cli
