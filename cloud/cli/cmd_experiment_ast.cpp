// `hadmc experiment ast --arch resnet8 --data fashion-mnist --out-dir out/ast --epochs 5
//  --targets 0.5,0.3,0.2`: full-data training against adaptive sparse training at each target
// activation rate, same initial weights, data order and recipe, in one process
// (train/ast_experiment.h). Writes ast.md, ast.json, the plots and each run's model and log.
#include <filesystem>
#include <iostream>
#include <memory>

#include "ast_flags.h"
#include "commands.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/data/dataset_registry.h"
#include "hadmc/train/ast_experiment.h"
#include "hadmc/train/progress.h"
#include "hadmc/zoo/zoo.h"
#include "model_data.h"

namespace hadmc::cli {
namespace {

struct AstExperimentCommand {
  std::string arch, data, out_dir;
  train::AstExperimentOptions options;
  bool augment = true, small_input = false;
  int64_t image_size = 0, train_samples = 0, test_samples = 0;
  AstFlags ast;
};

void RunAstExperimentCommand(AstExperimentCommand& c) {
  train::TrainOptions& o = c.options.train;
  o.augment = c.augment ? data::AugmentOptions{2, true} : data::AugmentOptions{};
  train::AstOptions on;
  on.enabled = true;
  o.ast = ResolveAstOptions(c.ast, on);
  auto train_set = data::LoadDataset(c.data, data::Split::kTrain);
  if (!train_set) Fail(train_set.error().message());
  auto test_set = data::LoadDataset(c.data, data::Split::kTest);
  if (!test_set) Fail(test_set.error().message());
  const data::Dataset train_data =
      StratifiedSubset(*train_set, c.train_samples, o.seed, "--train-samples");
  const data::Dataset test_data = StratifiedSubset(*test_set, c.test_samples, o.seed, "--test-samples");
  if (c.data.rfind("fashion-mnist", 0) == 0) o.normalization = data::FashionMnistNormalization();
  // Build once to fail early on a bad architecture; every run gets the same initial weights.
  const model::Model initial =
      BuildZooModelFor(c.arch, train_data, c.image_size, c.small_input, o.seed);
  c.options.make_model = [&initial]() -> Result<model::Model> { return model::Clone(initial); };

  std::error_code ec;
  std::filesystem::create_directories(c.out_dir, ec);
  if (ec) Fail("creating " + c.out_dir + ": " + ec.message());
  c.options.out_dir = c.out_dir;
  o.progress_stream = &std::cerr;
  o.progress_is_tty = train::ProgressReporter::StderrIsTty();

  auto runs = train::RunAstExperiment(train_data, test_data, c.options);
  if (!runs) Fail(runs.error().message());
  const std::string table = train::AstExperimentMarkdown(*runs);
  const std::string md = "# Adaptive sparse training: " + c.arch + " on " + c.data + "\n\n" +
                         "Recipe: `" + train::TrainOptionsToJson(o).dump() + "`\n\n" + table;
  if (auto s = WriteFileAtomically(c.out_dir + "/ast.md", md); !s) Fail(s.error().message());
  nlohmann::json j = train::AstExperimentJson(*runs);
  j["arch"] = c.arch;
  j["data"] = c.data;
  if (auto s = WriteFileAtomically(c.out_dir + "/ast.json", j.dump(2) + "\n"); !s)
    Fail(s.error().message());
  if (auto s = train::WriteAstPlots(*runs, c.out_dir); !s) Fail(s.error().message());
  std::cout << "\n" << table << "wrote " << c.out_dir
            << "/ast.md, ast.json, accuracy_vs_rate.svg, activation.svg, threshold.svg\n";
}

}  // namespace

void RegisterExperimentAst(CLI::App* experiment, const GlobalOptions& g) {
  auto c = std::make_shared<AstExperimentCommand>();
  train::TrainOptions& o = c->options.train;
  o.epochs = 5;
  CLI::App* cmd = experiment->add_subcommand(
      "ast",
      "Full-data training vs adaptive sparse training at each target activation rate (same "
      "initial weights, data order and recipe): accuracy, measured time, estimated FLOPs, energy");
  cmd->add_option("--arch", c->arch, "zoo architecture")
      ->required()
      ->check(CLI::IsMember(zoo::ArchNames()));
  cmd->add_option("--data", c->data, "fashion-mnist, fashion-mnist:<dir> or an image folder")
      ->required();
  cmd->add_option("--out-dir", c->out_dir, "directory for the table, plots, models and logs")
      ->required();
  cmd->add_option("--targets", c->options.targets, "target activation rates, e.g. 0.5,0.3,0.2")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "epochs of every run")->capture_default_str()->check(
      CLI::PositiveNumber);
  cmd->add_option("--batch-size", o.batch_size, "batch size")->capture_default_str();
  cmd->add_option("--lr", o.lr, "peak learning rate (SGD)")->capture_default_str();
  cmd->add_option("--warmup-epochs", o.warmup_epochs, "learning-rate warm-up epochs")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed for init, data order, augmentation")
      ->capture_default_str();
  cmd->add_option("--val-fraction", o.val_fraction, "validation hold-out")->capture_default_str();
  cmd->add_flag("--augment,!--no-augment", c->augment, "random crop + flip (default on)");
  cmd->add_flag("--small-input", c->small_input, "small-input (28-32 px) stem variant");
  cmd->add_option("--image-size", c->image_size, "model input size (default: the dataset's)");
  cmd->add_option("--train-samples", c->train_samples, "train on a stratified subset of N");
  cmd->add_option("--test-samples", c->test_samples, "test on a stratified subset of N");
  AddAstFlags(cmd, c->ast);
  // The sweep sets --ast and the target per run.
  for (auto it = c->ast.options.begin(); it != c->ast.options.end();) {
    if (it->second == "ast" || it->second == "ast_target") {
      cmd->remove_option(it->first);
      it = c->ast.options.erase(it);
    } else {
      ++it;
    }
  }
  cmd->callback([c, &g] {
    ApplyGlobalOptions(g);
    RunAstExperimentCommand(*c);
  });
}

}  // namespace hadmc::cli
