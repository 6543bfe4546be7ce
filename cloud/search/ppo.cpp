#include "hadmc/search/ppo.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "hadmc/common/atomic_file.h"
#include "ppo_policy.h"

namespace hadmc::search {
namespace {

constexpr const char* kFormat = "hadmc-ppo-agent";
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

// 1 - Var(returns - values) / Var(returns); 0 when the returns are constant.
double ExplainedVariance(const std::vector<double>& returns, const std::vector<Transition>& r) {
  const double n = static_cast<double>(returns.size());
  double mean_ret = 0, mean_err = 0;
  for (size_t i = 0; i < returns.size(); ++i) {
    mean_ret += returns[i] / n;
    mean_err += (returns[i] - r[i].value) / n;
  }
  double var_ret = 0, var_err = 0;
  for (size_t i = 0; i < returns.size(); ++i) {
    var_ret += std::pow(returns[i] - mean_ret, 2) / n;
    var_err += std::pow(returns[i] - r[i].value - mean_err, 2) / n;
  }
  return var_ret > 0 ? 1.0 - var_err / var_ret : 0.0;
}

// A rollout as tensors, with its GAE advantages and returns.
struct RolloutBatch {
  at::Tensor states;                             // [N, state_dim]
  std::vector<at::Tensor> masks;                 // per head, [N, choices] bool
  at::Tensor actions;                            // [N, heads] int64
  at::Tensor old_log_prob, advantages, returns;  // [N]
  double explained_variance = 0;
};

at::Tensor FloatTensorOf(const std::vector<double>& v) {
  return at::tensor(at::ArrayRef<double>(v), at::kDouble).to(at::kFloat);
}

}  // namespace

Status ValidatePpoConfig(const PpoConfig& c) {
  const double inf = std::numeric_limits<double>::infinity();
  const struct {
    const char* name;
    double value;
    bool ok;
    const char* rule;
  } checks[] = {
      {"gamma", c.gamma, c.gamma >= 0 && c.gamma <= 1, "in [0, 1]"},
      {"lambda", c.lambda, c.lambda >= 0 && c.lambda <= 1, "in [0, 1]"},
      {"clip", c.clip, c.clip > 0 && c.clip < inf, "> 0"},
      {"value_coef", c.value_coef, c.value_coef >= 0 && c.value_coef < inf, ">= 0"},
      {"entropy_coef", c.entropy_coef, c.entropy_coef >= 0 && c.entropy_coef < inf, ">= 0"},
      {"lr", c.lr, c.lr > 0 && c.lr < inf, "> 0"},
      {"max_grad_norm", c.max_grad_norm, c.max_grad_norm > 0 && c.max_grad_norm < inf, "> 0"},
      {"epochs", static_cast<double>(c.epochs), c.epochs >= 1, ">= 1"},
      {"minibatch_size", static_cast<double>(c.minibatch_size), c.minibatch_size >= 1, ">= 1"},
      {"hidden", static_cast<double>(c.hidden), c.hidden >= 1, ">= 1"},
      {"target_kl", c.target_kl, c.target_kl >= 0 && c.target_kl < inf, ">= 0 (0: off)"},
  };
  for (const auto& check : checks)
    if (!check.ok)
      return MakeError(Errc::kInvalidArgument, std::string("ppo config: ") + check.name +
                                                   " must be " + check.rule + ", got " +
                                                   Num(check.value));
  return {};
}

// Precondition: rewards, values and done have the same size (otherwise the result is empty).
Advantages ComputeGae(const std::vector<double>& rewards, const std::vector<double>& values,
                      const std::vector<bool>& done, double last_value, double gamma,
                      double lambda) {
  const size_t n = rewards.size();
  Advantages out;
  if (values.size() != n || done.size() != n) return out;
  out.advantages.resize(n);
  out.returns.resize(n);
  double next_value = last_value, next_advantage = 0;
  for (size_t t = n; t-- > 0;) {
    const double not_done = done[t] ? 0.0 : 1.0;
    const double delta = rewards[t] + gamma * next_value * not_done - values[t];
    next_advantage = delta + gamma * lambda * not_done * next_advantage;
    out.advantages[t] = next_advantage;
    out.returns[t] = next_advantage + values[t];
    next_value = values[t];
  }
  return out;
}

PpoLossTerms PpoLoss(const at::Tensor& new_log_prob, const at::Tensor& old_log_prob,
                     const at::Tensor& advantages, const at::Tensor& new_value,
                     const at::Tensor& returns, const at::Tensor& entropy,
                     const PpoConfig& config) {
  const at::Tensor log_ratio = new_log_prob - old_log_prob;
  const at::Tensor ratio = log_ratio.exp();
  const at::Tensor clipped = ratio.clamp(1.0 - config.clip, 1.0 + config.clip);
  const at::Tensor policy_loss = -at::min(ratio * advantages, clipped * advantages).mean();
  const at::Tensor value_loss = (new_value - returns).pow(2).mean();
  const at::Tensor mean_entropy = entropy.mean();
  PpoLossTerms terms;
  terms.total = policy_loss + config.value_coef * value_loss - config.entropy_coef * mean_entropy;
  torch::NoGradGuard no_grad;
  terms.policy_loss = policy_loss.item<double>();
  terms.value_loss = value_loss.item<double>();
  terms.entropy = mean_entropy.item<double>();
  terms.clip_fraction = ((ratio - 1.0).abs() > config.clip).to(at::kDouble).mean().item<double>();
  terms.approx_kl = ((ratio - 1.0) - log_ratio).mean().item<double>();
  return terms;
}

struct PpoAgent::Impl {
  int64_t state_dim = 0;
  std::vector<ActionHead> heads;
  PpoConfig config;
  std::shared_ptr<PolicyNet> net;
  std::unique_ptr<torch::optim::Adam> adam;
  std::mt19937_64 rng;  // sampling and minibatch order
  int64_t acts = 0, updates = 0;

  // A freshly initialized network and optimizer; may throw (LibTorch).
  static std::unique_ptr<Impl> Make(int64_t state_dim, std::vector<ActionHead> heads,
                                    const PpoConfig& config);
  Status CheckState(const std::vector<float>& state) const;
  Result<RolloutBatch> MakeBatch(const std::vector<Transition>& rollout, double last_value) const;
  PpoLossTerms Step(const RolloutBatch& batch, const std::vector<int64_t>& indices);
  PpoUpdateStats RunEpochs(const RolloutBatch& batch);
  nlohmann::json Meta() const;
  Status CheckLayout(const nlohmann::json& meta) const;
};

std::unique_ptr<PpoAgent::Impl> PpoAgent::Impl::Make(int64_t state_dim,
                                                     std::vector<ActionHead> heads,
                                                     const PpoConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->state_dim = state_dim;
  impl->heads = std::move(heads);
  impl->config = config;
  impl->net = std::make_shared<PolicyNet>(state_dim, config.hidden, impl->heads);
  InitWeights(*impl->net, config.seed);
  {
    at::NoGradGuard no_grad;
    for (size_t h = 0; h < config.initial_bias.size(); ++h)
      for (size_t k = 0; k < config.initial_bias[h].size(); ++k)
        impl->net->policy[h].bias[static_cast<int64_t>(k)].fill_(config.initial_bias[h][k]);
  }
  // eps 1e-5 as in the reference PPO implementations (OpenAI baselines, CleanRL).
  impl->adam = std::make_unique<torch::optim::Adam>(impl->net->parameters(),
                                                    torch::optim::AdamOptions(config.lr).eps(1e-5));
  impl->rng.seed(config.seed);
  return impl;
}

Status PpoAgent::Impl::CheckState(const std::vector<float>& state) const {
  if (static_cast<int64_t>(state.size()) != state_dim)
    return MakeError(Errc::kInvalidArgument, "state has " + std::to_string(state.size()) +
                                                 " values, the agent expects " +
                                                 std::to_string(state_dim));
  return {};
}

Result<RolloutBatch> PpoAgent::Impl::MakeBatch(const std::vector<Transition>& rollout,
                                               double last_value) const {
  const size_t n = rollout.size();
  std::vector<const std::vector<float>*> states;
  std::vector<ActionMasks> masks;
  std::vector<int64_t> actions;
  std::vector<double> rewards, values, old_log_prob;
  std::vector<bool> done;
  for (size_t i = 0; i < n; ++i) {
    const Transition& t = rollout[i];
    const std::string where = "rollout[" + std::to_string(i) + "]";
    HADMC_TRY_CTX(CheckState(t.state), where);
    auto full = ResolveMasks(t.masks, heads);
    if (!full) return MakeError(full.error().WithContext(where));
    if (t.actions.size() != heads.size())
      return MakeError(Errc::kInvalidArgument, where + ": " + std::to_string(t.actions.size()) +
                                                   " actions for " + std::to_string(heads.size()) +
                                                   " heads");
    for (size_t h = 0; h < heads.size(); ++h) {
      const int64_t a = t.actions[h];
      if (a < 0 || a >= heads[h].choices || !(*full)[h][a])
        return MakeError(Errc::kInvalidArgument, where + ": action " + std::to_string(a) +
                                                     " of head '" + heads[h].name +
                                                     "' is out of range or masked out");
      actions.push_back(a);
    }
    states.push_back(&t.state);
    masks.push_back(std::move(*full));
    rewards.push_back(t.reward);
    values.push_back(t.value);
    old_log_prob.push_back(t.log_prob);
    done.push_back(t.done);
  }
  const Advantages gae = ComputeGae(rewards, values, done, last_value, config.gamma, config.lambda);
  RolloutBatch b;
  b.states = StackRows(states, state_dim);
  b.masks = MaskTensors(masks, heads);
  b.actions = at::tensor(at::ArrayRef<int64_t>(actions), at::kLong)
                  .view({static_cast<int64_t>(n), static_cast<int64_t>(heads.size())});
  b.old_log_prob = FloatTensorOf(old_log_prob);
  b.advantages = FloatTensorOf(gae.advantages);
  b.returns = FloatTensorOf(gae.returns);
  b.explained_variance = ExplainedVariance(gae.returns, rollout);
  return b;
}

// One gradient step on the transitions `indices` of `batch`.
PpoLossTerms PpoAgent::Impl::Step(const RolloutBatch& batch, const std::vector<int64_t>& indices) {
  const at::Tensor idx = at::tensor(at::ArrayRef<int64_t>(indices), at::kLong);
  std::vector<at::Tensor> masks;
  for (const at::Tensor& m : batch.masks) masks.push_back(m.index_select(0, idx));
  const NetOutput out = Forward(*net, batch.states.index_select(0, idx), masks);
  const at::Tensor actions = batch.actions.index_select(0, idx);
  at::Tensor log_prob = at::zeros({idx.size(0)}, at::kFloat);
  at::Tensor entropy = at::zeros({idx.size(0)}, at::kFloat);
  for (size_t h = 0; h < heads.size(); ++h) {
    const at::Tensor& lp = out.log_probs[h];
    log_prob = log_prob + lp.gather(1, actions.select(1, h).unsqueeze(1)).squeeze(1);
    entropy = entropy - (lp.exp() * lp).sum(-1);  // masked choices: 0 * (-1e9) = 0
  }
  at::Tensor advantages = batch.advantages.index_select(0, idx);
  const at::Tensor centered = advantages - advantages.mean();
  // Population std: a minibatch of one gives 0 / 1e-8 = 0 rather than NaN.
  advantages = centered / (centered.pow(2).mean().sqrt() + 1e-8);
  PpoLossTerms terms = PpoLoss(log_prob, batch.old_log_prob.index_select(0, idx), advantages,
                               out.value, batch.returns.index_select(0, idx), entropy, config);
  adam->zero_grad();
  terms.total.backward();
  torch::nn::utils::clip_grad_norm_(net->parameters(), config.max_grad_norm);
  adam->step();
  return terms;
}

PpoUpdateStats PpoAgent::Impl::RunEpochs(const RolloutBatch& batch) {
  PpoUpdateStats stats;
  stats.explained_variance = batch.explained_variance;
  const int64_t n = batch.states.size(0);
  double policy_sum = 0, value_sum = 0, entropy_sum = 0;
  for (int64_t epoch = 0; epoch < config.epochs; ++epoch) {
    const std::vector<int64_t> order = Shuffled(n, rng);
    double kl_sum = 0, clip_sum = 0;
    int64_t count = 0;
    for (int64_t start = 0; start < n; start += config.minibatch_size) {
      const int64_t end = std::min(n, start + config.minibatch_size);
      const PpoLossTerms t = Step(batch, {order.begin() + start, order.begin() + end});
      policy_sum += t.policy_loss;
      value_sum += t.value_loss;
      entropy_sum += t.entropy;
      kl_sum += t.approx_kl;
      clip_sum += t.clip_fraction;
      ++count;
    }
    stats.minibatches += count;
    stats.epochs_run = epoch + 1;
    stats.approx_kl = kl_sum / count;
    stats.clip_fraction = clip_sum / count;
    if (config.target_kl > 0 && stats.approx_kl > config.target_kl) break;
  }
  stats.policy_loss = policy_sum / stats.minibatches;
  stats.value_loss = value_sum / stats.minibatches;
  stats.entropy = entropy_sum / stats.minibatches;
  ++updates;
  return stats;
}

nlohmann::json PpoAgent::Impl::Meta() const {
  nlohmann::json heads_json = nlohmann::json::array();
  for (const ActionHead& h : heads)
    heads_json.push_back({{"name", h.name}, {"choices", h.choices}});
  std::ostringstream rng_state;
  rng_state << rng;
  return {{"format", kFormat},      {"version", kFormatVersion},
          {"state_dim", state_dim}, {"hidden", config.hidden},
          {"heads", heads_json},    {"rng", rng_state.str()},
          {"acts", acts},           {"updates", updates}};
}

Status PpoAgent::Impl::CheckLayout(const nlohmann::json& meta) const {
  if (meta.at("format").get<std::string>() != kFormat ||
      meta.at("version").get<int64_t>() != kFormatVersion)
    return MakeError(Errc::kParse,
                     "not a version " + std::to_string(kFormatVersion) + " " + kFormat + " file");
  const int64_t file_dim = meta.at("state_dim").get<int64_t>();
  if (file_dim != state_dim)
    return MakeError(Errc::kShapeMismatch, "state_dim is " + std::to_string(file_dim) +
                                               " in the file, this agent has " +
                                               std::to_string(state_dim));
  const int64_t file_hidden = meta.at("hidden").get<int64_t>();
  if (file_hidden != config.hidden)
    return MakeError(Errc::kShapeMismatch, "hidden is " + std::to_string(file_hidden) +
                                               " in the file, this agent has " +
                                               std::to_string(config.hidden));
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

Result<PpoAgent> PpoAgent::Create(int64_t state_dim, std::vector<ActionHead> heads,
                                  const PpoConfig& config) {
  HADMC_TRY(ValidatePpoConfig(config));
  if (state_dim < 1)
    return MakeError(Errc::kInvalidArgument,
                     "state_dim must be >= 1, got " + std::to_string(state_dim));
  if (heads.empty()) return MakeError(Errc::kInvalidArgument, "the agent needs at least one head");
  if (!config.initial_bias.empty() && config.initial_bias.size() != heads.size())
    return MakeError(Errc::kInvalidArgument, "initial_bias needs one entry per head");
  for (size_t h = 0; h < config.initial_bias.size(); ++h)
    if (!config.initial_bias[h].empty() &&
        static_cast<int64_t>(config.initial_bias[h].size()) != heads[h].choices)
      return MakeError(Errc::kInvalidArgument,
                       "initial_bias of head '" + heads[h].name + "' needs " +
                           std::to_string(heads[h].choices) + " values");
  for (const ActionHead& h : heads)
    if (h.choices < 1)
      return MakeError(Errc::kInvalidArgument, "head '" + h.name + "' must have >= 1 choice, got " +
                                                   std::to_string(h.choices));
  try {
    return PpoAgent(Impl::Make(state_dim, std::move(heads), config));
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, "creating the ppo agent: " + FirstLine(e.what()));
  }
}

PpoAgent::PpoAgent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PpoAgent::PpoAgent(PpoAgent&&) noexcept = default;
PpoAgent& PpoAgent::operator=(PpoAgent&&) noexcept = default;
PpoAgent::~PpoAgent() = default;

int64_t PpoAgent::state_dim() const { return impl_->state_dim; }
const std::vector<ActionHead>& PpoAgent::heads() const { return impl_->heads; }
const PpoConfig& PpoAgent::config() const { return impl_->config; }

Result<PpoAgent::Decision> PpoAgent::Act(const std::vector<float>& state, const ActionMasks& masks,
                                         bool greedy) {
  HADMC_TRY_CTX(impl_->CheckState(state), "ppo act");
  auto full = ResolveMasks(masks, impl_->heads);
  if (!full) return MakeError(full.error().WithContext("ppo act"));
  try {
    torch::NoGradGuard no_grad;
    const NetOutput out = Forward(*impl_->net, StackRows({&state}, impl_->state_dim),
                                  MaskTensors({*full}, impl_->heads));
    Decision d;
    d.value = out.value.item<double>();
    for (size_t h = 0; h < impl_->heads.size(); ++h) {
      const at::Tensor lp = out.log_probs[h][0];
      const int64_t a =
          greedy ? GreedyChoice(lp, (*full)[h]) : SampleChoice(lp, (*full)[h], impl_->rng);
      d.actions.push_back(a);
      d.log_prob += lp[a].item<double>();
    }
    ++impl_->acts;
    return d;
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, "ppo act: " + FirstLine(e.what()));
  }
}

Result<double> PpoAgent::Value(const std::vector<float>& state) {
  HADMC_TRY_CTX(impl_->CheckState(state), "ppo value");
  try {
    torch::NoGradGuard no_grad;
    const at::Tensor x = StackRows({&state}, impl_->state_dim);
    return impl_->net->value(impl_->net->Trunk(x)).item<double>();
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, "ppo value: " + FirstLine(e.what()));
  }
}

Result<PpoUpdateStats> PpoAgent::Update(const std::vector<Transition>& rollout, double last_value) {
  if (rollout.empty()) return MakeError(Errc::kInvalidArgument, "ppo update: empty rollout");
  if (!std::isfinite(last_value))
    return MakeError(Errc::kInvalidArgument, "ppo update: last_value is not finite");
  try {
    auto batch = impl_->MakeBatch(rollout, last_value);
    if (!batch) return MakeError(batch.error().WithContext("ppo update"));
    return impl_->RunEpochs(*batch);
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, "ppo update: " + FirstLine(e.what()));
  }
}

Status PpoAgent::Save(const std::string& path) const {
  std::string bytes;
  try {
    torch::serialize::OutputArchive archive, net_archive, adam_archive;
    archive.write("meta", c10::IValue(impl_->Meta().dump()));
    impl_->net->save(net_archive);
    archive.write("net", net_archive);
    impl_->adam->save(adam_archive);
    archive.write("adam", adam_archive);
    archive.save_to([&bytes](const void* data, size_t n) {
      bytes.append(static_cast<const char*>(data), n);
      return n;
    });
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, "saving ppo agent " + path + ": " + FirstLine(e.what()));
  }
  HADMC_TRY_CTX(WriteFileAtomically(path, bytes), "saving ppo agent " + path);
  return {};
}

// Loads into a fresh network and optimizer and swaps them in only when everything has been read,
// so a failed load leaves the agent as it was.
Status PpoAgent::Load(const std::string& path) {
  const std::string where = "loading ppo agent " + path;
  auto bytes = ReadFile(path);
  if (!bytes) return MakeError(bytes.error().WithContext(where));
  try {
    torch::serialize::InputArchive archive, net_archive, adam_archive;
    archive.load_from(bytes->data(), bytes->size());
    c10::IValue meta_value;
    archive.read("meta", meta_value);
    const nlohmann::json meta = nlohmann::json::parse(meta_value.toStringRef());
    HADMC_TRY_CTX(impl_->CheckLayout(meta), where);
    std::unique_ptr<Impl> fresh = Impl::Make(impl_->state_dim, impl_->heads, impl_->config);
    archive.read("net", net_archive);
    fresh->net->load(net_archive);
    archive.read("adam", adam_archive);
    fresh->adam->load(adam_archive);
    for (auto& group : fresh->adam->param_groups()) group.options().set_lr(impl_->config.lr);
    std::istringstream rng_state(meta.at("rng").get<std::string>());
    rng_state >> fresh->rng;
    if (!rng_state) return MakeError(Errc::kCorrupt, where + ": bad generator state");
    fresh->acts = meta.at("acts").get<int64_t>();
    fresh->updates = meta.at("updates").get<int64_t>();
    impl_ = std::move(fresh);
    return {};
  } catch (const nlohmann::json::exception& e) {
    return MakeError(Errc::kParse, where + ": " + e.what());
  } catch (const std::exception& e) {
    return MakeError(Errc::kCorrupt, where + ": " + FirstLine(e.what()));
  }
}

}  // namespace hadmc::search
