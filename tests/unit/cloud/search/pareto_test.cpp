#include "hadmc/search/pareto.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace hadmc::search {
namespace {

Objectives Obj(double accuracy, double latency_ms, double size_bytes, double energy_mj) {
  Objectives o;
  o.accuracy = accuracy;
  o.latency_ms = latency_ms;
  o.size_bytes = size_bytes;
  o.energy_mj = energy_mj;
  return o;
}

ParetoPoint Point(const std::string& hash, Objectives o) {
  return ParetoPoint{o, hash, {{"episode", hash}}};
}

std::vector<std::string> Hashes(const ParetoArchive& a) {
  std::vector<std::string> out;
  for (const ParetoPoint& p : a.front()) out.push_back(p.policy_hash);
  return out;
}

TEST(ParetoDominanceTest, EqualPointsDoNotDominate) {
  const Objectives a = Obj(0.9, 10, 100, 5);
  EXPECT_FALSE(Dominates(a, a));
}

TEST(ParetoDominanceTest, BetterInOneEqualElsewhereDominates) {
  const Objectives base = Obj(0.9, 10, 100, 5);
  EXPECT_TRUE(Dominates(Obj(0.91, 10, 100, 5), base));  // accuracy up
  EXPECT_TRUE(Dominates(Obj(0.9, 9, 100, 5), base));    // latency down
  EXPECT_TRUE(Dominates(Obj(0.9, 10, 99, 5), base));    // size down
  EXPECT_TRUE(Dominates(Obj(0.9, 10, 100, 4), base));   // energy down
  EXPECT_FALSE(Dominates(base, Obj(0.91, 10, 100, 5)));
}

TEST(ParetoDominanceTest, TradeOffsDoNotDominate) {
  const Objectives fast = Obj(0.8, 5, 100, 5);
  const Objectives accurate = Obj(0.9, 10, 100, 5);
  EXPECT_FALSE(Dominates(fast, accurate));
  EXPECT_FALSE(Dominates(accurate, fast));
}

TEST(ParetoArchiveTest, InsertDropsDominatedPoints) {
  ParetoArchive a;
  EXPECT_TRUE(a.Insert(Point("slow", Obj(0.8, 20, 100, 5))));
  EXPECT_TRUE(a.Insert(Point("small", Obj(0.8, 30, 50, 5))));
  EXPECT_EQ(a.size(), 2u);
  // Dominates "slow" (faster, same elsewhere) but not "small" (bigger).
  EXPECT_TRUE(a.Insert(Point("fast", Obj(0.8, 10, 100, 5))));
  EXPECT_EQ(Hashes(a), (std::vector<std::string>{"fast", "small"}));
}

TEST(ParetoArchiveTest, RefusesDominatedDuplicateAndNonFinitePoints) {
  ParetoArchive a;
  ASSERT_TRUE(a.Insert(Point("p", Obj(0.9, 10, 100, 5))));
  EXPECT_FALSE(a.WouldEnter(Obj(0.8, 10, 100, 5)));
  EXPECT_FALSE(a.Insert(Point("worse", Obj(0.8, 10, 100, 5))));
  // A better point with a hash already on the front is the same policy evaluated again.
  EXPECT_FALSE(a.Insert(Point("p", Obj(0.95, 5, 50, 1))));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(a.WouldEnter(Obj(nan, 1, 1, 1)));
  EXPECT_FALSE(a.Insert(Point("nan", Obj(nan, 1, 1, 1))));
  EXPECT_FALSE(a.Insert(Point("inf", Obj(1, 1, inf, 1))));
  EXPECT_FALSE(a.Insert(Point("-inf", Obj(1, 1, 1, -inf))));
  EXPECT_EQ(Hashes(a), (std::vector<std::string>{"p"}));
  // Equal objectives under another hash do not dominate: both stay.
  EXPECT_TRUE(a.WouldEnter(Obj(0.9, 10, 100, 5)));
  EXPECT_TRUE(a.Insert(Point("twin", Obj(0.9, 10, 100, 5))));
  EXPECT_EQ(a.size(), 2u);
}

TEST(ParetoArchiveTest, FrontIsOrderedByLatencyThenSize) {
  ParetoArchive a;
  ASSERT_TRUE(a.Insert(Point("c", Obj(0.95, 30, 10, 5))));
  ASSERT_TRUE(a.Insert(Point("b2", Obj(0.90, 20, 20, 5))));
  ASSERT_TRUE(a.Insert(Point("a", Obj(0.80, 10, 50, 5))));
  ASSERT_TRUE(a.Insert(Point("b1", Obj(0.85, 20, 15, 6))));
  EXPECT_EQ(Hashes(a), (std::vector<std::string>{"a", "b1", "b2", "c"}));
}

TEST(ParetoArchiveTest, JsonRoundTrip) {
  ParetoArchive a;
  ASSERT_TRUE(a.Insert(Point("x", Obj(0.9, 12.5, 1e6, 3.25))));
  ASSERT_TRUE(a.Insert(Point("y", Obj(0.7, 4, 2e5, 1))));
  const nlohmann::json j = a.ToJson();
  ASSERT_TRUE(j.at("front").is_array());
  EXPECT_EQ(j.at("front")[0].at("policy_hash"), "y");
  EXPECT_EQ(j.at("front")[0].at("latency_ms"), 4.0);
  auto back = ParetoArchive::FromJson(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back) << back.error().String();
  EXPECT_EQ(back->ToJson(), j);
  EXPECT_EQ(back->front()[1].payload, (nlohmann::json{{"episode", "x"}}));
}

TEST(ParetoArchiveTest, FromJsonErrorsNameTheField) {
  auto error_of = [](const nlohmann::json& j) {
    auto r = ParetoArchive::FromJson(j);
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().message();
  };
  const nlohmann::json good = {{"accuracy", 0.9}, {"latency_ms", 1},    {"size_bytes", 2},
                               {"energy_mj", 3},  {"policy_hash", "h"}, {"payload", nullptr}};
  EXPECT_NE(error_of(nlohmann::json::array()).find("object"), std::string::npos);
  EXPECT_NE(error_of({{"points", 1}}).find("front"), std::string::npos);

  nlohmann::json missing = good;
  missing.erase("latency_ms");
  EXPECT_NE(error_of({{"front", {good, missing}}}).find("front[1].latency_ms"), std::string::npos);
  nlohmann::json text = good;
  text["energy_mj"] = "3";
  EXPECT_NE(error_of({{"front", {text}}}).find("front[0].energy_mj"), std::string::npos);
  nlohmann::json no_hash = good;
  no_hash["policy_hash"] = 7;
  EXPECT_NE(error_of({{"front", {no_hash}}}).find("front[0].policy_hash"), std::string::npos);
  nlohmann::json twin = good;
  twin["latency_ms"] = 0.5;
  EXPECT_NE(error_of({{"front", {good, twin}}}).find("front[1].policy_hash"), std::string::npos);
  nlohmann::json not_finite = good;
  not_finite["accuracy"] = std::nan("");
  EXPECT_NE(error_of({{"front", {not_finite}}}).find("front[0].accuracy"), std::string::npos);
}

TEST(ParetoArchiveTest, FromJsonDropsDominatedEntriesThroughInsert) {
  const nlohmann::json j = {{"front",
                             {{{"accuracy", 0.8},
                               {"latency_ms", 10},
                               {"size_bytes", 1},
                               {"energy_mj", 1},
                               {"policy_hash", "worse"}},
                              {{"accuracy", 0.9},
                               {"latency_ms", 10},
                               {"size_bytes", 1},
                               {"energy_mj", 1},
                               {"policy_hash", "better"}}}}};
  auto a = ParetoArchive::FromJson(j);
  ASSERT_TRUE(a) << a.error().String();
  EXPECT_EQ(Hashes(*a), (std::vector<std::string>{"better"}));
  EXPECT_TRUE(a->front()[0].payload.is_null());
}

}  // namespace
}  // namespace hadmc::search
