// hadmc-loadgen's arithmetic: percentiles, the summary's ok/failed split and per-version counts,
// the CSV line, shape parsing and the request body.
#include "load_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace hadmc::edge::loadgen {
namespace {

TEST(LoadReportTest, NearestRankPercentiles) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(NearestRank(v, 0.50), 50);
  EXPECT_EQ(NearestRank(v, 0.99), 99);
  EXPECT_EQ(NearestRank(v, 1.0), 100);
  EXPECT_EQ(NearestRank(v, 0.0), 1);
  EXPECT_EQ(NearestRank({7}, 0.99), 7);
  EXPECT_EQ(NearestRank({1, 2, 3}, 0.5), 2);
  EXPECT_EQ(NearestRank({}, 0.5), 0);
}

TEST(LoadReportTest, SummaryCountsOkFailedAndVersions) {
  std::vector<RequestRecord> records = {
      {0.0, 4.0, 200, 1},  {1.0, 2.0, 200, 1},
      {2.0, 3.0, 200, 2},  {3.0, 50.0, 503, -1},  // an HTTP failure
      {4.0, 10.0, 0, -1},                         // no answer
      {5.0, 1.0, 200, -1},                        // 200 without a version is not ok
  };
  const LoadSummary s = Summarize(records, 2.0, "HTTP 503: busy");
  EXPECT_EQ(s.requests, 6u);
  EXPECT_EQ(s.ok, 3u);
  EXPECT_EQ(s.failed, 3u);
  EXPECT_EQ(s.transport_errors, 1u);
  EXPECT_EQ(s.ok_by_version.at(1), 2u);
  EXPECT_EQ(s.ok_by_version.at(2), 1u);
  EXPECT_EQ(s.failed_by_status.at(503), 1u);
  EXPECT_EQ(s.failed_by_status.at(0), 1u);
  EXPECT_EQ(s.failed_by_status.at(200), 1u);
  // Latency over the ok requests only (2, 3, 4): the 50 ms failure does not count.
  EXPECT_EQ(s.p50_ms, 3.0);
  EXPECT_EQ(s.max_ms, 4.0);
  EXPECT_DOUBLE_EQ(s.mean_ms, 3.0);

  const std::string text = FormatSummary(s);
  EXPECT_NE(text.find("failed     3 (no answer: 1, HTTP 200: 1, HTTP 503: 1)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("v1: 2 v2: 1"), std::string::npos) << text;
  EXPECT_NE(text.find("first error HTTP 503: busy"), std::string::npos) << text;
  const nlohmann::json j = SummaryToJson(s);
  EXPECT_EQ(j["ok"], 3);
  EXPECT_EQ(j["ok_by_version"]["2"], 1);
  EXPECT_EQ(j["failed_by_status"]["0"], 1);
}

TEST(LoadReportTest, EmptyRunSummarizesToZeros) {
  const LoadSummary s = Summarize({}, 0.5, "");
  EXPECT_EQ(s.requests, 0u);
  EXPECT_EQ(s.p99_ms, 0.0);
  EXPECT_NE(FormatSummary(s).find("none served"), std::string::npos);
}

TEST(LoadReportTest, CsvLines) {
  EXPECT_EQ(CsvHeader(), "start_ms,latency_ms,status,version,send_late_ms");
  EXPECT_EQ(CsvLine({12.5, 3.25, 200, 2}), "12.500,3.250,200,2,0.000");
  EXPECT_EQ(CsvLine({1, 2, 0, -1, 0.25}), "1.000,2.000,0,,0.250");
}

TEST(LoadReportTest, ParseShape) {
  auto s = ParseShape("1,1,28,28");
  ASSERT_TRUE(s.has_value()) << s.error().String();
  EXPECT_EQ(*s, (std::vector<int64_t>{1, 1, 28, 28}));
  for (const char* bad : {"", "1,,28", "1,x", "0,1", "1,1,", "-1,3", "2.5"}) {
    auto r = ParseShape(bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_NE(r.error().message().find("shape"), std::string::npos);
    }
  }
}

TEST(LoadReportTest, InferBodyHasTheShapeAndEnoughValues) {
  const std::string body = InferBody({2, 1, 3, 3}, 7);
  const nlohmann::json j = nlohmann::json::parse(body);
  EXPECT_EQ(j["shape"], (std::vector<int64_t>{2, 1, 3, 3}));
  EXPECT_EQ(j["data"].size(), 18u);
  EXPECT_EQ(body, InferBody({2, 1, 3, 3}, 7));  // deterministic per seed
  EXPECT_NE(body, InferBody({2, 1, 3, 3}, 8));
}

TEST(LoadReportTest, VersionOfAnAnswer) {
  EXPECT_EQ(VersionOf(R"({"version": 3, "output": [0.1]})"), 3);
  EXPECT_EQ(VersionOf(R"({"error": "no model is loaded yet"})"), -1);
  EXPECT_EQ(VersionOf("not json"), -1);
  EXPECT_EQ(VersionOf(R"({"version": "2"})"), -1);
}

}  // namespace
}  // namespace hadmc::edge::loadgen
