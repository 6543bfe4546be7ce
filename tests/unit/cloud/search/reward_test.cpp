// The search reward: each term and penalty by hand, validation and the JSON forms.
#include "hadmc/search/reward.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace hadmc::search {
namespace {

const Objectives kBase = {0.80, 10.0, 1000.0, 5.0};  // accuracy, latency_ms, size_bytes, energy_mj

// Every weight 0 except the named one (set to `w`), so one term is seen alone.
RewardWeights Only(double RewardWeights::*member, double w) {
  RewardWeights weights{0, 0, 0, 0, 0, 0};
  weights.*member = w;
  return weights;
}

void ExpectMessageHas(const Status& s, const std::string& part) {
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find(part), std::string::npos) << s.error().message();
}

TEST(RewardTermTest, AccuracyLossOfTwoPointsIsMinusPointTwo) {
  const RewardWeights w = Only(&RewardWeights::accuracy, 1.5);
  Objectives o = kBase;
  o.accuracy = 0.78;
  const RewardBreakdown r = ComputeReward(o, kBase, {}, w, false);
  EXPECT_NEAR(r.accuracy, -0.2 * 1.5, 1e-12);
  EXPECT_NEAR(r.total, -0.2 * 1.5, 1e-12);
  o.accuracy = 0.81;  // a gain is rewarded alike
  EXPECT_NEAR(ComputeReward(o, kBase, {}, w, false).accuracy, 0.1 * 1.5, 1e-12);
}

TEST(RewardTermTest, LatencyHalvedIsPlusHalf) {
  const RewardWeights w = Only(&RewardWeights::latency, 2.0);
  Objectives o = kBase;
  o.latency_ms = 5.0;
  const RewardBreakdown r = ComputeReward(o, kBase, {}, w, false);
  EXPECT_DOUBLE_EQ(r.latency, 0.5 * 2.0);
  EXPECT_DOUBLE_EQ(r.total, 1.0);
  o.latency_ms = 15.0;  // slower than the base: negative
  EXPECT_DOUBLE_EQ(ComputeReward(o, kBase, {}, w, false).latency, -0.5 * 2.0);
}

TEST(RewardTermTest, EnergyAndSizeAreSharesSaved) {
  Objectives o = kBase;
  o.energy_mj = 4.0;     // 20% saved
  o.size_bytes = 250.0;  // 75% saved
  const RewardBreakdown e = ComputeReward(o, kBase, {}, Only(&RewardWeights::energy, 0.5), false);
  EXPECT_DOUBLE_EQ(e.energy, 0.2 * 0.5);
  EXPECT_DOUBLE_EQ(e.total, 0.2 * 0.5);
  const RewardBreakdown s = ComputeReward(o, kBase, {}, Only(&RewardWeights::size, 0.2), false);
  EXPECT_DOUBLE_EQ(s.size, 0.75 * 0.2);
  EXPECT_DOUBLE_EQ(s.total, 0.75 * 0.2);
}

TEST(RewardTermTest, DefaultWeightsAddTheTerms) {
  const Objectives o = {0.79, 4.0, 500.0, 2.5};
  const RewardBreakdown r = ComputeReward(o, kBase, {}, {}, false);
  // accuracy 1 * -0.1, latency 1 * 0.6, energy 0 * 0.5, size 0.2 * 0.5
  EXPECT_NEAR(r.accuracy, -0.1, 1e-12);
  EXPECT_DOUBLE_EQ(r.latency, 0.6);
  EXPECT_DOUBLE_EQ(r.energy, 0.0);
  EXPECT_DOUBLE_EQ(r.size, 0.1);
  EXPECT_NEAR(r.total, 0.6, 1e-12);
  EXPECT_TRUE(r.feasible());
}

TEST(RewardTermTest, BaseAtOrBelowZeroMakesTheTermZero) {
  const RewardWeights w = {1, 1, 1, 1, 0, 0};
  const Objectives o = {0.5, 3.0, 7.0, 2.0};
  for (double base_value : {0.0, -1.0}) {
    const Objectives base = {base_value, base_value, base_value, base_value};
    const RewardBreakdown r = ComputeReward(o, base, {}, w, false);
    EXPECT_EQ(r.accuracy, 0.0);
    EXPECT_EQ(r.latency, 0.0);
    EXPECT_EQ(r.energy, 0.0);
    EXPECT_EQ(r.size, 0.0);
    EXPECT_EQ(r.total, 0.0);
  }
  Objectives only_latency_unknown = kBase;
  only_latency_unknown.latency_ms = 0;
  const RewardBreakdown r = ComputeReward(o, only_latency_unknown, {}, w, false);
  EXPECT_EQ(r.latency, 0.0);
  EXPECT_NE(r.size, 0.0);
}

TEST(RewardPenaltyTest, FeasibleHasNoPenalty) {
  const Constraints c = {0.75, 10.0, 1000.0, 5.0};  // the base sits exactly on every limit
  const RewardBreakdown r = ComputeReward(kBase, kBase, c, {}, false);
  EXPECT_EQ(r.penalty, 0.0);
  EXPECT_TRUE(r.violated.empty());
  EXPECT_TRUE(r.feasible());
  EXPECT_DOUBLE_EQ(r.total, 0.0);
}

TEST(RewardPenaltyTest, EachViolationAloneCostsOnePlusTheRelativeExcess) {
  const RewardWeights w = Only(&RewardWeights::penalty, 2.0);
  struct Case {
    const char* name;
    Constraints c;
    Objectives o;
    double penalty;
  } cases[] = {
      // accuracy 2 points under a 0.8 floor: 2 * (1 + 0.02 / 0.8)
      {"accuracy", {0.80, 0, 0, 0}, {0.78, 10, 1000, 5}, 2.0 * (1 + 0.02 / 0.80)},
      // latency 10% over: 2 * 1.1
      {"latency", {0, 10, 0, 0}, {0.8, 11, 1000, 5}, 2.0 * 1.1},
      // size 50% over: 2 * 1.5
      {"size", {0, 0, 1000, 0}, {0.8, 10, 1500, 5}, 2.0 * 1.5},
      // energy twice the budget: 2 * 2
      {"energy", {0, 0, 0, 2.5}, {0.8, 10, 1000, 5}, 2.0 * 2.0},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    const RewardBreakdown r = ComputeReward(k.o, kBase, k.c, w, false);
    EXPECT_NEAR(r.penalty, k.penalty, 1e-12);
    EXPECT_NEAR(r.total, -k.penalty, 1e-12);
    EXPECT_EQ(r.violated, std::vector<std::string>{k.name});
    EXPECT_FALSE(r.feasible());
  }
}

TEST(RewardPenaltyTest, ViolationsAddUpInAFixedOrder) {
  const Constraints c = {0.9, 5.0, 500.0, 1.0};
  const RewardBreakdown r = ComputeReward(kBase, kBase, c, Only(&RewardWeights::penalty, 1), false);
  EXPECT_EQ(r.violated, (std::vector<std::string>{"accuracy", "latency", "size", "energy"}));
  EXPECT_NEAR(r.penalty, (1 + 0.1 / 0.9) + 2 + 2 + 5, 1e-12);
}

TEST(RewardPenaltyTest, ZeroOrNegativeLimitsAreOff) {
  const Constraints c = {0, -1, 0, -5};
  const Objectives awful = {0.0, 1e6, 1e12, 1e6};
  const RewardBreakdown r = ComputeReward(awful, kBase, c, {}, false);
  EXPECT_EQ(r.penalty, 0.0);
  EXPECT_TRUE(r.feasible());
}

TEST(RewardBonusTest, EnteringTheFrontAddsTheParetoWeight) {
  RewardWeights w;
  w.pareto = 0.3;
  const RewardBreakdown in = ComputeReward(kBase, kBase, {}, w, true);
  const RewardBreakdown out = ComputeReward(kBase, kBase, {}, w, false);
  EXPECT_DOUBLE_EQ(in.bonus, 0.3);
  EXPECT_DOUBLE_EQ(out.bonus, 0.0);
  EXPECT_DOUBLE_EQ(in.total - out.total, 0.3);
  // An infeasible point on the front still gets it (the front knows no constraints).
  const RewardBreakdown infeasible = ComputeReward(kBase, kBase, {0.9, 0, 0, 0}, w, true);
  EXPECT_DOUBLE_EQ(infeasible.bonus, 0.3);
  EXPECT_FALSE(infeasible.feasible());
}

TEST(RewardValidateTest, DefaultsAreValid) {
  EXPECT_TRUE(ValidateReward({}, {}));
  EXPECT_TRUE(ValidateReward({0.7, 20, 1e6, 3}, {0, 0, 0, 0, 0, 0}));
}

TEST(RewardValidateTest, ErrorsNameTheField) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  RewardWeights negative;
  negative.penalty = -1;
  ExpectMessageHas(ValidateReward({}, negative), "penalty must be finite and >= 0");
  RewardWeights not_finite;
  not_finite.energy = nan;
  ExpectMessageHas(ValidateReward({}, not_finite), "energy must be finite");
  RewardWeights infinite;
  infinite.pareto = inf;
  ExpectMessageHas(ValidateReward({}, infinite), "pareto");
  Constraints c;
  c.max_latency_ms = inf;
  ExpectMessageHas(ValidateReward(c, {}), "max_latency_ms must be finite");
  Constraints percent;
  percent.min_accuracy = 75;
  ExpectMessageHas(ValidateReward(percent, {}), "min_accuracy must be <= 1");
  EXPECT_TRUE(ValidateReward({}, {}).has_value());
  EXPECT_TRUE(ValidateReward(c, {}).error().Is(Errc::kInvalidArgument));
}

TEST(RewardJsonTest, ConstraintsAndWeightsRoundTrip) {
  const Constraints c = {0.72, 12.5, 2e6, 0.75};
  auto c2 = ConstraintsFromJson(ToJson(c));
  ASSERT_TRUE(c2) << c2.error().String();
  EXPECT_EQ(c2->min_accuracy, c.min_accuracy);
  EXPECT_EQ(c2->max_latency_ms, c.max_latency_ms);
  EXPECT_EQ(c2->max_size_bytes, c.max_size_bytes);
  EXPECT_EQ(c2->max_energy_mj, c.max_energy_mj);
  EXPECT_EQ(ToJson(*c2), ToJson(c));

  const RewardWeights w = {0.5, 1.25, 0.1, 0.3, 4.0, 0.05};
  auto w2 = RewardWeightsFromJson(ToJson(w));
  ASSERT_TRUE(w2) << w2.error().String();
  EXPECT_EQ(ToJson(*w2), ToJson(w));
  EXPECT_EQ(ToJson(w).size(), 6u);
  EXPECT_EQ(ToJson(w)["pareto"], 0.05);
}

TEST(RewardJsonTest, PresentKeysOverrideTheDefaults) {
  RewardWeights defaults;
  defaults.size = 0.7;
  auto w = RewardWeightsFromJson({{"latency", 3}}, defaults);
  ASSERT_TRUE(w) << w.error().String();
  EXPECT_EQ(w->latency, 3.0);
  EXPECT_EQ(w->size, 0.7);
  EXPECT_EQ(w->accuracy, 1.0);
  auto c = ConstraintsFromJson(nlohmann::json::object(), {0.5, 1, 2, 3});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->max_size_bytes, 2.0);
}

TEST(RewardJsonTest, UnknownKeysAndBadValuesAreRejected) {
  ExpectMessageHas(ConstraintsFromJson({{"max_latency", 5}}).map([](Constraints) {}),
                   "unknown key 'max_latency'");
  ExpectMessageHas(RewardWeightsFromJson({{"acc", 1}}).map([](RewardWeights) {}),
                   "unknown key 'acc'");
  ExpectMessageHas(RewardWeightsFromJson({{"size", "0.2"}}).map([](RewardWeights) {}),
                   "'size' must be a number");
  ExpectMessageHas(ConstraintsFromJson({{"max_energy_mj", true}}).map([](Constraints) {}),
                   "'max_energy_mj' must be a number");
  ExpectMessageHas(RewardWeightsFromJson({{"latency", -0.5}}).map([](RewardWeights) {}),
                   "latency must be finite and >= 0");
  ExpectMessageHas(ConstraintsFromJson(nlohmann::json::array()).map([](Constraints) {}),
                   "expected a JSON object");
}

TEST(RewardJsonTest, BreakdownListsEveryTerm) {
  const Objectives o = {0.78, 11.0, 500.0, 5.0};
  const RewardBreakdown r = ComputeReward(o, kBase, {0, 10, 0, 0}, {}, true);
  const nlohmann::json j = ToJson(r);
  EXPECT_EQ(j["total"], r.total);
  EXPECT_EQ(j["accuracy"], r.accuracy);
  EXPECT_EQ(j["latency"], r.latency);
  EXPECT_EQ(j["energy"], r.energy);
  EXPECT_EQ(j["size"], r.size);
  EXPECT_EQ(j["penalty"], r.penalty);
  EXPECT_EQ(j["bonus"], 0.1);
  EXPECT_EQ(j["violated"], nlohmann::json::array({"latency"}));
  EXPECT_EQ(j["feasible"], false);
}

}  // namespace
}  // namespace hadmc::search
