#include "hadmc/train/checkpoint.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hadmc/train/optimizer.h"
#include "train_test_util.h"

namespace hadmc::train {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A model with an executor and an SGD optimizer that has momentum state (one step taken).
struct Trainable {
  model::Model model = testing::TinyModel(5);
  std::optional<exec::Executor> ex;
  std::unique_ptr<torch::optim::Optimizer> opt;

  Trainable() {
    auto e = exec::Executor::Create(model);
    EXPECT_TRUE(e);
    ex.emplace(std::move(*e));
    ex->EnableGrad(true);
    opt = std::move(*MakeOptimizer(*ex, {"sgd", 0.1, 0.9, true, 5e-4}));
  }
  void Step() {
    auto out = ex->Run(torch::randn({4, 1, 8, 8}), exec::Mode::kTrain);
    ASSERT_TRUE(out);
    opt->zero_grad();
    out->square().mean().backward();
    opt->step();
  }
};

void FlipByte(const std::string& path, std::streamoff offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(offset);
  char c = 0;
  f.get(c);
  f.seekp(offset);
  f.put(static_cast<char>(c ^ 0x5a));
}

void Truncate(const std::string& path) { fs::resize_file(path, fs::file_size(path) / 2); }

class CheckpointTest : public ::testing::Test {
 protected:
  // Saves checkpoints 1..n (epoch = sequence), the best model changing at 1 only.
  void SaveCheckpoints(int n) {
    for (int i = 1; i <= n; ++i) {
      t.Step();
      state.epoch = i;
      state.step = 10 * i;
      const model::Model best = model::Clone(t.model);
      ASSERT_TRUE(store.Save(t.model, *t.opt, i == 1 ? &best : nullptr, state));
      saved.push_back(model::Clone(t.model));
    }
  }
  std::string File(const std::string& name) const { return (dir.path() / name).string(); }

  testing::TempDir dir;
  CheckpointStore store{dir.path().string()};
  Trainable t;
  CheckpointState state;
  std::vector<model::Model> saved;
};

TEST_F(CheckpointTest, EmptyDirectoryHasNoCheckpoint) {
  Trainable fresh;
  auto r = store.LoadLatest(*fresh.opt);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->has_value());
}

TEST_F(CheckpointTest, LoadsTheNewestWithModelBestAndOptimizerState) {
  SaveCheckpoints(2);
  Trainable fresh;
  auto r = store.LoadLatest(*fresh.opt);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->state.sequence, 2);
  EXPECT_EQ((*r)->state.epoch, 2);
  EXPECT_EQ((*r)->state.step, 20);
  EXPECT_EQ((*r)->state.best_file, "best-000001.hmc");
  EXPECT_TRUE(testing::SameTensors((*r)->model.tensors, saved[1].tensors, nullptr));
  ASSERT_TRUE((*r)->best.has_value());
  EXPECT_TRUE(testing::SameTensors((*r)->best->tensors, saved[0].tensors, nullptr));
  EXPECT_EQ(fresh.opt->state().size(), t.opt->state().size());  // momentum buffers restored
}

TEST_F(CheckpointTest, KeepsTwoCheckpointsAndTheBestTheyReference) {
  SaveCheckpoints(4);
  EXPECT_FALSE(fs::exists(File("ckpt-000002.json")));
  EXPECT_FALSE(fs::exists(File("ckpt-000002.hmc")));
  EXPECT_TRUE(fs::exists(File("ckpt-000003.json")));
  EXPECT_TRUE(fs::exists(File("ckpt-000004.optim")));
  EXPECT_TRUE(fs::exists(File("best-000001.hmc")));  // still the best, referenced by 3 and 4
}

TEST_F(CheckpointTest, CorruptNewestFallsBackToThePreviousOne) {
  SaveCheckpoints(2);
  FlipByte(File("ckpt-000002.hmc"), fs::file_size(File("ckpt-000002.hmc")) - 3);
  Trainable fresh;
  auto r = store.LoadLatest(*fresh.opt);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->state.sequence, 1);
  EXPECT_TRUE(testing::SameTensors((*r)->model.tensors, saved[0].tensors, nullptr));
}

TEST_F(CheckpointTest, TruncatedJsonOrOptimizerFallsBack) {
  SaveCheckpoints(2);
  Truncate(File("ckpt-000002.json"));
  Trainable fresh;
  auto r = store.LoadLatest(*fresh.opt);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ((*r)->state.sequence, 1);

  state.sequence = 1;
  SaveCheckpoints(1);  // sequence 2 again, written over the damaged one
  Truncate(File("ckpt-000002.optim"));
  r = store.LoadLatest(*fresh.opt);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ((*r)->state.sequence, 1);
}

TEST_F(CheckpointTest, NothingUsableIsAClearError) {
  SaveCheckpoints(2);
  Truncate(File("ckpt-000002.hmc"));
  fs::remove(File("best-000001.hmc"));
  Trainable fresh;
  auto r = store.LoadLatest(*fresh.opt);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().Is(Errc::kCorrupt));
  EXPECT_THAT(r.error().message(), HasSubstr("no usable checkpoint"));
  EXPECT_THAT(r.error().message(), HasSubstr("ckpt-000002.json: ckpt-000002.hmc has"));
  EXPECT_THAT(r.error().message(), HasSubstr("ckpt-000001.json"));
}

TEST_F(CheckpointTest, LeftoverTempFilesAreIgnoredAndResetClearsOnlyCheckpoints) {
  SaveCheckpoints(1);
  { std::ofstream(File("ckpt-000002.json.tmp.999")) << "{\"partial"; }
  { std::ofstream(File("notes.txt")) << "keep me"; }
  Trainable fresh;
  auto r = store.LoadLatest(*fresh.opt);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ((*r)->state.sequence, 1);
  ASSERT_TRUE(store.Reset());
  EXPECT_FALSE(fs::exists(File("ckpt-000001.json")));
  EXPECT_FALSE(fs::exists(File("ckpt-000002.json.tmp.999")));
  EXPECT_TRUE(fs::exists(File("notes.txt")));
}

}  // namespace
}  // namespace hadmc::train
