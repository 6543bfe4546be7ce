#include "hadmc/search/baselines.h"

#include <gtest/gtest.h>

#include "search_test_util.h"

namespace hadmc::search {
namespace {

using namespace testing_util;  // NOLINT

TEST(BaselinesTest, SweepsCoverTheRatiosAndHadmc1SparesSensitiveGroups) {
  const Fixture f = Make();
  const auto uniform = UniformPolicies(f.space, 0.8, 8);
  ASSERT_EQ(uniform.size(), 9u) << "0, 0.1, ..., 0.8";
  for (size_t k = 0; k < uniform.size(); ++k)
    for (size_t i = 0; i < f.space.layers.size(); ++i) {
      const SearchLayer& l = f.space.layers[i];
      EXPECT_EQ(uniform[k].layers[i].bits, l.first_or_last ? 32 : 8);
      EXPECT_DOUBLE_EQ(uniform[k].layers[i].prune_ratio, l.group >= 0 ? kPruneRatios[k] : 0.0);
    }
  const auto hadmc1 = Hadmc1Policies(f.space, 0.8);
  ASSERT_EQ(hadmc1.size(), 9u);
  // In every sweep point, a more sensitive deciding group never loses a larger share.
  for (const CompressionPolicy& p : hadmc1)
    for (size_t i = 0; i < f.space.layers.size(); ++i)
      for (size_t j = 0; j < f.space.layers.size(); ++j) {
        const SearchLayer &a = f.space.layers[i], &b = f.space.layers[j];
        if (!a.decides_group || !b.decides_group || a.sensitivity <= b.sensitivity) continue;
        EXPECT_LE(p.layers[i].prune_ratio, p.layers[j].prune_ratio + 1e-9);
        EXPECT_LE(p.layers[i].prune_ratio, 0.8 + 1e-9);
      }
}

TEST(BaselinesTest, MethodsRunInOneHarnessAndNarrowTheirSpace) {
  Fixture f = Make();
  SearchSetup setup;
  setup.base = f.base;
  setup.profile = f.profile;
  setup.space = f.space;
  setup.train = f.data;
  setup.evaluator_options = Options(f);
  setup.evaluator = std::make_unique<PolicyEvaluator>(MakeEvaluator(f));
  auto predictor = PolicyPredictor::Create(f.base, f.space, f.profile, hal::LatencyLut{}, 1);
  ASSERT_TRUE(predictor);
  setup.predictor = std::make_unique<PolicyPredictor>(std::move(*predictor));
  auto base = setup.evaluator->EvaluateBase();
  ASSERT_TRUE(base);
  setup.base_evaluation = *base;
  setup.constraints.max_latency_ms = 0.9 * base->objectives.latency_ms;

  SearchOptions o;
  o.episodes = 4;
  o.rollout_episodes = 2;
  o.ppo.minibatch_size = 8;
  for (Method m : AllMethods()) {
    auto r = RunMethod(m, setup, o, EnvironmentOptions{});
    ASSERT_TRUE(r) << MethodName(m) << ": " << r.error().String();
    EXPECT_EQ(r->controller, MethodName(m));
    ASSERT_FALSE(r->history.empty());
    EXPECT_LE(r->history.size(), 9u);
    for (const EpisodeRecord& e : r->history)
      for (const LayerDecision& d : e.policy.layers) {
        if (m == Method::kAmc) {
          EXPECT_EQ(d.bits, 32);
        }
        if (m == Method::kHaq) {
          EXPECT_EQ(d.prune_ratio, 0.0);
        }
      }
  }
  auto parsed = ParseMethod("haq");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, Method::kHaq);
  auto bad = ParseMethod("amc2");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("hadmc2"), std::string::npos);
}

}  // namespace
}  // namespace hadmc::search
