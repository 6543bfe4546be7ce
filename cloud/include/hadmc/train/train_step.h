// One optimization step on one batch, kept behind an interface so the trainer's loop does not
// care how a step chooses what to back-propagate: the default step back-propagates the mean
// cross-entropy of every sample; adaptive sparse training (a later issue) back-propagates only
// the samples it selects and keeps its controller state in the checkpoint through
// SaveState/LoadState.
#pragma once

#include <cstdint>
#include <memory>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"
#include "hadmc/data/data_loader.h"
#include "hadmc/exec/executor.h"
#include "hadmc/train/train_options.h"

namespace torch::optim {
class Optimizer;
}

namespace hadmc::train {

struct StepResult {
  double loss_sum = 0;             // sum over the batch of the per-sample training loss
  int64_t correct = 0;             // top-1 hits among the batch's samples
  int64_t samples = 0;             // samples in the batch
  int64_t backpropagated = 0;      // samples whose loss reached the backward pass
  int64_t scored = 0;  // samples run forward without autograd to choose what to back-propagate
};

// What a step may use. The trainer sets the learning rate on `optimizer` before each Run.
struct TrainStepContext {
  const exec::Executor& executor;
  torch::optim::Optimizer& optimizer;
  const TrainOptions& options;
};

class TrainStep {
 public:
  virtual ~TrainStep() = default;
  // Forward in Mode::kTrain, loss, backward, optimizer update. Errors leave the parameters as
  // they were before the update (or partially updated: the caller then abandons the run).
  virtual Result<StepResult> Run(const data::Batch& batch) = 0;
  // Multiplies the loss that is back-propagated (not the reported one) by `scale` from the next
  // Run on (1 by default). Adaptive sparse training sets active / batch for the next sub-batch,
  // so its gradient is that of the whole batch's mean loss with the inactive samples' terms at 0.
  virtual void SetLossScale(double scale) = 0;
  // Called before the first batch of each epoch (also a resumed, partial one).
  virtual void BeginEpoch(int64_t /*epoch*/) {}
  // Extra per-epoch fields merged into the epoch's log record (e.g. activation rate).
  virtual nlohmann::json EpochStats() const { return nlohmann::json::object(); }
  // State a resumed run needs (e.g. a controller's threshold); stored in the checkpoint.
  virtual nlohmann::json SaveState() const { return nlohmann::json::object(); }
  virtual Status LoadState(const nlohmann::json& /*state*/) { return {}; }
};

// Mean cross-entropy (with options.label_smoothing) over the whole batch, back-propagated.
std::unique_ptr<TrainStep> MakeCrossEntropyStep(const TrainStepContext& context);

}  // namespace hadmc::train
