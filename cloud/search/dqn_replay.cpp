#include "dqn_replay.h"

#include "ppo_policy.h"  // StackRows, MaskTensors

namespace hadmc::search {
namespace {

// The columns of `items` (in order): states, next_states [N, state_dim], actions [N, heads],
// rewards [N] double, done [N] bool, and per head h next_mask<h> [N, choices] bool.
struct Columns {
  at::Tensor states, next_states, actions, rewards, done;
  std::vector<at::Tensor> next_masks;
};

Columns ToColumns(const std::vector<const Experience*>& items, int64_t state_dim,
                  const std::vector<ActionHead>& heads) {
  std::vector<const std::vector<float>*> states, next_states;
  std::vector<int64_t> actions;
  std::vector<double> rewards;
  std::vector<uint8_t> done;
  std::vector<ActionMasks> next_masks;
  for (const Experience* e : items) {
    states.push_back(&e->state);
    next_states.push_back(&e->next_state);
    actions.insert(actions.end(), e->actions.begin(), e->actions.end());
    rewards.push_back(e->reward);
    done.push_back(e->done ? 1 : 0);
    next_masks.push_back(e->next_masks);
  }
  const int64_t n = static_cast<int64_t>(items.size());
  Columns c;
  c.states = StackRows(states, state_dim);
  c.next_states = StackRows(next_states, state_dim);
  c.actions = at::tensor(at::ArrayRef<int64_t>(actions), at::kLong)
                  .view({n, static_cast<int64_t>(heads.size())});
  c.rewards = at::tensor(at::ArrayRef<double>(rewards), at::kDouble);
  c.done = at::tensor(at::ArrayRef<uint8_t>(done), at::kByte).to(at::kBool);
  c.next_masks = MaskTensors(next_masks, heads);
  return c;
}

std::vector<float> Row(const at::Tensor& matrix, int64_t i) {
  const float* p = matrix.data_ptr<float>() + i * matrix.size(1);
  return {p, p + matrix.size(1)};
}

}  // namespace

ReplayBuffer::ReplayBuffer(int64_t capacity, int64_t state_dim, std::vector<ActionHead> heads)
    : capacity_(capacity), state_dim_(state_dim), heads_(std::move(heads)) {}

void ReplayBuffer::Add(Experience e) {
  if (size() < capacity_) {
    items_.push_back(std::move(e));
    return;
  }
  items_[next_] = std::move(e);
  next_ = (next_ + 1) % capacity_;
}

// The modulo bias of rng() % size is below size / 2^64.
Minibatch ReplayBuffer::Sample(int64_t batch_size, std::mt19937_64& rng) const {
  std::vector<const Experience*> picked;
  for (int64_t i = 0; i < batch_size; ++i) picked.push_back(&items_[rng() % items_.size()]);
  Columns c = ToColumns(picked, state_dim_, heads_);
  Minibatch b;
  b.states = c.states;
  b.next_states = c.next_states;
  b.actions = c.actions;
  b.rewards = c.rewards.to(at::kFloat);
  b.not_done = c.done.logical_not().to(at::kFloat);
  b.next_masks = std::move(c.next_masks);
  return b;
}

void ReplayBuffer::Save(torch::serialize::OutputArchive& archive) const {
  std::vector<const Experience*> all;
  for (const Experience& e : items_) all.push_back(&e);
  const Columns c = ToColumns(all, state_dim_, heads_);
  archive.write("next_slot", at::tensor({next_}, at::kLong));
  archive.write("states", c.states);
  archive.write("next_states", c.next_states);
  archive.write("actions", c.actions);
  archive.write("rewards", c.rewards);
  archive.write("done", c.done);
  for (size_t h = 0; h < heads_.size(); ++h)
    archive.write("next_mask" + std::to_string(h), c.next_masks[h]);
}

Status ReplayBuffer::Load(torch::serialize::InputArchive& archive) {
  Columns c;
  at::Tensor next_slot;
  archive.read("next_slot", next_slot);
  archive.read("states", c.states);
  archive.read("next_states", c.next_states);
  archive.read("actions", c.actions);
  archive.read("rewards", c.rewards);
  archive.read("done", c.done);
  const int64_t n = c.states.size(0), num_heads = static_cast<int64_t>(heads_.size());
  const int64_t next = next_slot.item<int64_t>();
  // The next slot only moves once the buffer is full.
  const bool ok = n <= capacity_ && c.states.sizes() == at::IntArrayRef{n, state_dim_} &&
                  c.next_states.sizes() == c.states.sizes() &&
                  c.actions.sizes() == at::IntArrayRef{n, num_heads} && c.rewards.numel() == n &&
                  c.done.numel() == n && next >= 0 && next < capacity_ &&
                  (next == 0 || n == capacity_);
  if (!ok) return MakeError(Errc::kCorrupt, "replay buffer: columns disagree in shape");
  for (int64_t h = 0; h < num_heads; ++h) {
    archive.read("next_mask" + std::to_string(h), c.next_masks.emplace_back());
    if (c.next_masks[h].sizes() != at::IntArrayRef{n, heads_[h].choices})
      return MakeError(Errc::kCorrupt, "replay buffer: next_mask of head '" + heads_[h].name +
                                           "' has shape " + c10::str(c.next_masks[h].sizes()));
    c.next_masks[h] = c.next_masks[h].to(at::kByte).contiguous();
  }
  const at::Tensor states = c.states.to(at::kFloat).contiguous();
  const at::Tensor next_states = c.next_states.to(at::kFloat).contiguous();
  const auto actions = c.actions.accessor<int64_t, 2>();
  const auto rewards = c.rewards.accessor<double, 1>();
  const at::Tensor done_bytes = c.done.to(at::kByte);
  const auto done = done_bytes.accessor<uint8_t, 1>();
  std::vector<Experience> items(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    Experience& e = items[i];
    e.state = Row(states, i);
    e.next_state = Row(next_states, i);
    for (int64_t h = 0; h < num_heads; ++h) e.actions.push_back(actions[i][h]);
    e.reward = rewards[i];
    e.done = done[i] != 0;
    for (int64_t h = 0; h < num_heads; ++h) {
      const uint8_t* row = c.next_masks[h].data_ptr<uint8_t>() + i * heads_[h].choices;
      e.next_masks.emplace_back(row, row + heads_[h].choices);
    }
  }
  items_ = std::move(items);
  next_ = next;
  return {};
}

}  // namespace hadmc::search
