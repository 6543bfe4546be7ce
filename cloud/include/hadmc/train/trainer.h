// Trains a model in place through the executor (no hand-written model classes).
//
//   data::Dataset train = *data::LoadDataset("fashion-mnist", data::Split::kTrain);
//   data::Dataset test = *data::LoadDataset("fashion-mnist", data::Split::kTest);
//   model::Model m = *zoo::BuildModel("resnet8", {});
//   TrainOptions o;  // defaults: the Fashion-MNIST recipe
//   o.normalization = data::FashionMnistNormalization();
//   o.checkpoint_dir = "base.hmc.ckpt";
//   auto result = Train(m, train, test, o);  // m now holds the best-validation weights
//
// The run: a stratified val_fraction of `train` is held out (seeded); the rest is shuffled and
// augmented per epoch by a DataLoader whose order depends only on (seed, epoch); each step sets
// the scheduled learning rate and runs the TrainStep; each epoch ends with validation, best-model
// tracking, early stopping, a checkpoint and a JSONL record. max_minutes and stop_requested stop
// after the current batch: the run is checkpointed mid-epoch and still reports its best model.
// A resumed run (options.resume) continues at the exact step, batch and data order, so it ends
// with the same weights as an uninterrupted run (deterministic given the thread count).
// The test split is evaluated once, at the end, on the returned model.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/data/dataset.h"
#include "hadmc/data/normalization.h"
#include "hadmc/model/model.h"
#include "hadmc/train/evaluate.h"
#include "hadmc/train/train_log.h"
#include "hadmc/train/train_options.h"

namespace hadmc::train {

enum class StopReason {
  kCompleted,      // all epochs ran
  kMaxMinutes,     // the time budget ran out
  kEarlyStopping,  // validation accuracy stopped improving (patience)
  kRequested,      // stop_requested was set or on_epoch_end returned false
};
const char* StopReasonName(StopReason r);  // "completed", "max_minutes", ...

struct TrainResult {
  std::vector<EpochRecord> history;  // finished epochs, including earlier sessions'
  int64_t epochs_run = 0;            // finished epochs
  int64_t best_epoch = 0;            // 1-based epoch of the returned weights; 0 = last weights
  StopReason stopped = StopReason::kCompleted;
  bool resumed = false;
  std::optional<EvalResult> val;   // of the returned model; absent when val_fraction == 0
  std::optional<EvalResult> test;  // of the returned model; absent when `test` is empty
  data::Normalization normalization;  // used for training and evaluation
  int64_t train_samples = 0;          // after the validation hold-out
  int64_t val_samples = 0;
  double train_seconds = 0;      // wall time of every session (training + validation)
  double seconds_per_epoch = 0;  // mean over this session's finished epochs
  double images_per_second = 0;  // training throughput of this session
};

// Trains `model` (its tensors are updated in place; on return they are the best-validation
// weights when options.select_best and a validation split exist, else the last ones, with
// requires_grad off) and records training metadata in model.metadata (model_metadata.h).
// Preconditions: the model has one [N, C, H, W] input and [N, num_classes] output matching
// `train`; `test` (may be empty) has the same classes.
Result<TrainResult> Train(model::Model& model, const data::Dataset& train,
                          const data::Dataset& test, const TrainOptions& options);

// The run's results: {"stopped", "resumed", "epochs_run", "best_epoch", "best_val_acc",
// "val_acc", "test_acc" (null when absent), "train_samples", "val_samples", "train_seconds",
// "seconds_per_epoch", "images_per_second", "loop_seconds", "backpropagated", "scored",
// "est_gflops", "energy_j", "energy_measured", "energy_source", "history": [epoch records]}.
// The totals sum the history's epochs.
nlohmann::json TrainResultToJson(const TrainResult& r);

}  // namespace hadmc::train
