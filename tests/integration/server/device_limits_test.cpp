// The device listener protects the server: per-device token buckets (429 + Retry-After, block
// GETs in their own bucket), 503 + Retry-After while the registry database is locked, refusals
// counted in /metrics; and the device_api config keys.
#include <chrono>
#include <thread>

#include "cloud_server_fixture.h"
#include "hadmc/db/sqlite.h"
#include "hadmc/store/manifest_diff.h"
#include "test_paths.h"

namespace hadmc::server::testing {
namespace {

using hadmc::testing::FakeModel;
using hadmc::testing::MakeSafetensors;

const std::string kManifest = "/v1/models/resnet/manifest?channel=stable";

int RetryAfter(const net::HttpsResult& r) {
  auto it = r.headers.find("retry-after");
  return it == r.headers.end() ? -1 : std::stoi(it->second);
}

TEST_F(CloudServerTest, ADeviceOverItsRateIsToldWhenToComeBackAndOthersAreServed) {
  DeviceApiLimits tiny;
  tiny.rate_limit_per_s = 1;
  tiny.rate_limit_burst = 2;
  tiny.block_rate_limit_per_s = 1;
  tiny.block_rate_limit_burst = 3;
  RestartWith(tiny);
  ASSERT_EQ(PublishToStable(MakeSafetensors(FakeModel(7))), 1u);  // admin: not device-limited

  auto edge1 = Device("edge-1");
  ASSERT_EQ(edge1->Request("GET", kManifest)->status, 200);
  auto m = edge1->Request("GET", kManifest);
  ASSERT_EQ(m->status, 200);
  auto over = edge1->Request("GET", kManifest);
  ASSERT_TRUE(over) << over.error().String();
  EXPECT_EQ(over->status, 429) << over->body;
  const int wait = RetryAfter(*over);
  EXPECT_EQ(wait, 1);  // one token at 1/s, the bucket emptied a moment ago
  EXPECT_NE(Json(*over)["error"].get<std::string>().find("retry after 1 s"), std::string::npos)
      << over->body;

  // Another device has its own bucket.
  EXPECT_EQ(Device("edge-2")->Request("GET", kManifest)->status, 200);

  // Blocks have their own bucket too: the empty request bucket does not stop them, and a fourth
  // block over a burst of 3 is refused with the block limit named.
  auto manifest = store::ManifestFromJson(m->body);
  ASSERT_TRUE(manifest) << manifest.error().String();
  const auto blocks = store::MissingBlocks(*manifest, [](const std::string&) { return false; });
  ASSERT_GE(blocks.fetch.size(), 4u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(edge1->Request("GET", "/v1/blocks/" + blocks.fetch[i].id)->status, 200) << i;
  auto block_over = edge1->Request("GET", "/v1/blocks/" + blocks.fetch[3].id);
  EXPECT_EQ(block_over->status, 429);
  EXPECT_GE(RetryAfter(*block_over), 1);
  EXPECT_NE(block_over->body.find("block requests"), std::string::npos) << block_over->body;

  // After the hinted time the device is served again.
  std::this_thread::sleep_for(std::chrono::seconds(wait));
  EXPECT_EQ(edge1->Request("GET", kManifest)->status, 200);

  EXPECT_EQ(Metric(R"(hadmc_load_refusals_total{listener="device",reason="rate_limited"})"), 2);
  EXPECT_EQ(Metric(R"(hadmc_http_requests_total{listener="device",)"
                   R"(route="/v1/models/{name}/manifest",status="429"})"),
            1);
}

TEST_F(CloudServerTest, ALockedRegistryIsAnswered503WithRetryAfter) {
  // Another process (here: this test) holds the registry's write lock past the server's busy
  // timeout (5 s, common/db/sqlite.cpp): the heartbeat cannot be written.
  auto device = Device("edge-1");
  const std::string hb = R"({"state":"serving","health":"ok"})";
  auto db = db::Database::Open(state_.RegistryDb());
  ASSERT_TRUE(db) << db.error().String();
  {
    auto lock = db::Transaction::Begin(**db);  // rolled back at the end of this scope
    ASSERT_TRUE(lock) << lock.error().String();
    auto busy = device->Request("POST", "/v1/devices/edge-1/heartbeat", hb);
    ASSERT_TRUE(busy) << busy.error().String();
    EXPECT_EQ(busy->status, 503) << busy->body;
    EXPECT_EQ(RetryAfter(*busy), 5);
    EXPECT_NE(Json(*busy)["error"].get<std::string>().find("busy"), std::string::npos)
        << busy->body;
  }
  EXPECT_EQ(Metric(R"(hadmc_load_refusals_total{listener="device",reason="busy"})"), 1);
  EXPECT_EQ(device->Request("POST", "/v1/devices/edge-1/heartbeat", hb)->status, 200);
}

TEST(CloudConfigTest, DeviceApiLimitsAreReadAndChecked) {
  hadmc::testing::ScratchDir dir;
  auto load = [&](const std::string& text) {
    EXPECT_TRUE(WriteFileAtomically(dir / "cloud.json", text));
    return LoadCloudConfig(dir / "cloud.json");
  };
  auto c = load(R"({"device_api": {"rate_limit_per_s": 0.5, "rate_limit_burst": 5,
                                    "block_rate_limit_per_s": 0, "block_rate_limit_burst": 1}})");
  ASSERT_TRUE(c) << c.error().String();
  EXPECT_EQ(c->device_api.rate_limit_per_s, 0.5);
  EXPECT_EQ(c->device_api.rate_limit_burst, 5);
  EXPECT_EQ(c->device_api.block_rate_limit_per_s, 0);  // 0: no block limit
  EXPECT_EQ(load("{}")->device_api.block_rate_limit_burst,
            DeviceApiLimits{}.block_rate_limit_burst);

  auto typo = load(R"({"device_api": {"rate_limit": 1}})");
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message().find("unknown device_api key 'rate_limit'"), std::string::npos)
      << typo.error().String();
  auto negative = load(R"({"device_api": {"rate_limit_per_s": -1}})");
  ASSERT_FALSE(negative);
  EXPECT_NE(negative.error().message().find("device_api.rate_limit_per_s"), std::string::npos)
      << negative.error().String();
  EXPECT_FALSE(load(R"({"device_api": {"rate_limit_per_s": 1, "rate_limit_burst": 0.5}})"));

  // The shipped example spells out the defaults.
  auto shipped = LoadCloudConfig(HADMC_SOURCE_DIR "/configs/cloud.json");
  ASSERT_TRUE(shipped) << shipped.error().String();
  EXPECT_EQ(shipped->device_api.rate_limit_per_s, DeviceApiLimits{}.rate_limit_per_s);
  EXPECT_EQ(shipped->device_api.block_rate_limit_burst, DeviceApiLimits{}.block_rate_limit_burst);
}

}  // namespace
}  // namespace hadmc::server::testing
