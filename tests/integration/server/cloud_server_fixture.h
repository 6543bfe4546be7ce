// A real cloud server on loopback with real TLS: fresh state directory, dev defaults (CA, server
// certificate, signing key, admin token), one trusted device certificate and one from a rogue CA.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../../unit/store/store_test_util.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/crypto/certificates.h"
#include "hadmc/net/https_client.h"
#include "hadmc/server/bootstrap.h"
#include "hadmc/server/cloud_server.h"
#include "hadmc/server/publish_client.h"

namespace hadmc::server::testing {

class CloudServerTest : public ::testing::Test {
 public:  // shared with free helpers in the tests
  void SetUp() override {
    state_.root = dir_ / "state";
    auto reg = registry::OpenSqliteRegistry((PrepareStateDir(state_), state_.RegistryDb()));
    ASSERT_TRUE(reg) << reg.error().String();
    auto defaults = EnsureDevDefaults(state_, **reg);
    ASSERT_TRUE(defaults) << defaults.error().String();
    token_ = defaults->admin_token;
    ASSERT_TRUE(IssueDeviceCertificate(state_, **reg, "edge-1", "x86_cpu", 30));
    ASSERT_TRUE(IssueDeviceCertificate(state_, **reg, "edge-2", "x86_cpu", 30));
    // A certificate for "edge-1" from a CA the server does not trust.
    auto rogue_ca = crypto::CreateCa("rogue CA");
    auto rogue = crypto::IssueCertificate(*rogue_ca, {"edge-1", crypto::CertRole::kClient, {}, {}, 30});
    ASSERT_TRUE(rogue);
    ASSERT_TRUE(WriteFileAtomically(dir_ / "rogue.crt", rogue->cert_pem));
    ASSERT_TRUE(WriteFileAtomically(dir_ / "rogue.key", rogue->key_pem, 0600));

    config_.state_dir = state_.root;
    config_.device.port = 0;
    config_.admin.port = 0;
    config_.json_body_bytes = 16 * 1024;
    config_.fleet_cache_ms = 0;
    config_.drain_timeout_ms = 2000;
    auto server = CloudServer::Start(config_);
    ASSERT_TRUE(server) << server.error().String();
    server_ = std::move(*server);
  }

  std::unique_ptr<net::HttpsClient> Client(uint16_t port, const std::string& cert = "",
                                           const std::string& key = "") {
    auto c = net::HttpsClient::Create("https://127.0.0.1:" + std::to_string(port),
                                      {state_.CaCert(), cert, key, std::chrono::seconds(10)});
    EXPECT_TRUE(c) << c.error().String();
    return c ? std::move(*c) : nullptr;
  }
  std::unique_ptr<net::HttpsClient> Admin() { return Client(server_->admin_port()); }
  std::unique_ptr<net::HttpsClient> Device(const std::string& id) {
    return Client(server_->device_port(), state_.DeviceCert(id), state_.DeviceKey(id));
  }
  net::HeaderList Auth() const { return BearerHeaders(token_); }

  // Publishes `file` over HTTPS as the next version of "resnet" and puts it on "stable" at
  // `percent`; returns the version (0 after a failed expectation).
  uint64_t PublishToStable(const std::string& file, double percent = 100,
                           uint64_t block_size = 64 * 1024) {
    auto admin = Admin();
    auto key = crypto::SigningKey::Load(state_.SigningKey());
    EXPECT_TRUE(key);
    if (!admin || !key) return 0;
    auto pub = PublishRemote(*admin, token_, file, "resnet", block_size, *key);
    EXPECT_TRUE(pub) << pub.error().String();
    if (!pub) return 0;
    nlohmann::json body = {{"model", "resnet"}, {"channel", "stable"}, {"version", pub->version},
                           {"percent", percent}};
    auto r = admin->Request("POST", "/v1/rollouts", body.dump(), Auth());
    EXPECT_TRUE(r && r->status == 201) << (r ? r->body : r.error().String());
    return pub->version;
  }

  // Restarts the server on the same state directory (new ports) with other device limits.
  void RestartWith(const DeviceApiLimits& limits) {
    server_.reset();
    config_.device_api = limits;
    auto server = CloudServer::Start(config_);
    ASSERT_TRUE(server) << server.error().String();
    server_ = std::move(*server);
  }

  // The value of one series of the server's /metrics (admin listener, no token), e.g.
  // `hadmc_blocks_served_total` or `hadmc_http_requests_total{listener="device",...}`; 0 when
  // the series is absent (a counter not yet incremented).
  double Metric(const std::string& series) {
    auto admin = Admin();
    if (!admin) return 0;
    auto r = admin->Request("GET", "/metrics");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : r.error().String());
    if (!r) return 0;
    const std::string key = "\n" + series + " ";
    const auto at = ("\n" + r->body).find(key);
    if (at == std::string::npos) return 0;
    return std::stod(r->body.substr(at + key.size() - 1));
  }

  // Whether the cloud's record of `device` (its latest heartbeat) shows `health`, `version`
  // and a message containing `message_part`.
  bool DeviceReports(const std::string& device, const std::string& health, uint64_t version,
                     const std::string& message_part) {
    auto r = Admin()->Request("GET", "/v1/devices/" + device, "", Auth());
    if (!r || r->status != 200) return false;
    const auto j = Json(*r);
    return j["health"] == health && j["version"] == version &&
           j["message"].get<std::string>().find(message_part) != std::string::npos;
  }

  static nlohmann::json Json(const net::HttpsResult& r) {
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  hadmc::testing::ScratchDir dir_;
  StateDir state_;
  CloudConfig config_;
  std::string token_;
  std::unique_ptr<CloudServer> server_;
};

}  // namespace hadmc::server::testing
