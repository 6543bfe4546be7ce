#include "hadmc/edge/edged_config.h"

#include <gtest/gtest.h>

#include "test_paths.h"

namespace hadmc::edge {
namespace {

nlohmann::json Minimal() {
  return nlohmann::json::parse(R"({
    "server": {"url": "https://cloud:8443", "ca": "ca.crt", "cert": "d.crt", "key": "d.key"},
    "model": "resnet", "pinned_keys": ["k.pub"]})");
}

std::string ErrorOf(const nlohmann::json& j) {
  auto c = ParseEdgedConfig(j, "edged.json", "/etc/hadmc");
  EXPECT_FALSE(c.has_value());
  return c ? "" : c.error().message();
}

TEST(EdgedConfigTest, MinimalConfigGetsDefaultsAndResolvedPaths) {
  auto c = ParseEdgedConfig(Minimal(), "edged.json", "/etc/hadmc");
  ASSERT_TRUE(c) << c.error().String();
  EXPECT_EQ(c->ca_file, "/etc/hadmc/ca.crt");
  EXPECT_EQ(c->pinned_keys, (std::vector<std::string>{"/etc/hadmc/k.pub"}));
  EXPECT_EQ(c->channel, "stable");
  EXPECT_EQ(c->state_dir, "/var/lib/hadmc");
  EXPECT_EQ(c->api_address, "127.0.0.1");  // loopback by default
  EXPECT_EQ(c->concurrency, 4);
}

TEST(EdgedConfigTest, ErrorsNameTheField) {
  auto j = Minimal();
  j.erase("model");
  EXPECT_NE(ErrorOf(j).find("missing required field 'model'"), std::string::npos) << ErrorOf(j);
  j = Minimal();
  j["server"].erase("cert");
  EXPECT_NE(ErrorOf(j).find("'server.cert'"), std::string::npos) << ErrorOf(j);
  j = Minimal();
  j["sync"] = {{"concurrency", "four"}};
  EXPECT_NE(ErrorOf(j).find("field 'sync.concurrency' must be an integer in [1, 64], got \"four\""),
            std::string::npos)
      << ErrorOf(j);
  j = Minimal();
  j["api"] = {{"port", 70000}};
  EXPECT_NE(ErrorOf(j).find("'api.port'"), std::string::npos) << ErrorOf(j);
  j = Minimal();
  j["sync"] = {{"intervall_s", 5}};
  EXPECT_NE(ErrorOf(j).find("unknown field 'sync.intervall_s'"), std::string::npos) << ErrorOf(j);
  j = Minimal();
  j["server"]["url"] = "http://cloud:80";
  EXPECT_NE(ErrorOf(j).find("https://"), std::string::npos) << ErrorOf(j);
  j = Minimal();
  j["pinned_keys"] = nlohmann::json::array();
  EXPECT_NE(ErrorOf(j).find("'pinned_keys'"), std::string::npos) << ErrorOf(j);
  EXPECT_NE(ErrorOf(nlohmann::json::array()).find("must be an object"), std::string::npos);
}

TEST(EdgedConfigTest, TheProfilerSection) {
  auto c = ParseEdgedConfig(Minimal(), "edged.json", "/etc/hadmc");
  ASSERT_TRUE(c) << c.error().String();
  EXPECT_TRUE(c->profile_enabled);
  EXPECT_EQ(c->profile_runs, 50);
  EXPECT_EQ(c->profile_threads, 1);
  EXPECT_DOUBLE_EQ(c->profile_max_duty_cycle, 0.25);
  auto j = Minimal();
  j["profile"] = {{"enabled", false}, {"runs", 5}, {"threads", 2}, {"max_duty_cycle", 1.0},
                  {"jobs_interval_s", 0}};
  c = ParseEdgedConfig(j, "edged.json", "/etc/hadmc");
  ASSERT_TRUE(c) << c.error().String();
  EXPECT_FALSE(c->profile_enabled);
  EXPECT_EQ(c->profile_runs, 5);
  EXPECT_EQ(c->profile_threads, 2);
  EXPECT_DOUBLE_EQ(c->profile_max_duty_cycle, 1.0);
  EXPECT_EQ(c->profile_jobs_interval_s, 0);
  j["profile"] = {{"enabled", "yes"}};
  EXPECT_NE(ErrorOf(j).find("field 'profile.enabled' must be true or false"), std::string::npos)
      << ErrorOf(j);
  j["profile"] = {{"runs", 0}};
  EXPECT_NE(ErrorOf(j).find("'profile.runs'"), std::string::npos) << ErrorOf(j);
  j["profile"] = {{"max_duty_cycle", 0}};
  EXPECT_NE(ErrorOf(j).find("'profile.max_duty_cycle'"), std::string::npos) << ErrorOf(j);
  j["profile"] = {{"run", 5}};
  EXPECT_NE(ErrorOf(j).find("unknown field 'profile.run'"), std::string::npos) << ErrorOf(j);
}

TEST(EdgedConfigTest, TheShippedExampleLoads) {
  auto c = LoadEdgedConfig(std::string(HADMC_SOURCE_DIR) + "/configs/edged.json");
  ASSERT_TRUE(c) << c.error().String();
  EXPECT_EQ(c->model, "resnet");
  EXPECT_EQ(c->api_port, 8470);
  EXPECT_EQ(c->profile_runs, 50);
  EXPECT_FALSE(LoadEdgedConfig("/nonexistent/edged.json"));
}

}  // namespace
}  // namespace hadmc::edge
