#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "hadmc/hal/device_class.h"

namespace hadmc::hal {
namespace {
namespace fs = std::filesystem;

TEST(DeviceClassTest, AcceleratorsAreSeenByTheirDeviceNodes) {
  const fs::path root = fs::temp_directory_path() / ("hadmc-devclass-" + std::to_string(::getpid()));
  fs::create_directories(root / "dev");
  fs::create_directories(root / "etc");
#if defined(__x86_64__)
  EXPECT_EQ(DetectDeviceClass(root.string()), "x86_cpu");  // nothing there: the CPU
#endif
  std::ofstream(root / "dev" / "cambricon_ctl").put('x');
  EXPECT_EQ(DetectDeviceClass(root.string()), "mlu370");
  std::ofstream(root / "dev" / "davinci_manager").put('x');
  EXPECT_EQ(DetectDeviceClass(root.string()), "ascend_310");
  std::ofstream(root / "etc" / "nv_tegra_release") << "# R35 (release)\n";
  EXPECT_EQ(DetectDeviceClass(root.string()), "jetson");
  fs::create_directories(root / "proc" / "device-tree");
  std::ofstream(root / "proc" / "device-tree" / "model") << "NVIDIA Jetson AGX Orin Developer Kit" << '\0';
  EXPECT_EQ(DetectDeviceClass(root.string()), "jetson_orin");
  fs::remove_all(root);
}

TEST(DeviceClassTest, FreeDiskAndMemoryAreRead) {
  EXPECT_GT(FreeDiskBytes(fs::temp_directory_path().string()), 0);
  EXPECT_EQ(FreeDiskBytes("/no/such/dir"), -1);
  EXPECT_GT(AvailableMemoryBytes(), 1 << 20);
}

}  // namespace
}  // namespace hadmc::hal
