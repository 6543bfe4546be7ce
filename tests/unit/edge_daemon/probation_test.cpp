// The probation judgment (edge/include/hadmc/edge/probation.h): error-rate and latency
// regressions against the replaced version, and the live statistics a model collects.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "hadmc/edge/probation.h"

namespace hadmc::edge {
namespace {

WindowStats Stats(uint64_t requests, uint64_t errors, double p99, uint64_t latencies = 0) {
  WindowStats w;
  w.requests = requests;
  w.errors = errors;
  w.p99_ms = p99;
  w.latencies = latencies ? latencies : requests - errors;
  return w;
}

TEST(ProbationTest, TooFewRequestsSayNothing) {
  ProbationPolicy p;  // min 20 requests
  EXPECT_FALSE(ProbationRegression(Stats(100, 0, 1), Stats(19, 19, 100), p, true));
}

TEST(ProbationTest, AnErrorRateRiseFailsAtOnce) {
  ProbationPolicy p;
  auto why = ProbationRegression(Stats(1000, 10, 1), Stats(40, 20, 1), p, /*window_over=*/false);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("error rate 50.0% (20 of 40 requests) against 1.0%"), std::string::npos) << *why;
  // A rise within the allowance (1% -> 5%: 4 points < 5) passes.
  EXPECT_FALSE(ProbationRegression(Stats(1000, 10, 1), Stats(100, 5, 1), p, true));
  // With no traffic before, the allowance is over zero.
  EXPECT_TRUE(ProbationRegression(Stats(0, 0, 0), Stats(100, 6, 1), p, true));
}

TEST(ProbationTest, LatencyIsJudgedOnlyWhenTheWindowIsOver) {
  ProbationPolicy p;  // 3x
  const WindowStats before = Stats(500, 0, 2.0), slow = Stats(200, 0, 7.0);
  EXPECT_FALSE(ProbationRegression(before, slow, p, /*window_over=*/false));
  auto why = ProbationRegression(before, slow, p, true);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("p99 latency 7.00 ms against 2.00 ms"), std::string::npos) << *why;
  EXPECT_FALSE(ProbationRegression(before, Stats(200, 0, 5.9), p, true));
  // Without a baseline of its own (too few samples before) latency is not judged.
  EXPECT_FALSE(ProbationRegression(Stats(10, 0, 2.0), slow, p, true));
  p.max_p99_ratio = 0;  // off
  EXPECT_FALSE(ProbationRegression(before, slow, p, true));
}

TEST(ProbationTest, LiveStatsCountAndTakeTheP99OfTheRecentSample) {
  LiveStats s;
  EXPECT_EQ(s.Snapshot().requests, 0u);
  EXPECT_EQ(s.Snapshot().p99_ms, 0);
  for (int i = 1; i <= 100; ++i) s.Record(true, i);  // 1..100 ms
  s.Record(false, 5000);                             // an error's latency is not sampled
  WindowStats w = s.Snapshot();
  EXPECT_EQ(w.requests, 101u);
  EXPECT_EQ(w.errors, 1u);
  EXPECT_EQ(w.latencies, 100u);
  EXPECT_EQ(w.p99_ms, 99);
  // The sample is the most recent kRing latencies: old slow ones age out.
  for (size_t i = 0; i < LiveStats::kRing; ++i) s.Record(true, 1.5);
  EXPECT_EQ(s.Snapshot().p99_ms, 1.5);
  EXPECT_EQ(s.Snapshot().latencies, LiveStats::kRing);
}

TEST(ProbationTest, LiveStatsFromManyThreads) {
  LiveStats s;
  std::vector<std::thread> t;
  for (int k = 0; k < 4; ++k)
    t.emplace_back([&, k] {
      for (int i = 0; i < 1000; ++i) s.Record(i % 10 != 0, k + 1);
    });
  for (auto& th : t) th.join();
  EXPECT_EQ(s.Snapshot().requests, 4000u);
  EXPECT_EQ(s.Snapshot().errors, 400u);
}

}  // namespace
}  // namespace hadmc::edge
