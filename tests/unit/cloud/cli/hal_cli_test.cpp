// `hadmc hal` and the device part of `hadmc sysinfo`, through the built binary (skipped when it
// is absent). The library behaviour is tested in tests/unit/hal; these check the wiring and that
// what is printed says what happened.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "../../common/model/model_test_util.h"
#include "test_paths.h"

namespace hadmc::cli {
namespace {

using ::testing::HasSubstr;

class HalCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(HADMC_CLI_PATH, X_OK) != 0)
      GTEST_SKIP() << HADMC_CLI_PATH << " is not built (ninja hadmc)";
  }
  model::testing::CommandResult Hadmc(const std::string& args) {
    return model::testing::RunCommand(std::string(HADMC_CLI_PATH) + " " + args);
  }
  model::testing::ScratchDir dir_;
};

TEST_F(HalCliTest, ListShowAndValidate) {
  auto list = Hadmc("hal list");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  for (const char* name :
       {"nvidia_a100", "jetson_orin", "ascend_310", "mlu370", "hygon_dcu", "x86_cpu"})
    EXPECT_THAT(list.output, HasSubstr(name));
  auto show = Hadmc("hal show jetson_orin");
  ASSERT_EQ(show.exit_code, 0) << show.output;
  EXPECT_THAT(show.output, HasSubstr("source: NVIDIA Jetson AGX Orin Series"));

  std::ofstream(dir_ / "x86_cpu.json") << R"({"name": "x86_cpu", "kind": "cpu", "color": 1})";
  auto bad = Hadmc("hal validate " + std::string(HADMC_SOURCE_DIR) + "/configs/hal/x86_cpu.json " +
                   dir_ / "x86_cpu.json");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("ok  " + std::string(HADMC_SOURCE_DIR)));
  EXPECT_THAT(bad.output, HasSubstr("x86_cpu.json: field 'color': unknown key"));
}

TEST_F(HalCliTest, DetectOnAFakeAscendFallsBackToCpuAndSaysSo) {
  std::filesystem::create_directories(dir_ / "dev");
  std::ofstream(dir_ / "dev/davinci0").put('x');
  auto r = Hadmc("hal detect --json --backend ascend --root " + dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("warning: backend 'ascend' cannot execute here"));
  const auto j = nlohmann::json::parse(r.output.substr(0, r.output.find("warning:")));
  EXPECT_EQ(j.at("device_class"), "ascend_310");
  EXPECT_EQ(j.at("selected_backend").at("backend"), "cpu");
}

TEST_F(HalCliTest, SysinfoReportsTheDeviceAndBackends) {
  auto r = Hadmc("sysinfo --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  const auto& device = j.at("device");
  EXPECT_FALSE(device.at("device_class").get<std::string>().empty());
  bool cpu_available = false;
  for (const auto& b : device.at("backends"))
    if (b.at("name") == "cpu") cpu_available = b.at("available");
  EXPECT_TRUE(cpu_available);
}

}  // namespace
}  // namespace hadmc::cli
