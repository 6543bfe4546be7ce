#include "hadmc/search/environment.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <random>

#include "../compress/compress_test_util.h"
#include "hadmc/compress/pass_registry.h"
#include "hadmc/hal/profile.h"

namespace hadmc::search {
namespace {

struct Fixture {
  model::Model base;
  SearchSpace space;
  hal::HardwareProfile profile;
  std::unique_ptr<PolicyPredictor> predictor;
};

Fixture Make(const std::string& zoo_name) {
  Fixture f;
  f.base = compress::testing::ZooModel(zoo_name);
  torch::manual_seed(0);
  auto space = BuildSearchSpace(f.base, {{torch::randn({16, 1, 28, 28}), torch::randint(0, 10, {16})}});
  EXPECT_TRUE(space) << space.error().String();
  f.space = *space;
  auto profile = hal::FindProfile("x86_cpu");
  EXPECT_TRUE(profile) << profile.error().String();
  f.profile = *profile;
  auto p = PolicyPredictor::Create(f.base, f.space, f.profile, hal::LatencyLut{}, 1);
  EXPECT_TRUE(p) << p.error().String();
  f.predictor = std::make_unique<PolicyPredictor>(std::move(*p));
  return f;
}

CompressionPolicy Uniform(const SearchSpace& s, double ratio, int bits) {
  CompressionPolicy p;
  for (const SearchLayer& l : s.layers) p.layers.push_back({l.group >= 0 ? ratio : 0.0, bits});
  return p;
}

int64_t StoredBytes(const model::Model& m) {
  int64_t bytes = 0;
  for (const auto& [name, t] : m.tensors) bytes += static_cast<int64_t>(t.nbytes());
  return bytes;
}

TEST(PolicyPredictorTest, PrunedShapesMatchTheModelThePrunerBuilds) {
  Fixture f = Make("resnet8");
  const CompressionPolicy p = Uniform(f.space, 0.5, 32);
  auto e = f.predictor->Predict(p);
  ASSERT_TRUE(e) << e.error().String();

  // Build the same model for real: top channels of each group, then fuse.
  auto kept = KeptPerGroup(f.space, p, f.profile);
  ASSERT_TRUE(kept);
  std::vector<std::vector<int64_t>> keep;
  for (size_t g = 0; g < f.space.groups.size(); ++g) {
    std::vector<int64_t> k((*kept)[g]);
    std::iota(k.begin(), k.end(), 0);
    keep.push_back(k);
  }
  model::Model pruned = model::Clone(f.base);
  ASSERT_TRUE(compress::RemoveChannels(pruned, f.space.groups, keep));
  ASSERT_TRUE(compress::RunFusion(pruned));
  EXPECT_DOUBLE_EQ(e->size_bytes, static_cast<double>(StoredBytes(pruned)));

  auto base = f.predictor->Predict(Uniform(f.space, 0.0, 32));
  ASSERT_TRUE(base);
  EXPECT_LT(e->latency_ms, base->latency_ms);
  EXPECT_LT(e->size_bytes, 0.4 * base->size_bytes) << "half the channels: about a quarter";
  EXPECT_GT(base->roofline, 0) << "an empty LUT: every kernel is a roofline estimate";
}

TEST(PolicyPredictorTest, BitsChangeSizeAndOnlyExecutedPrecisionsChangeLatency) {
  Fixture f = Make("resnet8");
  auto fp32 = f.predictor->Predict(Uniform(f.space, 0.0, 32));
  auto int8 = f.predictor->Predict(Uniform(f.space, 0.0, 8));
  auto fp16 = f.predictor->Predict(Uniform(f.space, 0.0, 16));
  auto int4 = f.predictor->Predict(Uniform(f.space, 0.0, 4));
  for (const auto* r : {&fp32, &int8, &fp16, &int4})
    ASSERT_TRUE(*r) << r->error().String();
  EXPECT_LT(int8->latency_ms, fp32->latency_ms) << "x86_cpu runs int8 kernels";
  EXPECT_DOUBLE_EQ(fp16->latency_ms, fp32->latency_ms) << "fp16 storage computes in fp32 on x86";
  EXPECT_DOUBLE_EQ(int4->latency_ms, fp32->latency_ms);
  EXPECT_LT(int4->size_bytes, fp16->size_bytes);
  EXPECT_LT(fp16->size_bytes, fp32->size_bytes);
  EXPECT_LT(int8->size_bytes, fp16->size_bytes);
  EXPECT_EQ(ExecutedPrecision(ir::Precision::kFp16, f.profile), ir::Precision::kFp32);
  EXPECT_EQ(ExecutedPrecision(ir::Precision::kInt8, f.profile), ir::Precision::kInt8);
}

// Plays an episode choosing uniformly among the legal choices.
CompressionPolicy RandomEpisode(SearchEnvironment& env, std::mt19937_64& rng, int* clamps) {
  EXPECT_TRUE(env.Reset());
  while (!env.done()) {
    std::vector<int64_t> a;
    for (const auto& mask : env.Masks()) {
      std::vector<int64_t> legal;
      for (size_t k = 0; k < mask.size(); ++k)
        if (mask[k]) legal.push_back(static_cast<int64_t>(k));
      EXPECT_FALSE(legal.empty());
      a.push_back(legal[std::uniform_int_distribution<size_t>(0, legal.size() - 1)(rng)]);
    }
    auto step = env.Step(a);
    EXPECT_TRUE(step) << step.error().String();
    if (!step) break;
    *clamps += step->clamped;
  }
  return env.policy();
}

TEST(SearchEnvironmentTest, TheActionWallNeverExceedsTheLatencyOrSizeBudget) {
  Fixture f = Make("resnet8");
  auto base = f.predictor->Predict(Uniform(f.space, 0.0, 32));
  auto most = f.predictor->Predict(Uniform(f.space, 0.8, 8));
  ASSERT_TRUE(base && most);
  // Budgets a third of the way from the most compressed policy to the base: reachable, binding.
  const auto between = [](double lo, double hi) { return lo + (hi - lo) / 3; };
  for (int which = 0; which < 2; ++which) {
    EnvironmentOptions o;
    if (which == 0) o.constraints.max_latency_ms = between(most->latency_ms, base->latency_ms);
    if (which == 1) o.constraints.max_size_bytes = between(most->size_bytes, base->size_bytes);
    auto env = SearchEnvironment::Create(f.space, f.predictor.get(), f.profile, o);
    ASSERT_TRUE(env) << env.error().String();
    ASSERT_TRUE(env->budget_reachable());
    std::mt19937_64 rng(which);
    int clamps = 0;
    for (int episode = 0; episode < 25; ++episode) {
      const CompressionPolicy p = RandomEpisode(*env, rng, &clamps);
      auto e = f.predictor->Predict(p);
      ASSERT_TRUE(e);
      if (which == 0) {
        EXPECT_LE(e->latency_ms, o.constraints.max_latency_ms) << episode;
      }
      if (which == 1) {
        EXPECT_LE(e->size_bytes, o.constraints.max_size_bytes) << episode;
      }
    }
    // Without the wall, the same random play misses the budget.
    o.action_wall = false;
    auto free_env = SearchEnvironment::Create(f.space, f.predictor.get(), f.profile, o);
    ASSERT_TRUE(free_env);
    int misses = 0;
    for (int episode = 0; episode < 25; ++episode) {
      auto e = f.predictor->Predict(RandomEpisode(*free_env, rng, &clamps));
      ASSERT_TRUE(e);
      misses += which == 0 ? e->latency_ms > o.constraints.max_latency_ms
                           : e->size_bytes > o.constraints.max_size_bytes;
    }
    EXPECT_GT(misses, 0) << "the budget must bind for this test to mean anything";
  }
}

TEST(SearchEnvironmentTest, MasksKeepEdgesHighFollowersTiedAndDistillationOnlyAtTheStart) {
  Fixture f = Make("resnet8");
  auto env = SearchEnvironment::Create(f.space, f.predictor.get(), f.profile, {});
  ASSERT_TRUE(env);
  EXPECT_EQ(static_cast<int64_t>(env->State().size()), SearchEnvironment::StateDim());
  std::mt19937_64 rng(7);
  int clamps = 0;
  for (int episode = 0; episode < 10; ++episode) {
    ASSERT_TRUE(env->Reset());
    EXPECT_EQ(env->Masks()[kTemperatureHead], std::vector<uint8_t>(4, 1));
    const CompressionPolicy p = RandomEpisode(*env, rng, &clamps);
    EXPECT_EQ(clamps, 0) << "no budget, nothing to clamp";
    EXPECT_GE(p.layers.front().bits, 8);
    EXPECT_GE(p.layers.back().bits, 8);
    std::map<int64_t, double> group_ratio;
    for (size_t i = 0; i < p.layers.size(); ++i) {
      const SearchLayer& l = f.space.layers[i];
      EXPECT_LE(p.layers[i].prune_ratio, 0.8 + 1e-9);
      if (l.group < 0) {
        EXPECT_EQ(p.layers[i].prune_ratio, 0.0);
      }
      if (l.group < 0) continue;
      if (l.decides_group) group_ratio[l.group] = p.layers[i].prune_ratio;
      else EXPECT_EQ(p.layers[i].prune_ratio, group_ratio.at(l.group)) << l.node;
    }
  }
  // After the first step, the distillation heads allow only the choice made there.
  ASSERT_TRUE(env->Reset());
  auto first = env->Step({0, 3, 2, 1});
  ASSERT_TRUE(first) << first.error().String();
  EXPECT_EQ(env->Masks()[kTemperatureHead], (std::vector<uint8_t>{0, 0, 1, 0}));
  EXPECT_EQ(env->Masks()[kAlphaHead], (std::vector<uint8_t>{0, 1, 0, 0}));
  EXPECT_DOUBLE_EQ(env->policy().temperature, kTemperatures[2]);
  EXPECT_DOUBLE_EQ(env->policy().alpha, kAlphas[1]);
}

TEST(SearchEnvironmentTest, BadActionsAreRefusedAndUnreachableBudgetsSaidSo) {
  Fixture f = Make("resnet8");
  EnvironmentOptions o;
  o.constraints.max_latency_ms = 1e-6;
  auto env = SearchEnvironment::Create(f.space, f.predictor.get(), f.profile, o);
  ASSERT_TRUE(env) << env.error().String();
  EXPECT_FALSE(env->budget_reachable());
  // The wall steps aside: the first layer may take any width of 8 bits or more, unclamped.
  EXPECT_EQ(env->Masks()[kBitsHead], (std::vector<uint8_t>{0, 1, 1, 1}));
  auto free_step = env->Step({0, 3, 0, 0});
  ASSERT_TRUE(free_step) << free_step.error().String();
  EXPECT_FALSE(free_step->clamped);
  EXPECT_EQ(env->policy().layers[0].bits, 32);
  // Masked choices are still refused: 4 bits on the first layer.
  ASSERT_TRUE(env->Reset());
  auto masked = env->Step({0, 0, 0, 0});
  ASSERT_FALSE(masked);
  EXPECT_NE(masked.error().message().find("masked out"), std::string::npos);
  EXPECT_FALSE(env->Step({0, 1}));
  EXPECT_FALSE(env->Step({99, 1, 0, 0}));

  EnvironmentOptions bad;
  bad.bits = {3};
  auto refused = SearchEnvironment::Create(f.space, f.predictor.get(), f.profile, bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("bits"), std::string::npos);
}

// The prior's "fastest width" is what the predictor says is fastest for the whole model, not the
// device's peak ops: int8 on x86 (real int8 kernels), fp32 on a device that runs no int8 (an int8
// layer would run as fp32 plus its quantize/dequantize boundaries).
TEST(SearchEnvironmentTest, TheFastestWidthIsRankedByThePredictor) {
  Fixture f = Make("resnet8");
  auto env = SearchEnvironment::Create(f.space, f.predictor.get(), f.profile, {});
  ASSERT_TRUE(env) << env.error().String();
  const auto bias = env->InitialBias(2.0);
  EXPECT_EQ(bias[kBitsHead], (std::vector<double>{-2.0, 2.0, 0.0, 0.0}));

  hal::HardwareProfile fp32_only = f.profile;
  fp32_only.precisions = {"fp32"};
  auto p = PolicyPredictor::Create(f.base, f.space, fp32_only, hal::LatencyLut{}, 1);
  ASSERT_TRUE(p) << p.error().String();
  auto slow = SearchEnvironment::Create(f.space, &*p, fp32_only, {});
  ASSERT_TRUE(slow) << slow.error().String();
  EXPECT_EQ(slow->InitialBias(2.0)[kBitsHead], (std::vector<double>{-2.0, 0.0, 0.0, 0.0}));
}

}  // namespace
}  // namespace hadmc::search
