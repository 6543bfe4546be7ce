#include "hadmc/search/cross_platform_experiment.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hadmc/hal/detect.h"
#include "search_test_util.h"

namespace hadmc::search {
namespace {

using testing_util::Fixture;

CrossPlatformOptions TinyOptions(const std::vector<std::string>& targets) {
  CrossPlatformOptions o;
  o.targets = targets;
  o.setup.latency_fraction = 0.7;
  o.setup.proxy_samples = 100;
  o.setup.recal_samples = 128;
  o.setup.finetune_epochs = 0;
  o.setup.seed = 3;
  o.search.episodes = 3;
  o.search.rollout_episodes = 3;
  o.search.ppo.minibatch_size = 8;
  o.search.ppo.epochs = 2;
  o.final_finetune = false;
  return o;
}

// Two targets on the tiny fixture: this machine's class (x86_cpu here) and a Jetson. A LUT
// directory holds a file for each: the Jetson's is used (a projection from it), this machine's
// is not (its kernels are timed here). The expectations follow `hadmc hal detect`, so the test
// also holds on a machine that is not an x86_cpu.
TEST(CrossPlatformExperimentTest, OneRowPerTargetSayingWhereItsLatenciesComeFrom) {
  Fixture f = testing_util::Make();
  const data::Dataset test = testing_util::SyntheticData(100, 11);
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    ("hadmc_cross_platform_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* target : {"x86_cpu", "jetson_orin"})
    std::ofstream(dir / (std::string(target) + ".json"))
        << "{\"device_class\": \"" << target << "\", \"rows\": []}\n";
  CrossPlatformOptions o = TinyOptions({"x86_cpu", "jetson_orin"});
  o.lut_dir = dir.string();
  auto e = RunCrossPlatformExperiment(f.base, f.data, test, o);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(e) << e.error().String();
  ASSERT_EQ(e->rows.size(), 2u);

  const bool x86_here = hal::Detect().profile == "x86_cpu";
  const CrossPlatformRow& x86 = e->rows[0];
  const CrossPlatformRow& jetson = e->rows[1];
  EXPECT_EQ(x86.target, "x86_cpu");
  EXPECT_EQ(x86.local, x86_here);
  EXPECT_EQ(x86.latency_source, x86_here ? "measured here" : "LUT file");
  EXPECT_EQ(x86.final_check.done, x86_here);
  if (x86_here) {
    EXPECT_GT(x86.base_measured_ms, 0);
    EXPECT_NEAR(x86.budget_ms, 0.7 * x86.base_measured_ms, 1e-9);
    EXPECT_GT(x86.final_check.best_latency_ms, 0);
    EXPECT_NE(x86.lut_detail.find("timed on this machine"), std::string::npos) << x86.lut_detail;
  }
  EXPECT_EQ(jetson.target, "jetson_orin");
  EXPECT_FALSE(jetson.local);
  EXPECT_EQ(jetson.latency_source, "LUT file");
  EXPECT_NE(jetson.lut_detail.find("jetson_orin.json"), std::string::npos) << jetson.lut_detail;
  EXPECT_FALSE(jetson.final_check.done);  // nothing timed for a device that is not here
  EXPECT_EQ(jetson.base_measured_ms, 0);
  EXPECT_NEAR(jetson.budget_ms, 0.7 * jetson.base_predicted_ms, 1e-9);

  for (const CrossPlatformRow& r : e->rows) {
    EXPECT_EQ(r.episodes, 3) << r.target;
    EXPECT_GT(r.best.evaluation.objectives.latency_ms, 0) << r.target;
    EXPECT_GT(r.final_check.base_test_accuracy, 0) << r.target;  // tested on every target
    EXPECT_GE(r.final_check.best_test_accuracy, 0) << r.target;
    EXPECT_NE(r.precision_summary.find("mean prune"), std::string::npos) << r.precision_summary;
    EXPECT_GT(SpeedUp(r), 0) << r.target;
  }

  const nlohmann::json j = CrossPlatformJson(*e);
  ASSERT_EQ(j.at("targets").size(), 2u);
  const nlohmann::json& jj = j.at("targets").at(1);
  EXPECT_EQ(jj.at("latency_source"), "LUT file");
  EXPECT_EQ(jj.at("target_is_this_machine"), false);
  EXPECT_FALSE(jj.at("best_latency_ms").contains("measured"));
  EXPECT_EQ(jj.at("speed_up_kind"), "projected");
  EXPECT_EQ(j.at("targets").at(0).at("best_latency_ms").contains("measured"), x86_here);

  // The jetson row's measured cell is empty; this machine's is filled.
  const std::string md = CrossPlatformMarkdown(*e);
  const size_t at = md.find("| jetson_orin | LUT file |");
  ASSERT_NE(at, std::string::npos) << md;
  const std::string jetson_line = md.substr(at, md.find('\n', at) - at);
  EXPECT_NE(jetson_line.find(" |  | "), std::string::npos) << jetson_line;
  EXPECT_NE(jetson_line.find("projected"), std::string::npos) << jetson_line;
  if (x86_here) {
    EXPECT_NE(md.find("| x86_cpu (this machine) | measured here |"), std::string::npos) << md;
  }
}

// A target whose search fails (here: its LUT file is not JSON) is that row's result; the next
// target still runs, and the report and JSON say which failed and why.
TEST(CrossPlatformExperimentTest, AFailingTargetGetsItsErrorInItsRowAndTheOthersStillRun) {
  Fixture f = testing_util::Make();
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    ("hadmc_cross_platform_bad_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "jetson_orin.json") << "{ not json | at all";
  CrossPlatformOptions o = TinyOptions({"jetson_orin", "mlu370"});
  o.lut_dir = dir.string();
  o.search.episodes = 1;
  o.search.rollout_episodes = 1;
  auto e = RunCrossPlatformExperiment(f.base, f.data, f.data, o);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(e) << e.error().String();
  ASSERT_EQ(e->rows.size(), 2u);
  EXPECT_EQ(e->rows[0].target, "jetson_orin");
  EXPECT_NE(e->rows[0].error.find("not JSON"), std::string::npos) << e->rows[0].error;
  EXPECT_TRUE(e->rows[1].error.empty()) << e->rows[1].error;
  EXPECT_EQ(e->rows[1].latency_source, "roofline projection");
  EXPECT_GT(e->rows[1].episodes, 0);

  const std::string md = CrossPlatformMarkdown(*e);
  EXPECT_NE(md.find("| jetson_orin | **failed**: "), std::string::npos) << md;
  const nlohmann::json j = CrossPlatformJson(*e);
  EXPECT_TRUE(j.at("targets").at(0).contains("error"));
  EXPECT_FALSE(j.at("targets").at(1).contains("error"));
  // An unknown target is refused before any search runs.
  EXPECT_FALSE(RunCrossPlatformExperiment(f.base, f.data, f.data,
                                          TinyOptions({"mlu370", "no_such_device"})));
}

TEST(CrossPlatformExperimentTest, ATargetWithoutALutIsARooflineProjection) {
  Fixture f = testing_util::Make();
  CrossPlatformOptions o = TinyOptions({"mlu370"});
  o.search.episodes = 1;
  o.search.rollout_episodes = 1;
  auto e = RunCrossPlatformExperiment(f.base, f.data, f.data, o);
  ASSERT_TRUE(e) << e.error().String();
  ASSERT_EQ(e->rows.size(), 1u);
  EXPECT_EQ(e->rows[0].latency_source, "roofline projection");
  EXPECT_FALSE(e->rows[0].final_check.done);
  // Every kernel of the best policy came from the roofline.
  EXPECT_EQ(e->rows[0].best.evaluation.lut_exact + e->rows[0].best.evaluation.lut_neighbour, 0);

  const std::string svg = (std::filesystem::path(::testing::TempDir()) /
                           ("hadmc_cross_platform_" + std::to_string(::getpid()) + ".svg"))
                              .string();
  ASSERT_TRUE(WriteCrossPlatformPlot(*e, svg));
  std::ifstream in(svg);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(svg);
  EXPECT_NE(text.find(">mlu370<"), std::string::npos);
  EXPECT_NE(text.find("speed-up, predicted"), std::string::npos);
}

TEST(CrossPlatformExperimentTest, RefusesAnUnknownTargetOrNoBudgetFraction) {
  Fixture f = testing_util::Make();
  CrossPlatformOptions o = TinyOptions({"no_such_device"});
  auto e = RunCrossPlatformExperiment(f.base, f.data, f.data, o);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("no_such_device"), std::string::npos) << e.error().message();
  o = TinyOptions({"mlu370"});
  o.setup.latency_fraction = 0;
  e = RunCrossPlatformExperiment(f.base, f.data, f.data, o);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("latency_fraction"), std::string::npos);
}

TEST(CrossPlatformExperimentTest, PrecisionSummaryCountsLayersMostFirst) {
  Evaluation e;
  e.per_layer = nlohmann::json::array();
  for (int i = 0; i < 3; ++i) e.per_layer.push_back({{"precision", "int8"}, {"prune_ratio", 0.2}});
  e.per_layer.push_back({{"precision", "fp32"}, {"prune_ratio", 0.0}});
  EXPECT_EQ(PrecisionSummary(e), "int8 ×3, fp32 ×1; mean prune 0.15");
}

}  // namespace
}  // namespace hadmc::search
