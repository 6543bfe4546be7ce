// Proximal Policy Optimization for the compression search (LibTorch behind this header).
//
// The policy acts on a multi-discrete action space: at each step (one layer of the model) every
// head picks one of its choices, e.g. {"prune": 10 ratios, "bits": 4 widths, "temperature": 4,
// "alpha": 4}. A per-step mask per head lists the legal choices (the environment's action wall:
// choices that would make the budget unreachable are masked out; a head that only acts at the
// first step is masked to one choice elsewhere, so it contributes log-probability 0). Masked
// choices get probability 0 both when sampling and in the update, so the stored log-probabilities
// stay consistent.
//
// Network: a shared trunk (2 tanh layers of `hidden`) with one linear logits head per action
// head and a value head; orthogonal init (gain sqrt(2) trunk, 0.01 policy heads, 1 value head),
// zero biases. Update: GAE(gamma, lambda) advantages, `epochs` passes over shuffled minibatches,
// per-minibatch advantage normalization, clipped surrogate (clip), value loss (value_coef, MSE to
// the GAE returns), entropy bonus (entropy_coef), Adam, global gradient-norm clipping.
// Everything random (init, sampling, minibatch order) comes from `seed`: the same seed and the
// same rewards give the same actions and weights.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::search {

struct PpoConfig {
  double gamma = 0.99;
  double lambda = 0.95;  // GAE
  double clip = 0.2;
  double value_coef = 0.5;
  double entropy_coef = 0.01;
  double lr = 3e-4;  // Adam
  double max_grad_norm = 0.5;
  int64_t epochs = 4;           // passes over each rollout
  int64_t minibatch_size = 64;  // transitions per minibatch (the last may be smaller)
  int64_t hidden = 64;
  double target_kl = 0;  // > 0: stop the update's epochs early once approx-KL exceeds it
  uint64_t seed = 0;
  // Initial logits bias per head (empty, or one vector of `choices` values per head; an empty
  // inner vector: zeros): a prior the first policy samples from, e.g. the search's preference
  // for mild compression at the start. Learned from there like any bias.
  std::vector<std::vector<double>> initial_bias;
};

// Errors name the field (gamma and lambda in [0, 1], clip > 0, lr > 0, epochs >= 1, ...).
Status ValidatePpoConfig(const PpoConfig& c);

struct ActionHead {
  std::string name;
  int64_t choices = 0;  // >= 1
};

// Generalized advantage estimation over transitions stored in time order, possibly several
// episodes back to back. done[t]: the episode ends after step t (no bootstrapping across it).
// last_value: V(s) after the final transition when it is not done (0 otherwise).
//   delta_t = r_t + gamma * V_{t+1} * (1 - done_t) - V_t
//   A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1};  returns_t = A_t + V_t
struct Advantages {
  std::vector<double> advantages;
  std::vector<double> returns;
};
Advantages ComputeGae(const std::vector<double>& rewards, const std::vector<double>& values,
                      const std::vector<bool>& done, double last_value, double gamma,
                      double lambda);

// The PPO loss for one minibatch (tensors of shape [B]); exposed for unit tests.
//   ratio = exp(new_log_prob - old_log_prob)
//   policy_loss = -mean(min(ratio * A, clamp(ratio, 1 - clip, 1 + clip) * A))
//   value_loss = mean((new_value - returns)^2)
//   total = policy_loss + value_coef * value_loss - entropy_coef * mean(entropy)
// clip_fraction: share of samples with |ratio - 1| > clip; approx_kl: mean((ratio - 1) - log ratio).
// `advantages` are used as given (normalize before calling).
struct PpoLossTerms {
  at::Tensor total;  // differentiable
  double policy_loss = 0, value_loss = 0, entropy = 0, clip_fraction = 0, approx_kl = 0;
};
PpoLossTerms PpoLoss(const at::Tensor& new_log_prob, const at::Tensor& old_log_prob,
                     const at::Tensor& advantages, const at::Tensor& new_value,
                     const at::Tensor& returns, const at::Tensor& entropy,
                     const PpoConfig& config);

// masks[h][k] != 0: choice k of head h is legal. Empty masks (or an empty inner vector) allow all.
using ActionMasks = std::vector<std::vector<uint8_t>>;

struct Transition {
  std::vector<float> state;
  ActionMasks masks;
  std::vector<int64_t> actions;  // one per head
  double log_prob = 0;           // sum over heads, under the masks
  double value = 0;
  double reward = 0;
  bool done = false;
};

struct PpoUpdateStats {
  double policy_loss = 0, value_loss = 0, entropy = 0;  // means over minibatches
  double clip_fraction = 0, approx_kl = 0;              // of the last epoch
  double explained_variance = 0;                        // of the values vs the GAE returns
  int64_t epochs_run = 0, minibatches = 0;
};

class PpoAgent {
 public:
  // Errors: invalid config, state_dim < 1, no heads, a head with < 1 choice.
  static Result<PpoAgent> Create(int64_t state_dim, std::vector<ActionHead> heads,
                                 const PpoConfig& config);
  PpoAgent(PpoAgent&&) noexcept;
  PpoAgent& operator=(PpoAgent&&) noexcept;
  ~PpoAgent();

  struct Decision {
    std::vector<int64_t> actions;
    double log_prob = 0;
    double value = 0;
  };
  // Samples one action per head (from the agent's own seeded generator) or, with greedy, takes
  // each head's most probable legal choice. Errors: wrong state size, a mask of the wrong size or
  // with no legal choice.
  Result<Decision> Act(const std::vector<float>& state, const ActionMasks& masks,
                       bool greedy = false);
  // V(state), e.g. to bootstrap an unfinished rollout.
  Result<double> Value(const std::vector<float>& state);

  // One PPO update on a rollout (transitions in time order; see ComputeGae for last_value).
  Result<PpoUpdateStats> Update(const std::vector<Transition>& rollout, double last_value);

  // Network, optimizer and generator state, so a resumed search continues exactly (same seed,
  // same later actions). Save writes atomically; Load checks the state size and heads match.
  Status Save(const std::string& path) const;
  Status Load(const std::string& path);

  int64_t state_dim() const;
  const std::vector<ActionHead>& heads() const;
  const PpoConfig& config() const;

 private:
  struct Impl;
  explicit PpoAgent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hadmc::search
