// A DQN controller for the same multi-discrete, masked action space as PpoAgent (ppo.h), for the
// PPO-vs-DQN comparison: a branching Q-network (Tavakoli et al., "Action Branching
// Architectures", 2018) with a shared trunk (2 ReLU layers of `hidden`) and one Q-value head per
// action head, double-DQN targets averaged over the heads
//   y = r + gamma * (1 - done) * mean_h Q_target,h(s', argmax_{legal a} Q_online,h(s', a)),
// Huber loss per head, Adam, gradient-norm clipping, a uniform replay buffer, epsilon-greedy
// exploration decayed linearly over `epsilon_decay_steps` Act calls, a target network copied
// every `target_update` gradient steps. Masked choices are never taken and never maximized over.
// Seeded like PpoAgent: same seed and rewards -> same actions and weights.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/search/ppo.h"  // ActionHead, ActionMasks

namespace hadmc::search {

struct DqnConfig {
  double gamma = 0.99;
  double lr = 1e-3;
  int64_t batch_size = 64;
  int64_t replay_capacity = 20000;
  int64_t min_replay = 64;  // Train() does nothing until the buffer holds this many
  double epsilon_start = 1.0;
  double epsilon_end = 0.05;
  int64_t epsilon_decay_steps = 2000;
  int64_t target_update = 200;
  double max_grad_norm = 10.0;
  int64_t hidden = 64;
  uint64_t seed = 0;
};

// Errors name the field.
Status ValidateDqnConfig(const DqnConfig& c);

struct DqnTransition {
  std::vector<float> state;
  ActionMasks masks;  // of `state` (unused by the update, kept for symmetry)
  std::vector<int64_t> actions;
  double reward = 0;
  std::vector<float> next_state;  // ignored when done
  ActionMasks next_masks;         // legal actions in next_state (for the max)
  bool done = false;
};

struct DqnTrainStats {
  bool trained = false;  // false: not enough replay yet
  double loss = 0;
  double mean_q = 0;
  int64_t gradient_steps = 0;  // total so far
};

class DqnAgent {
 public:
  static Result<DqnAgent> Create(int64_t state_dim, std::vector<ActionHead> heads,
                                 const DqnConfig& config);
  DqnAgent(DqnAgent&&) noexcept;
  DqnAgent& operator=(DqnAgent&&) noexcept;
  ~DqnAgent();

  // Epsilon-greedy over legal choices (greedy: no exploration, no epsilon decay). Errors as
  // PpoAgent::Act.
  Result<std::vector<int64_t>> Act(const std::vector<float>& state, const ActionMasks& masks,
                                   bool greedy = false);
  double epsilon() const;
  // Adds to the replay buffer (oldest dropped when full). Errors: wrong sizes.
  Status Observe(DqnTransition t);
  // One gradient step on a sampled minibatch.
  Result<DqnTrainStats> Train();

  // Networks, optimizer, replay buffer, generator and counters, written atomically.
  Status Save(const std::string& path) const;
  Status Load(const std::string& path);

  const std::vector<ActionHead>& heads() const;

 private:
  struct Impl;
  explicit DqnAgent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hadmc::search
