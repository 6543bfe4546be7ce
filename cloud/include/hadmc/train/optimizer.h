// The optimizer over an executor's trainable parameters: SGD (momentum, optionally Nesterov) or
// AdamW, from torch::optim, with two parameter groups so weight decay reaches conv and linear
// weights but never batch-norm parameters or biases (decaying those only hurts accuracy).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/exec/executor.h"
#include "hadmc/ir/graph.h"

namespace torch::optim {
class Optimizer;
}

namespace hadmc::train {

struct OptimizerSettings {
  std::string name = "sgd";  // "sgd" or "adamw"
  double lr = 0.1;
  double momentum = 0.9;  // SGD only
  bool nesterov = true;   // SGD only
  double weight_decay = 5e-4;
};

// Trainable parameter names split by whether weight decay applies: a parameter decays when it
// fills a node's "weight" slot and that node is not a batch_norm. Both lists keep the order of
// `trainable` (the executor's graph order), so optimizer state saved by one run loads into
// another.
struct DecayGroups {
  std::vector<std::string> decay;
  std::vector<std::string> no_decay;
};
DecayGroups SplitWeightDecay(const ir::Graph& graph, const std::vector<std::string>& trainable);

// param_groups()[0] = decay group (settings.weight_decay), [1] = no-decay group (0); an empty
// group is still present so the layout never depends on the model. Errors: unknown name.
Result<std::unique_ptr<torch::optim::Optimizer>> MakeOptimizer(const exec::Executor& executor,
                                                               const OptimizerSettings& settings);

// Sets the learning rate of every parameter group.
void SetLearningRate(torch::optim::Optimizer& optimizer, double lr);

// The weight decay of parameter group `group` (for tests and reports).
double GroupWeightDecay(const torch::optim::Optimizer& optimizer, size_t group);

}  // namespace hadmc::train
