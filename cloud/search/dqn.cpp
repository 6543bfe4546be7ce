#include "hadmc/search/dqn.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "dqn_replay.h"
#include "hadmc/common/atomic_file.h"
#include "ppo_policy.h"  // Dense, ResolveMasks, StackRows, GreedyChoice

namespace hadmc::search {
namespace {

constexpr const char* kFormat = "hadmc-dqn-agent";
constexpr int64_t kFormatVersion = 1;

std::string Num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string HeadList(const std::vector<ActionHead>& heads) {
  std::string out = "[";
  for (const ActionHead& h : heads)
    out += (out.size() > 1 ? ", " : "") + h.name + ":" + std::to_string(h.choices);
  return out + "]";
}

std::string FirstLine(std::string what) {
  if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
  return what;
}

// A uniform double in [0, 1) from the top 53 bits (std::uniform_real_distribution is
// implementation-defined; this keeps seeded runs identical across standard libraries).
double Uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// The branching Q-network: a shared ReLU trunk and one linear Q head per action head.
struct QNet : torch::nn::Module {
  QNet(int64_t state_dim, int64_t hidden, const std::vector<ActionHead>& heads) {
    fc1 = AddDense("fc1", state_dim, hidden);
    fc2 = AddDense("fc2", hidden, hidden);
    for (size_t h = 0; h < heads.size(); ++h)
      q.push_back(AddDense("q" + std::to_string(h), hidden, heads[h].choices));
  }
  // Per head, [B, choices].
  std::vector<at::Tensor> Forward(const at::Tensor& states) {
    const at::Tensor x = torch::relu(fc2(torch::relu(fc1(states))));
    std::vector<at::Tensor> out;
    for (const Dense& head : q) out.push_back(head(x));
    return out;
  }

  Dense fc1, fc2;
  std::vector<Dense> q;

 private:
  Dense AddDense(const std::string& name, int64_t in, int64_t out) {
    return {register_parameter(name + "_weight", at::zeros({out, in}, at::kFloat)),
            register_parameter(name + "_bias", at::zeros({out}, at::kFloat))};
  }
};

// torch::nn::Linear's default init (uniform in +-1/sqrt(fan_in) for weights and biases), drawn
// from a generator seeded with `seed` rather than from the global one, which other code reseeds.
void InitWeights(QNet& net, uint64_t seed) {
  torch::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<Dense*> layers = {&net.fc1, &net.fc2};
  for (Dense& head : net.q) layers.push_back(&head);
  for (Dense* layer : layers) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(layer->weight.size(1)));
    layer->weight.uniform_(-bound, bound, gen);
    layer->bias.uniform_(-bound, bound, gen);
  }
}

void CopyWeights(QNet& from, QNet& to) {
  torch::NoGradGuard no_grad;
  const std::vector<at::Tensor> src = from.parameters(), dst = to.parameters();
  for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
}

}  // namespace

Status ValidateDqnConfig(const DqnConfig& c) {
  const double inf = std::numeric_limits<double>::infinity();
  const auto in01 = [](double v) { return v >= 0 && v <= 1; };
  const struct {
    const char* name;
    double value;
    bool ok;
    const char* rule;
  } checks[] = {
      {"gamma", c.gamma, in01(c.gamma), "in [0, 1]"},
      {"lr", c.lr, c.lr > 0 && c.lr < inf, "> 0"},
      {"batch_size", static_cast<double>(c.batch_size), c.batch_size >= 1, ">= 1"},
      {"replay_capacity", static_cast<double>(c.replay_capacity), c.replay_capacity >= 1, ">= 1"},
      // Above the capacity the buffer never fills enough and Train() would never train.
      {"min_replay", static_cast<double>(c.min_replay),
       c.min_replay >= 1 && c.min_replay <= c.replay_capacity, "in [1, replay_capacity]"},
      {"epsilon_start", c.epsilon_start, in01(c.epsilon_start), "in [0, 1]"},
      {"epsilon_end", c.epsilon_end, in01(c.epsilon_end), "in [0, 1]"},
      {"epsilon_decay_steps", static_cast<double>(c.epsilon_decay_steps),
       c.epsilon_decay_steps >= 0, ">= 0 (0: epsilon_end from the start)"},
      {"target_update", static_cast<double>(c.target_update), c.target_update >= 1, ">= 1"},
      {"max_grad_norm", c.max_grad_norm, c.max_grad_norm > 0 && c.max_grad_norm < inf, "> 0"},
      {"hidden", static_cast<double>(c.hidden), c.hidden >= 1, ">= 1"},
  };
  for (const auto& check : checks)
    if (!check.ok)
      return MakeError(Errc::kInvalidArgument, std::string("dqn config: ") + check.name +
                                                   " must be " + check.rule + ", got " +
                                                   Num(check.value));
  return {};
}

struct DqnAgent::Impl {
  int64_t state_dim = 0;
  std::vector<ActionHead> heads;
  DqnConfig config;
  std::shared_ptr<QNet> online, target;
  std::unique_ptr<torch::optim::Adam> adam;
  std::mt19937_64 rng;            // exploration and minibatch sampling
  ReplayBuffer replay{1, 1, {}};  // replaced by Make
  int64_t explore_acts = 0, gradient_steps = 0;

  // Fresh networks (target = online) and optimizer; may throw (LibTorch).
  static std::unique_ptr<Impl> Make(int64_t state_dim, std::vector<ActionHead> heads,
                                    const DqnConfig& config);
  double Epsilon() const;
  Status CheckState(const std::vector<float>& state, const std::string& what) const;
  Result<Experience> ToExperience(DqnTransition t) const;
  std::vector<int64_t> GreedyActions(const std::vector<float>& state, const ActionMasks& masks);
  std::vector<int64_t> RandomActions(const ActionMasks& masks);
  DqnTrainStats Step(const Minibatch& b);
  nlohmann::json Meta() const;
  Status CheckLayout(const nlohmann::json& meta) const;
};

std::unique_ptr<DqnAgent::Impl> DqnAgent::Impl::Make(int64_t state_dim,
                                                     std::vector<ActionHead> heads,
                                                     const DqnConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->state_dim = state_dim;
  impl->heads = std::move(heads);
  impl->config = config;
  impl->online = std::make_shared<QNet>(state_dim, config.hidden, impl->heads);
  impl->target = std::make_shared<QNet>(state_dim, config.hidden, impl->heads);
  InitWeights(*impl->online, config.seed);
  CopyWeights(*impl->online, *impl->target);
  impl->adam = std::make_unique<torch::optim::Adam>(impl->online->parameters(),
                                                    torch::optim::AdamOptions(config.lr));
  impl->rng.seed(config.seed);
  impl->replay = ReplayBuffer(config.replay_capacity, state_dim, impl->heads);
  return impl;
}

double DqnAgent::Impl::Epsilon() const {
  if (config.epsilon_decay_steps <= 0) return config.epsilon_end;
  const double done = std::min(
      1.0, static_cast<double>(explore_acts) / static_cast<double>(config.epsilon_decay_steps));
  return config.epsilon_start + (config.epsilon_end - config.epsilon_start) * done;
}

Status DqnAgent::Impl::CheckState(const std::vector<float>& state, const std::string& what) const {
  if (static_cast<int64_t>(state.size()) != state_dim)
    return MakeError(Errc::kInvalidArgument, what + " has " + std::to_string(state.size()) +
                                                 " values, the agent expects " +
                                                 std::to_string(state_dim));
  return {};
}

Result<Experience> DqnAgent::Impl::ToExperience(DqnTransition t) const {
  HADMC_TRY(CheckState(t.state, "state"));
  if (!std::isfinite(t.reward))
    return MakeError(Errc::kInvalidArgument, "reward is not finite: " + Num(t.reward));
  if (t.actions.size() != heads.size())
    return MakeError(Errc::kInvalidArgument, std::to_string(t.actions.size()) + " actions for " +
                                                 std::to_string(heads.size()) + " heads");
  // The update does not read the masks of `state`, but an action outside them means the caller
  // recorded something the agent could not have chosen.
  auto masks = ResolveMasks(t.masks, heads);
  if (!masks) return MakeError(masks.error());
  for (size_t h = 0; h < heads.size(); ++h) {
    const int64_t a = t.actions[h];
    if (a < 0 || a >= heads[h].choices || !(*masks)[h][a])
      return MakeError(Errc::kInvalidArgument, "action " + std::to_string(a) + " of head '" +
                                                   heads[h].name +
                                                   "' is out of range or masked out");
  }
  Experience e;
  e.actions = std::move(t.actions);
  e.reward = t.reward;
  e.done = t.done;
  if (t.done) {
    e.next_state.assign(static_cast<size_t>(state_dim), 0.0f);
    e.next_masks = *ResolveMasks({}, heads);
  } else {
    HADMC_TRY(CheckState(t.next_state, "next_state"));
    auto next = ResolveMasks(t.next_masks, heads);
    if (!next) return MakeError(next.error().WithContext("next_masks"));
    e.next_state = std::move(t.next_state);
    e.next_masks = std::move(*next);
  }
  e.state = std::move(t.state);
  return e;
}

// GreedyChoice is the legal argmax of a float row (lowest index on ties); here over Q-values.
std::vector<int64_t> DqnAgent::Impl::GreedyActions(const std::vector<float>& state,
                                                   const ActionMasks& masks) {
  torch::NoGradGuard no_grad;
  const std::vector<at::Tensor> q = online->Forward(StackRows({&state}, state_dim));
  std::vector<int64_t> actions;
  for (size_t h = 0; h < heads.size(); ++h) actions.push_back(GreedyChoice(q[h][0], masks[h]));
  return actions;
}

// Uniform over each head's legal choices (the modulo bias is below choices / 2^64).
std::vector<int64_t> DqnAgent::Impl::RandomActions(const ActionMasks& masks) {
  std::vector<int64_t> actions;
  for (const std::vector<uint8_t>& mask : masks) {
    std::vector<int64_t> legal;
    for (size_t k = 0; k < mask.size(); ++k)
      if (mask[k]) legal.push_back(static_cast<int64_t>(k));
    actions.push_back(legal[rng() % legal.size()]);
  }
  return actions;
}

DqnTrainStats DqnAgent::Impl::Step(const Minibatch& b) {
  const double num_heads = static_cast<double>(heads.size());
  at::Tensor y;
  {
    // Double DQN: the online network picks each head's legal next action, the target network
    // values it; one target shared by all heads (their mean), as in the branching paper.
    torch::NoGradGuard no_grad;
    const std::vector<at::Tensor> next_online = online->Forward(b.next_states);
    const std::vector<at::Tensor> next_target = target->Forward(b.next_states);
    at::Tensor next_value = at::zeros({b.states.size(0)}, at::kFloat);
    for (size_t h = 0; h < heads.size(); ++h) {
      const at::Tensor legal_q = next_online[h].masked_fill(
          b.next_masks[h].logical_not(), -std::numeric_limits<float>::infinity());
      const at::Tensor best = legal_q.argmax(1, /*keepdim=*/true);
      next_value = next_value + next_target[h].gather(1, best).squeeze(1);
    }
    y = b.rewards + config.gamma * b.not_done * next_value / num_heads;
  }
  const std::vector<at::Tensor> q = online->Forward(b.states);
  at::Tensor loss = at::zeros({}, at::kFloat), q_sum = at::zeros({}, at::kFloat);
  for (size_t h = 0; h < heads.size(); ++h) {
    const at::Tensor taken =
        q[h].gather(1, b.actions.select(1, static_cast<int64_t>(h)).unsqueeze(1)).squeeze(1);
    loss = loss + at::huber_loss(taken, y);
    q_sum = q_sum + taken.detach().mean();
  }
  loss = loss / num_heads;
  adam->zero_grad();
  loss.backward();
  torch::nn::utils::clip_grad_norm_(online->parameters(), config.max_grad_norm);
  adam->step();
  if (++gradient_steps % config.target_update == 0) CopyWeights(*online, *target);
  DqnTrainStats stats;
  stats.trained = true;
  stats.loss = loss.item<double>();
  stats.mean_q = q_sum.item<double>() / num_heads;
  stats.gradient_steps = gradient_steps;
  return stats;
}

nlohmann::json DqnAgent::Impl::Meta() const {
  nlohmann::json heads_json = nlohmann::json::array();
  for (const ActionHead& h : heads)
    heads_json.push_back({{"name", h.name}, {"choices", h.choices}});
  std::ostringstream rng_state;
  rng_state << rng;
  return {{"format", kFormat},
          {"version", kFormatVersion},
          {"state_dim", state_dim},
          {"hidden", config.hidden},
          {"heads", heads_json},
          {"rng", rng_state.str()},
          {"explore_acts", explore_acts},
          {"gradient_steps", gradient_steps},
          {"replay_capacity", config.replay_capacity}};
}

Status DqnAgent::Impl::CheckLayout(const nlohmann::json& meta) const {
  if (meta.at("format").get<std::string>() != kFormat ||
      meta.at("version").get<int64_t>() != kFormatVersion)
    return MakeError(Errc::kParse,
                     "not a version " + std::to_string(kFormatVersion) + " " + kFormat + " file");
  // Name, value in the file, value here: the numbers that fix the network's and buffer's shapes.
  // (The replay's slot order depends on its capacity, so resuming exactly needs the same one.)
  const std::pair<const char*, int64_t> sizes[] = {{"state_dim", state_dim},
                                                   {"hidden", config.hidden},
                                                   {"replay_capacity", config.replay_capacity}};
  for (const auto& [name, here] : sizes) {
    const int64_t in_file = meta.at(name).get<int64_t>();
    if (in_file != here)
      return MakeError(Errc::kShapeMismatch, std::string(name) + " is " + std::to_string(in_file) +
                                                 " in the file, this agent has " +
                                                 std::to_string(here));
  }
  std::vector<ActionHead> file_heads;
  for (const nlohmann::json& h : meta.at("heads"))
    file_heads.push_back({h.at("name").get<std::string>(), h.at("choices").get<int64_t>()});
  const bool same = file_heads.size() == heads.size() &&
                    std::equal(heads.begin(), heads.end(), file_heads.begin(),
                               [](const ActionHead& a, const ActionHead& b) {
                                 return a.name == b.name && a.choices == b.choices;
                               });
  if (!same)
    return MakeError(Errc::kShapeMismatch, "heads are " + HeadList(file_heads) +
                                               " in the file, this agent has " + HeadList(heads));
  return {};
}

Result<DqnAgent> DqnAgent::Create(int64_t state_dim, std::vector<ActionHead> heads,
                                  const DqnConfig& config) {
  HADMC_TRY(ValidateDqnConfig(config));
  if (state_dim < 1)
    return MakeError(Errc::kInvalidArgument,
                     "state_dim must be >= 1, got " + std::to_string(state_dim));
  if (heads.empty()) return MakeError(Errc::kInvalidArgument, "the agent needs at least one head");
  for (const ActionHead& h : heads)
    if (h.choices < 1)
      return MakeError(Errc::kInvalidArgument, "head '" + h.name + "' must have >= 1 choice, got " +
                                                   std::to_string(h.choices));
  try {
    return DqnAgent(Impl::Make(state_dim, std::move(heads), config));
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, "creating the dqn agent: " + FirstLine(e.what()));
  }
}

DqnAgent::DqnAgent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DqnAgent::DqnAgent(DqnAgent&&) noexcept = default;
DqnAgent& DqnAgent::operator=(DqnAgent&&) noexcept = default;
DqnAgent::~DqnAgent() = default;

const std::vector<ActionHead>& DqnAgent::heads() const { return impl_->heads; }
double DqnAgent::epsilon() const { return impl_->Epsilon(); }

Result<std::vector<int64_t>> DqnAgent::Act(const std::vector<float>& state,
                                           const ActionMasks& masks, bool greedy) {
  HADMC_TRY_CTX(impl_->CheckState(state, "state"), "dqn act");
  auto full = ResolveMasks(masks, impl_->heads);
  if (!full) return MakeError(full.error().WithContext("dqn act"));
  try {
    if (greedy) return impl_->GreedyActions(state, *full);
    // One draw per exploring call whatever epsilon is, so the generator's stream does not depend
    // on the schedule.
    const bool explore = Uniform01(impl_->rng) < impl_->Epsilon();
    ++impl_->explore_acts;
    return explore ? impl_->RandomActions(*full) : impl_->GreedyActions(state, *full);
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, "dqn act: " + FirstLine(e.what()));
  }
}

Status DqnAgent::Observe(DqnTransition t) {
  auto e = impl_->ToExperience(std::move(t));
  if (!e) return MakeError(e.error().WithContext("dqn observe"));
  impl_->replay.Add(std::move(*e));
  return {};
}

Result<DqnTrainStats> DqnAgent::Train() {
  if (impl_->replay.size() < impl_->config.min_replay) {
    DqnTrainStats stats;
    stats.gradient_steps = impl_->gradient_steps;
    return stats;
  }
  try {
    return impl_->Step(impl_->replay.Sample(impl_->config.batch_size, impl_->rng));
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, "dqn train: " + FirstLine(e.what()));
  }
}

Status DqnAgent::Save(const std::string& path) const {
  std::string bytes;
  try {
    torch::serialize::OutputArchive archive, online, target, adam, replay;
    archive.write("meta", c10::IValue(impl_->Meta().dump()));
    impl_->online->save(online);
    archive.write("online", online);
    impl_->target->save(target);
    archive.write("target", target);
    impl_->adam->save(adam);
    archive.write("adam", adam);
    impl_->replay.Save(replay);
    archive.write("replay", replay);
    archive.save_to([&bytes](const void* data, size_t n) {
      bytes.append(static_cast<const char*>(data), n);
      return n;
    });
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, "saving dqn agent " + path + ": " + FirstLine(e.what()));
  }
  HADMC_TRY_CTX(WriteFileAtomically(path, bytes), "saving dqn agent " + path);
  return {};
}

// Loads into a fresh agent and swaps it in only when everything has been read, so a failed load
// leaves the agent as it was.
Status DqnAgent::Load(const std::string& path) {
  const std::string where = "loading dqn agent " + path;
  auto bytes = ReadFile(path);
  if (!bytes) return MakeError(bytes.error().WithContext(where));
  try {
    torch::serialize::InputArchive archive, online, target, adam, replay;
    archive.load_from(bytes->data(), bytes->size());
    c10::IValue meta_value;
    archive.read("meta", meta_value);
    const nlohmann::json meta = nlohmann::json::parse(meta_value.toStringRef());
    HADMC_TRY_CTX(impl_->CheckLayout(meta), where);
    std::unique_ptr<Impl> fresh = Impl::Make(impl_->state_dim, impl_->heads, impl_->config);
    archive.read("online", online);
    fresh->online->load(online);
    archive.read("target", target);
    fresh->target->load(target);
    archive.read("adam", adam);
    fresh->adam->load(adam);
    // The file's learning rate would silently override this agent's config.
    for (auto& group : fresh->adam->param_groups()) group.options().set_lr(impl_->config.lr);
    archive.read("replay", replay);
    HADMC_TRY_CTX(fresh->replay.Load(replay), where);
    std::istringstream rng_state(meta.at("rng").get<std::string>());
    rng_state >> fresh->rng;
    if (!rng_state) return MakeError(Errc::kCorrupt, where + ": bad generator state");
    fresh->explore_acts = meta.at("explore_acts").get<int64_t>();
    fresh->gradient_steps = meta.at("gradient_steps").get<int64_t>();
    impl_ = std::move(fresh);
    return {};
  } catch (const nlohmann::json::exception& e) {
    return MakeError(Errc::kParse, where + ": " + e.what());
  } catch (const std::exception& e) {
    return MakeError(Errc::kCorrupt, where + ": " + FirstLine(e.what()));
  }
}

}  // namespace hadmc::search
