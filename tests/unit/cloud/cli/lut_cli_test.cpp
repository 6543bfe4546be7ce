// `hadmc lut import|show|export|predict` end to end through the built binary on a local state
// directory (skipped when the binary is absent). Each start loads LibTorch, so the cases are few.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../../common/model/model_test_util.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/hal/lut.h"
#include "hadmc/model/hmc_file.h"
#include "test_paths.h"

namespace hadmc::model {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kConv[] = "conv2d|1x3x8x8|o8|k3x3|s1|p1|g1|fp32";   // TinyCnn's conv1, exactly
constexpr char kLinear16[] = "linear|1x8|o16|k0x0|s1|p0|g1|fp32";  // fc has 10 outputs: a neighbour

class LutCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(HADMC_CLI_PATH, X_OK) != 0)
      GTEST_SKIP() << HADMC_CLI_PATH << " is not built (ninja hadmc)";
    ASSERT_TRUE(SaveHmc(testing::TinyCnn(), dir_ / "tiny.hmc"));
    const json lut = {{"device_class", "x86_cpu"},
                      {"rows",
                       {{{"key", kConv},
                         {"median_ms", 0.2},
                         {"p90_ms", 0.25},
                         {"count", 50},
                         {"source", "measured"},
                         {"updated_at", "2026-01-01T00:00:00Z"}},
                        {{"key", kLinear16},
                         {"median_ms", 0.05},
                         {"p90_ms", 0.06},
                         {"count", 0},
                         {"source", "estimated"}}}}};
    ASSERT_TRUE(WriteFileAtomically(dir_ / "lut.json", lut.dump()));
  }
  testing::CommandResult Hadmc(const std::string& args) {
    return testing::RunCommand(std::string(HADMC_CLI_PATH) + " --threads 1 " + args);
  }
  testing::ScratchDir dir_;
};

TEST_F(LutCliTest, ImportShowExportThroughTheLocalRegistry) {
  const std::string state = " --state-dir " + dir_ / "state";
  auto r = Hadmc("lut import " + dir_ / "lut.json" + state);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("imported 2 rows into the LUT of x86_cpu"));
  r = Hadmc("lut show x86_cpu" + state);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("key"));
  EXPECT_THAT(r.output, HasSubstr(std::string(kConv) + "  0.2000     0.2500  50     measured   "
                                                       "2026-01-01T00:00:00Z"));
  EXPECT_THAT(r.output, HasSubstr("estimated"));
  r = Hadmc("lut export x86_cpu -o " + dir_ / "out.json" + state);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto text = ReadFile(dir_ / "out.json");
  ASSERT_TRUE(text);
  auto lut = hal::LutFromJson(json::parse(*text));
  ASSERT_TRUE(lut) << lut.error().String();
  ASSERT_EQ(lut->rows().size(), 2u);
  EXPECT_EQ(lut->Find(*hal::KernelKey::Parse(kConv))->median_ms, 0.2);
  EXPECT_EQ(lut->Find(*hal::KernelKey::Parse(kConv))->count, 50);
  r = Hadmc("lut show 'Not A Class'" + state);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("[a-z0-9_-]"));
}

TEST_F(LutCliTest, PredictSaysHowEachKernelWasPredicted) {
  auto r = Hadmc("lut predict --json --model " + dir_ / "tiny.hmc" + " --lut " + dir_ / "lut.json" +
                 " --profile x86_cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  ASSERT_EQ(j["kernels"].size(), 6u) << r.output;  // conv, bn, relu, pool, flatten, fc
  EXPECT_EQ(j["exact"], 1);
  EXPECT_EQ(j["neighbour"], 1);
  EXPECT_EQ(j["roofline"], 4);
  EXPECT_EQ(j["kernels"][0]["how"], "exact");
  EXPECT_DOUBLE_EQ(j["kernels"][0]["ms"].get<double>(), 0.2);
  EXPECT_EQ(j["kernels"][5]["key"], "linear|1x8|o10|k0x0|s1|p0|g1|fp32");
  EXPECT_EQ(j["kernels"][5]["how"], "neighbour");
  EXPECT_EQ(j["kernels"][5]["from_key"], kLinear16);
  // x86_cpu's fp32 channel step is 1 (measured: no flat stairs), so 10 outputs are not on the
  // 16-output row's stair: the row's time scaled by work, 8 x 10 against 8 x 16.
  EXPECT_DOUBLE_EQ(j["kernels"][5]["ms"].get<double>(), 0.05 * (8.0 * 10) / (8.0 * 16));
  double sum = 0;
  for (const auto& k : j["kernels"]) {
    EXPECT_GT(k["ms"].get<double>(), 0) << k.dump();
    sum += k["ms"].get<double>();
  }
  EXPECT_NEAR(j["ms"].get<double>(), sum, 1e-12);

  r = Hadmc("lut predict --model " + dir_ / "tiny.hmc" + " --lut " + dir_ / "lut.json" +
            " --batch 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("conv2d|4x3x8x8|o8"));
  EXPECT_THAT(r.output, HasSubstr("at batch 4 on x86_cpu (0 exact, 2 neighbour, 0 roofline, "
                                  "4 without a prediction: pass --profile)"));
}

}  // namespace
}  // namespace hadmc::model
