// The compression search loop: a controller plays episodes in the environment (one policy per
// episode), the evaluator scores each finished policy, the reward (reward.h) is the episode's
// terminal reward, the Pareto archive keeps the non-dominated policies. Controllers:
//   ppo     PpoAgent, one update per `rollout_episodes` episodes (HAD-MC 2.0's controller)
//   dqn     DqnAgent (branching double DQN), one gradient step per layer step
//   random  uniform among the legal (wall-masked) choices: the random-search baseline
// Progress: one line per episode with the running best and an ETA. Checkpoints (agent, history,
// archive) go to `checkpoint_dir` at rollout boundaries; a search started on a directory with a
// checkpoint resumes there and, with the same seed, ends as the uninterrupted one would (the
// evaluator is deterministic for a policy, so re-evaluations after a resume agree).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"
#include "hadmc/search/dqn.h"
#include "hadmc/search/environment.h"
#include "hadmc/search/evaluator.h"
#include "hadmc/search/pareto.h"
#include "hadmc/search/policy.h"
#include "hadmc/search/ppo.h"
#include "hadmc/search/reward.h"

namespace hadmc::search {

enum class ControllerKind { kPpo, kDqn, kRandom };
Result<ControllerKind> ParseController(const std::string& s);  // "ppo", "dqn", "random"
const char* ControllerName(ControllerKind k);

struct SearchOptions {
  ControllerKind controller = ControllerKind::kPpo;
  int64_t episodes = 200;
  int64_t rollout_episodes = 8;  // PPO: episodes per update; also the checkpoint period
  PpoConfig ppo;                 // seed is overridden by `seed`
  DqnConfig dqn;                 // seed is overridden by `seed`
  Constraints constraints;       // the reward's; the environment's wall has its own copy
  RewardWeights weights;
  uint64_t seed = 0;
  // PPO's first policy: SearchEnvironment::InitialBias(prior) (near the uncompressed model, on
  // the target's fastest precision); 0 = uniform. 2 measured best on resnet18 (docs/search.md).
  double prior = 2.0;
  std::string checkpoint_dir;  // empty: no checkpoints
  std::ostream* progress = nullptr;
};

// Errors name the field.
Status ValidateSearchOptions(const SearchOptions& o);

struct EpisodeRecord {
  int64_t episode = 0;  // 0-based
  CompressionPolicy policy;
  Evaluation evaluation;
  RewardBreakdown reward;
  int clamped_steps = 0;  // steps the action wall changed
};

struct SearchResult {
  std::string controller;
  Evaluation base;
  std::vector<EpisodeRecord> history;
  ParetoArchive archive;
  int64_t best = -1;  // index into history: the best reward among feasible policies (or overall
                      // when none was feasible)
  bool best_feasible = false;
  std::vector<nlohmann::json> updates;  // per PPO update / DQN every rollout: the agent's stats
  bool budget_reachable = true;          // the wall's view of the budget
  int64_t resumed_at = 0;                // episodes loaded from a checkpoint
  double seconds = 0;                    // this run's wall time (not counting resumed episodes)
  const EpisodeRecord& best_record() const { return history.at(static_cast<size_t>(best)); }
};

Result<SearchResult> RunSearch(PolicyEvaluator& evaluator, SearchEnvironment& env,
                               const SearchOptions& options);

// Scores a fixed list of policies as RunSearch scores its episodes (same reward, archive and
// choice of the best): the harness of the non-learning baselines. No checkpoints.
Result<SearchResult> EvaluatePolicies(PolicyEvaluator& evaluator,
                                      const std::vector<CompressionPolicy>& policies,
                                      const SearchOptions& options, const std::string& name);

// The constraints recorded in `checkpoint_dir`'s checkpoint, if there is one: a resumed search
// must keep its budget even when the measurement it came from would come out a little
// differently today.
Result<std::optional<Constraints>> CheckpointConstraints(const std::string& checkpoint_dir);

nlohmann::json ToJson(const Evaluation& e);
Result<Evaluation> EvaluationFromJson(const nlohmann::json& j);
nlohmann::json ToJson(const EpisodeRecord& r);
Result<EpisodeRecord> EpisodeRecordFromJson(const nlohmann::json& j);
// {"controller", "base", "best", "best_feasible", "budget_reachable", "seconds", "episodes":
//  [...], "pareto": {...}, "updates": [...]}
nlohmann::json ToJson(const SearchResult& r);

}  // namespace hadmc::search
