#include "hadmc/search/search.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hadmc/search/policy_predictor.h"
#include "hadmc/search/search_outputs.h"
#include "search_test_util.h"

namespace hadmc::search {
namespace {

using namespace testing_util;  // NOLINT

std::string TempDir(const std::string& name) {
  const std::string d = (std::filesystem::temp_directory_path() /
                         ("hadmc-search-" + name + "-" + std::to_string(::getpid())))
                            .string();
  std::filesystem::remove_all(d);
  return d;
}

// Evaluator, predictor and environment on the shared fixture; the wall holds the predicted
// latency to `latency_share` of the way from the most compressed policy's to the base's.
struct Harness {
  Fixture f = Make();
  PolicyEvaluator evaluator = MakeEvaluator(f);
  std::unique_ptr<PolicyPredictor> predictor;
  std::unique_ptr<SearchEnvironment> env;
  Constraints constraints;

  explicit Harness(double latency_share) {
    auto p = PolicyPredictor::Create(f.base, f.space, f.profile, hal::LatencyLut{}, 1);
    EXPECT_TRUE(p) << p.error().String();
    predictor = std::make_unique<PolicyPredictor>(std::move(*p));
    auto base = predictor->Predict(Uniform(f.space, 0.0, 32));
    auto most = predictor->Predict(Uniform(f.space, 0.8, 8));
    EXPECT_TRUE(base && most);
    constraints.max_latency_ms =
        most->latency_ms + latency_share * (base->latency_ms - most->latency_ms);
    EnvironmentOptions eo;
    eo.constraints = constraints;
    auto e = SearchEnvironment::Create(f.space, predictor.get(), f.profile, eo);
    EXPECT_TRUE(e) << e.error().String();
    env = std::make_unique<SearchEnvironment>(std::move(*e));
  }

  SearchOptions Options(ControllerKind k, int64_t episodes, const std::string& dir = "") const {
    SearchOptions o;
    o.controller = k;
    o.episodes = episodes;
    o.rollout_episodes = 3;
    o.ppo.minibatch_size = 16;
    o.dqn.min_replay = 8;
    o.dqn.batch_size = 8;
    o.constraints = constraints;
    o.seed = 11;
    o.checkpoint_dir = dir;
    return o;
  }
};

std::vector<double> Rewards(const SearchResult& r) {
  std::vector<double> out;
  for (const EpisodeRecord& e : r.history) out.push_back(e.reward.total);
  return out;
}

std::vector<std::string> Hashes(const SearchResult& r) {
  std::vector<std::string> out;
  for (const EpisodeRecord& e : r.history) out.push_back(PolicyHash(e.policy));
  return out;
}

TEST(SearchTest, EveryControllerPlaysEpisodesWithinTheWallAndKeepsTheBest) {
  for (ControllerKind k : {ControllerKind::kPpo, ControllerKind::kDqn, ControllerKind::kRandom}) {
    Harness h(0.4);
    auto r = RunSearch(h.evaluator, *h.env, h.Options(k, 6));
    ASSERT_TRUE(r) << ControllerName(k) << ": " << r.error().String();
    ASSERT_EQ(r->history.size(), 6u);
    EXPECT_EQ(r->controller, ControllerName(k));
    EXPECT_TRUE(r->budget_reachable);
    ASSERT_GE(r->best, 0);
    double top = -1e9;
    for (const EpisodeRecord& e : r->history) {
      // The wall's predictor and the evaluator build the same graph (quantize/dequantize
      // boundaries included), so the budget the wall kept holds for the evaluated model too.
      auto predicted = h.predictor->Predict(e.policy);
      ASSERT_TRUE(predicted);
      EXPECT_NEAR(predicted->latency_ms, e.evaluation.objectives.latency_ms,
                  0.02 * e.evaluation.objectives.latency_ms)
          << ControllerName(k) << " episode " << e.episode;
      EXPECT_LE(predicted->latency_ms, h.constraints.max_latency_ms + 1e-9);
      EXPECT_NEAR(predicted->size_bytes, e.evaluation.objectives.size_bytes,
                  0.01 * e.evaluation.objectives.size_bytes);
      if (e.reward.feasible() == r->best_feasible) top = std::max(top, e.reward.total);
    }
    EXPECT_DOUBLE_EQ(r->best_record().reward.total, top);
    EXPECT_GE(r->archive.size(), 1u);
    if (k == ControllerKind::kPpo) {
      EXPECT_EQ(r->updates.size(), 2u) << "one update per 3 episodes";
    }
  }
}

TEST(SearchTest, TheSameSeedGivesTheSameSearch) {
  for (ControllerKind k : {ControllerKind::kPpo, ControllerKind::kRandom}) {
    Harness a(0.4), b(0.4);
    auto ra = RunSearch(a.evaluator, *a.env, a.Options(k, 6));
    auto rb = RunSearch(b.evaluator, *b.env, b.Options(k, 6));
    ASSERT_TRUE(ra && rb);
    EXPECT_EQ(Hashes(*ra), Hashes(*rb)) << ControllerName(k);
    EXPECT_EQ(Rewards(*ra), Rewards(*rb)) << ControllerName(k);
  }
}

TEST(SearchTest, AResumedSearchEndsAsTheUninterruptedOne) {
  const std::string dir = TempDir("resume");
  Harness whole(0.4);
  auto uninterrupted = RunSearch(whole.evaluator, *whole.env, whole.Options(ControllerKind::kPpo, 6));
  ASSERT_TRUE(uninterrupted);

  {
    Harness first(0.4);  // "killed" after 3 episodes (one rollout, checkpointed)
    auto part = RunSearch(first.evaluator, *first.env, first.Options(ControllerKind::kPpo, 3, dir));
    ASSERT_TRUE(part) << part.error().String();
    ASSERT_TRUE(std::filesystem::exists(dir + "/search_state.json"));
  }
  Harness second(0.4);
  auto resumed = RunSearch(second.evaluator, *second.env, second.Options(ControllerKind::kPpo, 6, dir));
  ASSERT_TRUE(resumed) << resumed.error().String();
  EXPECT_EQ(resumed->resumed_at, 3);
  EXPECT_EQ(Hashes(*resumed), Hashes(*uninterrupted));
  EXPECT_EQ(Rewards(*resumed), Rewards(*uninterrupted));

  auto recorded = CheckpointConstraints(dir);
  ASSERT_TRUE(recorded && *recorded);
  EXPECT_DOUBLE_EQ((*recorded)->max_latency_ms, second.constraints.max_latency_ms);

  // A checkpoint of another search is refused, naming what differs.
  Harness other(0.4);
  SearchOptions o = other.Options(ControllerKind::kRandom, 6, dir);
  auto refused = RunSearch(other.evaluator, *other.env, o);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("another search"), std::string::npos);
  // A corrupt one too.
  std::ofstream(dir + "/search_state.json") << "{not json";
  auto corrupt = RunSearch(other.evaluator, *other.env, other.Options(ControllerKind::kPpo, 6, dir));
  ASSERT_FALSE(corrupt);
  EXPECT_NE(corrupt.error().message().find("search_state.json"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(SearchTest, OutputsAreWrittenAndReadBack) {
  const std::string dir = TempDir("outputs");
  Harness h(0.4);
  auto r = RunSearch(h.evaluator, *h.env, h.Options(ControllerKind::kRandom, 4));
  ASSERT_TRUE(r);
  FinalCheck fc;
  ASSERT_TRUE(WriteSearchOutputs(*r, dir, {{"model", "m.hmc"}, {"target", "x86_cpu"},
                                           {"latency_budget_ms", h.constraints.max_latency_ms}},
                                 &fc));
  for (const char* f : {"search.json", "best_policy.json", "pareto.json", "pareto.svg",
                        "convergence.svg", "report.md"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  std::ifstream in(dir + "/search.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_EQ(j.at("episodes").size(), 4u);
  auto rec = EpisodeRecordFromJson(j.at("episodes").at(2));
  ASSERT_TRUE(rec) << rec.error().String();
  EXPECT_EQ(PolicyHash(rec->policy), PolicyHash(r->history[2].policy));
  EXPECT_DOUBLE_EQ(rec->reward.total, r->history[2].reward.total);
  EXPECT_FALSE(EpisodeRecordFromJson(nlohmann::json{{"episode", 1}}));
  const std::vector<double> best = RunningBest(*r);
  ASSERT_EQ(best.size(), 4u);
  for (size_t i = 1; i < best.size(); ++i)
    if (!std::isnan(best[i - 1])) {
      EXPECT_GE(best[i], best[i - 1]);
    }
  std::filesystem::remove_all(dir);
}

TEST(SearchTest, OptionsAreValidated) {
  SearchOptions o;
  o.episodes = 0;
  EXPECT_FALSE(ValidateSearchOptions(o));
  o.episodes = 1;
  o.rollout_episodes = 0;
  EXPECT_FALSE(ValidateSearchOptions(o));
  o.rollout_episodes = 1;
  o.weights.latency = -1;
  EXPECT_FALSE(ValidateSearchOptions(o));
  EXPECT_TRUE(ParseController("dqn"));
  auto bad = ParseController("ddpg");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("ppo, dqn or random"), std::string::npos);
}

}  // namespace
}  // namespace hadmc::search
