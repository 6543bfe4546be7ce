#include "hadmc/search/lut_experiment.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "hadmc/model/hmc_file.h"
#include "search_test_util.h"

namespace hadmc::search {
namespace {

// The fixture's resnet8 (16 px) saved as a model file: variants of a given model, 2 ratios x
// fp32/int8, a handful of runs. The model records no dataset, so int8 calibrates on random
// inputs.
class LutExperimentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("hadmc_lut_experiment_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    model_path_ = (dir_ / "tiny.hmc").string();
    ASSERT_TRUE(model::SaveHmc(testing_util::Make().base, model_path_));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  LutExperimentOptions Options() const {
    LutExperimentOptions o;
    o.model_path = model_path_;
    o.ratios = {0, 0.5};
    o.runs = 4;
    o.rounds = 2;
    o.warmup = 1;
    return o;
  }

  std::filesystem::path dir_;
  std::string model_path_;
};

TEST_F(LutExperimentTest, MeasuresEveryVariantAndScoresEachPredictor) {
  auto e = RunLutExperiment(Options());
  ASSERT_TRUE(e) << e.error().String();
  ASSERT_EQ(e->variants.size(), 4u);  // 2 ratios x fp32/int8
  std::set<std::string> names;
  for (const LutVariant& v : e->variants) {
    names.insert(v.name);
    EXPECT_EQ(v.arch, "tiny");
    EXPECT_GT(v.kernels, 0) << v.name;
    EXPECT_GT(v.measured_median_ms, 0) << v.name;
    EXPECT_GE(v.measured_p90_ms, v.measured_median_ms) << v.name;
    EXPECT_GT(v.kernel_sum_ms, 0) << v.name;
    EXPECT_GT(v.isolated_sum_ms, 0) << v.name;
    EXPECT_GT(v.roofline_ms, 0) << v.name;
    // The held-out LUT is built from the first ratio only; the pruned variants are predicted.
    EXPECT_EQ(v.in_held_out_lut, v.prune_ratio == 0) << v.name;
    if (!v.in_held_out_lut) {
      EXPECT_GT(v.held_out_ms, 0) << v.name;
      EXPECT_EQ(v.held_out_exact + v.held_out_neighbour + v.held_out_roofline, v.kernels) << v.name;
    }
  }
  EXPECT_EQ(names.size(), 4u);
  EXPECT_TRUE(names.count("tiny prune 0.50 int8")) << *names.begin();
  EXPECT_GT(e->lut_rows_held_out, 0);
  EXPECT_GT(e->lut_rows_full, e->lut_rows_held_out);  // the pruned variants add their shapes
  EXPECT_NE(e->calibration.find("random"), std::string::npos) << e->calibration;

  ASSERT_EQ(e->scores.size(), 8u);  // 4 predictors x {tiny, all}
  for (const LutPredictorScore& s : e->scores) {
    EXPECT_GE(s.within_10pct, 0.0) << s.predictor;
    EXPECT_LE(s.within_10pct, 1.0) << s.predictor;
    EXPECT_GE(s.rmse_ms, 0.0) << s.predictor;
    EXPECT_EQ(s.variants, s.predictor == "held-out" ? 2 : 4) << s.predictor << " " << s.group;
  }

  const nlohmann::json j = LutExperimentJson(*e);
  for (const char* key : {"runs", "rounds", "threads", "profile", "ratios", "model", "calibration",
                          "lut_rows_full", "lut_rows_held_out", "summary", "variants", "system"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_FALSE(j.contains("archs"));
  ASSERT_EQ(j.at("variants").size(), 4u);
  for (const auto& row : j.at("variants")) {
    EXPECT_EQ(row.contains("held_out"), !row.at("in_held_out_lut").get<bool>());
    EXPECT_TRUE(row.at("precision") == "fp32" || row.at("precision") == "int8");
  }
  for (const char* predictor : {"kernel-sum", "isolated-sum", "held-out", "roofline"}) {
    const auto& all = j.at("summary").at(predictor).at("all");
    const double share = all.at("within_10pct").get<double>();
    EXPECT_GE(share, 0.0);
    EXPECT_LE(share, 1.0);
  }

  const std::string md = LutExperimentMarkdown(*e);
  EXPECT_NE(md.find("use only kernel latencies measured here"), std::string::npos);
  EXPECT_NE(md.find("| tiny prune 0.50 fp32 |"), std::string::npos);
  EXPECT_NE(md.find("| held-out | all | 2 |"), std::string::npos);

  const std::string svg = (dir_ / "lut.svg").string();
  ASSERT_TRUE(WriteLutExperimentPlot(*e, svg));
  std::ifstream in(svg);
  std::stringstream text;
  text << in.rdbuf();
  for (const char* label : {"<svg", "kernel-sum", "held-out", "roofline", "predicted = measured"})
    EXPECT_NE(text.str().find(label), std::string::npos) << label;
}

TEST_F(LutExperimentTest, BadOptionsAreRefusedNamingTheField) {
  LutExperimentOptions o = Options();
  o.ratios = {0, 1.0};
  auto e = RunLutExperiment(o);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("ratios"), std::string::npos);
  o = Options();
  o.runs = 1;  // fewer than the rounds
  EXPECT_FALSE(ValidateLutExperimentOptions(o));
  o = Options();
  o.model_path.clear();
  o.archs = {"no_such_net"};
  e = RunLutExperiment(o);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("no_such_net"), std::string::npos) << e.error().message();
}

}  // namespace
}  // namespace hadmc::search
