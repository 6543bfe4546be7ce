// Training checkpoints, so a killed or time-limited run continues where it stopped.
//
// A checkpoint with sequence number N in the checkpoint directory is:
//   ckpt-N.hmc     the model being trained (SaveHmc layout; BN running statistics included)
//   ckpt-N.optim   the optimizer state (torch::save: momentum / Adam moments, per group)
//   best-N.hmc     the best-validation model, when it changed since the previous checkpoint
//                  (otherwise the JSON points at an older best-M.hmc)
//   ckpt-N.json    the run state (epoch, batch, optimizer step, best metric, history, options)
//                  and the size and CRC-32 of every file above.
// Every file is written atomically, and the JSON last: a checkpoint exists only once all its
// files are complete, and a file damaged later fails its CRC. Loading takes the newest checkpoint
// that passes every check and says why it skipped newer ones. The two newest checkpoints are
// kept, so there is always a previous one to fall back to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"
#include "hadmc/model/model.h"
#include "hadmc/train/train_log.h"

namespace torch::optim {
class Optimizer;
}

namespace hadmc::train {

struct CheckpointState {
  int64_t sequence = 0;    // assigned by Save (previous + 1)
  int64_t epoch = 0;       // 0-based epoch the run continues with
  int64_t next_batch = 0;  // batch of `epoch` to continue at; 0 = the epoch has not started
  int64_t step = 0;        // optimizer steps done: the LR schedule position
  double train_seconds = 0;  // wall time of all sessions so far
  std::optional<double> best_val_accuracy;
  int64_t best_epoch = 0;  // 1-based; 0 = none yet
  int64_t epochs_without_improvement = 0;
  std::vector<EpochRecord> history;  // finished epochs
  nlohmann::json epoch_progress = nlohmann::json::object();  // accumulators of a partial epoch
  nlohmann::json options = nlohmann::json::object();         // TrainOptionsToJson
  nlohmann::json step_state = nlohmann::json::object();      // TrainStep::SaveState
  std::string best_file;  // set by Save
};

struct LoadedCheckpoint {
  CheckpointState state;
  model::Model model;
  std::optional<model::Model> best;  // absent when no best model was recorded
  std::string json_path;
};

class CheckpointStore {
 public:
  // `keep` >= 1 checkpoints are retained (default 2).
  explicit CheckpointStore(std::string dir, int keep = 2);

  const std::string& dir() const { return dir_; }

  // Creates the directory if needed and removes the checkpoint files of an earlier run (a fresh
  // run must never resume into stale state). Other files are left alone.
  Status Reset();

  // Writes checkpoint state.sequence + 1 (and updates state.sequence and state.best_file).
  // `best` is the best model when it changed since the last Save, else nullptr. The optimizer
  // must hold the model's parameters. Older checkpoints beyond `keep` are removed afterwards.
  Status Save(const model::Model& model, const torch::optim::Optimizer& optimizer,
              const model::Model* best, CheckpointState& state);

  // The newest usable checkpoint; its optimizer state is loaded into `optimizer` (which must be
  // built over the same parameters in the same order). std::nullopt when the directory has no
  // checkpoint; an error (Errc::kCorrupt) naming each problem when none is usable.
  Result<std::optional<LoadedCheckpoint>> LoadLatest(torch::optim::Optimizer& optimizer) const;

 private:
  std::string Path(const std::string& name) const;
  std::vector<int64_t> Sequences() const;  // of ckpt-N.json files, ascending
  Result<LoadedCheckpoint> Load(int64_t sequence, torch::optim::Optimizer& optimizer) const;
  void RemoveOld(int64_t newest);

  std::string dir_;
  int keep_;
};

}  // namespace hadmc::train
