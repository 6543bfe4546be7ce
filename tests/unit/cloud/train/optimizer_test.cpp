#include "hadmc/train/optimizer.h"

#include <torch/torch.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "train_test_util.h"

namespace hadmc::train {
namespace {

using ::testing::ElementsAre;

TEST(OptimizerTest, WeightDecayExcludesBatchNormAndBiases) {
  const model::Model m = testing::TinyModel(1);
  auto ex = exec::Executor::Create(m);
  ASSERT_TRUE(ex) << ex.error().message();
  const DecayGroups g = SplitWeightDecay(m.graph, ex->TrainableParameterNames());
  EXPECT_THAT(g.decay, ElementsAre("conv.weight", "fc.weight"));
  EXPECT_THAT(g.no_decay, ElementsAre("conv.bias", "bn.weight", "bn.bias", "fc.bias"));
}

TEST(OptimizerTest, GroupsCarryTheirOwnDecay) {
  const model::Model m = testing::TinyModel(1);
  auto ex = exec::Executor::Create(m);
  ASSERT_TRUE(ex);
  for (const char* name : {"sgd", "adamw"}) {
    auto opt = MakeOptimizer(*ex, {name, 0.1, 0.9, true, 5e-4});
    ASSERT_TRUE(opt) << opt.error().message();
    ASSERT_EQ((*opt)->param_groups().size(), 2u) << name;
    EXPECT_EQ((*opt)->param_groups()[0].params().size(), 2u);
    EXPECT_EQ((*opt)->param_groups()[1].params().size(), 4u);
    EXPECT_DOUBLE_EQ(GroupWeightDecay(**opt, 0), 5e-4);
    EXPECT_DOUBLE_EQ(GroupWeightDecay(**opt, 1), 0.0);
    SetLearningRate(**opt, 0.02);
    for (const auto& group : (*opt)->param_groups()) EXPECT_DOUBLE_EQ(group.options().get_lr(), 0.02);
  }
  EXPECT_FALSE(MakeOptimizer(*ex, {"rmsprop", 0.1, 0.9, true, 0}));
}

// With a zero loss gradient only weight decay moves parameters: weights shrink, BN parameters
// and biases stay exactly where they were.
TEST(OptimizerTest, DecayStepTouchesOnlyWeights) {
  model::Model m = testing::TinyModel(2);
  {
    at::NoGradGuard no_grad;
    m.tensors.at("bn.weight").fill_(1.5);
    m.tensors.at("fc.bias").fill_(0.5);
  }
  auto ex = exec::Executor::Create(m);
  ASSERT_TRUE(ex);
  ex->EnableGrad(true);
  auto opt = MakeOptimizer(*ex, {"sgd", 1.0, 0.0, false, 0.1});
  ASSERT_TRUE(opt);
  const model::Model before = model::Clone(m);
  auto out = ex->Run(torch::zeros({2, 1, 8, 8}), exec::Mode::kTrain);
  ASSERT_TRUE(out);
  (*opt)->zero_grad();
  (out->sum() * 0.0).backward();
  (*opt)->step();
  EXPECT_TRUE(torch::allclose(m.tensors.at("fc.weight"), before.tensors.at("fc.weight") * 0.9));
  EXPECT_TRUE(torch::allclose(m.tensors.at("conv.weight"), before.tensors.at("conv.weight") * 0.9));
  for (const char* name : {"bn.weight", "bn.bias", "fc.bias", "conv.bias"})
    EXPECT_TRUE(torch::equal(m.tensors.at(name), before.tensors.at(name))) << name;
}

}  // namespace
}  // namespace hadmc::train
