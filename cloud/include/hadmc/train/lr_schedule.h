// The learning-rate schedule, evaluated per optimizer step: a linear warm-up to the peak rate,
// then a half cosine down to min_lr at the end of the last epoch. A pure function of the step
// index, so a resumed run continues exactly where the interrupted one was.
#pragma once

#include <cstdint>

namespace hadmc::train {

struct LrSchedule {
  double peak_lr = 0.1;
  double min_lr = 0.0;
  int64_t warmup_steps = 0;  // steps [0, warmup_steps) ramp up linearly
  int64_t total_steps = 1;   // steps of the whole run (epochs x batches per epoch)

  // The rate for step `step` (0-based). Warm-up: peak * (step + 1) / warmup_steps, so the first
  // step already moves and the last warm-up step uses the peak. Then
  // min + (peak - min) * (1 + cos(pi * t)) / 2 with t = (step - warmup) / (total - warmup).
  // Steps past the end keep min_lr.
  double At(int64_t step) const;
};

// warmup_steps = round(warmup_epochs * steps_per_epoch), at most the total.
// Preconditions: epochs >= 1, steps_per_epoch >= 1, warmup_epochs >= 0.
LrSchedule MakeLrSchedule(double peak_lr, double warmup_epochs, int64_t steps_per_epoch,
                          int64_t epochs, double min_lr = 0.0);

}  // namespace hadmc::train
