// The on-device profiler end to end: the real cloud server on loopback, the daemon profiling the
// model it serves and answering a profiling job, the cloud's LUT serving the measured rows.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "../../unit/edge/edge_test_models.h"
#include "../server/cloud_server_fixture.h"
#include "hadmc/edge/daemon.h"
#include "hadmc/hal/kernels.h"

namespace hadmc::edge {
namespace {

using nlohmann::json;

constexpr char kJobKernel[] = "conv2d_relu|1x16x14x14|o32|k3x3|s2|p1|g1|fp32";

class ProfilerDaemonTest : public server::testing::CloudServerTest {
 protected:
  EdgedConfig Config() {
    auto key = crypto::SigningKey::Load(state_.SigningKey());
    EXPECT_TRUE(key);
    const std::string pub = dir_ / "signing.pub";
    EXPECT_TRUE(WriteFileAtomically(pub, key->Public().Pem()));
    EdgedConfig c;
    c.server_url = "https://127.0.0.1:" + std::to_string(server_->device_port());
    c.ca_file = state_.CaCert();
    c.cert_file = state_.DeviceCert("edge-1");  // registered as x86_cpu by the fixture
    c.key_file = state_.DeviceKey("edge-1");
    c.model = "resnet";
    c.pinned_keys = {pub};
    c.state_dir = dir_ / "edge";
    c.poll_interval_s = 1;
    c.jitter = 0.1;
    c.probation_s = 0;
    c.api_port = 0;
    c.profile_runs = 5;  // the shipped default is 50; 5 keeps the test fast
    c.profile_max_duty_cycle = 0.5;
    c.profile_jobs_interval_s = 1;
    c.profile_quiet_s = 0;  // these tests send no inferences; ProfilingWaitsForAQuietSpell does
    return c;
  }
  static bool WaitFor(const std::function<bool()>& done, int seconds = 60) {
    for (int i = 0; i < seconds * 10; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  json Lut() {
    auto r = Admin()->Request("GET", "/v1/lut/x86_cpu", "", Auth());
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : r.error().String());
    return r && r->status == 200 ? Json(*r) : json::object();
  }
  std::unique_ptr<net::HttpsClient> Api(const Daemon& d) {
    auto api =
        net::HttpsClient::Create("https://127.0.0.1:" + std::to_string(d.api_port()),
                                 {dir_ / "edge/api/ca.crt", "", "", std::chrono::seconds(5)});
    EXPECT_TRUE(api) << api.error().String();
    return api ? std::move(*api) : nullptr;
  }
  // The value of one series of the daemon's /metrics (0 when absent).
  static double Metric(net::HttpsClient& api, const std::string& series) {
    auto r = api.Request("GET", "/metrics");
    if (!r || r->status != 200) return 0;
    const auto at = r->body.find("\n" + series + " ");
    return at == std::string::npos ? 0 : std::stod(r->body.substr(at + series.size() + 2));
  }
};

TEST_F(ProfilerDaemonTest, TheEdgeProfilesItsModelAndTheCloudLutServesTheRows) {
  ASSERT_EQ(PublishToStable(testing::ZooModelBytes("resnet8", 1)), 1u);
  auto d = Daemon::Create(Config());
  ASSERT_TRUE(d) << d.error().String();
  ASSERT_TRUE((*d)->Start());
  std::thread loop([&] { (*d)->Run(); });
  const Daemon& daemon = **d;
  ASSERT_TRUE(WaitFor([&] { return daemon.runtime().Active() != nullptr; })) << daemon.last_error();
  auto kernels = hal::KernelsOf(daemon.runtime().Active()->executor.graph(), 1);
  ASSERT_TRUE(kernels) << kernels.error().String();
  std::set<std::string> keys;
  for (const hal::KernelInstance& k : *kernels) keys.insert(k.key.ToString());

  // Every kernel of the served model has a measured row in the class's LUT.
  json lut;
  EXPECT_TRUE(WaitFor([&] {
    lut = Lut();
    return lut.contains("rows") && lut["rows"].size() >= keys.size();
  })) << lut.dump();
  std::set<std::string> rows;
  for (const json& row : lut["rows"]) {
    rows.insert(row["key"].get<std::string>());
    EXPECT_EQ(row["source"], "measured") << row;
    EXPECT_GT(row["median_ms"].get<double>(), 0) << row;
    EXPECT_LE(row["median_ms"].get<double>(), row["p90_ms"].get<double>()) << row;
    EXPECT_GE(row["count"].get<int64_t>(), 5) << row;
  }
  EXPECT_EQ(rows, keys);
  ASSERT_EQ(lut["e2e"].size(), 1u) << lut.dump();
  EXPECT_EQ(lut["e2e"][0]["model"], "resnet");
  EXPECT_EQ(lut["e2e"][0]["version"], 1);
  EXPECT_GT(lut["e2e"][0]["median_ms"].get<double>(), 0);

  // The daemon says so too; and profiles again when asked.
  auto api = Api(daemon);
  ASSERT_TRUE(api);
  auto status = api->Request("GET", "/v1/status");
  ASSERT_TRUE(status && status->status == 200);
  const json last = json::parse(status->body)["last_profile"];
  EXPECT_EQ(last["version"], 1) << status->body;
  EXPECT_EQ(last["kernels"], kernels->size()) << status->body;
  EXPECT_EQ(last["error"], "") << status->body;
  EXPECT_GT(last["e2e_ms"].get<double>(), 0) << status->body;
  const std::string reported = "hadmc_profile_runs_total{outcome=\"reported\"}";
  const double before = Metric(*api, reported);
  EXPECT_GE(before, 1);
  auto again = api->Request("POST", "/v1/profile");
  ASSERT_TRUE(again) << again.error().String();
  EXPECT_EQ(again->status, 202) << again->body;
  EXPECT_TRUE(WaitFor([&] { return Metric(*api, reported) > before; }));
  (*d)->Stop();
  loop.join();
}

// profile.quiet_s: while inferences keep arriving (every 100 ms here, from before the model is
// served) nothing is timed; once they stop for quiet_s the version is profiled. Without the wait
// resnet8 is profiled within a second of being served.
TEST_F(ProfilerDaemonTest, ProfilingWaitsForAQuietSpell) {
  ASSERT_EQ(PublishToStable(testing::ZooModelBytes("resnet8", 1)), 1u);
  EdgedConfig c = Config();
  c.profile_quiet_s = 1;
  c.profile_jobs_interval_s = 0;
  auto d = Daemon::Create(c);
  ASSERT_TRUE(d) << d.error().String();
  ASSERT_TRUE((*d)->Start());
  const Daemon& daemon = **d;
  std::atomic<bool> traffic{true};
  std::atomic<int> answered{0};
  std::thread sender([&] {
    auto api = Api(daemon);
    const json req = {{"shape", {1, 1, 28, 28}}, {"data", std::vector<float>(28 * 28, 0.25f)}};
    while (api && traffic) {
      auto r = api->Request("POST", "/v1/infer", req.dump(), {{"Content-Type", "application/json"}});
      if (r && r->status == 200) ++answered;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::thread loop([&] { (*d)->Run(); });
  EXPECT_TRUE(WaitFor([&] { return daemon.runtime().Active() != nullptr; })) << daemon.last_error();
  std::this_thread::sleep_for(std::chrono::seconds(4));  // four polls, none of them quiet
  EXPECT_GT(answered.load(), 20);
  EXPECT_TRUE(Lut()["rows"].empty());
  auto api = Api(daemon);
  ASSERT_TRUE(api);
  auto status = api->Request("GET", "/v1/status");
  ASSERT_TRUE(status && status->status == 200);
  EXPECT_TRUE(json::parse(status->body)["last_profile"].is_null()) << status->body;

  traffic = false;
  sender.join();
  EXPECT_TRUE(WaitFor([&] { return !Lut()["rows"].empty(); }, 30));
  (*d)->Stop();
  loop.join();
}

TEST_F(ProfilerDaemonTest, StopInterruptsAProfileInProgress) {
  ASSERT_EQ(PublishToStable(testing::ZooModelBytes("resnet8", 1)), 1u);
  EdgedConfig c = Config();
  c.profile_runs = 10000;  // minutes of timing at a 25% duty cycle
  c.profile_max_duty_cycle = 0.25;
  auto d = Daemon::Create(c);
  ASSERT_TRUE(d) << d.error().String();
  ASSERT_TRUE((*d)->Start());
  std::thread loop([&] { (*d)->Run(); });
  ASSERT_TRUE(WaitFor([&] { return (*d)->runtime().Active() != nullptr; })) << (*d)->last_error();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // well into the profile
  const auto t0 = std::chrono::steady_clock::now();
  (*d)->Stop();
  loop.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_TRUE(Lut()["rows"].empty());  // nothing half-measured was reported
}

TEST_F(ProfilerDaemonTest, AProfilingJobIsAnsweredAndItsKernelLandsInTheLut) {
  auto job = Admin()->Request("POST", "/v1/lut/x86_cpu/jobs",
                              json{{"kernels", {kJobKernel}}, {"runs", 5}}.dump(), Auth());
  ASSERT_TRUE(job && job->status == 201) << (job ? job->body : job.error().String());
  const int64_t id = Json(*job)["id"];
  // No model published: jobs do not need one; a profile of the served model does.
  auto d = Daemon::Create(Config());
  ASSERT_TRUE(d) << d.error().String();
  ASSERT_TRUE((*d)->Start());
  std::thread loop([&] { (*d)->Run(); });
  auto api = Api(**d);
  ASSERT_TRUE(api);
  auto refused = api->Request("POST", "/v1/profile");
  ASSERT_TRUE(refused) << refused.error().String();
  EXPECT_EQ(refused->status, 409) << refused->body;

  json lut;
  EXPECT_TRUE(WaitFor([&] {
    lut = Lut();
    return lut.contains("rows") && !lut["rows"].empty();
  })) << lut.dump();
  ASSERT_EQ(lut["rows"].size(), 1u) << lut.dump();
  EXPECT_EQ(lut["rows"][0]["key"], kJobKernel);
  EXPECT_EQ(lut["rows"][0]["source"], "measured");
  EXPECT_GT(lut["rows"][0]["median_ms"].get<double>(), 0);
  EXPECT_EQ(lut["rows"][0]["count"], 5);
  // The job counts this device as having answered; it is not offered to it again.
  auto jobs = Admin()->Request("GET", "/v1/lut/x86_cpu/jobs", "", Auth());
  ASSERT_TRUE(jobs && jobs->status == 200);
  const json list = Json(*jobs)["jobs"];
  ASSERT_EQ(list.size(), 1u) << jobs->body;
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(list[0]["answered"], 1) << jobs->body;
  auto pending = Device("edge-1")->Request("GET", "/v1/devices/edge-1/profile-jobs");
  ASSERT_TRUE(pending && pending->status == 200);
  EXPECT_TRUE(Json(*pending)["jobs"].empty()) << pending->body;
  (*d)->Stop();
  loop.join();
}

}  // namespace
}  // namespace hadmc::edge
