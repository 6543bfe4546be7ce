#include "hadmc/hal/profile.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "test_paths.h"

namespace hadmc::hal {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kShipped = std::string(HADMC_SOURCE_DIR) + "/configs/hal";

json ShippedJson(const std::string& name) {
  std::ifstream in(kShipped + "/" + name + ".json");
  return json::parse(in);
}

TEST(ProfileTest, EveryShippedProfileLoads) {
  auto all = LoadAllProfiles(kShipped);
  ASSERT_TRUE(all) << all.error().String();
  std::set<std::string> names;
  for (const HardwareProfile& p : *all) {
    names.insert(p.name);
    EXPECT_FALSE(p.display_name.empty()) << p.name;
    EXPECT_GT(p.memory_bandwidth_gbs, 0) << p.name;
    EXPECT_GT(p.tdp_w, 0) << p.name;
    EXPECT_EQ(p.peak_tops.size(), p.precisions.size()) << p.name;
    EXPECT_TRUE(p.sources.count("memory_bandwidth_gbs")) << p.name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"ascend_310", "hygon_dcu", "jetson_orin", "mlu370",
                                          "nvidia_a100", "x86_cpu"}));
}

TEST(ProfileTest, ShippedNumbersAreTheQuotedOnes) {
  auto a100 = FindProfile("nvidia_a100", kShipped);
  ASSERT_TRUE(a100) << a100.error().String();
  EXPECT_DOUBLE_EQ(a100->peak_tops.at("int8"), 624);
  EXPECT_DOUBLE_EQ(a100->memory_bandwidth_gbs, 2039);
  EXPECT_TRUE(a100->sparsity_2_4);
  auto ascend = FindProfile("ascend_310", kShipped);
  ASSERT_TRUE(ascend) << ascend.error().String();
  EXPECT_EQ(ascend->precisions, (std::vector<std::string>{"fp16", "int8"}));
  EXPECT_DOUBLE_EQ(ascend->tdp_w, 8);
  auto cpu = FindProfile("x86_cpu", kShipped);
  ASSERT_TRUE(cpu) << cpu.error().String();
  EXPECT_EQ(cpu->cores, 2);
  EXPECT_EQ(cpu->channel_step, 1);  // measured here: docs/benchmarks.md, channel staircase
  EXPECT_EQ(ChannelStepFor(*cpu, "int8"), 16);
}

TEST(ProfileTest, DefaultDirIsTheEnvironmentOrTheSourceTree) {
  ::unsetenv("HADMC_HAL_DIR");
  auto p = FindProfile("x86_cpu");  // from the build tree: the compiled-in source directory
  ASSERT_TRUE(p) << p.error().String();
  ::setenv("HADMC_HAL_DIR", "/nonexistent/hal", 1);
  EXPECT_EQ(DefaultProfileDir(), "/nonexistent/hal");
  auto missing = FindProfile("x86_cpu");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().Is(Errc::kNotFound)) << missing.error().String();
  ::unsetenv("HADMC_HAL_DIR");
}

TEST(ProfileTest, UnknownNameListsTheAvailableOnes) {
  auto p = FindProfile("tpu_v4", kShipped);
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().Is(Errc::kNotFound));
  EXPECT_NE(p.error().message().find("jetson_orin, mlu370, nvidia_a100, x86_cpu"),
            std::string::npos)
      << p.error().String();
}

struct BadCase {
  const char* what;
  std::function<void(json&)> mutate;
  const char* expected;  // in the error message
};

TEST(ProfileTest, ValidationErrorsNameTheFileAndTheField) {
  const std::vector<BadCase> cases = {
      {"unknown key", [](json& j) { j["peak_tflops"] = 1; }, "field 'peak_tflops': unknown key"},
      {"negative bandwidth", [](json& j) { j["memory_bandwidth_gbs"] = -30; },
       "field 'memory_bandwidth_gbs': must be > 0, got -30"},
      {"zero tdp", [](json& j) { j["tdp_w"] = 0; }, "field 'tdp_w': must be > 0"},
      {"bandwidth as text", [](json& j) { j["memory_bandwidth_gbs"] = "30"; },
       "field 'memory_bandwidth_gbs': must be a number"},
      {"missing field", [](json& j) { j.erase("tdp_w"); }, "field 'tdp_w': missing"},
      {"missing source", [](json& j) { j["sources"].erase("tdp_w"); },
       "field 'sources.tdp_w': missing"},
      {"missing peak source", [](json& j) { j["sources"].erase("peak_tops.int8"); },
       "field 'sources.peak_tops.int8': missing"},
      {"source for nothing", [](json& j) { j["sources"]["peak_tops.fp16"] = "a datasheet"; },
       "field 'sources.peak_tops.fp16': names no numeric field"},
      {"int8 peak without int8 in precisions",
       [](json& j) { j["precisions"] = json::array({"fp32"}); },
       "field 'peak_tops.int8': 'int8' is not in precisions"},
      {"precision without a peak",
       [](json& j) {
         j["precisions"] = json::array({"fp32", "int8", "fp16"});
       },
       "field 'peak_tops.fp16': missing"},
      {"unknown precision",
       [](json& j) {
         j["precisions"] = json::array({"fp32", "bf16"});
       },
       "field 'precisions': unknown precision 'bf16'"},
      {"precision twice",
       [](json& j) {
         j["precisions"] = json::array({"fp32", "int8", "fp32"});
       },
       "field 'precisions': 'fp32' listed twice"},
      {"efficiency above 1", [](json& j) { j["compute_efficiency"] = 1.5; },
       "field 'compute_efficiency': must be at most 1"},
      {"channel step 0", [](json& j) { j["channel_step"] = 0; },
       "field 'channel_step': must be an integer >= 1"},
      {"fractional channel step", [](json& j) { j["channel_step"] = 8.5; },
       "field 'channel_step': must be an integer >= 1"},
      {"unknown kind", [](json& j) { j["kind"] = "tpu"; }, "field 'kind': must be cpu"},
      {"cores on a gpu", [](json& j) { j["kind"] = "gpu"; }, "field 'cores': only CPU profiles"},
      {"flag as number", [](json& j) { j["tensor_cores"] = 1; },
       "field 'tensor_cores': must be true"},
      {"step for an unlisted precision",
       [](json& j) {
         j["channel_step_by_precision"] = {{"fp16", 8}};
         j["sources"]["channel_step_by_precision.fp16"] = "x";
       },
       "field 'channel_step_by_precision.fp16': 'fp16' is not in precisions"},
  };
  for (const BadCase& c : cases) {
    json j = ShippedJson("x86_cpu");
    c.mutate(j);
    auto p = ParseProfile(j, "test.json");
    ASSERT_FALSE(p) << c.what << " was accepted";
    EXPECT_TRUE(p.error().Is(Errc::kInvalidArgument)) << c.what;
    EXPECT_EQ(p.error().message().rfind("test.json: ", 0), 0u) << p.error().message();
    EXPECT_NE(p.error().message().find(c.expected), std::string::npos)
        << c.what << ": " << p.error().message();
  }
  // Not a mutation of a valid file: a NaN only reaches ParseProfile from code.
  json j = ShippedJson("x86_cpu");
  j["tdp_w"] = std::nan("");
  auto p = ParseProfile(j, "test.json");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("field 'tdp_w'"), std::string::npos) << p.error().message();
}

TEST(ProfileTest, TheFileNameMustMatchTheProfileName) {
  const fs::path dir = fs::temp_directory_path() / ("hadmc-profile-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "renamed.json") << ShippedJson("x86_cpu").dump();
  std::ofstream(dir / "broken.json") << "{\"name\": ";
  auto p = LoadProfile((dir / "renamed.json").string());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("field 'name': 'x86_cpu' does not match the file name"),
            std::string::npos)
      << p.error().String();
  auto broken = LoadProfile((dir / "broken.json").string());
  ASSERT_FALSE(broken);
  EXPECT_TRUE(broken.error().Is(Errc::kParse)) << broken.error().String();
  auto all = LoadAllProfiles(dir.string());  // one bad file fails the directory, by name
  ASSERT_FALSE(all);
  EXPECT_NE(all.error().message().find("broken.json"), std::string::npos);
  fs::remove_all(dir);
}

TEST(ProfileTest, ToJsonRoundTrips) {
  for (const char* name : {"nvidia_a100", "x86_cpu", "ascend_310"}) {
    auto p = FindProfile(name, kShipped);
    ASSERT_TRUE(p) << p.error().String();
    auto again = ParseProfile(ToJson(*p), "roundtrip");
    ASSERT_TRUE(again) << again.error().String();
    EXPECT_EQ(ToJson(*again), ToJson(*p)) << name;
    EXPECT_EQ(ToJson(*p), ShippedJson(name)) << name;
  }
}

TEST(ProfileTest, ChannelStepsAndCoreScaling) {
  auto a100 = FindProfile("nvidia_a100", kShipped);
  auto cpu = FindProfile("x86_cpu", kShipped);
  ASSERT_TRUE(a100 && cpu);
  EXPECT_EQ(ChannelStepFor(*a100, "fp16"), 8);
  EXPECT_EQ(ChannelStepFor(*a100, "int8"), 16);
  EXPECT_EQ(ChannelStepFor(*cpu, "int8"), 16);  // the override
  EXPECT_EQ(ChannelStepFor(*cpu, "fp32"), 1);   // no override: the profile's step

  const HardwareProfile eight = ScaledToCores(*cpu, 8);
  EXPECT_EQ(eight.cores, 8);
  EXPECT_DOUBLE_EQ(eight.peak_tops.at("fp32"), cpu->peak_tops.at("fp32") * 4);
  EXPECT_DOUBLE_EQ(eight.tdp_w, cpu->tdp_w * 4);
  EXPECT_DOUBLE_EQ(eight.memory_bandwidth_gbs, cpu->memory_bandwidth_gbs);
  EXPECT_EQ(ToJson(ScaledToCores(*a100, 8)), ToJson(*a100));  // not a per-core profile
  EXPECT_EQ(ToJson(ScaledToCores(*cpu, 0)), ToJson(*cpu));
}

}  // namespace
}  // namespace hadmc::hal
