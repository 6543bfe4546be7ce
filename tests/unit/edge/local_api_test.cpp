// The local API over real TLS on loopback, in front of a real runtime.
#include "hadmc/edge/local_api.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "../store/store_test_util.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/crypto/certificates.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/net/https_client.h"
#include "hadmc/zoo/zoo.h"

namespace hadmc::edge {
namespace {

using nlohmann::json;

class LocalApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = crypto::CreateCa("edge test CA");
    ASSERT_TRUE(ca) << ca.error().String();
    auto cert = crypto::IssueCertificate(*ca, {"localhost", crypto::CertRole::kServer, {"localhost"},
                                               {"127.0.0.1"}, 1});
    ASSERT_TRUE(cert) << cert.error().String();
    ASSERT_TRUE(WriteFileAtomically(dir_ / "ca.crt", ca->cert_pem));
    ASSERT_TRUE(WriteFileAtomically(dir_ / "api.crt", cert->cert_pem));
    ASSERT_TRUE(WriteFileAtomically(dir_ / "api.key", cert->key_pem, 0600));
    api_ = std::make_shared<LocalApi>(runtime_, 1 << 20);
    auto server = net::HttpsServer::Create(2);
    ASSERT_TRUE(server) << server.error().String();
    server_ = std::move(*server);
    net::ListenerOptions o;
    o.name = "local";
    o.cert_file = dir_ / "api.crt";
    o.key_file = dir_ / "api.key";
    auto port = server_->AddListener(o, api_);
    ASSERT_TRUE(port) << port.error().String();
    server_->Start();
    auto client = net::HttpsClient::Create("https://127.0.0.1:" + std::to_string(*port),
                                           {dir_ / "ca.crt", "", "", std::chrono::seconds(10)});
    ASSERT_TRUE(client) << client.error().String();
    client_ = std::move(*client);
  }
  void TearDown() override {
    if (server_) server_->Stop(std::chrono::milliseconds(1000));
  }
  std::string Resnet8() {
    zoo::ArchOptions o;
    o.image_size = 28;
    o.in_channels = 1;
    auto m = zoo::BuildModel("resnet8", o);
    EXPECT_TRUE(m);
    auto bytes = model::SerializeHmc(*m);
    EXPECT_TRUE(bytes);
    return *bytes;
  }
  net::HttpsResult Call(const std::string& method, const std::string& path, const std::string& body = "") {
    auto r = client_->Request(method, path, body, {{"Content-Type", "application/json"}});
    EXPECT_TRUE(r) << r.error().String();
    return r ? *r : net::HttpsResult{};
  }

  hadmc::testing::ScratchDir dir_;
  Runtime runtime_;
  std::shared_ptr<LocalApi> api_;
  std::unique_ptr<net::HttpsServer> server_;
  std::unique_ptr<net::HttpsClient> client_;
};

TEST_F(LocalApiTest, HealthStatusInferAndMetrics) {
  EXPECT_EQ(Call("GET", "/healthz").status, 503);  // no model yet
  EXPECT_EQ(Call("POST", "/v1/infer", R"({"shape":[1,1,28,28],"data":[]})").status, 503);
  ASSERT_TRUE(runtime_.Activate(7, Resnet8()));
  api_->SetDaemonStatus("idle", "2026-11-24T00:00:00Z");
  EXPECT_EQ(Call("GET", "/healthz").status, 200);

  json req = {{"shape", {2, 1, 28, 28}}, {"data", std::vector<float>(2 * 28 * 28, 0.25f)}};
  auto r = Call("POST", "/v1/infer", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json out = json::parse(r.body);
  EXPECT_EQ(out["version"], 7);
  EXPECT_EQ(out["shape"], json({2, 10}));
  EXPECT_EQ(out["output"].size(), 20u);
  EXPECT_EQ(out["argmax"].size(), 2u);
  // The same as running the runtime directly.
  auto direct = runtime_.Infer(torch::full({2, 1, 28, 28}, 0.25f));
  ASSERT_TRUE(direct);
  EXPECT_NEAR(out["output"][3].get<float>(), (*direct)[0][3].item<float>(), 1e-5);

  const json status = json::parse(Call("GET", "/v1/status").body);
  EXPECT_EQ(status["version"], 7);
  EXPECT_EQ(status["state"], "idle");
  EXPECT_EQ(status["requests"], 2);  // the 503 one counts as a request and an error
  EXPECT_EQ(status["errors"], 1);
  const std::string metrics = Call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("hadmc_edge_requests_total 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("hadmc_edge_inference_seconds_count 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("hadmc_edge_model_version 7"), std::string::npos) << metrics;
}

TEST_F(LocalApiTest, BadRequestsAreClearErrors) {
  ASSERT_TRUE(runtime_.Activate(1, Resnet8()));
  auto expect400 = [&](const std::string& body, const std::string& words) {
    auto r = Call("POST", "/v1/infer", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.body.find(words), std::string::npos) << r.body;
  };
  expect400("not json", "JSON object");
  expect400(R"({"shape":[1,1,28,28]})", "JSON object with");
  expect400(R"({"shape":"x","data":[]})", "list of integers");
  expect400(R"({"shape":[1,3,28,28],"data":[]})", "does not match the model input");
  expect400(R"({"shape":[1,1,28,28],"data":[1,2,3]})", "data has 3 values");
  EXPECT_EQ(Call("GET", "/v1/nope").status, 404);
  EXPECT_EQ(Call("GET", "/v1/infer").status, 405);
  // A body over the limit is refused before it is read: a 413, or (when the server closes the
  // connection while the client is still writing) a failed request; never a 200.
  auto big = client_->Request("POST", "/v1/infer", std::string(2 << 20, ' '));
  if (big) EXPECT_EQ(big->status, 413);
  EXPECT_EQ(api_->requests(), 5u);  // the oversized body never reached the handler
}

}  // namespace
}  // namespace hadmc::edge
