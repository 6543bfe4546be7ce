#include "hadmc/train/optimizer.h"

#include <torch/torch.h>

#include <map>

namespace hadmc::train {

DecayGroups SplitWeightDecay(const ir::Graph& graph, const std::vector<std::string>& trainable) {
  std::map<std::string, bool> decays;  // parameter name -> decays
  for (const ir::Node& n : graph.nodes) {
    for (const auto& [slot, param] : n.params) {
      const bool decay = slot == "weight" && n.op != "batch_norm";
      // A parameter shared by several nodes decays only if every use is a weight.
      auto [it, inserted] = decays.emplace(param, decay);
      if (!inserted) it->second = it->second && decay;
    }
  }
  DecayGroups groups;
  for (const std::string& name : trainable) {
    auto it = decays.find(name);
    (it != decays.end() && it->second ? groups.decay : groups.no_decay).push_back(name);
  }
  return groups;
}

Result<std::unique_ptr<torch::optim::Optimizer>> MakeOptimizer(const exec::Executor& executor,
                                                               const OptimizerSettings& s) {
  const DecayGroups names = SplitWeightDecay(executor.graph(), executor.TrainableParameterNames());
  std::vector<at::Tensor> decay, no_decay;
  for (const auto& n : names.decay) decay.push_back(executor.tensors().at(n));
  for (const auto& n : names.no_decay) no_decay.push_back(executor.tensors().at(n));
  try {
    if (s.name == "sgd") {
      auto with_decay = std::make_unique<torch::optim::SGDOptions>(s.lr);
      with_decay->momentum(s.momentum).nesterov(s.nesterov).weight_decay(s.weight_decay);
      auto without = std::make_unique<torch::optim::SGDOptions>(*with_decay);
      without->weight_decay(0.0);
      std::vector<torch::optim::OptimizerParamGroup> groups;
      groups.emplace_back(decay, std::move(with_decay));
      groups.emplace_back(no_decay, std::move(without));
      return std::unique_ptr<torch::optim::Optimizer>(
          new torch::optim::SGD(groups, torch::optim::SGDOptions(s.lr)));
    }
    if (s.name == "adamw") {
      auto with_decay = std::make_unique<torch::optim::AdamWOptions>(s.lr);
      with_decay->weight_decay(s.weight_decay);
      auto without = std::make_unique<torch::optim::AdamWOptions>(*with_decay);
      without->weight_decay(0.0);
      std::vector<torch::optim::OptimizerParamGroup> groups;
      groups.emplace_back(decay, std::move(with_decay));
      groups.emplace_back(no_decay, std::move(without));
      return std::unique_ptr<torch::optim::Optimizer>(
          new torch::optim::AdamW(groups, torch::optim::AdamWOptions(s.lr)));
    }
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, "creating optimizer '" + s.name + "': " + e.what());
  }
  return MakeError(Errc::kInvalidArgument, "unknown optimizer '" + s.name + "' (known: sgd, adamw)");
}

void SetLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double GroupWeightDecay(const torch::optim::Optimizer& optimizer, size_t group) {
  const auto& options = optimizer.param_groups().at(group).options();
  if (auto* sgd = dynamic_cast<const torch::optim::SGDOptions*>(&options))
    return sgd->weight_decay();
  if (auto* adamw = dynamic_cast<const torch::optim::AdamWOptions*>(&options))
    return adamw->weight_decay();
  return 0.0;
}

}  // namespace hadmc::train
