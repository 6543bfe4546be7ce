#include "hadmc/compress/ablation.h"

#include <gtest/gtest.h>

#include "tiny_base.h"
#include "hadmc/hal/int8_backend.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/train/trainer.h"

namespace hadmc::compress {
namespace {

using train::testing::TempDir;

TEST(AblationTest, RecipesLeaveOutOnePartEach) {
  CompressRecipe full;
  EXPECT_FALSE(AblationRecipes(full).has_value());  // nothing to ablate
  full.prune_ratio = 0.5;
  full.finetune_epochs = 2;
  full.bits = 8;
  auto r = AblationRecipes(full);
  ASSERT_TRUE(r.has_value()) << r.error().String();
  std::map<std::string, CompressRecipe> by;
  for (const auto& [name, recipe] : *r) by[name] = recipe;
  ASSERT_EQ(by.size(), 8u);
  EXPECT_FALSE(by["baseline"].fuse);
  EXPECT_EQ(by["baseline"].bits, 32);
  EXPECT_EQ(by["quant"].bits, 8);
  EXPECT_EQ(by["quant"].prune_ratio, 0);
  EXPECT_FALSE(by["prune"].distill);
  EXPECT_EQ(by["prune"].finetune_epochs, 2);
  EXPECT_EQ(by["prune"].bits, 32);
  EXPECT_EQ(by["distill"].prune_ratio, 0);
  EXPECT_TRUE(by["distill"].distill);
  EXPECT_FALSE(by["prune+quant"].distill);
  EXPECT_EQ(by["prune+quant"].bits, 8);
  EXPECT_TRUE(by["prune+distill"].distill);
  EXPECT_EQ(by["prune+distill"].bits, 32);
  EXPECT_EQ(RecipeToJson(by["full"]), RecipeToJson(full));
}

TEST(AblationTest, RunsEveryRowOnATinyModel) {
  if (!hal::ConfigureInt8Backend()) GTEST_SKIP() << "no int8 engine";
  TempDir dir;
  const testing::TinyBase tiny = testing::TrainTinyBase(dir, 4);
  const data::Dataset &train_set = tiny.train, &test_set = tiny.test;
  const model::Model& base = tiny.model;
  const std::string& base_path = tiny.path;

  CompressRecipe full;
  full.prune_ratio = 0.5;
  full.round_to = 1;
  full.finetune_epochs = 1;
  full.batch_size = 32;
  full.calib_batches = 1;
  full.bits = 8;
  full.keep_first_last = false;
  full.quant_calib_samples = 64;
  auto rows = RunAblation(base, base_path, full, train_set, test_set, dir.File("ablation"), nullptr);
  ASSERT_TRUE(rows.has_value()) << rows.error().String();
  ASSERT_EQ(rows->size(), 8u);
  const auto& baseline = rows->front().report;
  const int64_t fused_params = (*rows)[1].report.after.params;  // BN folded away
  EXPECT_EQ(baseline.after.params, baseline.before.params);
  EXPECT_LT(fused_params, baseline.before.params);
  for (const AblationRow& row : *rows) {
    // Every row compares against the one shared measurement of the original.
    EXPECT_EQ(row.report.before.accuracy, baseline.before.accuracy) << row.name;
    EXPECT_GT(row.report.before.batch1.median_ms, 0) << row.name;  // timed with the row
    EXPECT_TRUE(model::LoadHmc(row.model_path).has_value()) << row.name;
    const bool pruned = row.recipe.prune_ratio > 0;
    if (pruned) EXPECT_LT(row.report.after.params, fused_params) << row.name;
    else EXPECT_LE(row.report.after.params, baseline.before.params) << row.name;
    EXPECT_EQ(!row.report.int8_nodes.empty(), row.recipe.bits == 8) << row.name;
  }
  const std::string md = AblationMarkdown(*rows);
  for (const char* name : {"| baseline |", "| fuse |", "| quant |", "| prune |", "| distill |",
                           "| prune+quant |", "| prune+distill |", "| full |"})
    EXPECT_NE(md.find(name), std::string::npos) << name;
  EXPECT_EQ(AblationJson(*rows).size(), 8u);
}

}  // namespace
}  // namespace hadmc::compress
