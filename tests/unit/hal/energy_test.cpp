#include "hadmc/hal/energy.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace hadmc::hal {
namespace {

namespace fs = std::filesystem;

class EnergyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("hadmc-energy-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    profile_.tdp_w = 8;
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& path, const std::string& text) {
    const fs::path p = root_ / path.substr(1);
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  void Rapl(const std::string& energy_uj) {
    Write("/sys/class/powercap/intel-rapl:0/energy_uj", energy_uj + "\n");
  }

  fs::path root_;
  HardwareProfile profile_;
};

TEST_F(EnergyTest, RaplCounterDifference) {
  Rapl("1000000");
  Write("/sys/class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
  auto meter = EnergyMeter::Open(root_.string());
  ASSERT_TRUE(meter) << meter.error().String();
  EXPECT_EQ(meter->source(), "rapl:/sys/class/powercap/intel-rapl:0");
  EXPECT_DOUBLE_EQ(meter->max_range_joules(), 262143.32885);
  const EnergyReading r = MeasureEnergy([&] { Rapl("3500000"); }, profile_, root_.string());
  EXPECT_TRUE(r.measured) << r.note;
  EXPECT_DOUBLE_EQ(r.joules, 2.5);
  EXPECT_EQ(r.source, "rapl:/sys/class/powercap/intel-rapl:0");
}

TEST_F(EnergyTest, RaplWrapAroundIsCorrected) {
  Rapl("262143000000");  // 328850 uJ below the wrap
  Write("/sys/class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
  const EnergyReading r = MeasureEnergy([&] { Rapl("171150"); }, profile_, root_.string());
  EXPECT_TRUE(r.measured) << r.note;
  EXPECT_NEAR(r.joules, 0.5, 1e-9);  // 328850 + 171150 uJ
}

TEST_F(EnergyTest, BackwardsCounterWithoutRangeBecomesAnEstimate) {
  Rapl("5000000");
  const EnergyReading r = MeasureEnergy([&] { Rapl("1000"); }, profile_, root_.string());
  EXPECT_FALSE(r.measured);
  EXPECT_EQ(r.source, "tdp-estimate");
  EXPECT_NE(r.note.find("went backwards"), std::string::npos) << r.note;
  EXPECT_DOUBLE_EQ(r.joules, 8 * r.seconds);
}

TEST_F(EnergyTest, NoCounterMeansALabelledEstimate) {
  auto meter = EnergyMeter::Open(root_.string());
  ASSERT_FALSE(meter);
  EXPECT_TRUE(meter.error().Is(Errc::kNotFound));
  EXPECT_NE(meter.error().message().find("/sys/class/powercap"), std::string::npos);
  fs::create_directories(root_ / "sys/class/powercap");  // the driver, without a package domain
  meter = EnergyMeter::Open(root_.string());
  ASSERT_FALSE(meter);
  EXPECT_NE(meter.error().message().find("intel-rapl:0/energy_uj"), std::string::npos);

  int runs = 0;
  const EnergyReading r = MeasureEnergy(
      [&] {
        ++runs;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      },
      profile_, root_.string());
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(r.measured);
  EXPECT_EQ(r.source, "tdp-estimate");
  EXPECT_GE(r.seconds, 0.02);
  EXPECT_DOUBLE_EQ(r.joules, profile_.tdp_w * r.seconds);
  EXPECT_NE(r.note.find("RAPL"), std::string::npos) << r.note;
  EXPECT_NE(r.note.find("no Jetson INA3221 rails"), std::string::npos) << r.note;
}

TEST_F(EnergyTest, RootOnlyCounterIsPermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file: the permission path needs a user";
  Rapl("1000");
  ::chmod((root_ / "sys/class/powercap/intel-rapl:0/energy_uj").c_str(), 0000);
  auto meter = EnergyMeter::Open(root_.string());
  ASSERT_FALSE(meter);
  EXPECT_TRUE(meter.error().Is(Errc::kPermissionDenied)) << meter.error().String();
}

TEST_F(EnergyTest, JetsonInaRailsAreIntegrated) {
  const std::string mon = "/sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3";
  // 5 V x 1 A + 5 V x 0.4 A = 7 W; channel 3 is unconnected.
  Write(mon + "/in1_label", "VDD_GPU_SOC\n");
  Write(mon + "/in1_input", "5000\n");
  Write(mon + "/curr1_input", "1000\n");
  Write(mon + "/in2_label", "VDD_CPU_CV\n");
  Write(mon + "/in2_input", "5000\n");
  Write(mon + "/curr2_input", "400\n");
  Write(mon + "/in3_label", "NC\n");
  Write(mon + "/in3_input", "5000\n");
  Write(mon + "/curr3_input", "9999\n");
  const EnergyReading r = MeasureEnergy(
      [] { std::this_thread::sleep_for(std::chrono::milliseconds(60)); }, profile_, root_.string());
  EXPECT_TRUE(r.measured) << r.note;
  EXPECT_EQ(r.source, "ina3221:" + mon);
  EXPECT_GE(r.seconds, 0.06);
  EXPECT_NEAR(r.joules, 7 * r.seconds, 1e-9);  // constant power integrates exactly
  EXPECT_NE(r.note.find("2 rails"), std::string::npos) << r.note;
}

TEST(EnergyMachineTest, ThisMachineEitherReadsRaplOrSaysWhyNot) {
  auto meter = EnergyMeter::Open();
  if (meter) {
    auto j = meter->ReadJoules();
    ASSERT_TRUE(j) << j.error().String();
    EXPECT_GE(*j, 0);
  } else {
    EXPECT_TRUE(meter.error().Is(Errc::kNotFound) || meter.error().Is(Errc::kPermissionDenied))
        << meter.error().String();
    EXPECT_FALSE(meter.error().message().empty());
  }
}

}  // namespace
}  // namespace hadmc::hal
