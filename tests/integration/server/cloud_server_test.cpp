#include <map>

#include "cloud_server_fixture.h"
#include "hadmc/crypto/sha256.h"
#include "hadmc/store/assemble.h"

namespace hadmc::server::testing {
namespace {

using hadmc::testing::FakeModel;
using hadmc::testing::MakeSafetensors;

// Publishes over HTTPS and puts the version on "stable" at `percent` (the fixture's helper;
// `admin` is the caller's client, kept for the call sites' readability).
uint64_t PublishAndRoll(CloudServerTest& t, net::HttpsClient& /*admin*/, const std::string& file,
                        double percent) {
  return t.PublishToStable(file, percent);
}

TEST_F(CloudServerTest, PublishManifestBlocksReassembleIdenticalBytes) {
  const std::string file = MakeSafetensors(FakeModel());
  auto admin = Admin();
  ASSERT_EQ(PublishAndRoll(*this, *admin, file, 100), 1u);

  auto device = Device("edge-1");
  auto m = device->Request("GET", "/v1/models/resnet/manifest?channel=stable");
  ASSERT_TRUE(m) << m.error().String();
  ASSERT_EQ(m->status, 200) << m->body;
  EXPECT_EQ(m->headers["x-hadmc-version"], "1");
  auto pub = crypto::VerifyKey::Load(state_.PublicKey());
  auto manifest = store::ParseVerifiedManifest(m->body, {*pub});
  ASSERT_TRUE(manifest) << manifest.error().String();
  auto rebuilt = store::AssembleModel(*manifest, [&](const store::BlockRef& b)
                                                     -> Result<std::string> {
    auto r = device->Request("GET", "/v1/blocks/" + b.id);
    if (!r) return MakeError(r.error());
    EXPECT_EQ(r->headers["etag"], "\"" + b.id + "\"");
    EXPECT_NE(r->headers["cache-control"].find("immutable"), std::string::npos);
    return r->body;
  });
  ASSERT_TRUE(rebuilt) << rebuilt.error().String();
  EXPECT_TRUE(*rebuilt == file);

  // Same manifest again: 304 by ETag. Second publish of a head-only change uploads only the head.
  auto again = device->Request("GET", "/v1/models/resnet/manifest",
                               "", {{"If-None-Match", m->headers["etag"]}});
  EXPECT_EQ(again->status, 304);
  auto key = crypto::SigningKey::Load(state_.SigningKey());
  auto v2 = PublishRemote(*admin, token_, MakeSafetensors(FakeModel(99)), "resnet", 64 * 1024,
                          *key);
  ASSERT_TRUE(v2) << v2.error().String();
  EXPECT_EQ(v2->version, 2u);
}

TEST_F(CloudServerTest, BlockRangeAndBadIds) {
  const std::string file = MakeSafetensors(FakeModel());
  auto admin = Admin();
  PublishAndRoll(*this, *admin, file, 100);
  auto device = Device("edge-1");
  auto m = device->Request("GET", "/v1/models/resnet/manifest");
  auto manifest = store::ManifestFromJson(m->body);
  const store::BlockRef b = manifest->tensors[1].blocks[0];
  auto whole = device->Request("GET", "/v1/blocks/" + b.id);
  auto part = device->Request("GET", "/v1/blocks/" + b.id, "", {{"Range", "bytes=100-199"}});
  ASSERT_EQ(part->status, 206);
  EXPECT_EQ(part->body, whole->body.substr(100, 100));
  EXPECT_EQ(part->headers["content-range"], "bytes 100-199/" + std::to_string(b.size));
  auto tail = device->Request("GET", "/v1/blocks/" + b.id, "", {{"Range", "bytes=-10"}});
  EXPECT_EQ(tail->body, whole->body.substr(whole->body.size() - 10));
  auto beyond = device->Request("GET", "/v1/blocks/" + b.id, "", {{"Range", "bytes=99999999-"}});
  EXPECT_EQ(beyond->status, 416);

  for (const std::string& bad : {std::string(".."), b.id.substr(1), b.id.substr(0, 63) + "z",
                                 std::string(64, 'A'), std::string("../../etc/passwd"),
                                 std::string("%2e%2e%2fetc")}) {
    auto r = device->Request("GET", "/v1/blocks/" + bad);
    ASSERT_TRUE(r) << bad << ": " << r.error().String();
    EXPECT_GE(r->status, 400) << bad;
    EXPECT_LT(r->status, 500) << bad;
  }
  auto absent = device->Request("GET", "/v1/blocks/" + crypto::Sha256Hex("absent"));
  EXPECT_EQ(absent->status, 404);
  EXPECT_EQ(device->Request("GET", "/v1/blocks/" + b.id)->status, 200);  // still serving
}

TEST_F(CloudServerTest, DevicesWithoutTrustedCertificatesAreRefused) {
  auto none = Client(server_->device_port());
  auto r = none->Request("GET", "/v1/models/resnet/manifest");
  ASSERT_TRUE(r) << r.error().String();
  EXPECT_EQ(r->status, 401);
  auto rogue = Client(server_->device_port(), dir_ / "rogue.crt", dir_ / "rogue.key");
  r = rogue->Request("POST", "/v1/devices/edge-1/heartbeat", R"({"state":"x","health":"ok"})");
  ASSERT_TRUE(r) << r.error().String();
  EXPECT_EQ(r->status, 403);
  // A trusted device may not report for another.
  r = Device("edge-2")->Request("POST", "/v1/devices/edge-1/heartbeat",
                                R"({"state":"serving","health":"ok"})");
  EXPECT_EQ(r->status, 403);
  // A device certificate is no admin credential, and the admin port needs a token.
  auto admin = Admin();
  EXPECT_EQ(admin->Request("GET", "/v1/fleet")->status, 401);
  EXPECT_EQ(admin->Request("GET", "/v1/fleet", "", BearerHeaders("hadmc_wrong"))->status, 403);
  EXPECT_EQ(admin->Request("GET", "/v1/fleet", "", Auth())->status, 200);
  EXPECT_EQ(admin->Request("GET", "/healthz")->status, 200);
  auto metrics = admin->Request("GET", "/metrics");
  EXPECT_NE(metrics->body.find("hadmc_auth_refusals_total{listener=\"admin\",reason=\"bad_token\"} 1"),
            std::string::npos)
      << metrics->body;
}

TEST_F(CloudServerTest, HeartbeatsLatencyFleetAndBadBodies) {
  auto device = Device("edge-1");
  const std::string hb =
      R"({"model":"resnet","version":1,"state":"serving","health":"ok","p50_ms":1.5,"p99_ms":4})";
  auto r = device->Request("POST", "/v1/devices/edge-1/heartbeat", hb,
                           {{"Content-Type", "application/json"}});
  ASSERT_EQ(r->status, 200) << r->body;
  r = device->Request("POST", "/v1/devices/edge-1/latency",
                      R"({"model":"resnet","version":1,"batch":1,"threads":1,"kernels":[)"
                      R"({"key":"conv2d_relu|1x64x28x28|o64|k3x3|s1|p1|g1|fp32",)"
                      R"("median_ms":0.7,"p90_ms":0.8,"runs":50}]})");
  ASSERT_EQ(r->status, 200) << r->body;

  EXPECT_EQ(device->Request("POST", "/v1/devices/edge-1/heartbeat", "{not json")->status, 400);
  EXPECT_EQ(device->Request("POST", "/v1/devices/edge-1/heartbeat", R"({"state":1,"health":"ok"})")
                ->status,
            400);
  EXPECT_EQ(device->Request("POST", "/v1/devices/edge-1/heartbeat", "[]")->status, 400);
  auto big = device->Request("POST", "/v1/devices/edge-1/heartbeat", std::string(100'000, ' '));
  ASSERT_TRUE(big) << big.error().String();
  EXPECT_EQ(big->status, 413);
  // The server keeps serving on new connections.
  device = Device("edge-1");
  EXPECT_EQ(device->Request("POST", "/v1/devices/edge-1/heartbeat", hb)->status, 200);

  auto admin = Admin();
  auto fleet = admin->Request("GET", "/v1/fleet", "", Auth());
  ASSERT_EQ(fleet->status, 200);
  EXPECT_EQ(Json(*fleet)["by_version"]["resnet@1"], 1);
  EXPECT_EQ(Json(*fleet)["devices"], 2);
  auto one = admin->Request("GET", "/v1/devices/edge-1", "", Auth());
  EXPECT_EQ(Json(*one)["p99_ms"], 4.0);
  auto lut = admin->Request("GET", "/v1/lut/x86_cpu", "", Auth());
  EXPECT_EQ(Json(*lut)["rows"][0]["key"], "conv2d_relu|1x64x28x28|o64|k3x3|s1|p1|g1|fp32");
  EXPECT_EQ(admin->Request("GET", "/v1/devices/nope", "", Auth())->status, 404);
  EXPECT_EQ(admin->Request("POST", "/v1/rollouts", "{}", Auth())->status, 400);
  EXPECT_EQ(admin->Request("DELETE", "/v1/fleet", "", Auth())->status, 405);
  EXPECT_EQ(admin->Request("GET", "/v2/nothing", "", Auth())->status, 404);
}

TEST_F(CloudServerTest, RolloutPercentageSelectsDevicesStably) {
  auto admin = Admin();
  PublishAndRoll(*this, *admin, MakeSafetensors(FakeModel(1)), 100);
  PublishAndRoll(*this, *admin, MakeSafetensors(FakeModel(2)), 0);  // v2 staged at 0%
  auto device = Device("edge-1");
  auto m = device->Request("GET", "/v1/models/resnet/manifest");
  EXPECT_EQ(m->headers["x-hadmc-version"], "1");
  auto all = admin->Request("POST", "/v1/rollouts",
                            R"({"model":"resnet","channel":"stable","version":2,"percent":100})",
                            Auth());
  ASSERT_EQ(all->status, 201);
  auto id = Json(*all)["id"].get<int64_t>();
  EXPECT_EQ(Json(*admin->Request("GET", "/v1/rollouts/" + std::to_string(id), "", Auth()))["version"],
            2);
  EXPECT_EQ(device->Request("GET", "/v1/models/resnet/manifest")->headers["x-hadmc-version"], "2");
  EXPECT_EQ(device->Request("GET", "/v1/models/resnet/manifest?channel=canary")->status, 404);
}

TEST_F(CloudServerTest, StopDrainsWithIdleKeepAliveConnections) {
  auto device = Device("edge-1");
  auto admin = Admin();
  ASSERT_EQ(admin->Request("GET", "/healthz")->status, 200);  // an idle kept-alive connection
  const auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  EXPECT_FALSE(admin->Request("GET", "/healthz"));
}

}  // namespace
}  // namespace hadmc::server::testing
