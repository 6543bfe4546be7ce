#include "hadmc/train/lr_schedule.h"

#include <cmath>

#include <gtest/gtest.h>

namespace hadmc::train {
namespace {

TEST(LrScheduleTest, WarmsUpLinearlyThenFollowsCosine) {
  const LrSchedule s = MakeLrSchedule(0.1, 1.0, 10, 5);  // 10 warm-up steps of 50
  EXPECT_EQ(s.warmup_steps, 10);
  EXPECT_EQ(s.total_steps, 50);
  EXPECT_NEAR(s.At(0), 0.01, 1e-12);
  EXPECT_NEAR(s.At(4), 0.05, 1e-12);
  EXPECT_NEAR(s.At(9), 0.1, 1e-12);
  EXPECT_NEAR(s.At(10), 0.1, 1e-12);  // cosine starts at the peak
  EXPECT_NEAR(s.At(30), 0.05, 1e-12);  // halfway through the decay
  EXPECT_NEAR(s.At(20), 0.05 * (1 + std::cos(M_PI * 0.25)), 1e-12);
  EXPECT_GT(s.At(49), 0.0);
  EXPECT_LT(s.At(49), 1e-3);
  EXPECT_EQ(s.At(50), 0.0);
  EXPECT_EQ(s.At(1000), 0.0);
  for (int64_t step = 10; step < 50; ++step) EXPECT_LE(s.At(step + 1), s.At(step)) << step;
}

TEST(LrScheduleTest, FractionalWarmupRoundsToSteps) {
  EXPECT_EQ(MakeLrSchedule(0.1, 0.5, 10, 3).warmup_steps, 5);
  EXPECT_EQ(MakeLrSchedule(0.1, 0.25, 10, 3).warmup_steps, 3);  // 2.5 rounds half away from zero
  EXPECT_EQ(MakeLrSchedule(0.1, 10.0, 10, 3).warmup_steps, 30);  // clamped to the run
}

TEST(LrScheduleTest, NoWarmupStartsAtPeakAndMinLrIsTheFloor) {
  const LrSchedule s = MakeLrSchedule(0.2, 0.0, 4, 2, 0.02);
  EXPECT_NEAR(s.At(0), 0.2, 1e-12);
  EXPECT_NEAR(s.At(4), 0.11, 1e-12);
  EXPECT_NEAR(s.At(8), 0.02, 1e-12);
  EXPECT_GT(s.At(7), 0.02);
}

}  // namespace
}  // namespace hadmc::train
