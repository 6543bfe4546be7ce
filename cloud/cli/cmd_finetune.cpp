// `hadmc finetune small.hmc --only fc. --epochs 1 --out v2.hmc`: trains only the parameters
// whose names start with a prefix (e.g. the fp32 classifier head of a compressed int8 model),
// everything else frozen, and reports test accuracy before and after. The new file differs from
// the old one only in those tensors (and the metadata), so publishing it as the next version
// sends devices only those blocks.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "hadmc/common/log.h"
#include "hadmc/exec/executor.h"
#include "hadmc/hal/int8_backend.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/train/evaluate.h"
#include "hadmc/train/finetune.h"
#include "hadmc/train/model_metadata.h"
#include "model_data.h"

namespace hadmc::cli {
namespace {

struct FinetuneCommand {
  std::string model_path, out_path, data;
  train::FinetuneOptions options;
};

train::EvalResult Test(const model::Model& m, const data::Dataset& test,
                       const train::FinetuneOptions& o) {
  auto executor = exec::Executor::Create(m);
  if (!executor) Fail(executor.error().message());
  auto r = train::Evaluate(*executor, test, {512, o.normalization, o.batch_transform});
  if (!r) Fail("evaluating: " + r.error().message());
  return *r;
}

void RunFinetune(FinetuneCommand& c) {
  if (auto b = hal::ConfigureInt8Backend(); !b)
    Log().warn("no int8 engine ({}); int8 models will not load", b.error().message());
  auto m = model::LoadHmc(c.model_path);
  if (!m) Fail("loading " + c.model_path + ": " + m.error().message());
  // Refuse a bad --only before loading data and evaluating.
  if (auto names = train::SelectFinetuneParameters(m->graph, c.options.only); !names)
    Fail("--only: " + names.error().message());
  const TrainTest data = LoadTrainTest(*m, c.data);
  auto norm = train::NormalizationFromMetadata(m->metadata);
  if (!norm) Fail(norm.error().message());
  if (!*norm) Fail("the model records no normalization (train it with `hadmc train`)");
  train::FinetuneOptions& o = c.options;
  o.normalization = **norm;
  auto transform = train::MakeInputTransform(m->graph, data.train);
  if (!transform) Fail(transform.error().message());
  o.batch_transform = *transform;

  const train::EvalResult before = Test(*m, data.test, o);
  auto r = train::FinetuneParameters(*m, data.train, o);
  if (!r) Fail(r.error().message());
  const train::EvalResult after = Test(*m, data.test, o);
  m->metadata["test_accuracy"] = nlohmann::json(after.accuracy).dump();  // as the trainer writes it
  if (auto saved = model::SaveHmc(*m, c.out_path); !saved)
    Fail("writing " + c.out_path + ": " + saved.error().message());

  std::string names;
  for (const auto& n : r->trained) names += (names.empty() ? "" : ", ") + n;
  char line[256];
  std::cout << "fine-tuned " << names << " (" << r->trained_elements << " values); every other "
            << "tensor unchanged\n";
  std::snprintf(line, sizeof line, "  %lld epoch(s), %lld steps; mean train loss ",
                static_cast<long long>(o.epochs), static_cast<long long>(r->steps));
  std::cout << line;
  if (o.epochs > 1) {
    std::snprintf(line, sizeof line, "%.4f (first epoch) -> ", r->first_epoch_loss);
    std::cout << line;
  }
  std::snprintf(line, sizeof line, "%.4f, train accuracy %.2f%%\n", r->last_epoch_loss,
                100.0 * r->last_epoch_accuracy);
  std::cout << line;
  std::snprintf(line, sizeof line,
                "  test accuracy %.2f%% -> %.2f%%, test loss %.4f -> %.4f (%lld samples)\n",
                100.0 * before.accuracy, 100.0 * after.accuracy, before.loss, after.loss,
                static_cast<long long>(data.test.size()));
  std::cout << line << "wrote " << c.out_path << "\n";
}

}  // namespace

void RegisterFinetune(CLI::App& app, const GlobalOptions& g) {
  auto c = std::make_shared<FinetuneCommand>();
  train::FinetuneOptions& o = c->options;
  CLI::App* cmd = app.add_subcommand(
      "finetune",
      "Train only some parameters of a .hmc (e.g. the classifier head), the rest frozen");
  cmd->add_option("model", c->model_path, ".hmc model (fp32, or compressed with fp32 layers)")
      ->required();
  cmd->add_option("--only", o.only,
                  "parameter-name prefix to train, e.g. fc. (repeatable); parameters of int8, "
                  "int4 or fp16 nodes cannot be trained")
      ->required();
  cmd->add_option("-o,--out", c->out_path, ".hmc to write")->required();
  cmd->add_option("--data", c->data, "dataset (default: the one recorded in the model)");
  cmd->add_option("--epochs", o.epochs, "epochs")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", o.batch_size, "batch size")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--lr", o.lr, "SGD learning rate (constant, momentum 0.9)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o.seed, "seed for the data order")->capture_default_str();
  cmd->callback([c, &g] {
    ApplyGlobalOptions(g);
    RunFinetune(*c);
  });
}

}  // namespace hadmc::cli
