// The per-epoch training record and its JSONL log: one JSON object per line, one line per epoch,
// so `jq` or pandas.read_json(lines=True) can plot a run while it trains.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"

namespace hadmc::train {

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  bool complete = true;  // false: the run stopped inside this epoch (max minutes, signal)
  double lr = 0;         // learning rate of the epoch's last step
  int64_t steps = 0;     // optimizer steps in this epoch
  int64_t samples = 0;   // training samples seen in this epoch
  int64_t backpropagated = 0;
  double train_loss = 0;
  double train_acc = 0;
  std::optional<double> val_loss;  // absent without a validation split
  std::optional<double> val_acc;
  bool best = false;  // this epoch's weights are the best so far
  double epoch_seconds = 0;  // training plus validation
  double images_per_second = 0;  // training samples / training seconds
  // Measured cost of the epoch's training loop (validation excluded) and its estimates.
  int64_t scored = 0;        // samples run forward without autograd (AST's scoring pass)
  double train_seconds = 0;  // wall time of the training loop
  double step_ms = 0;        // train_seconds / steps
  // 2 * MACs * (scored + 3 * backpropagated): a forward pass counted as 1, a backward as 2.
  // 0 when the model's MAC count is unknown.
  double est_gflops = 0;
  std::optional<double> energy_j;  // of the training loop; absent when neither meter nor TDP known
  bool energy_measured = false;    // false: the hardware profile's TDP x train_seconds
  std::string energy_source;       // "rapl:…", "tdp-estimate:x86_cpu", ...
  nlohmann::json extra = nlohmann::json::object();  // TrainStep::EpochStats()
};

// Keys: epoch, complete, lr, steps, samples, backpropagated, scored, train_loss, train_acc,
// val_loss, val_acc (null when absent), best, epoch_seconds, images_per_second, train_seconds,
// step_ms, est_gflops, energy_j (null when unknown), energy_measured, energy_source, then the
// extra keys (adaptive sparse training adds activation_rate, threshold, ...). Logs written
// before the cost keys existed still parse (the keys take their defaults).
nlohmann::json EpochRecordToJson(const EpochRecord& r);
Result<EpochRecord> EpochRecordFromJson(const nlohmann::json& j);

// The log file. Open() rewrites it from `history` (a resumed run's log then matches its
// checkpoint, whatever the interrupted run managed to append), then Append adds one line per
// epoch, flushed at once.
class TrainLog {
 public:
  static Result<std::unique_ptr<TrainLog>> Open(const std::string& path,
                                                const std::vector<EpochRecord>& history);
  Status Append(const EpochRecord& r);
  const std::string& path() const { return path_; }

 private:
  TrainLog(std::string path, std::ofstream out) : path_(std::move(path)), out_(std::move(out)) {}
  std::string path_;
  std::ofstream out_;
};

}  // namespace hadmc::train
