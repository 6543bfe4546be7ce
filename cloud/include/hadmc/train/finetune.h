// Fine-tunes only some parameters of a model, e.g. the fp32 classifier head ("fc.") of a
// compressed int8 model, with cross-entropy; everything else is frozen and runs as at inference
// (BN running statistics, int8 kernels). Only the chosen tensors' bytes change, so a device that
// syncs the new version fetches only their blocks: a small, real model update.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/data/dataset.h"
#include "hadmc/data/normalization.h"
#include "hadmc/model/model.h"
#include "hadmc/train/input_transform.h"

namespace hadmc::train {

struct FinetuneOptions {
  std::vector<std::string> only;  // parameter-name prefixes to train, e.g. {"fc."}; at least one
  int64_t epochs = 1;
  int64_t batch_size = 128;
  double lr = 0.01;  // SGD, constant
  double momentum = 0.9;
  uint64_t seed = 0;                  // data order
  data::Normalization normalization;  // as the model was trained with
  BatchTransform batch_transform;     // MakeInputTransform's; may be empty
};

struct FinetuneResult {
  std::vector<std::string> trained;  // the parameters that were updated
  int64_t trained_elements = 0;
  int64_t steps = 0;
  double first_epoch_loss = 0;  // mean training cross-entropy of the first and last epoch
  double last_epoch_loss = 0;
  double last_epoch_accuracy = 0;  // top-1 on the training batches, in [0, 1]
};

// The trainable parameters (weights and biases, not BN statistics) whose names start with one of
// `prefixes`. Errors: no parameter matches (the message lists some that exist), or a match
// belongs to a node that does not run in fp32 (int8/int4/fp16 weights are not trainable).
Result<std::vector<std::string>> SelectFinetuneParameters(const ir::Graph& g,
                                                          const std::vector<std::string>& prefixes);

// Trains the selected parameters of `m` in place (requires_grad is off again on return) and
// records {"only", "epochs", "lr", "batch_size", "seed", "trained"} in m.metadata["finetune"].
// Preconditions: one [N, C, H, W] input and [N, classes] output matching `train`; an int8 model
// needs the int8 engine active (hal::ConfigureInt8Backend).
Result<FinetuneResult> FinetuneParameters(model::Model& m, const data::Dataset& train,
                                          const FinetuneOptions& options);

}  // namespace hadmc::train
