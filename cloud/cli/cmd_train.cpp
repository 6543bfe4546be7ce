// `hadmc train --arch resnet8 --data fashion-mnist --epochs 15 --out base.hmc`: builds a zoo
// architecture, trains it (hadmc::train::Train), saves the best-validation model with its
// training metadata and prints a report. Ctrl-C (SIGINT) or SIGTERM stops after the current batch
// with a checkpoint; `--resume` continues from it.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <ATen/Parallel.h>

#include "ast_flags.h"
#include "commands.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/common/log.h"
#include "hadmc/data/dataset_registry.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/model/model_summary.h"
#include "model_data.h"
#include "hadmc/train/progress.h"
#include "hadmc/train/trainer.h"
#include "hadmc/zoo/zoo.h"

namespace hadmc::cli {
namespace {

struct TrainCommand {
  std::string arch;
  std::string data;
  std::string out;
  train::TrainOptions options;
  bool augment = true;
  bool small_input = false;
  int64_t image_size = 0;   // 0: the dataset's image size
  int64_t train_samples = 0;  // 0: the whole train split
  int64_t test_samples = 0;   // 0: the whole test split
  CLI::Option* lr_flag = nullptr;
  CLI::Option* wd_flag = nullptr;
  CLI::Option* checkpoint_flag = nullptr;
  CLI::Option* log_flag = nullptr;
  std::string recipe_path;
  std::string results_path;
  AstFlags ast;
};

std::atomic<bool> g_stop_requested{false};

extern "C" void OnStopSignal(int) { g_stop_requested.store(true); }

// The first SIGINT/SIGTERM asks for a clean stop; SA_RESETHAND makes a second one fatal as usual.
void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool IsFashionMnist(const std::string& spec) { return spec.rfind("fashion-mnist", 0) == 0; }

std::string Percent(const std::optional<train::EvalResult>& r) {
  if (!r) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f%%  (%lld samples)", 100.0 * r->accuracy,
                static_cast<long long>(r->samples));
  return buf;
}

std::string Grouped(int64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void PrintReport(const TrainCommand& c, const model::Model& m, const train::TrainResult& r) {
  const zoo::ParamCount count = zoo::CountParameters(m.graph);
  auto summary = model::SummarizeGraph(m.graph);
  const std::string macs = summary && summary->total_macs >= 0
                               ? model::FormatCount(summary->total_macs) + " per image"
                               : "unknown";
  char timing[160];
  std::snprintf(timing, sizeof timing, "%s total, %.1f s/epoch, %.0f images/s (%d threads)",
                train::FormatDuration(r.train_seconds).c_str(), r.seconds_per_epoch,
                r.images_per_second, at::get_num_threads());
  std::cout << "trained " << c.arch << " on " << c.data << "\n"
            << "  input          " << ir::ShapeString(m.graph.inputs.at(0).shape) << "\n"
            << "  parameters     " << Grouped(count.trainable) << " (+ " << Grouped(count.buffers)
            << " BN statistics)\n"
            << "  MACs           " << macs << "\n"
            << "  samples        " << r.train_samples << " train, " << r.val_samples
            << " validation\n"
            << "  epochs         " << r.epochs_run << " of " << c.options.epochs << " ("
            << train::StopReasonName(r.stopped) << (r.resumed ? ", resumed" : "") << ")";
  if (r.best_epoch > 0) std::cout << "; best epoch " << r.best_epoch;
  std::cout << "\n"
            << "  val accuracy   " << Percent(r.val) << "\n"
            << "  test accuracy  " << Percent(r.test) << "\n"
            << "  time           " << timing << "\n";
  if (!c.options.checkpoint_dir.empty())
    std::cout << "  checkpoints    " << c.options.checkpoint_dir << "\n";
  if (!c.options.log_path.empty()) std::cout << "  log            " << c.options.log_path << "\n";
  std::cout << "wrote " << c.out << "\n";
}

void RunTrain(TrainCommand& c) {
  train::TrainOptions& o = c.options;
  o.augment = c.augment ? data::AugmentOptions{2, true} : data::AugmentOptions{};
  if (o.optimizer == "adamw") {  // AdamW wants a smaller step and a larger decay than SGD
    if (c.lr_flag->count() == 0) o.lr = 2e-3;
    if (c.wd_flag->count() == 0) o.weight_decay = 0.05;
  }
  if (c.checkpoint_flag->count() == 0) o.checkpoint_dir = c.out + ".ckpt";
  if (c.log_flag->count() == 0) o.log_path = c.out + ".jsonl";
  if (c.results_path.empty()) c.results_path = c.out + ".results.json";
  train::AstOptions from_recipe;
  if (!c.recipe_path.empty()) {
    const nlohmann::json recipe = ReadRecipeFile(c.recipe_path);
    if (!recipe.is_object()) Fail("recipe " + c.recipe_path + ": expected a mapping of keys");
    const auto& keys = train::AstRecipeKeys();
    for (const auto& [key, value] : recipe.items())
      if (std::find(keys.begin(), keys.end(), key) == keys.end())
        Fail("recipe " + c.recipe_path + ": unknown key '" + key +
             "' (a training recipe takes the ast_* keys; other settings are flags)");
    auto parsed = train::AstOptionsFromJson(recipe);
    if (!parsed) Fail("recipe " + c.recipe_path + ": " + parsed.error().message());
    from_recipe = *parsed;
  }
  o.ast = ResolveAstOptions(c.ast, from_recipe);

  auto train_set = data::LoadDataset(c.data, data::Split::kTrain);
  if (!train_set) Fail(train_set.error().message());
  auto test_set = data::LoadDataset(c.data, data::Split::kTest);
  if (!test_set) Fail(test_set.error().message());
  const data::Dataset train_data = StratifiedSubset(*train_set, c.train_samples, o.seed, "--train-samples");
  const data::Dataset test_data = StratifiedSubset(*test_set, c.test_samples, o.seed, "--test-samples");
  if (IsFashionMnist(c.data)) o.normalization = data::FashionMnistNormalization();

  auto m = std::make_optional(
      BuildZooModelFor(c.arch, train_data, c.image_size, c.small_input, o.seed));
  m->metadata["dataset"] = c.data;

  const std::filesystem::path out_dir = std::filesystem::path(c.out).parent_path();
  std::error_code ec;
  if (!out_dir.empty()) std::filesystem::create_directories(out_dir, ec);

  o.progress_stream = &std::cerr;
  o.progress_is_tty = train::ProgressReporter::StderrIsTty();
  o.stop_requested = &g_stop_requested;
  InstallStopHandlers();
  auto result = train::Train(*m, train_data, test_data, o);
  if (!result) Fail(result.error().message());
  if (auto saved = model::SaveHmc(*m, c.out); !saved)
    Fail("writing " + c.out + ": " + saved.error().message());
  nlohmann::json results = train::TrainResultToJson(*result);
  results["arch"] = c.arch;
  results["data"] = c.data;
  results["model"] = c.out;
  results["options"] = train::TrainOptionsToJson(o);
  if (auto written = WriteFileAtomically(c.results_path, results.dump(2) + "\n"); !written)
    Fail("writing " + c.results_path + ": " + written.error().message());
  PrintReport(c, *m, *result);
  std::cout << "wrote " << c.results_path << "\n";
}

}  // namespace

void RegisterTrain(CLI::App& app, const GlobalOptions& g) {
  auto c = std::make_shared<TrainCommand>();
  train::TrainOptions& o = c->options;
  CLI::App* cmd = app.add_subcommand(
      "train", "Train a zoo architecture on a dataset and save the best-validation model");
  cmd->add_option("--arch", c->arch, "zoo architecture")
      ->required()
      ->check(CLI::IsMember(zoo::ArchNames()));
  cmd->add_option("--data", c->data, "fashion-mnist, fashion-mnist:<dir> or an image folder")
      ->required();
  cmd->add_option("--out,-o", c->out, "output .hmc file")->required();
  cmd->add_option("--epochs", o.epochs, "training epochs")->capture_default_str()->check(
      CLI::PositiveNumber);
  cmd->add_option("--batch-size", o.batch_size, "training batch size")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--optimizer", o.optimizer, "sgd (Nesterov momentum) or adamw")
      ->capture_default_str()
      ->check(CLI::IsMember({"sgd", "adamw"}));
  c->lr_flag = cmd->add_option("--lr", o.lr, "peak learning rate (default 0.1 for sgd, 2e-3 "
                                             "for adamw)");
  cmd->add_option("--momentum", o.momentum, "SGD momentum")->capture_default_str();
  cmd->add_flag("--nesterov,!--no-nesterov", o.nesterov, "Nesterov momentum (SGD)")
      ->capture_default_str();
  c->wd_flag = cmd->add_option("--weight-decay", o.weight_decay,
                               "weight decay on conv/linear weights (default 5e-4 for sgd, 0.05 "
                               "for adamw)");
  cmd->add_option("--warmup-epochs", o.warmup_epochs, "linear warm-up epochs (may be fractional)")
      ->capture_default_str();
  cmd->add_option("--label-smoothing", o.label_smoothing, "label smoothing")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed for init, data order, augmentation, validation split")
      ->capture_default_str();
  cmd->add_option("--val-fraction", o.val_fraction,
                  "stratified fraction of the train split held out for validation")
      ->capture_default_str();
  cmd->add_flag("--augment,!--no-augment", c->augment,
                "random crop (pad 2) + horizontal flip (default: on; --no-augment turns it off)");
  cmd->add_flag("--small-input", c->small_input, "small-input (28-32 px) stem variant");
  cmd->add_option("--image-size", c->image_size,
                  "model input size; images are resized to it (default: the dataset's)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-minutes", o.max_minutes,
                  "stop after this many minutes (checkpointed; the best model is still saved)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--patience", o.patience,
                  "stop when val accuracy has not improved for N epochs (0: off)")
      ->check(CLI::NonNegativeNumber);
  c->checkpoint_flag =
      cmd->add_option("--checkpoint-dir", o.checkpoint_dir, "checkpoint directory (default <out>.ckpt)");
  cmd->add_flag("--resume", o.resume, "continue from the newest checkpoint");
  c->log_flag = cmd->add_option("--log", o.log_path, "JSONL epoch log (default <out>.jsonl)");
  cmd->add_option("--results", c->results_path,
                  "final results JSON: accuracy, time, cost, history (default <out>.results.json)");
  cmd->add_option("--recipe", c->recipe_path,
                  "YAML or JSON (*.json) file with the ast_* keys; the --ast* flags override it");
  AddAstFlags(cmd, c->ast);
  cmd->add_option("--eval-batch-size", o.eval_batch_size, "batch size for validation and test")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--train-samples", c->train_samples,
                  "train on a stratified subset of N samples (quick experiments, timing)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--test-samples", c->test_samples,
                  "report test accuracy on a stratified subset of N samples")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([c, &g] {
    ApplyGlobalOptions(g);
    RunTrain(*c);
  });
}

}  // namespace hadmc::cli
