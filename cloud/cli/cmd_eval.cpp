// `hadmc eval model.hmc --data fashion-mnist [--split test|train] [--json]`: top-1, loss,
// per-class accuracy and the confusion matrix, preprocessing the images with the normalization
// recorded in the model's metadata at training time.
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "hadmc/common/log.h"
#include "hadmc/data/dataset_registry.h"
#include "hadmc/exec/executor.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/train/evaluate.h"
#include "hadmc/train/input_transform.h"
#include "hadmc/train/model_metadata.h"

namespace hadmc::cli {
namespace {

struct EvalCommand {
  std::string model_path;
  std::string data;  // empty: the model's "dataset" metadata
  std::string split = "test";
  int64_t batch_size = 512;
  bool json = false;
};

data::Normalization ResolveNormalization(const model::Model& m, const std::string& data_spec) {
  auto norm = train::NormalizationFromMetadata(m.metadata);
  if (!norm) Fail(norm.error().message());
  if (*norm) return **norm;
  if (data_spec.rfind("fashion-mnist", 0) == 0) {
    Log().warn("the model records no normalization; using the Fashion-MNIST statistics");
    return data::FashionMnistNormalization();
  }
  Log().warn("the model records no normalization; pixels are only scaled to [0, 1]");
  return {};
}

void RunEval(const EvalCommand& c) {
  auto m = model::LoadHmc(c.model_path);
  if (!m) Fail("loading " + c.model_path + ": " + m.error().message());
  std::string spec = c.data;
  if (spec.empty()) {
    auto it = m->metadata.find("dataset");
    if (it == m->metadata.end())
      Fail("the model does not record its dataset; pass --data");
    spec = it->second;
  }
  auto dataset = data::LoadDataset(spec, c.split == "train" ? data::Split::kTrain
                                                            : data::Split::kTest);
  if (!dataset) Fail(dataset.error().message());
  auto names = train::ClassNamesFromMetadata(m->metadata);
  if (!names) Fail(names.error().message());
  if (*names && **names != dataset->class_names)
    Log().warn("the model was trained on classes that differ from {}'s", spec);

  const data::Normalization norm = ResolveNormalization(*m, spec);
  auto transform = train::MakeInputTransform(m->graph, *dataset);
  if (!transform) Fail(transform.error().message());
  auto executor = exec::Executor::Create(*m);
  if (!executor) Fail(executor.error().message());
  auto result = train::Evaluate(*executor, *dataset, {c.batch_size, norm, *transform});
  if (!result) Fail(result.error().message());

  if (c.json) {
    nlohmann::json j = train::EvalResultToJson(*result);
    j["model"] = c.model_path;
    j["data"] = spec;
    j["split"] = c.split;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "model  " << c.model_path << "\n"
            << "data   " << spec << " (" << c.split << ")\n\n"
            << train::FormatEvalReport(*result);
}

}  // namespace

void RegisterEval(CLI::App& app, const GlobalOptions& g) {
  auto c = std::make_shared<EvalCommand>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Evaluate a .hmc classifier: top-1, loss, per-class accuracy, confusion matrix");
  cmd->add_option("model", c->model_path, ".hmc model file")->required();
  cmd->add_option("--data", c->data,
                  "fashion-mnist, fashion-mnist:<dir> or an image folder (default: the dataset "
                  "recorded in the model)");
  cmd->add_option("--split", c->split, "test or train")
      ->capture_default_str()
      ->check(CLI::IsMember({"test", "train"}));
  cmd->add_option("--batch-size", c->batch_size, "evaluation batch size")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", c->json, "machine-readable output");
  cmd->callback([c, &g] {
    ApplyGlobalOptions(g);
    RunEval(*c);
  });
}

}  // namespace hadmc::cli
