// Private to cloud/search: the DQN agent's replay buffer (a ring of transitions, sampled uniformly
// with the agent's generator) and its columns in a torch archive.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/search/ppo.h"  // ActionHead, ActionMasks

namespace hadmc::search {

// A transition as the replay keeps it: next_state zeros and next_masks all legal when done, so a
// minibatch needs no special case (the (1 - done) factor drops their term).
struct Experience {
  std::vector<float> state, next_state;  // state_dim each
  std::vector<int64_t> actions;          // one per head
  double reward = 0;
  ActionMasks next_masks;  // spelled out, one per head
  bool done = false;
};

struct Minibatch {
  at::Tensor states, next_states;      // [B, state_dim]
  at::Tensor actions;                  // [B, heads] int64
  at::Tensor rewards, not_done;        // [B] float
  std::vector<at::Tensor> next_masks;  // per head, [B, choices] bool
};

class ReplayBuffer {
 public:
  // Precondition: capacity >= 1.
  ReplayBuffer(int64_t capacity, int64_t state_dim, std::vector<ActionHead> heads);

  // Precondition: `e` has the buffer's sizes. When full, overwrites the oldest transition.
  void Add(Experience e);
  int64_t size() const { return static_cast<int64_t>(items_.size()); }

  // `batch_size` transitions drawn uniformly with replacement (so a batch larger than the buffer
  // is well defined). Precondition: size() > 0. May throw (LibTorch).
  Minibatch Sample(int64_t batch_size, std::mt19937_64& rng) const;

  // The transitions in slot order with the slot the next Add overwrites, so a loaded buffer
  // samples exactly as the saved one would. May throw (LibTorch).
  void Save(torch::serialize::OutputArchive& archive) const;
  // Errors: tensors that disagree with this buffer's sizes. May throw (LibTorch).
  Status Load(torch::serialize::InputArchive& archive);

 private:
  int64_t capacity_, state_dim_;
  std::vector<ActionHead> heads_;
  std::vector<Experience> items_;
  int64_t next_ = 0;  // the slot the next Add overwrites once the buffer is full
};

}  // namespace hadmc::search
