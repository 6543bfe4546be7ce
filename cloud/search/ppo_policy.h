// Private to cloud/search: the PPO agent's network (shared trunk, one logits head per action
// head, a value head), its seeded initialization, action masks and seeded sampling.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/search/ppo.h"

namespace hadmc::search {

// A linear layer as two registered parameters. (torch::nn::Linear would draw its default init
// from the global generator, which other code seeds and relies on.)
struct Dense {
  at::Tensor weight, bias;  // [out, in], [out]
  at::Tensor operator()(const at::Tensor& x) const { return at::linear(x, weight, bias); }
};

struct PolicyNet : torch::nn::Module {
  PolicyNet(int64_t state_dim, int64_t hidden, const std::vector<ActionHead>& heads);
  at::Tensor Trunk(const at::Tensor& states) { return torch::tanh(fc2(torch::tanh(fc1(states)))); }

  Dense fc1, fc2, value;
  std::vector<Dense> policy;  // one per action head

 private:
  Dense AddDense(const std::string& name, int64_t in, int64_t out);
};

// Orthogonal weights (gain sqrt(2) trunk, 0.01 policy heads, 1 value head) and zero biases, all
// drawn from a generator seeded with `seed`, never from the global one.
void InitWeights(PolicyNet& net, uint64_t seed);

struct NetOutput {
  std::vector<at::Tensor> log_probs;  // per head: masked log-softmax, [B, choices]
  at::Tensor value;                   // [B]
};
// masks: per head, [B, choices] bool with at least one legal choice per row.
NetOutput Forward(PolicyNet& net, const at::Tensor& states, const std::vector<at::Tensor>& masks);

// Checks `masks` against the heads and spells every mask out (absent or empty: all legal).
// Errors: a mask count other than 0 or heads.size(), a wrong size, no legal choice.
Result<ActionMasks> ResolveMasks(const ActionMasks& masks, const std::vector<ActionHead>& heads);

// Rows of `dim` floats -> [rows.size(), dim]. Precondition: every row has `dim` values.
at::Tensor StackRows(const std::vector<const std::vector<float>*>& rows, int64_t dim);
// Per head, [N, choices] bool from N masks spelled out by ResolveMasks.
std::vector<at::Tensor> MaskTensors(const std::vector<ActionMasks>& masks,
                                    const std::vector<ActionHead>& heads);

// One head's choice from its [choices] float log-probabilities, among the legal ones.
int64_t SampleChoice(const at::Tensor& log_probs, const std::vector<uint8_t>& mask,
                     std::mt19937_64& rng);
int64_t GreedyChoice(const at::Tensor& log_probs, const std::vector<uint8_t>& mask);

// 0..n-1 in an order drawn from `rng`.
std::vector<int64_t> Shuffled(int64_t n, std::mt19937_64& rng);

}  // namespace hadmc::search
