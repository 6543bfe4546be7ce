#include "hadmc/hal/detect.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hadmc/hal/device_class.h"
#include "hadmc/hal/profile.h"
#include "test_paths.h"

namespace hadmc::hal {
namespace {

namespace fs = std::filesystem;

// A fake root: files written under it are what Detect(root) sees.
class DetectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("hadmc-detect-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "dev");
    Write("/proc/cpuinfo",
          "processor\t: 0\nmodel name\t: Test EPYC\nflags\t\t: fpu sse avx2 fma f16c\n\n"
          "processor\t: 1\nmodel name\t: Test EPYC\nflags\t\t: fpu sse avx2 fma f16c\n\n");
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& path, const std::string& text) {
    const fs::path p = root_ / path.substr(1);
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  void Executable(const std::string& path) {
    Write(path, "#!/bin/sh\n");
    ::chmod((root_ / path.substr(1)).c_str(), 0755);
  }
  DeviceInfo Run() { return Detect(root_.string()); }

  static bool Saw(const DeviceInfo& info, const std::string& text) {
    return std::any_of(info.evidence.begin(), info.evidence.end(),
                       [&](const std::string& e) { return e.find(text) != std::string::npos; });
  }

  fs::path root_;
};

std::string Evidence(const DeviceInfo& info) { return nlohmann::json(info.evidence).dump(); }

TEST_F(DetectTest, PlainTreeIsTheCpu) {
  const DeviceInfo info = Run();
#if defined(__x86_64__)
  EXPECT_EQ(info.device_class, "x86_cpu");
  EXPECT_EQ(info.profile, "x86_cpu");
#endif
  EXPECT_EQ(info.cpu_cores, 2);  // from the fake cpuinfo, not this machine
  EXPECT_EQ(info.description, "Test EPYC, 2 CPUs, x86");
  EXPECT_NE(std::find(info.isa.begin(), info.isa.end(), "AVX2"), info.isa.end());
  EXPECT_TRUE(info.accelerators.empty());
  EXPECT_TRUE(Saw(info, "no accelerator found")) << Evidence(info);
  EXPECT_EQ(DetectDeviceClass(root_.string()), info.device_class);
}

TEST_F(DetectTest, JetsonOrinByReleaseFileAndModel) {
  Write("/etc/nv_tegra_release", "# R35 (release), REVISION: 3.1, GCID: 32827747\n");
  Write("/proc/device-tree/model", std::string("NVIDIA Jetson AGX Orin Developer Kit") + '\0');
  const DeviceInfo info = Run();
  EXPECT_EQ(info.device_class, "jetson_orin");
  EXPECT_EQ(info.profile, "jetson_orin");
  EXPECT_EQ(info.description, "NVIDIA Jetson AGX Orin Developer Kit");
  EXPECT_TRUE(Saw(info, "# R35 (release)")) << Evidence(info);
}

TEST_F(DetectTest, JetsonByDeviceTreeModelAlone) {
  Write("/sys/firmware/devicetree/base/model", std::string("NVIDIA Jetson Xavier NX") + '\0');
  const DeviceInfo info = Run();
  EXPECT_EQ(info.device_class, "jetson_xavier");
  EXPECT_EQ(info.profile, "");  // no shipped profile for it
}

TEST_F(DetectTest, AscendByNumberedDeviceNode) {
  Write("/dev/davinci0", "");
  Write("/dev/davinci1", "");
  DeviceInfo info = Run();
  EXPECT_EQ(info.device_class, "ascend_310");
  EXPECT_EQ(info.accelerators, (std::vector<std::string>{"/dev/davinci0", "/dev/davinci1"}));
  EXPECT_TRUE(Saw(info, "npu-smi not found")) << Evidence(info);
  EXPECT_TRUE(Saw(info, "assumed ascend_310")) << Evidence(info);

  Executable("/usr/local/Ascend/driver/tools/npu-smi");
  Write("/dev/davinci_manager", "");
  info = Run();
  EXPECT_EQ(info.accelerators.front(), "/dev/davinci_manager");
  EXPECT_TRUE(Saw(info, "npu-smi found at /usr/local/Ascend/driver/tools/npu-smi (not run)"))
      << Evidence(info);
}

TEST_F(DetectTest, MluByNumberedDeviceNode) {
  Write("/dev/cambricon_dev0", "");
  Executable("/usr/local/neuware/bin/cnmon");
  const DeviceInfo info = Run();
  EXPECT_EQ(info.device_class, "mlu370");
  EXPECT_EQ(info.profile, "mlu370");
  EXPECT_EQ(info.accelerators, (std::vector<std::string>{"/dev/cambricon_dev0"}));
  EXPECT_TRUE(Saw(info, "cnmon found at /usr/local/neuware/bin/cnmon")) << Evidence(info);
}

TEST_F(DetectTest, NodesThatOnlyLookAlikeAreIgnored) {
  Write("/dev/davinci", "");         // no number
  Write("/dev/cambricon_devx", "");  // not a number
  EXPECT_EQ(Run().accelerators, std::vector<std::string>{});
}

TEST_F(DetectTest, NvidiaA100ByTheDriversProcFile) {
  Write("/proc/driver/nvidia/gpus/0000:07:00.0/information",
        "Model: \t\t NVIDIA A100-SXM4-80GB\nIRQ:   \t\t 98\n");
  const DeviceInfo info = Run();
  EXPECT_EQ(info.device_class, "nvidia_a100");
  EXPECT_EQ(info.profile, "nvidia_a100");
  EXPECT_EQ(info.description, "NVIDIA A100-SXM4-80GB");
}

TEST_F(DetectTest, HygonDcuNeedsItsToolingBesidesKfd) {
  Write("/dev/kfd", "");
  DeviceInfo info = Run();
  EXPECT_NE(info.device_class, "hygon_dcu");  // /dev/kfd alone is any ROCm GPU
  EXPECT_TRUE(Saw(info, "/dev/kfd present but neither hy-smi nor /opt/hyhal")) << Evidence(info);
  Executable("/opt/hyhal/bin/hy-smi");
  info = Run();
  EXPECT_EQ(info.device_class, "hygon_dcu");
  EXPECT_TRUE(Saw(info, "hy-smi found at /opt/hyhal/bin/hy-smi")) << Evidence(info);
}

TEST(DetectMachineTest, ThisMachine) {
  const DeviceInfo info = Detect();
  EXPECT_EQ(info.cpu_cores, static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_EQ(info.device_class, DetectDeviceClass());
#if defined(__x86_64__)
  // The build machines have no accelerator: an x86-64 CPU, described by the x86_cpu profile.
  EXPECT_EQ(info.device_class, "x86_cpu");
  auto p = FindProfile(info.profile, std::string(HADMC_SOURCE_DIR) + "/configs/hal");
  ASSERT_TRUE(p) << p.error().String();
  EXPECT_NE(std::find(info.isa.begin(), info.isa.end(), "AVX2"), info.isa.end());
#endif
  const nlohmann::json j = ToJson(info);
  EXPECT_EQ(j["device_class"], info.device_class);
  EXPECT_EQ(j["evidence"].size(), info.evidence.size());
}

}  // namespace
}  // namespace hadmc::hal
