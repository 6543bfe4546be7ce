// The LUT's REST routes over real TLS: device reports merged into GET /v1/lut, field-naming 400s,
// imports, and profiling jobs from creation to answer.
#include "cloud_server_fixture.h"

namespace hadmc::server::testing {
namespace {

using nlohmann::json;

constexpr char kKey[] = "conv2d_relu|1x64x28x28|o128|k3x3|s2|p1|g1|int8";

json Kernel(const std::string& key, double median, double p90, int runs = 50) {
  return {{"key", key}, {"median_ms", median}, {"p90_ms", p90}, {"runs", runs}};
}

// A vector, not a json: json{x} of a single json x is a copy of x, not a one-element list.
std::string Report(const std::vector<json>& kernels, const json& extra = json::object()) {
  json r = {
      {"model", "resnet"}, {"version", 1}, {"batch", 1}, {"threads", 1}, {"kernels", kernels}};
  r.update(extra);
  return r.dump();
}

TEST_F(CloudServerTest, LatencyReportsMergeIntoTheClassLut) {
  auto r = Device("edge-1")->Request(
      "POST", "/v1/devices/edge-1/latency",
      Report(
          {Kernel(kKey, 1.0, 1.5)},
          {{"e2e", {{"median_ms", 4.0}, {"p90_ms", 5.0}, {"runs", 50}}},
           {"energy",
            {{"joules_per_inference", 0.03}, {"measured", false}, {"source", "tdp-estimate"}}}}));
  ASSERT_TRUE(r) << r.error().String();
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json(*r)["accepted"], 2);
  r = Device("edge-2")->Request("POST", "/v1/devices/edge-2/latency",
                                Report({Kernel(kKey, 3.0, 3.5, 30)}));
  ASSERT_EQ(r->status, 200) << r->body;

  auto lut = Admin()->Request("GET", "/v1/lut/x86_cpu", "", Auth());
  ASSERT_EQ(lut->status, 200) << lut->body;
  const json j = Json(*lut);
  EXPECT_EQ(j["device_class"], "x86_cpu");
  ASSERT_EQ(j["rows"].size(), 1u) << lut->body;
  EXPECT_EQ(j["rows"][0]["key"], kKey);
  EXPECT_DOUBLE_EQ(j["rows"][0]["median_ms"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(j["rows"][0]["p90_ms"].get<double>(), 2.5);
  EXPECT_EQ(j["rows"][0]["count"], 80);
  EXPECT_EQ(j["rows"][0]["source"], "measured");
  ASSERT_EQ(j["e2e"].size(), 1u);
  EXPECT_EQ(j["e2e"][0]["model"], "resnet");
  EXPECT_DOUBLE_EQ(j["e2e"][0]["median_ms"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(j["e2e"][0]["joules_per_inference"].get<double>(), 0.03);
  // The rows are a LUT file as `hadmc lut export` writes it.
  json file = {{"device_class", j["device_class"]}, {"rows", j["rows"]}};
  EXPECT_TRUE(hal::LutFromJson(file));
  EXPECT_EQ(Admin()->Request("GET", "/v1/lut/Bad%20Class", "", Auth())->status, 400);
}

TEST_F(CloudServerTest, MalformedLatencyReportsAreRefusedNamingTheField) {
  auto device = Device("edge-1");
  auto status_and_body = [&](const std::string& body) {
    auto r = device->Request("POST", "/v1/devices/edge-1/latency", body);
    EXPECT_TRUE(r) << r.error().String();
    return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {Report({Kernel("conv3x3:64", 1, 2)}), "kernels[0].key"},
      {Report({Kernel(kKey, 1, 2), Kernel(kKey, -1, 2)}), "kernels[1].median_ms"},
      {Report({Kernel(kKey, 2, 1)}), "kernels[0].p90_ms"},
      {Report({Kernel(kKey, 1, 2, 0)}), "kernels[0].runs"},
      {Report({{{"key", kKey}, {"median_ms", "1"}, {"p90_ms", 2}, {"runs", 5}}}),
       "kernels[0].median_ms"},
      {Report({}, {{"e2e", {{"median_ms", 1}, {"p90_ms", 1}}}}), "e2e.runs"},
      {Report({Kernel(kKey, 1, 2)}, {{"batch", 0}}), "batch"},
      {Report({Kernel(kKey, 1, 2)}, {{"job", "seven"}}), "job"},
      {Report({Kernel(kKey, 1, 2)}, {{"energy", {{"joules_per_inference", 1}}}}), "energy"},
      {Report({}), "kernels"},
  };
  for (const auto& [body, field] : cases) {
    auto [status, answer] = status_and_body(body);
    EXPECT_EQ(status, 400) << body << " -> " << answer;
    EXPECT_NE(answer.find(field), std::string::npos) << body << " -> " << answer;
  }
  // NaN cannot be written in JSON; a huge exponent parses as infinity.
  auto [status, answer] = status_and_body(R"({"kernels":[{"key":")" + std::string(kKey) +
                                          R"(","median_ms":1e999,"p90_ms":1,"runs":1}]})");
  EXPECT_EQ(status, 400) << answer;
  // A job that does not exist.
  auto r = device->Request("POST", "/v1/devices/edge-1/latency",
                           Report({Kernel(kKey, 1, 2)}, {{"job", 999}}));
  EXPECT_EQ(r->status, 404) << r->body;
  // Nothing of the refused reports reached the LUT.
  EXPECT_TRUE(Json(*Admin()->Request("GET", "/v1/lut/x86_cpu", "", Auth()))["rows"].empty());
}

TEST_F(CloudServerTest, ProfilingJobsArePendingUntilTheDeviceAnswers) {
  auto admin = Admin();
  const std::string other = "linear|1x512|o10|k0x0|s1|p0|g1|fp32";
  auto bad = admin->Request("POST", "/v1/lut/x86_cpu/jobs",
                            json{{"kernels", {kKey, "nope"}}}.dump(), Auth());
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("kernels[1]"), std::string::npos) << bad->body;
  auto created = admin->Request("POST", "/v1/lut/x86_cpu/jobs",
                                json{{"kernels", {kKey, other}}, {"runs", 20}}.dump(), Auth());
  ASSERT_EQ(created->status, 201) << created->body;
  const int64_t id = Json(*created)["id"];

  auto device = Device("edge-1");
  auto pending = device->Request("GET", "/v1/devices/edge-1/profile-jobs");
  ASSERT_EQ(pending->status, 200) << pending->body;
  json jobs = Json(*pending)["jobs"];
  ASSERT_EQ(jobs.size(), 1u) << pending->body;
  EXPECT_EQ(jobs[0]["id"], id);
  EXPECT_EQ(jobs[0]["runs"], 20);
  EXPECT_EQ(jobs[0]["kernels"], json({kKey, other}));
  EXPECT_EQ(device->Request("GET", "/v1/devices/edge-2/profile-jobs")->status, 403);

  auto answer =
      device->Request("POST", "/v1/devices/edge-1/latency",
                      Report({Kernel(kKey, 1, 2, 20), Kernel(other, 0.1, 0.2, 20)}, {{"job", id}}));
  ASSERT_EQ(answer->status, 200) << answer->body;
  EXPECT_TRUE(Json(*device->Request("GET", "/v1/devices/edge-1/profile-jobs"))["jobs"].empty());
  EXPECT_EQ(
      Json(*Device("edge-2")->Request("GET", "/v1/devices/edge-2/profile-jobs"))["jobs"].size(),
      1u);
  auto list = admin->Request("GET", "/v1/lut/x86_cpu/jobs", "", Auth());
  ASSERT_EQ(list->status, 200) << list->body;
  EXPECT_EQ(Json(*list)["jobs"][0]["answered"], 1);
  EXPECT_EQ(Json(*admin->Request("GET", "/v1/lut/x86_cpu", "", Auth()))["rows"].size(), 2u);
}

TEST_F(CloudServerTest, LutFilesImportAsEstimatesBesideMeasurements) {
  auto r = Device("edge-1")->Request("POST", "/v1/devices/edge-1/latency",
                                     Report({Kernel(kKey, 1.0, 1.5)}));
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string other = "max_pool2d|1x64x56x56|o64|k3x3|s2|p1|g1|fp32";
  json file = {
      {"device_class", "x86_cpu"},
      {"rows",
       {{{"key", kKey}, {"median_ms", 9.0}, {"p90_ms", 9.0}, {"count", 1}, {"source", "estimated"}},
        {{"key", other},
         {"median_ms", 0.2},
         {"p90_ms", 0.3},
         {"count", 0},
         {"source", "estimated"}}}}};
  auto admin = Admin();
  auto wrong = admin->Request("POST", "/v1/lut/jetson_orin", file.dump(), Auth());
  EXPECT_EQ(wrong->status, 400);
  EXPECT_NE(wrong->body.find("device_class"), std::string::npos) << wrong->body;
  auto imported = admin->Request("POST", "/v1/lut/x86_cpu", file.dump(), Auth());
  ASSERT_EQ(imported->status, 200) << imported->body;
  EXPECT_EQ(Json(*imported)["imported"], 2);
  const json rows = Json(*admin->Request("GET", "/v1/lut/x86_cpu", "", Auth()))["rows"];
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    if (row["key"] == kKey) {
      EXPECT_EQ(row["source"], "measured");
      EXPECT_DOUBLE_EQ(row["median_ms"].get<double>(), 1.0);
    } else {
      EXPECT_EQ(row["source"], "estimated");
    }
  }
  // The import needs the admin token.
  EXPECT_EQ(admin->Request("POST", "/v1/lut/x86_cpu", file.dump())->status, 401);
}

}  // namespace
}  // namespace hadmc::server::testing
