// The on-device profiler against a recording stand-in for the cloud: the report's wire format,
// every kernel of the serving model in it, profiling jobs answered once, cancellation.
#include "hadmc/edge/profiler.h"
#include "hadmc/hal/device_class.h"
#include "hadmc/hal/profile.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>
#include <torch/torch.h>

#include "edge_test_models.h"

namespace hadmc::edge {
namespace {

using nlohmann::json;

struct Call {
  std::string method, target, body;
};

class RecordingCloud : public net::HttpsClient {
 public:
  Result<net::HttpsResult> Request(const std::string& method, const std::string& target,
                                   const std::string& body, const net::HeaderList&) override {
    calls.push_back({method, target, body});
    net::HttpsResult r;
    r.status = method == "GET" ? 200 : post_status;
    r.body = method == "GET" ? jobs : R"({"accepted": 1})";
    return r;
  }
  std::vector<Call> Posts() const {
    std::vector<Call> out;
    for (const Call& c : calls)
      if (c.method == "POST") out.push_back(c);
    return out;
  }
  std::vector<Call> calls;
  std::string jobs = R"({"jobs": []})";
  int post_status = 200;
};

constexpr char kConv[] = "conv2d_relu|1x8x14x14|o16|k3x3|s1|p1|g1|fp32";

ProfilerOptions Quick() {
  ProfilerOptions o;
  o.warmup = 1;
  o.runs = 5;
  o.max_duty_cycle = 1.0;
  return o;
}

TEST(LatencyReportTest, WireFormat) {
  LatencyReport r;
  r.model = "resnet";
  r.version = 3;
  r.threads = 2;
  hal::KernelMeasurement k;
  k.kernel.key = *hal::KernelKey::Parse(kConv);
  k.timing = {.median_ms = 0.12, .p90_ms = 0.15, .min_ms = 0.1, .runs = 50};
  r.kernels = {k};
  EXPECT_EQ(ToJson(r), json::parse(R"({"model": "resnet", "version": 3, "batch": 1, "threads": 2,
      "kernels": [{"key": "conv2d_relu|1x8x14x14|o16|k3x3|s1|p1|g1|fp32", "median_ms": 0.12,
                   "p90_ms": 0.15, "runs": 50}]})"));
  r.e2e = hal::Timing{.median_ms = 1.2, .p90_ms = 1.4, .min_ms = 1.0, .runs = 50};
  r.job = 7;
  const json j = ToJson(r);
  EXPECT_EQ(j["e2e"], json::parse(R"({"median_ms": 1.2, "p90_ms": 1.4, "runs": 50})"));
  EXPECT_EQ(j["job"], 7);
}

TEST(LatencyReportTest, ProfileJobsParseAndMalformedOnesAreRefused) {
  auto jobs = ParseProfileJobs(R"({"jobs": [{"id": 4, "kernels": ["a", "b"], "runs": 20},
                                            {"id": 5, "kernels": []}]})");
  ASSERT_TRUE(jobs) << jobs.error().String();
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].id, 4);
  EXPECT_EQ((*jobs)[0].kernels, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ((*jobs)[0].runs, 20);
  EXPECT_EQ((*jobs)[1].runs, 50);
  for (const char* bad : {"[]", R"({"jobs": {}})", R"({"jobs": [{"kernels": []}]})",
                          R"({"jobs": [{"id": 1, "kernels": [3]}]})",
                          R"({"jobs": [{"id": 1, "kernels": [], "runs": 0}]})", "not json"})
    EXPECT_FALSE(ParseProfileJobs(bad)) << bad;
}

class ProfilerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(runtime_.Activate(4, testing::ZooModelBytes("resnet8", 1))); }
  Runtime runtime_;
  RecordingCloud cloud_;
  Profiler profiler_{cloud_, "edge-1", "resnet"};
};

TEST_F(ProfilerTest, ReportsEveryKernelOfTheServingModelAndItsEndToEndTime) {
  auto m = runtime_.Active();
  auto r = profiler_.ProfileAndReport(*m, Quick(), {});
  ASSERT_TRUE(r) << r.error().String();
  ASSERT_EQ(cloud_.Posts().size(), 1u);
  EXPECT_EQ(cloud_.Posts()[0].target, "/v1/devices/edge-1/latency");
  const json body = json::parse(cloud_.Posts()[0].body);
  EXPECT_EQ(body["model"], "resnet");
  EXPECT_EQ(body["version"], 4);
  EXPECT_EQ(body["batch"], 1);
  EXPECT_EQ(body["threads"], 1);
  EXPECT_FALSE(body.contains("job"));
  auto kernels = hal::KernelsOf(m->executor.graph(), 1);
  ASSERT_TRUE(kernels) << kernels.error().String();
  // One row per distinct key, in first-occurrence order, with the runs of every occurrence.
  std::vector<std::string> keys;
  std::map<std::string, int> occurrences;
  for (const auto& k : *kernels) {
    const std::string key = k.key.ToString();
    if (occurrences[key]++ == 0) keys.push_back(key);
  }
  ASSERT_LT(keys.size(), kernels->size());  // resnet8 repeats keys (its batch norms, relus)
  ASSERT_EQ(body["kernels"].size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const json& k = body["kernels"][i];
    EXPECT_EQ(k["key"], keys[i]);
    EXPECT_EQ(k["runs"], 5 * occurrences[keys[i]]);
    EXPECT_GT(k["median_ms"].get<double>(), 0) << k;
    EXPECT_LE(k["median_ms"].get<double>(), k["p90_ms"].get<double>()) << k;
  }
  EXPECT_EQ(body["e2e"]["runs"], 5);
  EXPECT_GT(body["e2e"]["median_ms"].get<double>(), 0);

  // Energy: this machine's class has a profile; without a readable counter (none on the build
  // VMs) the figure is the profile's TDP × the median inference, and says it is an estimate.
  ASSERT_TRUE(body.contains("energy")) << body.dump();
  const json& energy = body["energy"];
  if (!energy["measured"].get<bool>()) {
    auto profile = hal::FindProfile(hal::DetectDeviceClass());
    ASSERT_TRUE(profile) << profile.error().String();
    EXPECT_EQ(energy["source"], "tdp-estimate");
    EXPECT_DOUBLE_EQ(energy["joules_per_inference"].get<double>(),
                     profile->tdp_w * body["e2e"]["median_ms"].get<double>() / 1000);
  } else {
    EXPECT_GT(energy["joules_per_inference"].get<double>(), 0);
  }
}

TEST_F(ProfilerTest, ARefusedReportIsAnError) {
  cloud_.post_status = 400;
  auto r = profiler_.ProfileAndReport(*runtime_.Active(), Quick(), {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("HTTP 400"), std::string::npos) << r.error().message();
}

TEST_F(ProfilerTest, AStopRequestCancelsWithoutAReport) {
  int asked = 0;
  auto r = profiler_.ProfileAndReport(*runtime_.Active(), Quick(), [&] { return ++asked < 4; });
  ASSERT_FALSE(r);
  EXPECT_TRUE(hal::IsCancelled(r.error())) << r.error().String();
  EXPECT_TRUE(cloud_.Posts().empty());
}

TEST_F(ProfilerTest, JobsAreAnsweredWithTheKernelsThatCanBeBuilt) {
  cloud_.jobs = json{{"jobs",
                      {{{"id", 7},
                        {"kernels", {kConv, "concat|1x8x4x4|o16|k0x0|s1|p0|g1|fp32", "x|"}},
                        {"runs", 3}},
                       {{"id", 8}, {"kernels", {"upsample|1x8x4x4|o8|k0x0|s1|p0|g1|fp32"}}}}}}
                    .dump();
  auto answered = profiler_.AnswerJobs(Quick(), 4, {});
  ASSERT_TRUE(answered) << answered.error().String();
  EXPECT_EQ(*answered, 1);
  ASSERT_EQ(cloud_.Posts().size(), 1u);
  const json body = json::parse(cloud_.Posts()[0].body);
  EXPECT_EQ(body["job"], 7);
  EXPECT_EQ(body["version"], 4);
  ASSERT_EQ(body["kernels"].size(), 1u);
  EXPECT_EQ(body["kernels"][0]["key"], kConv);
  EXPECT_EQ(body["kernels"][0]["runs"], 3);  // the job's runs
  EXPECT_FALSE(body.contains("e2e"));
  // Job 8 has nothing this build can time: not answered, and not tried again.
  cloud_.jobs =
      json{{"jobs", {{{"id", 8}, {"kernels", {"upsample|1x8x4x4|o8|k0x0|s1|p0|g1|fp32"}}}}}}.dump();
  answered = profiler_.AnswerJobs(Quick(), 4, {});
  ASSERT_TRUE(answered) << answered.error().String();
  EXPECT_EQ(*answered, 0);
  EXPECT_EQ(cloud_.Posts().size(), 1u);
}

}  // namespace
}  // namespace hadmc::edge
