// GAE, the PPO loss and the config checks: exact numbers worked out by hand.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "hadmc/search/ppo.h"

namespace hadmc::search {
namespace {

TEST(GaeTest, TwoEpisodesBackToBackWithBootstrap) {
  // gamma = lambda = 0.5, so gamma * lambda = 0.25. Episode 1 is steps 0-2 (done after 2),
  // episode 2 is steps 3-4 and is unfinished: step 4 bootstraps from last_value = 10.
  const std::vector<double> rewards = {1, 0, 2, 1, 3};
  const std::vector<double> values = {0.5, 1.0, 1.5, 2.0, 2.5};
  const std::vector<bool> done = {false, false, true, false, false};
  // t=4: delta = 3 + 0.5 * 10  - 2.5 = 5.5;     A = 5.5;                      R = 8
  // t=3: delta = 1 + 0.5 * 2.5 - 2.0 = 0.25;    A = 0.25 + 0.25 * 5.5 = 1.625;  R = 3.625
  // t=2: done, delta = 2 - 1.5 = 0.5;          A = 0.5 (no look past the end); R = 2
  // t=1: delta = 0 + 0.5 * 1.5 - 1.0 = -0.25;  A = -0.25 + 0.25 * 0.5 = -0.125; R = 0.875
  // t=0: delta = 1 + 0.5 * 1.0 - 0.5 = 1;      A = 1 + 0.25 * -0.125 = 0.96875; R = 1.46875
  const Advantages gae = ComputeGae(rewards, values, done, 10.0, 0.5, 0.5);
  const std::vector<double> advantages = {0.96875, -0.125, 0.5, 1.625, 5.5};
  const std::vector<double> returns = {1.46875, 0.875, 2.0, 3.625, 8.0};
  ASSERT_EQ(gae.advantages.size(), 5u);
  ASSERT_EQ(gae.returns.size(), 5u);
  for (size_t t = 0; t < 5; ++t) {
    EXPECT_DOUBLE_EQ(gae.advantages[t], advantages[t]) << t;
    EXPECT_DOUBLE_EQ(gae.returns[t], returns[t]) << t;
  }
}

TEST(GaeTest, FinalDoneIgnoresLastValue) {
  // One step, done: A = r - V = 2 - 0.5 whatever last_value says.
  const Advantages gae = ComputeGae({2}, {0.5}, {true}, 100.0, 0.99, 0.95);
  ASSERT_EQ(gae.advantages.size(), 1u);
  EXPECT_DOUBLE_EQ(gae.advantages[0], 1.5);
  EXPECT_DOUBLE_EQ(gae.returns[0], 2.0);
}

TEST(GaeTest, LambdaOneIsTheDiscountedReturn) {
  // lambda = 1: returns are the plain discounted sums. gamma = 0.5, last_value = 4:
  // R2 = 1 + 0.5 * 4 = 3, R1 = 0 + 0.5 * 3 = 1.5, R0 = 2 + 0.5 * 1.5 = 2.75.
  const Advantages gae = ComputeGae({2, 0, 1}, {1, 1, 1}, {false, false, false}, 4.0, 0.5, 1.0);
  EXPECT_DOUBLE_EQ(gae.returns[0], 2.75);
  EXPECT_DOUBLE_EQ(gae.returns[1], 1.5);
  EXPECT_DOUBLE_EQ(gae.returns[2], 3.0);
}

at::Tensor T(std::vector<float> v) { return torch::tensor(v, torch::kFloat); }

TEST(PpoLossTest, ExactTermsInsideAndOutsideTheClipRange) {
  PpoConfig c;
  c.clip = 0.2;
  c.value_coef = 0.5;
  c.entropy_coef = 0.01;
  // ratio  A    ratio*A  clamp(ratio)*A   min    (clip range [0.8, 1.2])
  //  1.1   +1    1.1       1.1            1.1    inside
  //  1.5   +1    1.5       1.2            1.2    clipped (the objective stops growing)
  //  0.5   -1   -0.5      -0.8           -0.8    clipped (the objective stops growing)
  //  0.9   -2   -1.8      -1.8           -1.8    inside
  //  1.5   -1   -1.5      -1.2           -1.5    outside, but the unclipped term is lower
  //  0.5   +2    1.0       1.6            1.0    outside, but the unclipped term is lower
  // policy_loss = -(1.1 + 1.2 - 0.8 - 1.8 - 1.5 + 1.0) / 6 = 0.8 / 6
  const std::vector<double> ratios = {1.1, 1.5, 0.5, 0.9, 1.5, 0.5};
  std::vector<float> log_ratios;
  for (double r : ratios) log_ratios.push_back(static_cast<float>(std::log(r)));
  at::Tensor new_log_prob = T(log_ratios).add(-0.7).requires_grad_(true);
  const at::Tensor old_log_prob = torch::full({6}, -0.7f);
  const at::Tensor advantages = T({1, 1, -1, -2, -1, 2});
  // value errors -0.5, 0, 1, 0, 0, -1 -> squares sum to 2.25; value_loss = 2.25 / 6 = 0.375
  const at::Tensor new_value = T({1, 2, 3, 0, 0, 0});
  const at::Tensor returns = T({1.5, 2, 2, 0, 0, 1});
  const at::Tensor entropy = T({0.3, 0.6, 0.9, 0.3, 0.6, 0.9});  // mean 0.6

  const PpoLossTerms t =
      PpoLoss(new_log_prob, old_log_prob, advantages, new_value, returns, entropy, c);
  EXPECT_NEAR(t.policy_loss, 0.8 / 6, 1e-6);
  EXPECT_NEAR(t.value_loss, 0.375, 1e-6);
  EXPECT_NEAR(t.entropy, 0.6, 1e-6);
  EXPECT_NEAR(t.clip_fraction, 4.0 / 6, 1e-12);  // |ratio - 1| > 0.2 for 1.5, 0.5, 1.5, 0.5
  double kl = 0;
  for (double r : ratios) kl += ((r - 1) - std::log(r)) / 6;  // 0.0046898 .. 0.1931472
  EXPECT_NEAR(t.approx_kl, kl, 1e-6);
  // total = 0.8/6 + 0.5 * 0.375 - 0.01 * 0.6
  EXPECT_NEAR(t.total.item<double>(), 0.8 / 6 + 0.1875 - 0.006, 1e-6);

  // d total / d new_log_prob = -ratio * A / 6 where the unclipped term is the min, else 0.
  t.total.backward();
  const at::Tensor g = new_log_prob.grad();
  const std::vector<double> expected = {-1.1 / 6, 0, 0, 1.8 / 6, 1.5 / 6, -1.0 / 6};
  for (int64_t i = 0; i < 6; ++i) EXPECT_NEAR(g[i].item<double>(), expected[i], 1e-6) << i;
}

TEST(PpoLossTest, RatioOneGivesNoKlNoClipping) {
  const PpoConfig c;
  const at::Tensor lp = T({-1, -2});
  const PpoLossTerms t = PpoLoss(lp, lp, T({1, -1}), T({0, 0}), T({0, 0}), T({0, 0}), c);
  EXPECT_DOUBLE_EQ(t.approx_kl, 0.0);
  EXPECT_DOUBLE_EQ(t.clip_fraction, 0.0);
  EXPECT_NEAR(t.policy_loss, 0.0, 1e-7);  // -(1 - 1) / 2
}

TEST(PpoConfigTest, DefaultsAreValid) { EXPECT_TRUE(ValidatePpoConfig(PpoConfig{})); }

TEST(PpoConfigTest, ErrorsNameTheField) {
  struct Case {
    const char* field;
    void (*breakit)(PpoConfig&);
  };
  const Case cases[] = {
      {"gamma", [](PpoConfig& c) { c.gamma = 1.5; }},
      {"lambda", [](PpoConfig& c) { c.lambda = -0.1; }},
      {"clip", [](PpoConfig& c) { c.clip = 0; }},
      {"value_coef", [](PpoConfig& c) { c.value_coef = -1; }},
      {"entropy_coef", [](PpoConfig& c) { c.entropy_coef = std::nan(""); }},
      {"lr", [](PpoConfig& c) { c.lr = 0; }},
      {"max_grad_norm", [](PpoConfig& c) { c.max_grad_norm = -0.5; }},
      {"epochs", [](PpoConfig& c) { c.epochs = 0; }},
      {"minibatch_size", [](PpoConfig& c) { c.minibatch_size = 0; }},
      {"hidden", [](PpoConfig& c) { c.hidden = 0; }},
      {"target_kl", [](PpoConfig& c) { c.target_kl = -1; }},
  };
  for (const Case& k : cases) {
    PpoConfig c;
    k.breakit(c);
    const Status s = ValidatePpoConfig(c);
    ASSERT_FALSE(s) << k.field;
    EXPECT_TRUE(s.error().Is(Errc::kInvalidArgument));
    EXPECT_NE(s.error().message().find(k.field), std::string::npos) << s.error().message();
  }
}

TEST(PpoConfigTest, CreateRejectsBadLayouts) {
  const PpoConfig c;
  EXPECT_FALSE(PpoAgent::Create(0, {{"a", 2}}, c));
  EXPECT_FALSE(PpoAgent::Create(3, {}, c));
  auto bad_head = PpoAgent::Create(3, {{"a", 2}, {"bits", 0}}, c);
  ASSERT_FALSE(bad_head);
  EXPECT_NE(bad_head.error().message().find("bits"), std::string::npos);
  PpoConfig bad = c;
  bad.lr = -1;
  auto bad_config = PpoAgent::Create(3, {{"a", 2}}, bad);
  ASSERT_FALSE(bad_config);
  EXPECT_NE(bad_config.error().message().find("lr"), std::string::npos);
}

}  // namespace
}  // namespace hadmc::search
