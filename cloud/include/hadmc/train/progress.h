// The live progress line of a training run: epoch, batch/total, running loss and accuracy,
// images/s and ETA. On a terminal it rewrites one line with carriage returns (a few times a
// second); otherwise (a log file, CI) it writes a full line about every 10 s, so logs stay short.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace hadmc::train {

struct ProgressSnapshot {
  int64_t epoch = 1;  // 1-based
  int64_t epochs = 1;
  int64_t batch = 0;  // batches done in this epoch
  int64_t batches = 0;
  double loss = 0;      // running mean over the epoch so far
  double accuracy = 0;  // running top-1 over the epoch so far, in [0, 1]
  double images_per_second = 0;
  double eta_seconds = -1;  // < 0: unknown
};

// "epoch 3/15  batch 120/422  loss 0.3121  acc 88.70%  2410 img/s  ETA 4m05s"
std::string FormatProgress(const ProgressSnapshot& s);
// 5 -> "5s", 65 -> "1m05s", 3725 -> "1h02m05s"; negative -> "?".
std::string FormatDuration(double seconds);

class ProgressReporter {
 public:
  // `out` == nullptr: lines go to the project logger (info). Intervals are in seconds.
  ProgressReporter(std::ostream* out, bool tty, double line_interval = 10.0,
                   double tty_interval = 0.25);
  // Shows `s` if the interval since the last shown update has passed (always the first time).
  void Update(const ProgressSnapshot& s);
  // Ends the transient line on a terminal (so the next log line starts clean).
  void Clear();
  // True when stderr is a terminal.
  static bool StderrIsTty();

 private:
  std::ostream* out_;
  bool tty_;
  double interval_;
  bool shown_ = false;
  size_t last_width_ = 0;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace hadmc::train
