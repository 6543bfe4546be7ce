#include <gtest/gtest.h>

#include "tiny_base.h"
#include "hadmc/compress/pipeline.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/train/model_metadata.h"
#include "hadmc/train/trainer.h"

namespace hadmc::compress {
namespace {

using train::testing::TempDir;

TEST(CompressPipelineTest, PruneDistillFuseQuantizeEndToEnd) {
  TempDir dir;
  const testing::TinyBase tiny = testing::TrainTinyBase(dir, 3);
  const data::Dataset &train_set = tiny.train, &test_set = tiny.test;
  const model::Model& base = tiny.model;
  const std::string& base_path = tiny.path;

  CompressRecipe r;
  r.prune_ratio = 0.5;
  r.round_to = 1;
  r.finetune_epochs = 1;
  r.finetune_lr = 0.01;
  r.batch_size = 32;
  r.calib_batches = 1;
  r.bits = 8;
  r.keep_first_last = false;
  r.quant_calib_samples = 64;
  CompressInputs in{&train_set, &test_set, dir.File("small.hmc"), dir.path().string(), nullptr};
  auto report = Compress(base, base_path, r, in);
  ASSERT_TRUE(report.has_value()) << report.error().String();
  EXPECT_GT(report->before.accuracy, 0.9);  // the quadrants are easy
  EXPECT_GT(report->after.accuracy, 0.8);
  EXPECT_LT(report->after.params, report->before.params);
  EXPECT_LT(report->after.file_bytes, report->before.file_bytes);
  ASSERT_EQ(report->pruning.groups.size(), 1u);
  EXPECT_EQ(report->pruning.groups[0].after, 2);
  EXPECT_EQ(report->int8_nodes, (std::vector<std::string>{"conv", "fc"}));
  EXPECT_EQ(report->finetune.size(), 1u);
  EXPECT_EQ(report->before.measured.size(), report->after.measured.size());
  EXPECT_GT(report->after.batch1.median_ms, 0);
  auto written = model::LoadHmc(dir.File("small.hmc"));
  ASSERT_TRUE(written.has_value()) << written.error().String();
  EXPECT_EQ(written->metadata.at("compressed_from"), base_path);
  const std::string table = FormatReport(*report);
  EXPECT_NE(table.find("test accuracy"), std::string::npos);
  EXPECT_EQ(ReportToJson(*report)["after"]["params"], report->after.params);
}

// The distillation fine-tune after pruning runs with adaptive sparse training when the recipe
// says so: its epochs back-propagate only part of each batch.
TEST(CompressPipelineTest, DistillationFinetuneUsesAdaptiveSparseTraining) {
  TempDir dir;
  const testing::TinyBase tiny = testing::TrainTinyBase(dir, 3);
  CompressRecipe r;
  r.prune_ratio = 0.5;
  r.round_to = 1;
  r.finetune_epochs = 1;
  r.finetune_lr = 0.01;
  r.batch_size = 32;
  r.calib_batches = 1;
  r.ast.enabled = true;
  r.ast.target_rate = 0.4;
  CompressInputs in{&tiny.train, &tiny.test, dir.File("small.hmc"), dir.path().string(), nullptr};
  auto report = Compress(tiny.model, tiny.path, r, in);
  ASSERT_TRUE(report.has_value()) << report.error().String();
  ASSERT_EQ(report->finetune.size(), 1u);
  const nlohmann::json& epoch = report->finetune[0];
  EXPECT_EQ(epoch.at("ast_active"), true) << epoch.dump();
  EXPECT_EQ(epoch.at("scored"), epoch.at("samples"));
  EXPECT_LT(epoch.at("backpropagated").get<int64_t>(), epoch.at("samples").get<int64_t>());
  EXPECT_TRUE(epoch.contains("distill_kl")) << "the distillation step's own stats are kept: "
                                    << epoch.dump();
}

TEST(CompressRecipeTest, JsonRoundTripAndErrors) {
  CompressRecipe r;
  r.prune_ratio = 0.4;
  r.ast.enabled = true;
  r.ast.target_rate = 0.2;
  r.importance = Importance::kL1;
  r.bits = 8;
  r.disabled_passes = {"fuse_activation"};
  auto back = RecipeFromJson(RecipeToJson(r));
  ASSERT_TRUE(back.has_value()) << back.error().String();
  EXPECT_EQ(RecipeToJson(*back), RecipeToJson(r));
  EXPECT_FALSE(RecipeFromJson({{"prun", 0.5}}).has_value());  // typo: unknown key
  EXPECT_FALSE(RecipeFromJson({{"prune", 1.5}}).has_value());
  EXPECT_FALSE(RecipeFromJson({{"bits", 5}}).has_value());
  EXPECT_TRUE(RecipeFromJson({{"bits", 4}}).has_value());
  EXPECT_FALSE(RecipeFromJson({{"bits", 4}, {"mixed_budget_kb", 100}}).has_value());
  EXPECT_TRUE(RecipeFromJson({{"bits", 8}, {"mixed_budget_kb", 100}}).has_value());
  EXPECT_FALSE(RecipeFromJson({{"prune", "half"}}).has_value());
  EXPECT_FALSE(RecipeFromJson({{"observer", "kl"}}).has_value());
  EXPECT_FALSE(RecipeFromJson({{"latency_runs", 10}}).has_value());
  EXPECT_EQ(back->ast.target_rate, 0.2);
  EXPECT_FALSE(RecipeFromJson({{"ast_target", 0.0}}).has_value());
  EXPECT_FALSE(RecipeFromJson({{"ast", "yes"}}).has_value());
}

}  // namespace
}  // namespace hadmc::compress
