#include <gtest/gtest.h>

#include <cmath>

#include "compress_test_util.h"
#include "hadmc/compress/distill.h"
#include "hadmc/compress/prune_channels.h"

namespace hadmc::compress {
namespace {

TEST(DistillLossTest, MatchesAHandComputedCase) {
  // Teacher logits [ln 3, 0], student [0, 0], label 0, one feature pair with MSE 2, T = 2.
  const auto s = torch::tensor({{0.0f, 0.0f}});
  const auto t = torch::tensor({{std::log(3.0f), 0.0f}});
  const auto y = torch::tensor({0}, torch::kLong);
  DistillOptions o;
  o.alpha = 0.5;
  o.temperature = 2.0;
  const auto terms = DistillLoss(s, t, y, {torch::tensor({1.0f, 2.0f})},
                                 {torch::tensor({1.0f, 0.0f})}, o, /*feature_weight=*/0.1);
  const double pt0 = std::sqrt(3.0) / (std::sqrt(3.0) + 1.0), pt1 = 1.0 - pt0;
  const double kl = 4.0 * (pt0 * std::log(pt0 / 0.5) + pt1 * std::log(pt1 / 0.5));
  EXPECT_NEAR(terms.kl, kl, 1e-6);
  EXPECT_NEAR(terms.ce, std::log(2.0), 1e-6);
  EXPECT_NEAR(terms.feature, 2.0, 1e-6);
  EXPECT_NEAR(terms.total.item<double>(), 0.5 * kl + 0.5 * std::log(2.0) + 0.1 * 2.0, 1e-6);
}

TEST(DistillLossTest, IdenticalStudentHasNoSoftLabelLoss) {
  // Seeded: unseeded, one draw in a few hundred left a float32 rounding residue just over 1e-6.
  torch::manual_seed(3);
  const auto logits = torch::randn({8, 10});
  DistillOptions o;
  const auto terms = DistillLoss(logits, logits, torch::randint(0, 10, {8}), {}, {}, o, 1.0);
  // Rounding only: a real soft-label loss between different logits is of order 0.1-1.
  EXPECT_NEAR(terms.kl, 0.0, 1e-5);
  EXPECT_EQ(terms.feature, 0.0);
}

TEST(DistillFeaturesTest, DefaultsToTheLastFeatureMapAndChecksNames) {
  model::Model teacher = testing::ZooModel("resnet8");
  model::Model student = model::Clone(teacher);
  PruneOptions p;
  p.importance = Importance::kL1;
  ASSERT_TRUE(PruneChannels(student, p, {}).has_value());
  DistillOptions o;
  auto f = DistillFeatures(teacher.graph, student.graph, o);
  ASSERT_TRUE(f.has_value()) << f.error().String();
  ASSERT_EQ(f->size(), 1u);
  EXPECT_EQ(teacher.graph.Consumers((*f)[0]).at(0)->op, "adaptive_avg_pool2d");
  o.features = {"no_such_value"};
  EXPECT_FALSE(DistillFeatures(teacher.graph, student.graph, o).has_value());
  o.features = {};
  o.feature_lambda = 0;
  EXPECT_TRUE(DistillFeatures(teacher.graph, student.graph, o)->empty());
}

}  // namespace
}  // namespace hadmc::compress
