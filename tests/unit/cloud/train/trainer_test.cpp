#include "hadmc/train/trainer.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hadmc/train/model_metadata.h"
#include "train_test_util.h"

namespace hadmc::train {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class TrainerTest : public ::testing::Test {
 protected:
  // 4 classes x 40 = 160 train samples (120 after a 25% hold-out: 8 batches of 16 per epoch).
  TrainOptions Options(const std::string& name) const {
    TrainOptions o;
    o.epochs = 4;
    o.batch_size = 16;
    o.lr = 0.1;
    o.warmup_epochs = 0.5;
    o.seed = 11;
    o.val_fraction = 0.25;
    o.augment = {1, true};
    o.normalization = {{0.25f}, {0.3f}};
    o.select_best = false;  // compare trajectories, not selections
    o.threads = 1;          // bitwise reproducible
    o.checkpoint_dir = dir.File(name + ".ckpt");
    o.log_path = dir.File(name + ".jsonl");
    return o;
  }
  Result<TrainResult> Run(model::Model& m, const TrainOptions& o) { return Train(m, train, test, o); }

  testing::TempDir dir;
  data::Dataset train = testing::QuadrantDataset(40, 1);
  data::Dataset test = testing::QuadrantDataset(10, 2);
};

TEST_F(TrainerTest, LossDecreasesAndTheTaskIsLearned) {
  model::Model m = testing::TinyModel(3);
  TrainOptions o = Options("learn");
  o.select_best = true;
  o.augment = {1, false};  // a flip would swap the left and right quadrant classes
  auto r = Run(m, o);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->history.size(), 4u);
  EXPECT_LT(r->history.back().train_loss, 0.5 * r->history.front().train_loss);
  EXPECT_EQ(r->stopped, StopReason::kCompleted);
  EXPECT_EQ(r->train_samples, 120);
  EXPECT_EQ(r->val_samples, 40);
  ASSERT_TRUE(r->test && r->val);
  EXPECT_GE(r->test->accuracy, 0.9);
  EXPECT_GE(r->best_epoch, 1);
  EXPECT_EQ(r->history.back().steps, 8);
  // Metadata needed by `hadmc eval`.
  auto norm = NormalizationFromMetadata(m.metadata);
  ASSERT_TRUE(norm && *norm);
  EXPECT_EQ((*norm)->mean, std::vector<float>{0.25f});
  auto names = ClassNamesFromMetadata(m.metadata);
  ASSERT_TRUE(names && *names);
  EXPECT_EQ(**names, train.class_names);
  EXPECT_EQ(m.metadata.at("epochs_run"), "4");
  EXPECT_EQ(m.metadata.at("stopped"), "completed");
  EXPECT_FALSE(m.tensors.at("fc.weight").requires_grad());
}

TEST_F(TrainerTest, JsonlLogHasOneCompleteLinePerEpoch) {
  model::Model m = testing::TinyModel(3);
  TrainOptions o = Options("log");
  o.epochs = 2;
  ASSERT_TRUE(Run(m, o));
  std::ifstream in(o.log_path);
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    const auto j = nlohmann::json::parse(line);
    for (const char* key : {"epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc",
                            "epoch_seconds", "images_per_second", "steps", "samples"})
      EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["epoch"], lines + 1);
    EXPECT_TRUE(j["val_acc"].is_number());
    EXPECT_EQ(j["samples"], 120);
  }
  EXPECT_EQ(lines, 2);
}

// The reference run, and runs interrupted after epoch 1 (at an epoch boundary) or in the middle
// of epoch 1 (after its first batch), then resumed into a model with different initial weights:
// all must end with bitwise identical weights.
TEST_F(TrainerTest, ResumedRunsEndWithTheUninterruptedRunsWeights) {
  model::Model reference = testing::TinyModel(3);
  auto full = Run(reference, Options("full"));
  ASSERT_TRUE(full) << full.error().message();

  {  // stopped at the end of epoch 1
    model::Model m = testing::TinyModel(3);
    TrainOptions o = Options("boundary");
    o.on_epoch_end = [](const EpochRecord& r) { return r.epoch < 1; };
    auto first = Run(m, o);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(first->stopped, StopReason::kRequested);
    EXPECT_EQ(first->epochs_run, 1);

    model::Model resumed = testing::TinyModel(99);
    o.on_epoch_end = nullptr;
    o.resume = true;
    auto second = Run(resumed, o);
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_TRUE(second->resumed);
    EXPECT_EQ(second->epochs_run, 4);
    std::string diff;
    EXPECT_TRUE(testing::SameTensors(resumed.tensors, reference.tensors, &diff)) << diff;
    EXPECT_DOUBLE_EQ(second->history.back().train_loss, full->history.back().train_loss);
    EXPECT_EQ(*second->history[2].val_acc, *full->history[2].val_acc);
  }
  {  // stopped by the time budget inside epoch 1
    model::Model m = testing::TinyModel(3);
    TrainOptions o = Options("midepoch");
    o.max_minutes = 1e-9;
    auto first = Run(m, o);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(first->stopped, StopReason::kMaxMinutes);
    EXPECT_EQ(first->epochs_run, 0);

    model::Model resumed = testing::TinyModel(99);
    o.max_minutes = 0;
    o.resume = true;
    auto second = Run(resumed, o);
    ASSERT_TRUE(second) << second.error().message();
    std::string diff;
    EXPECT_TRUE(testing::SameTensors(resumed.tensors, reference.tensors, &diff)) << diff;
    // The partial epoch's running sums were checkpointed too.
    EXPECT_DOUBLE_EQ(second->history[0].train_loss, full->history[0].train_loss);
  }
}

TEST_F(TrainerTest, MaxMinutesStopsAfterTheCurrentBatchAndStillReportsAModel) {
  model::Model m = testing::TinyModel(3);
  TrainOptions o = Options("budget");
  o.max_minutes = 1e-9;
  o.select_best = true;
  auto r = Run(m, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->stopped, StopReason::kMaxMinutes);
  EXPECT_TRUE(r->history.empty());
  ASSERT_TRUE(r->val && r->test);  // the partial epoch's weights were validated and kept
  EXPECT_EQ(r->best_epoch, 1);
  EXPECT_EQ(m.metadata.at("stopped"), "max_minutes");
  const auto state = nlohmann::json::parse(std::ifstream(o.checkpoint_dir + "/ckpt-000001.json"));
  EXPECT_EQ(state["epoch"], 0);
  EXPECT_EQ(state["next_batch"], 1);
  EXPECT_EQ(state["step"], 1);
  std::ifstream log(o.log_path);
  std::string line;
  ASSERT_TRUE(std::getline(log, line));
  EXPECT_EQ(nlohmann::json::parse(line)["complete"], false);
}

TEST_F(TrainerTest, ResumeFallsBackPastACorruptCheckpoint) {
  model::Model reference = testing::TinyModel(3);
  ASSERT_TRUE(Run(reference, Options("ref")));

  model::Model m = testing::TinyModel(3);
  TrainOptions o = Options("corrupt");
  o.on_epoch_end = [](const EpochRecord& r) { return r.epoch < 2; };
  ASSERT_TRUE(Run(m, o));
  fs::resize_file(o.checkpoint_dir + "/ckpt-000002.optim", 10);  // killed disk, bad sector...
  model::Model resumed = testing::TinyModel(99);
  o.on_epoch_end = nullptr;
  o.resume = true;
  auto r = Run(resumed, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->epochs_run, 4);
  std::string diff;
  EXPECT_TRUE(testing::SameTensors(resumed.tensors, reference.tensors, &diff)) << diff;
}

TEST_F(TrainerTest, ResumeRejectsChangedOptions) {
  model::Model m = testing::TinyModel(3);
  TrainOptions o = Options("changed");
  o.on_epoch_end = [](const EpochRecord&) { return false; };
  ASSERT_TRUE(Run(m, o));
  o.on_epoch_end = nullptr;
  o.resume = true;
  o.batch_size = 32;
  auto r = Run(m, o);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("batch_size"));
}

TEST_F(TrainerTest, EarlyStoppingWhenValidationStopsImproving) {
  model::Model m = testing::TinyModel(3);
  TrainOptions o = Options("patience");
  o.epochs = 8;
  o.lr = 1e-12;  // the weights stay put; only BN running statistics settle
  o.patience = 1;
  o.augment = {};
  auto r = Run(m, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->stopped, StopReason::kEarlyStopping);
  EXPECT_LT(r->epochs_run, 8);
  EXPECT_FALSE(r->history.back().best);
}

TEST_F(TrainerTest, RejectsBadOptionsAndMismatchedModels) {
  model::Model m = testing::TinyModel(3);
  TrainOptions o = Options("bad");
  o.val_fraction = 1.0;
  EXPECT_THAT(Run(m, o).error().message(), HasSubstr("validation fraction"));
  data::Dataset five = train;
  five.class_names.push_back("fifth");
  auto r = Train(m, five, {}, Options("bad2"));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("5 classes"));
}

}  // namespace
}  // namespace hadmc::train
