// The local API over real TLS on loopback, in front of a real runtime.
#include "hadmc/edge/local_api.h"

#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "../store/store_test_util.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/crypto/certificates.h"
#include "hadmc/data/image_file.h"
#include "hadmc/data/normalization.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/net/https_client.h"
#include "hadmc/train/model_metadata.h"
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
  // A resnet8 for C x size x size inputs, with the cloud trainer's normalization metadata
  // (written by the cloud's own writer) unless `norm` is nullopt.
  std::string Resnet8With(int64_t channels, int64_t size, std::optional<data::Normalization> norm) {
    zoo::ArchOptions o;
    o.image_size = size;
    o.in_channels = channels;
    auto m = zoo::BuildModel("resnet8", o);
    EXPECT_TRUE(m);
    if (norm) train::SetNormalization(m->metadata, *norm);
    auto bytes = model::SerializeHmc(*m);
    EXPECT_TRUE(bytes);
    return *bytes;
  }
  // Activate without the latency check: these tests swap between models of different input
  // sizes and time nothing, so a busy machine must not refuse a swap.
  Status Serve(uint64_t version, const std::string& hmc) {
    runtime_.SetMaxLatencyRatio(0);
    return runtime_.Activate(version, hmc);
  }
  net::HttpsResult Post(const std::string& content_type, const std::string& body) {
    auto r = client_->Request("POST", "/v1/infer", body, {{"Content-Type", content_type}});
    EXPECT_TRUE(r) << r.error().String();
    return r ? *r : net::HttpsResult{};
  }
  // The response to a JSON request carrying the float tensor `x` ([1, C, H, W]).
  json InferTensor(const at::Tensor& x) {
    const at::Tensor c = x.contiguous();
    json req = {{"shape", c.sizes().vec()},
                {"data", std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel())}};
    auto r = Call("POST", "/v1/infer", req.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  // The tensor the cloud's training pipeline makes of the image `bytes` (LoadImageFile decodes
  // with Debian's libstb, then NormalizeImages): what the API must feed the model.
  at::Tensor CloudPreprocessed(const std::string& bytes, int channels, int64_t size,
                               const data::Normalization& norm) {
    const std::string path = dir_ / "image.bin";
    EXPECT_TRUE(WriteFileAtomically(path, bytes));
    auto u8 = data::LoadImageFile(path, channels, size, size);
    EXPECT_TRUE(u8) << u8.error().String();
    return data::NormalizeImages(u8->unsqueeze(0), norm);
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
  if (big) {
    EXPECT_EQ(big->status, 413);
  }
  EXPECT_EQ(api_->requests(), 5u);  // the oversized body never reached the handler
}

// PNG and JPEG bytes written in memory by stb_image_write (from Debian's libstb, via the cloud
// library the test links): interleaved HWC pixels with `comp` channels.
void AppendBytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size);
}
std::string Png(int w, int h, int comp, const std::vector<uint8_t>& hwc) {
  std::string out;
  EXPECT_TRUE(stbi_write_png_to_func(AppendBytes, &out, w, h, comp, hwc.data(), w * comp));
  return out;
}
std::string Jpeg(int w, int h, int comp, const std::vector<uint8_t>& hwc) {
  std::string out;
  EXPECT_TRUE(stbi_write_jpg_to_func(AppendBytes, &out, w, h, comp, hwc.data(), 95));
  return out;
}
// A smooth w x h picture with `comp` channels (a different ramp per channel).
std::vector<uint8_t> Ramp(int w, int h, int comp) {
  std::vector<uint8_t> hwc;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < comp; ++c)
        hwc.push_back(static_cast<uint8_t>((7 * y + 5 * x + 60 * c) % 256));
  return hwc;
}
std::vector<float> Output(const json& response) {
  return response["output"].get<std::vector<float>>();
}

const data::Normalization kGrayNorm{{0.286f}, {0.353f}};
const data::Normalization kRgbNorm{{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};

TEST_F(LocalApiTest, PngGivesTheSameOutputAsTheHandPreprocessedTensor) {
  Status st = Serve(3, Resnet8With(1, 28, kGrayNorm));
  ASSERT_TRUE(st) << st.error().String();
  const std::vector<uint8_t> pixels = Ramp(28, 28, 1);  // the model's size: no resize
  auto r = Post("image/png", Png(28, 28, 1, pixels));
  ASSERT_EQ(r.status, 200) << r.body;
  const json image = json::parse(r.body);
  EXPECT_EQ(image["version"], 3);
  EXPECT_EQ(image["shape"], json({1, 10}));
  EXPECT_EQ(image["argmax"].size(), 1u);
  EXPECT_GT(image["latency_ms"].get<double>(), 0.0);

  // By hand: x = (p / 255 - mean) / std.
  at::Tensor hand = torch::empty({1, 1, 28, 28});
  for (int i = 0; i < 28 * 28; ++i) hand.view({-1})[i] = (pixels[i] / 255.0 - 0.286) / 0.353;
  const std::vector<float> by_hand = Output(InferTensor(hand)), got = Output(image);
  ASSERT_EQ(got.size(), by_hand.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], by_hand[i], 1e-4) << i;
  // And exactly what the cloud's training pipeline makes of the same file.
  EXPECT_EQ(got, Output(InferTensor(CloudPreprocessed(Png(28, 28, 1, pixels), 1, 28, kGrayNorm))));
}

TEST_F(LocalApiTest, JpegGivesTheOutputOfItsDecodedPixels) {
  Status st = Serve(4, Resnet8With(3, 16, kRgbNorm));
  ASSERT_TRUE(st) << st.error().String();
  const std::string jpeg = Jpeg(16, 16, 3, Ramp(16, 16, 3));
  auto r = Post("image/jpeg", jpeg);
  ASSERT_EQ(r.status, 200) << r.body;
  // JPEG is lossy: the reference is the same bytes decoded and normalized by the cloud loader.
  const std::vector<float> got = Output(json::parse(r.body));
  const std::vector<float> want = Output(InferTensor(CloudPreprocessed(jpeg, 3, 16, kRgbNorm)));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;
}

TEST_F(LocalApiTest, ImagesAreConvertedToTheModelsChannelsAndSize) {
  Status st = Serve(5, Resnet8With(1, 28, kGrayNorm));
  ASSERT_TRUE(st) << st.error().String();
  // A solid RGB colour on a gray model: luma (77 R + 150 G + 29 B) / 256 = 124 everywhere.
  const std::vector<uint8_t> solid = [] {
    std::vector<uint8_t> v;
    for (int i = 0; i < 28 * 28; ++i) v.insert(v.end(), {200, 100, 50});
    return v;
  }();
  auto r = Post("image/png", Png(28, 28, 3, solid));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::vector<float> luma = Output(
      InferTensor(torch::full({1, 1, 28, 28}, static_cast<float>((124 / 255.0 - 0.286) / 0.353))));
  const std::vector<float> got = Output(json::parse(r.body));
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], luma[i], 1e-4) << i;

  // An RGB 40 x 30 picture: to gray and resized to 28 x 28, as the cloud loader does it.
  const std::string rgb = Png(40, 30, 3, Ramp(40, 30, 3));
  r = Post("image/png", rgb);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Output(json::parse(r.body)),
            Output(InferTensor(CloudPreprocessed(rgb, 1, 28, kGrayNorm))));

  // A gray 20 x 20 picture on an RGB model: replicated to 3 channels and enlarged.
  st = Serve(6, Resnet8With(3, 32, kRgbNorm));
  ASSERT_TRUE(st) << st.error().String();
  const std::string gray = Png(20, 20, 1, Ramp(20, 20, 1));
  r = Post("image/png", gray);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["version"], 6);
  EXPECT_EQ(Output(json::parse(r.body)),
            Output(InferTensor(CloudPreprocessed(gray, 3, 32, kRgbNorm))));
}

TEST_F(LocalApiTest, BadImagesAreClearErrors) {
  const std::string png = Png(28, 28, 1, Ramp(28, 28, 1));
  EXPECT_EQ(Post("image/png", png).status, 503);  // no model yet
  Status st = Serve(1, Resnet8With(1, 28, kGrayNorm));
  ASSERT_TRUE(st) << st.error().String();
  auto expect = [&](int status, const std::string& type, const std::string& body,
                    const std::string& words) {
    auto r = Post(type, body);
    EXPECT_EQ(r.status, status) << type << ": " << r.body;
    EXPECT_NE(r.body.find(words), std::string::npos) << r.body;
  };
  expect(400, "image/png", png.substr(0, png.size() / 2),
         "cannot decode the PNG: outofdata: the data ends early (truncated?)");
  const std::string jpeg = Jpeg(28, 28, 1, Ramp(28, 28, 1));
  auto cut = Post("image/jpeg", jpeg.substr(0, jpeg.size() / 2));
  EXPECT_EQ(cut.status, 400) << cut.body;
  EXPECT_NE(cut.body.find("cannot decode the JPEG"), std::string::npos) << cut.body;
  EXPECT_EQ(cut.body.find("png"), std::string::npos) << cut.body;  // not a stale PNG-probe reason
  expect(400, "image/png", png.substr(0, 20), "cannot read the PNG header: unknown image type");
  expect(400, "image/png", "", "empty body");
  expect(400, "image/png", Jpeg(8, 8, 1, Ramp(8, 8, 1)), "does not start like a PNG");
  expect(400, "image/jpeg", png, "does not start like a JPEG");
  expect(413, "image/png", Png(4097, 1, 1, std::vector<uint8_t>(4097, 9)),
         "the limit is 4096x4096");
  expect(415, "image/gif", "GIF89a", "image/png or image/jpeg");
  expect(415, "text/plain", "hello", "not supported");
  // Media types are case-insensitive and may carry parameters.
  EXPECT_EQ(Post("Image/PNG; q=1", png).status, 200);
  EXPECT_EQ(Post("application/json; charset=utf-8", R"({"shape":[1,1,28,28]})").status, 400);
}

TEST_F(LocalApiTest, ImagesNeedTheModelsPreprocessing) {
  Status st = Serve(2, Resnet8());
  ASSERT_TRUE(st) << st.error().String();  // a zoo model: no normalization metadata
  const std::string png = Png(28, 28, 1, Ramp(28, 28, 1));
  auto r = Post("image/png", png);
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("version 2 carries no preprocessing"), std::string::npos) << r.body;
  // JSON tensors still work on it.
  EXPECT_EQ(InferTensor(torch::zeros({1, 1, 28, 28}))["version"], 2);

  // "normalization": null is the cloud's "trained on pixel / 255": images are scaled only.
  std::string plain = [&] {
    zoo::ArchOptions o;
    auto m = zoo::BuildModel("resnet8", o);
    EXPECT_TRUE(m);
    m->metadata["normalization"] = "null";
    return *model::SerializeHmc(*m);
  }();
  st = Serve(8, plain);
  ASSERT_TRUE(st) << st.error().String();
  r = Post("image/png", png);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Output(json::parse(r.body)),
            Output(InferTensor(CloudPreprocessed(png, 1, 28, data::Normalization{}))));

  // Normalization for the wrong number of channels: the model is refused at load, by name.
  auto bad = Serve(9, Resnet8With(1, 28, kRgbNorm));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("'normalization' has 3 channels, the model input has 1"),
            std::string::npos)
      << bad.error().String();
}

}  // namespace
}  // namespace hadmc::edge
