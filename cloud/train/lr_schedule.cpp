#include "hadmc/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace hadmc::train {

double LrSchedule::At(int64_t step) const {
  step = std::max<int64_t>(step, 0);
  if (step < warmup_steps)
    return peak_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  const int64_t decay_steps = total_steps - warmup_steps;
  if (decay_steps <= 0 || step >= total_steps) return min_lr;
  const double t = static_cast<double>(step - warmup_steps) / static_cast<double>(decay_steps);
  return min_lr + (peak_lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * t));
}

LrSchedule MakeLrSchedule(double peak_lr, double warmup_epochs, int64_t steps_per_epoch,
                          int64_t epochs, double min_lr) {
  LrSchedule s;
  s.peak_lr = peak_lr;
  s.min_lr = min_lr;
  s.total_steps = std::max<int64_t>(1, steps_per_epoch * epochs);
  const auto warmup = static_cast<int64_t>(std::llround(warmup_epochs * steps_per_epoch));
  s.warmup_steps = std::clamp<int64_t>(warmup, 0, s.total_steps);
  return s;
}

}  // namespace hadmc::train
