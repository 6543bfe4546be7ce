// Everything that decides a training run: schedule, optimizer, data order, stopping rules and
// where checkpoints and the per-epoch log go. The defaults are the Fashion-MNIST recipe measured
// in docs/training.md (SGD, Nesterov momentum 0.9, lr 0.1 at batch 128, one warm-up epoch then
// cosine, weight decay 5e-4, crop padding 2 + horizontal flip).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"
#include "hadmc/data/augment.h"
#include "hadmc/data/normalization.h"
#include "hadmc/train/ast_options.h"

namespace hadmc::train {

struct EpochRecord;
struct TrainStepContext;
class TrainStep;

// Builds the training step (forward, loss, backward, optimizer update) for one run. The default
// is plain cross-entropy on every sample (MakeCrossEntropyStep); adaptive sparse training plugs
// its own step in here.
using TrainStepFactory =
    std::function<Result<std::unique_ptr<TrainStep>>(const TrainStepContext& context)>;

struct TrainOptions {
  int64_t epochs = 15;
  int64_t batch_size = 128;

  // Optimizer: "sgd" (momentum, optionally Nesterov) or "adamw" (betas 0.9/0.999). Weight decay
  // applies to conv and linear weights only, never to batch-norm parameters or biases.
  std::string optimizer = "sgd";
  double lr = 0.1;  // peak learning rate, reached at the end of the warm-up
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 5e-4;
  double warmup_epochs = 1.0;  // linear warm-up, may be fractional; cosine decay to 0 after it
  double label_smoothing = 0.0;

  uint64_t seed = 0;  // data order, augmentation and the validation hold-out
  // Stratified fraction of the train split held out for per-epoch validation, best-model
  // selection and early stopping (the test split is evaluated once, at the end). 0: no
  // validation; the last epoch's weights are the result.
  double val_fraction = 0.1;
  data::AugmentOptions augment{2, true};
  // Empty: computed from the training samples (Fashion-MNIST callers pass its usual statistics).
  data::Normalization normalization;

  double max_minutes = 0;  // > 0: stop after the batch that exceeds it, checkpoint, report
  int64_t patience = 0;    // > 0: stop when val accuracy has not improved for this many epochs
  bool select_best = true;  // the result is the best-validation model, else the last weights

  std::string checkpoint_dir;  // empty: no checkpoints (and no resume)
  bool resume = false;         // continue from the newest usable checkpoint in checkpoint_dir
  std::string log_path;        // JSONL, one object per epoch; empty: no log file

  int64_t eval_batch_size = 512;
  int threads = 0;  // > 0: LibTorch intra-op threads for the run; 0: leave as configured

  // Where the live progress line goes (e.g. &std::cerr from the CLI); nullptr: a log line every
  // ~10 s through the project logger.
  std::ostream* progress_stream = nullptr;
  bool progress_is_tty = false;  // carriage-return updates instead of one line per interval

  // Set from a signal handler to stop like max_minutes does (after the current batch).
  const std::atomic<bool>* stop_requested = nullptr;
  // Called after each finished epoch (after its checkpoint); return false to stop the run.
  std::function<bool(const EpochRecord&)> on_epoch_end;
  TrainStepFactory make_step;  // empty: MakeCrossEntropyStep
  // Adaptive sparse training (ast.h): when enabled, whatever step make_step builds is wrapped so
  // it trains only on each batch's significant samples.
  AstOptions ast;
};

// Checks ranges (epochs >= 1, batch size >= 1, lr > 0, 0 <= val_fraction < 1, known optimizer,
// resume needs a checkpoint dir, ...). Errors name the offending option.
Status ValidateTrainOptions(const TrainOptions& o);

// The options that define the run's trajectory (everything but paths, threads and callbacks), as
// recorded in checkpoints and model metadata.
nlohmann::json TrainOptionsToJson(const TrainOptions& o);

// Names of the trajectory options whose values differ between two TrainOptionsToJson objects,
// ignoring those a resumed run may change (epochs, max_minutes, patience, select_best,
// eval_batch_size).
std::vector<std::string> ResumeIncompatibleOptions(const nlohmann::json& saved,
                                                   const nlohmann::json& current);

}  // namespace hadmc::train
