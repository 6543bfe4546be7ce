#include "ppo_policy.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace hadmc::search {
namespace {

// A masked logit: softmax gives it exactly probability 0 and log-probability ~ -1e9, so
// p * log p is 0 (not NaN as with -inf) and a head with one legal choice has log-probability 0.
constexpr double kMaskedLogit = -1e9;

// A uniform double in [0, 1) from the top 53 bits (std::uniform_real_distribution is
// implementation-defined; this keeps seeded runs identical across standard libraries).
double Uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// torch.nn.init.orthogonal_, drawn from `gen` instead of the global generator (which other code
// reseeds and draws from).
void OrthogonalInit(Dense& layer, double gain, at::Generator& gen) {
  at::Tensor w = layer.weight;
  const int64_t rows = w.size(0), cols = w.size(1);
  at::Tensor flat = at::empty({rows, cols}, at::kFloat).normal_(0.0, 1.0, gen);
  if (rows < cols) flat = flat.t();
  auto [q, r] = at::linalg_qr(flat);
  q = q * r.diagonal().sign();  // makes the decomposition unique, as torch does
  if (rows < cols) q = q.t();
  w.copy_(q * gain);
  layer.bias.zero_();
}

}  // namespace

// Fisher-Yates with our own draws (std::shuffle's algorithm is implementation-defined). The modulo
// bias is below n / 2^64.
std::vector<int64_t> Shuffled(int64_t n, std::mt19937_64& rng) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[i], order[rng() % static_cast<uint64_t>(i + 1)]);
  return order;
}

PolicyNet::PolicyNet(int64_t state_dim, int64_t hidden, const std::vector<ActionHead>& heads) {
  fc1 = AddDense("fc1", state_dim, hidden);
  fc2 = AddDense("fc2", hidden, hidden);
  for (size_t h = 0; h < heads.size(); ++h)
    policy.push_back(AddDense("policy" + std::to_string(h), hidden, heads[h].choices));
  value = AddDense("value", hidden, 1);
}

Dense PolicyNet::AddDense(const std::string& name, int64_t in, int64_t out) {
  return {register_parameter(name + "_weight", at::zeros({out, in}, at::kFloat)),
          register_parameter(name + "_bias", at::zeros({out}, at::kFloat))};
}

void InitWeights(PolicyNet& net, uint64_t seed) {
  torch::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  OrthogonalInit(net.fc1, std::sqrt(2.0), gen);
  OrthogonalInit(net.fc2, std::sqrt(2.0), gen);
  for (Dense& head : net.policy) OrthogonalInit(head, 0.01, gen);
  OrthogonalInit(net.value, 1.0, gen);
}

NetOutput Forward(PolicyNet& net, const at::Tensor& states, const std::vector<at::Tensor>& masks) {
  const at::Tensor x = net.Trunk(states);
  NetOutput out;
  for (size_t h = 0; h < net.policy.size(); ++h)
    out.log_probs.push_back(
        net.policy[h](x).masked_fill(masks[h].logical_not(), kMaskedLogit).log_softmax(-1));
  out.value = net.value(x).squeeze(-1);
  return out;
}

Result<ActionMasks> ResolveMasks(const ActionMasks& masks, const std::vector<ActionHead>& heads) {
  if (!masks.empty() && masks.size() != heads.size())
    return MakeError(Errc::kInvalidArgument, "masks: " + std::to_string(masks.size()) +
                                                 " given, the agent has " +
                                                 std::to_string(heads.size()) + " heads");
  ActionMasks full(heads.size());
  for (size_t h = 0; h < heads.size(); ++h) {
    const size_t choices = static_cast<size_t>(heads[h].choices);
    const bool given = !masks.empty() && !masks[h].empty();
    full[h] = given ? masks[h] : std::vector<uint8_t>(choices, 1);
    if (full[h].size() != choices)
      return MakeError(Errc::kInvalidArgument, "mask of head '" + heads[h].name + "' has " +
                                                   std::to_string(full[h].size()) +
                                                   " entries, the head has " +
                                                   std::to_string(choices) + " choices");
    if (std::none_of(full[h].begin(), full[h].end(), [](uint8_t m) { return m != 0; }))
      return MakeError(Errc::kInvalidArgument,
                       "mask of head '" + heads[h].name + "' allows no choice");
  }
  return full;
}

at::Tensor StackRows(const std::vector<const std::vector<float>*>& rows, int64_t dim) {
  at::Tensor t = at::empty({static_cast<int64_t>(rows.size()), dim}, at::kFloat);
  float* out = t.data_ptr<float>();
  for (size_t i = 0; i < rows.size(); ++i)
    std::memcpy(out + i * dim, rows[i]->data(), sizeof(float) * dim);
  return t;
}

std::vector<at::Tensor> MaskTensors(const std::vector<ActionMasks>& masks,
                                    const std::vector<ActionHead>& heads) {
  std::vector<at::Tensor> out;
  for (size_t h = 0; h < heads.size(); ++h) {
    at::Tensor t = at::empty({static_cast<int64_t>(masks.size()), heads[h].choices}, at::kByte);
    uint8_t* p = t.data_ptr<uint8_t>();
    for (size_t i = 0; i < masks.size(); ++i)
      std::memcpy(p + i * heads[h].choices, masks[i][h].data(), heads[h].choices);
    out.push_back(t.to(at::kBool));
  }
  return out;
}

int64_t SampleChoice(const at::Tensor& log_probs, const std::vector<uint8_t>& mask,
                     std::mt19937_64& rng) {
  const auto lp = log_probs.accessor<float, 1>();
  double total = 0;
  for (size_t k = 0; k < mask.size(); ++k)
    if (mask[k]) total += std::exp(static_cast<double>(lp[k]));
  const double u = Uniform01(rng) * total;
  double cumulative = 0;
  int64_t last_legal = 0;
  for (size_t k = 0; k < mask.size(); ++k) {
    if (!mask[k]) continue;
    cumulative += std::exp(static_cast<double>(lp[k]));
    last_legal = static_cast<int64_t>(k);
    if (u < cumulative) return last_legal;
  }
  return last_legal;  // u rounded up to the total
}

int64_t GreedyChoice(const at::Tensor& log_probs, const std::vector<uint8_t>& mask) {
  const auto lp = log_probs.accessor<float, 1>();
  int64_t best = -1;
  for (size_t k = 0; k < mask.size(); ++k)
    if (mask[k] && (best < 0 || lp[k] > lp[best])) best = static_cast<int64_t>(k);
  return best;
}

}  // namespace hadmc::search
