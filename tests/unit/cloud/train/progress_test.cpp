#include "hadmc/train/progress.h"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hadmc::train {
namespace {

using ::testing::HasSubstr;

TEST(ProgressTest, FormatsDurations) {
  EXPECT_EQ(FormatDuration(5), "5s");
  EXPECT_EQ(FormatDuration(65), "1m05s");
  EXPECT_EQ(FormatDuration(3725), "1h02m05s");
  EXPECT_EQ(FormatDuration(-1), "?");
}

TEST(ProgressTest, LineHasEpochBatchLossAccuracyThroughputAndEta) {
  ProgressSnapshot s{3, 15, 120, 422, 0.31214, 0.887, 2410.4, 245};
  EXPECT_EQ(FormatProgress(s),
            "epoch 3/15  batch 120/422  loss 0.3121  acc 88.70%  2410 img/s  ETA 4m05s");
  s.eta_seconds = -1;
  EXPECT_THAT(FormatProgress(s), ::testing::Not(HasSubstr("ETA")));
}

TEST(ProgressTest, NonTerminalWritesWholeLinesAtMostOncePerInterval) {
  std::ostringstream out;
  ProgressReporter p(&out, /*tty=*/false, /*line_interval=*/3600);
  ProgressSnapshot s{1, 2, 1, 10, 1.0, 0.5, 100, 10};
  p.Update(s);
  s.batch = 2;
  p.Update(s);  // within the interval: dropped
  EXPECT_EQ(out.str(), FormatProgress({1, 2, 1, 10, 1.0, 0.5, 100, 10}) + "\n");
}

TEST(ProgressTest, TerminalRewritesOneLine) {
  std::ostringstream out;
  ProgressReporter p(&out, /*tty=*/true, 10, /*tty_interval=*/0);
  p.Update({1, 2, 1, 10, 1.0, 0.5, 100, 10});
  p.Update({1, 2, 2, 10, 1.0, 0.5, 100, 10});
  p.Clear();
  const std::string text = out.str();
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(text.front(), '\r');
  EXPECT_THAT(text, HasSubstr("batch 2/10"));
  EXPECT_EQ(text.back(), '\r');
}

}  // namespace
}  // namespace hadmc::train
