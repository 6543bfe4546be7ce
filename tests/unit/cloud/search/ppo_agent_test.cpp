// The PPO agent: masks, seeded determinism, learning a tiny bandit, save and load.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "hadmc/search/ppo.h"

namespace hadmc::search {
namespace {

class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("hadmc_ppo_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

PpoAgent MakeAgent(int64_t state_dim, std::vector<ActionHead> heads, const PpoConfig& c = {}) {
  auto agent = PpoAgent::Create(state_dim, std::move(heads), c);
  EXPECT_TRUE(agent) << agent.error().String();
  return std::move(*agent);
}

std::vector<float> OneHot(int64_t size, int64_t k) {
  std::vector<float> v(static_cast<size_t>(size), 0.0f);
  v[static_cast<size_t>(k)] = 1.0f;
  return v;
}

// The contextual bandit: context k (one-hot), reward 1 when head 0 picks k. One-step episodes.
std::vector<Transition> BanditRollout(PpoAgent& agent, int64_t contexts, int64_t steps,
                                      int64_t first) {
  std::vector<Transition> rollout;
  for (int64_t i = 0; i < steps; ++i) {
    const int64_t context = (first + i) % contexts;
    Transition t;
    t.state = OneHot(contexts, context);
    auto d = agent.Act(t.state, {});
    EXPECT_TRUE(d) << d.error().String();
    t.actions = d->actions;
    t.log_prob = d->log_prob;
    t.value = d->value;
    t.reward = d->actions[0] == context ? 1.0 : 0.0;
    t.done = true;
    rollout.push_back(std::move(t));
  }
  return rollout;
}

double GreedyAccuracy(PpoAgent& agent, int64_t contexts) {
  int correct = 0;
  for (int64_t k = 0; k < contexts; ++k) {
    auto d = agent.Act(OneHot(contexts, k), {}, /*greedy=*/true);
    EXPECT_TRUE(d);
    correct += d->actions[0] == k;
  }
  return static_cast<double>(correct) / contexts;
}

// A fingerprint of the network: values and greedy decisions on a grid of states.
std::vector<double> Fingerprint(PpoAgent& agent) {
  std::vector<double> out;
  for (int i = 0; i < 8; ++i) {
    std::vector<float> s(static_cast<size_t>(agent.state_dim()));
    for (size_t j = 0; j < s.size(); ++j) s[j] = std::sin(static_cast<float>(i * 7 + j));
    out.push_back(*agent.Value(s));
    auto d = agent.Act(s, {}, /*greedy=*/true);
    out.push_back(d->log_prob);
  }
  return out;
}

TEST(PpoMaskTest, MaskedChoicesAreNeverSampled) {
  PpoAgent agent = MakeAgent(3, {{"prune", 5}, {"bits", 4}});
  const ActionMasks masks = {{1, 0, 1, 0, 1}, {0, 1, 1, 0}};
  std::set<int64_t> prune_seen, bits_seen;
  for (int i = 0; i < 1000; ++i) {
    auto d = agent.Act({0.1f, -0.2f, 0.3f}, masks);
    ASSERT_TRUE(d) << d.error().String();
    ASSERT_TRUE(masks[0][d->actions[0]]) << d->actions[0];
    ASSERT_TRUE(masks[1][d->actions[1]]) << d->actions[1];
    prune_seen.insert(d->actions[0]);
    bits_seen.insert(d->actions[1]);
  }
  EXPECT_EQ(prune_seen, (std::set<int64_t>{0, 2, 4}));  // every legal choice does occur
  EXPECT_EQ(bits_seen, (std::set<int64_t>{1, 2}));
}

TEST(PpoMaskTest, GreedyPicksTheMostProbableLegalChoice) {
  PpoAgent agent = MakeAgent(2, {{"a", 6}});
  const std::vector<float> state = {0.5f, -1.0f};
  const ActionMasks masks = {{0, 1, 0, 1, 1, 0}};
  // Sampling reveals log p(k | legal) of each legal choice; greedy must take the largest.
  std::map<int64_t, double> log_prob;
  for (int i = 0; i < 300; ++i) {
    auto d = agent.Act(state, masks);
    ASSERT_TRUE(d);
    log_prob[d->actions[0]] = d->log_prob;
  }
  ASSERT_EQ(log_prob.size(), 3u);
  double total = 0;
  int64_t best = -1;
  for (const auto& [k, lp] : log_prob) {
    total += std::exp(lp);
    if (best < 0 || lp > log_prob[best]) best = k;
  }
  EXPECT_NEAR(total, 1.0, 1e-5);  // renormalized over the legal choices
  auto greedy = agent.Act(state, masks, /*greedy=*/true);
  ASSERT_TRUE(greedy);
  EXPECT_EQ(greedy->actions[0], best);
  EXPECT_DOUBLE_EQ(greedy->log_prob, log_prob[best]);
}

TEST(PpoMaskTest, HeadMaskedToOneChoiceHasLogProbZero) {
  PpoAgent agent = MakeAgent(2, {{"temperature", 4}});
  for (bool greedy : {false, true}) {
    auto d = agent.Act({1.0f, 2.0f}, {{0, 0, 1, 0}}, greedy);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->actions[0], 2);
    EXPECT_EQ(d->log_prob, 0.0);
  }
}

TEST(PpoMaskTest, BadMasksAndStatesAreErrors) {
  PpoAgent agent = MakeAgent(2, {{"prune", 3}, {"bits", 2}});
  const std::vector<float> s = {0, 0};
  auto none = agent.Act(s, {{1, 1, 1}, {0, 0}});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("'bits' allows no choice"), std::string::npos)
      << none.error().message();
  auto wrong_size = agent.Act(s, {{1, 1}, {}});
  ASSERT_FALSE(wrong_size);
  EXPECT_NE(wrong_size.error().message().find("'prune' has 2 entries"), std::string::npos)
      << wrong_size.error().message();
  EXPECT_FALSE(agent.Act(s, {{1, 1, 1}}));  // one mask for two heads
  EXPECT_TRUE(agent.Act(s, {{}, {0, 1}}));  // an empty inner mask allows all
  auto bad_state = agent.Act({1, 2, 3}, {});
  ASSERT_FALSE(bad_state);
  EXPECT_NE(bad_state.error().message().find("state has 3 values"), std::string::npos);
  EXPECT_FALSE(agent.Value({1}));
}

TEST(PpoMaskTest, UpdateRejectsActionsOutsideTheirMasks) {
  PpoAgent agent = MakeAgent(2, {{"prune", 3}});
  Transition t;
  t.state = {0, 0};
  t.masks = {{1, 0, 1}};
  t.actions = {1};
  t.done = true;
  auto r = agent.Update({t}, 0.0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("rollout[0]"), std::string::npos) << r.error().message();
  EXPECT_FALSE(agent.Update({}, 0.0));
}

TEST(PpoDeterminismTest, SameSeedSameActionsAndWeights) {
  PpoConfig c;
  c.seed = 42;
  c.minibatch_size = 16;
  PpoAgent a = MakeAgent(4, {{"x", 5}, {"y", 3}}, c);
  PpoAgent b = MakeAgent(4, {{"x", 5}, {"y", 3}}, c);
  std::vector<Transition> rollout;
  for (int i = 0; i < 100; ++i) {
    const std::vector<float> s = {static_cast<float>(i % 4), 1.0f, -0.5f, 0.25f * (i % 3)};
    auto da = a.Act(s, {});
    auto db = b.Act(s, {});
    ASSERT_TRUE(da && db);
    ASSERT_EQ(da->actions, db->actions) << "step " << i;
    ASSERT_EQ(da->log_prob, db->log_prob);
    ASSERT_EQ(da->value, db->value);
    rollout.push_back({s,
                       {},
                       da->actions,
                       da->log_prob,
                       da->value,
                       static_cast<double>(da->actions[0] == i % 5),
                       i % 10 == 9});
  }
  auto sa = a.Update(rollout, 0.0);
  auto sb = b.Update(rollout, 0.0);
  ASSERT_TRUE(sa && sb);
  EXPECT_EQ(sa->epochs_run, 4);
  EXPECT_EQ(sa->minibatches, 4 * 7);  // 100 / 16 rounded up, four epochs
  EXPECT_EQ(sa->policy_loss, sb->policy_loss);
  EXPECT_EQ(sa->value_loss, sb->value_loss);
  EXPECT_EQ(Fingerprint(a), Fingerprint(b));
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(a.Act({0, 1, 0, 1}, {})->actions, b.Act({0, 1, 0, 1}, {})->actions);
}

TEST(PpoDeterminismTest, DifferentSeedsDiffer) {
  PpoConfig c1, c2;
  c1.seed = 1;
  c2.seed = 2;
  PpoAgent a = MakeAgent(3, {{"x", 10}}, c1);
  PpoAgent b = MakeAgent(3, {{"x", 10}}, c2);
  std::vector<int64_t> actions_a, actions_b;
  for (int i = 0; i < 100; ++i) {
    actions_a.push_back(a.Act({1, 0, 0}, {})->actions[0]);
    actions_b.push_back(b.Act({1, 0, 0}, {})->actions[0]);
  }
  EXPECT_NE(actions_a, actions_b);
  EXPECT_NE(Fingerprint(a), Fingerprint(b));  // the initial weights differ too
}

// Eight contexts, so > 90% greedy accuracy means all eight right. Seeds 1-16 took 96-672 steps
// (about 0.1 s); the budget leaves room for another BLAS's rounding.
TEST(PpoDeterminismTest, IndependentOfTheGlobalGenerator) {
  torch::manual_seed(1);
  const float expected = torch::rand({1}).item<float>();
  torch::manual_seed(1);
  PpoAgent a = MakeAgent(3, {{"x", 4}});
  BanditRollout(a, 3, 8, 0);
  EXPECT_EQ(torch::rand({1}).item<float>(), expected);  // the agent drew nothing from it
  torch::manual_seed(2);
  PpoAgent b = MakeAgent(3, {{"x", 4}});
  BanditRollout(b, 3, 8, 0);
  EXPECT_EQ(Fingerprint(a), Fingerprint(b));
}

TEST(PpoLearningTest, LearnsAContextualBandit) {
  PpoConfig c;
  c.seed = 7;
  c.lr = 3e-3;
  c.hidden = 32;
  c.minibatch_size = 16;
  c.entropy_coef = 0.0;
  constexpr int64_t kContexts = 8;
  PpoAgent agent = MakeAgent(kContexts, {{"pick", kContexts}}, c);
  EXPECT_LT(GreedyAccuracy(agent, kContexts), 0.9);
  int64_t steps = 0;
  while (steps < 1024 && GreedyAccuracy(agent, kContexts) <= 0.9) {
    auto stats = agent.Update(BanditRollout(agent, kContexts, 32, steps), 0.0);
    ASSERT_TRUE(stats) << stats.error().String();
    steps += 32;
  }
  EXPECT_GT(GreedyAccuracy(agent, kContexts), 0.9) << "after " << steps << " steps";
  RecordProperty("steps", static_cast<int>(steps));
}

TEST(PpoLearningTest, TargetKlStopsTheEpochsEarly) {
  PpoConfig c;
  c.lr = 1e-2;
  c.epochs = 10;
  c.target_kl = 1e-6;
  PpoAgent agent = MakeAgent(4, {{"pick", 4}}, c);
  auto stats = agent.Update(BanditRollout(agent, 4, 64, 0), 0.0);
  ASSERT_TRUE(stats) << stats.error().String();
  EXPECT_LT(stats->epochs_run, 10);
  EXPECT_GT(stats->approx_kl, 1e-6);
  EXPECT_EQ(stats->minibatches, stats->epochs_run);  // 64 transitions: one minibatch per epoch
}

TEST(PpoSaveLoadTest, LoadedAgentContinuesWithTheSameActions) {
  ScratchDir dir;
  PpoConfig c;
  c.seed = 3;
  c.minibatch_size = 8;
  PpoAgent original = MakeAgent(4, {{"prune", 6}, {"bits", 4}}, c);
  ASSERT_TRUE(original.Update(BanditRollout(original, 4, 24, 0), 0.0));
  ASSERT_TRUE(original.Save(dir.File("agent.pt")));

  PpoConfig other = c;
  other.seed = 99;  // the generator state comes from the file
  PpoAgent loaded = MakeAgent(4, {{"prune", 6}, {"bits", 4}}, other);
  const Status s = loaded.Load(dir.File("agent.pt"));
  ASSERT_TRUE(s) << s.error().String();
  for (int i = 0; i < 50; ++i) {
    const std::vector<float> state = OneHot(4, i % 4);
    auto a = original.Act(state, {});
    auto b = loaded.Act(state, {});
    ASSERT_EQ(a->actions, b->actions) << i;
    ASSERT_EQ(a->log_prob, b->log_prob);
  }
  // The optimizer state came along too: the same rollout gives the same update.
  const std::vector<Transition> rollout = BanditRollout(original, 4, 16, 0);
  const std::vector<Transition> same = BanditRollout(loaded, 4, 16, 0);
  for (size_t i = 0; i < rollout.size(); ++i) ASSERT_EQ(rollout[i].actions, same[i].actions);
  ASSERT_TRUE(original.Update(rollout, 0.0));
  ASSERT_TRUE(loaded.Update(same, 0.0));
  EXPECT_EQ(Fingerprint(original), Fingerprint(loaded));
}

TEST(PpoSaveLoadTest, LoadRefusesAnotherLayout) {
  ScratchDir dir;
  PpoAgent saved = MakeAgent(4, {{"prune", 6}, {"bits", 4}});
  ASSERT_TRUE(saved.Save(dir.File("agent.pt")));

  PpoAgent other_heads = MakeAgent(4, {{"prune", 6}, {"bits", 8}});
  const std::vector<double> before = Fingerprint(other_heads);
  const Status heads = other_heads.Load(dir.File("agent.pt"));
  ASSERT_FALSE(heads);
  EXPECT_NE(heads.error().message().find(
                "heads are [prune:6, bits:4] in the file, this agent has [prune:6, bits:8]"),
            std::string::npos)
      << heads.error().message();
  EXPECT_EQ(Fingerprint(other_heads), before);  // a failed load changes nothing

  PpoAgent other_dim = MakeAgent(5, {{"prune", 6}, {"bits", 4}});
  const Status dim = other_dim.Load(dir.File("agent.pt"));
  ASSERT_FALSE(dim);
  EXPECT_NE(dim.error().message().find("state_dim is 4 in the file, this agent has 5"),
            std::string::npos)
      << dim.error().message();

  EXPECT_FALSE(saved.Load(dir.File("missing.pt")));
}

}  // namespace
}  // namespace hadmc::search

namespace hadmc::search {
namespace {

TEST(PpoPriorTest, InitialBiasShapesTheFirstPolicyAndIsChecked) {
  PpoConfig c;
  c.seed = 3;
  c.initial_bias = {{0.0, -3.0, -3.0}, {}};
  auto agent = PpoAgent::Create(4, {{"a", 3}, {"b", 2}}, c);
  ASSERT_TRUE(agent) << agent.error().String();
  int first = 0;
  for (int i = 0; i < 200; ++i) {
    auto d = agent->Act({0.1f, 0.2f, 0.3f, 0.4f}, {});
    ASSERT_TRUE(d);
    first += d->actions[0] == 0;
  }
  // exp(0) / (exp(0) + 2 exp(-3)) = 0.91 of the samples, against 1/3 without the bias.
  EXPECT_GT(first, 160);
  c.initial_bias = {{0.0, 1.0}, {}};
  auto wrong = PpoAgent::Create(4, {{"a", 3}, {"b", 2}}, c);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message().find("head 'a'"), std::string::npos);
  c.initial_bias = {{}};
  EXPECT_FALSE(PpoAgent::Create(4, {{"a", 3}, {"b", 2}}, c));
}

}  // namespace
}  // namespace hadmc::search
