#include "hadmc/train/ast_experiment.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "train_test_util.h"

namespace hadmc::train {
namespace {

AstExperimentOptions TinyExperiment(const std::string& dir) {
  AstExperimentOptions o;
  o.targets = {0.5};
  o.out_dir = dir;
  o.train.epochs = 2;
  o.train.batch_size = 16;
  o.train.seed = 4;
  o.train.val_fraction = 0.25;
  o.train.augment = {1, false};
  o.train.normalization = {{0.25f}, {0.3f}};
  o.train.threads = 1;
  o.make_model = []() -> Result<model::Model> { return testing::TinyModel(3); };
  return o;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AstExperimentTest, RunsTheBaselineAndEachTargetAndWritesTablesAndPlots) {
  testing::TempDir dir;
  const std::string out = dir.path().string();
  auto runs = RunAstExperiment(testing::QuadrantDataset(40, 1), testing::QuadrantDataset(10, 2),
                               TinyExperiment(out));
  ASSERT_TRUE(runs) << runs.error().message();
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].name, "full");
  EXPECT_DOUBLE_EQ((*runs)[0].activation_rate, 1.0);
  EXPECT_DOUBLE_EQ((*runs)[0].scored_rate, 0.0);
  EXPECT_EQ((*runs)[1].name, "ast-0.5");
  EXPECT_LT((*runs)[1].activation_rate, 0.8);
  EXPECT_DOUBLE_EQ((*runs)[1].scored_rate, 1.0);
  EXPECT_LT((*runs)[1].est_gflops, (*runs)[0].est_gflops);
  for (const char* f : {"full.hmc", "full.jsonl", "full.results.json", "ast-0.5.hmc",
                        "ast-0.5.jsonl", "ast-0.5.results.json"})
    EXPECT_TRUE(std::filesystem::exists(dir.File(f))) << f;
  EXPECT_FALSE(std::filesystem::exists(dir.File("full.ckpt")));

  const std::string md = AstExperimentMarkdown(*runs);
  EXPECT_NE(md.find("| full | - | 1.000 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| ast-0.5 | 0.50 |"), std::string::npos) << md;
  const nlohmann::json j = AstExperimentJson(*runs);
  ASSERT_EQ(j.at("runs").size(), 2u);
  EXPECT_TRUE(j.at("runs")[1].at("target").is_number());
  EXPECT_TRUE(j.at("runs")[0].at("target").is_null());

  ASSERT_TRUE(WriteAstPlots(*runs, out));
  for (const char* f : {"accuracy_vs_rate.svg", "activation.svg", "threshold.svg"})
    EXPECT_EQ(Slurp(dir.File(f)).rfind("<svg", 0), 0u) << f;
  EXPECT_NE(Slurp(dir.File("activation.svg")).find("target 0.50"), std::string::npos);
}

TEST(AstExperimentTest, RejectsATargetOutsideTheUnitInterval) {
  testing::TempDir dir;
  AstExperimentOptions o = TinyExperiment(dir.path().string());
  o.targets = {0.3, 1.5};
  auto runs = RunAstExperiment(testing::QuadrantDataset(40, 1), {}, o);
  ASSERT_FALSE(runs);
  EXPECT_NE(runs.error().message().find("1.5"), std::string::npos) << runs.error().message();
}

}  // namespace
}  // namespace hadmc::train
