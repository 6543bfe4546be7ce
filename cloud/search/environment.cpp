#include "hadmc/search/environment.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace hadmc::search {

std::vector<ActionHead> SearchHeads() {
  return {{"prune", static_cast<int64_t>(std::size(kPruneRatios))},
          {"bits", static_cast<int64_t>(std::size(kBitWidths))},
          {"temperature", static_cast<int64_t>(std::size(kTemperatures))},
          {"alpha", static_cast<int64_t>(std::size(kAlphas))}};
}

int64_t RatioIndex(double ratio) {
  for (size_t i = 0; i < std::size(kPruneRatios); ++i)
    if (std::abs(kPruneRatios[i] - ratio) < 1e-9) return static_cast<int64_t>(i);
  return -1;
}

int64_t BitsIndex(int bits) {
  for (size_t i = 0; i < std::size(kBitWidths); ++i)
    if (kBitWidths[i] == bits) return static_cast<int64_t>(i);
  return -1;
}

namespace {

int64_t ChoiceIndex(const double* table, size_t n, double v) {
  for (size_t i = 0; i < n; ++i)
    if (std::abs(table[i] - v) < 1e-9) return static_cast<int64_t>(i);
  return -1;
}

std::vector<uint8_t> OnlyChoice(int64_t choices, int64_t index) {
  std::vector<uint8_t> m(static_cast<size_t>(choices), 0);
  m.at(static_cast<size_t>(index)) = 1;
  return m;
}

}  // namespace

Status ValidateEnvironmentOptions(const EnvironmentOptions& o) {
  if (!(o.max_prune_ratio >= 0 && o.max_prune_ratio <= kPruneRatios[std::size(kPruneRatios) - 1]))
    return MakeError(Errc::kInvalidArgument, "max_prune_ratio must be in [0, 0.9]");
  if (o.bits.empty()) return MakeError(Errc::kInvalidArgument, "bits: at least one width");
  for (int b : o.bits)
    if (BitsIndex(b) < 0)
      return MakeError(Errc::kInvalidArgument,
                       "bits: " + std::to_string(b) + " is not one of 4, 8, 16, 32");
  Constraints c = o.constraints;
  return ValidateReward(c, RewardWeights{});
}

struct SearchEnvironment::Impl {
  SearchSpace space;
  const PolicyPredictor* predictor = nullptr;
  hal::HardwareProfile profile;
  EnvironmentOptions options;
  std::vector<float> hardware;
  PolicyEstimate base;
  // Per layer: the legal ratios (ascending) and bits, and the most compressing bits.
  std::vector<std::vector<double>> ratios;
  std::vector<std::vector<int>> bits;
  std::vector<int> fastest, smallest;
  bool reachable = true;

  // Episode state.
  int64_t layer = 0;
  CompressionPolicy policy;
  ActionMasks masks;

  // A budget that even the most compressed policy misses has no wall: forcing every layer to
  // its most compressing choice would make every episode the same policy, and the reward's
  // penalty already steers towards the budget.
  bool wall() const { return options.action_wall && reachable; }
  bool latency_limited() const { return wall() && options.constraints.max_latency_ms > 0; }
  bool size_limited() const { return wall() && options.constraints.max_size_bytes > 0; }

  // The group ratio a follower must take (its decider came earlier).
  double GroupRatio(int64_t i) const {
    const SearchLayer& l = space.layers[i];
    for (int64_t j = 0; j < i; ++j)
      if (space.layers[j].group == l.group && space.layers[j].decides_group)
        return policy.layers[j].prune_ratio;
    return 0.0;
  }

  // The policy with layer i at (ratio, b) and every later layer most compressed (bits from
  // `later`: the fastest or the smallest legal width).
  CompressionPolicy Completion(int64_t i, double ratio, int b, const std::vector<int>& later) const {
    CompressionPolicy c = policy;
    c.layers[i] = {ratio, b};
    for (size_t j = static_cast<size_t>(i) + 1; j < space.layers.size(); ++j)
      c.layers[j] = {ratios[j].back(), later[j]};
    return c;
  }

  // Would the budget still be reachable with layer i at `ratio` and bits b_lat (for the latency
  // check) / b_size (for the size check)?
  Result<bool> Fits(int64_t i, double ratio, int b_lat, int b_size) const {
    if (latency_limited()) {
      auto e = predictor->Predict(Completion(i, ratio, b_lat, fastest));
      if (!e) return MakeError(e.error());
      if (e->latency_ms > options.constraints.max_latency_ms) return false;
    }
    if (size_limited()) {
      auto e = predictor->Predict(Completion(i, ratio, b_size, smallest));
      if (!e) return MakeError(e.error());
      if (e->size_bytes > options.constraints.max_size_bytes) return false;
    }
    return true;
  }

  Status ComputeMasks() {
    const auto heads = SearchHeads();
    masks.assign(heads.size(), {});
    const int64_t i = layer;
    if (i >= static_cast<int64_t>(space.layers.size())) return {};
    // Followers take their group's ratio.
    const SearchLayer& l = space.layers[i];
    if (l.group >= 0 && !l.decides_group) {
      const double r = GroupRatio(i);
      std::vector<double> only = {r};
      ratios[i] = only;
    }
    std::vector<uint8_t> prune(static_cast<size_t>(heads[kPruneHead].choices), 0);
    std::vector<uint8_t> width(static_cast<size_t>(heads[kBitsHead].choices), 0);
    for (double r : ratios[i]) {
      auto ok = Fits(i, r, fastest[i], smallest[i]);
      if (!ok) return MakeError(ok.error());
      if (*ok) prune[RatioIndex(r)] = 1;
    }
    if (std::none_of(prune.begin(), prune.end(), [](uint8_t v) { return v != 0; }))
      prune[RatioIndex(ratios[i].back())] = 1;
    for (int b : bits[i]) {
      auto ok = Fits(i, ratios[i].back(), b, b);
      if (!ok) return MakeError(ok.error());
      if (*ok) width[BitsIndex(b)] = 1;
    }
    if (std::none_of(width.begin(), width.end(), [](uint8_t v) { return v != 0; }))
      width[BitsIndex(latency_limited() ? fastest[i] : smallest[i])] = 1;
    masks[kPruneHead] = prune;
    masks[kBitsHead] = width;
    const int64_t t = ChoiceIndex(kTemperatures, std::size(kTemperatures), policy.temperature);
    const int64_t a = ChoiceIndex(kAlphas, std::size(kAlphas), policy.alpha);
    if (i == 0 && options.distillation) {
      masks[kTemperatureHead].assign(std::size(kTemperatures), 1);
      masks[kAlphaHead].assign(std::size(kAlphas), 1);
    } else {
      masks[kTemperatureHead] = OnlyChoice(heads[kTemperatureHead].choices, t);
      masks[kAlphaHead] = OnlyChoice(heads[kAlphaHead].choices, a);
    }
    return {};
  }
};

SearchEnvironment::SearchEnvironment(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SearchEnvironment::SearchEnvironment(SearchEnvironment&&) noexcept = default;
SearchEnvironment& SearchEnvironment::operator=(SearchEnvironment&&) noexcept = default;
SearchEnvironment::~SearchEnvironment() = default;

Result<SearchEnvironment> SearchEnvironment::Create(SearchSpace space,
                                                    const PolicyPredictor* predictor,
                                                    const hal::HardwareProfile& profile,
                                                    EnvironmentOptions options) {
  HADMC_TRY(ValidateEnvironmentOptions(options));
  if (!predictor) return MakeError(Errc::kInvalidArgument, "environment: no predictor");
  if (space.layers.empty()) return MakeError(Errc::kInvalidArgument, "environment: no layers");
  auto impl = std::make_unique<Impl>();
  impl->space = std::move(space);
  impl->predictor = predictor;
  impl->profile = profile;
  impl->options = options;
  impl->hardware = HardwareFeatures(profile);
  const size_t n = impl->space.layers.size();
  // The widths from fastest to slowest, as the predictor sees the whole model at each width
  // (every layer that may take it), so quantize/dequantize boundaries, per-kernel overheads and
  // precisions the target runs as fp32 count: peak ops alone would rank int8 first on a device
  // where a small net is launch-bound and the extra boundary kernels make int8 slower. Ties go to
  // the wider width (same speed, more accuracy).
  std::vector<std::pair<double, int>> ranked;
  for (int w : options.bits) {
    CompressionPolicy uniform;
    for (const SearchLayer& l : impl->space.layers) {
      const bool edge_held = options.keep_first_last && l.first_or_last && w < 8;
      uniform.layers.push_back({0.0, edge_held ? 32 : w});
    }
    auto e = predictor->Predict(uniform);
    if (!e) return MakeError(e.error().WithContext("environment: ranking the widths"));
    ranked.push_back({e->latency_ms, -w});
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<int> speed_order;
  for (const auto& [ms, neg_w] : ranked) speed_order.push_back(-neg_w);
  for (size_t i = 0; i < n; ++i) {
    const SearchLayer& l = impl->space.layers[i];
    std::vector<double> r = {0.0};
    if (options.prune && l.group >= 0 && l.decides_group)
      for (double v : kPruneRatios)
        if (v > 0 && v <= options.max_prune_ratio + 1e-9) r.push_back(v);
    impl->ratios.push_back(r);
    std::vector<int> b;
    for (int w : options.bits)
      if (!(options.keep_first_last && l.first_or_last && w < 8)) b.push_back(w);
    if (b.empty()) b.push_back(32);
    std::sort(b.begin(), b.end());
    impl->bits.push_back(b);
    impl->smallest.push_back(b.front());
    int fast = b.back();
    for (int w : speed_order)
      if (std::find(b.begin(), b.end(), w) != b.end()) {
        fast = w;
        break;
      }
    impl->fastest.push_back(fast);
  }
  impl->policy.layers.assign(n, LayerDecision{});
  auto base = predictor->Predict(impl->policy);
  if (!base) return MakeError(base.error().WithContext("environment: base prediction"));
  impl->base = *base;
  // The most compressed policy: is the budget reachable at all?
  auto fits = impl->Fits(0, impl->ratios[0].back(), impl->fastest[0], impl->smallest[0]);
  if (!fits) return MakeError(fits.error());
  impl->reachable = *fits;
  SearchEnvironment env(std::move(impl));
  HADMC_TRY(env.Reset());
  return env;
}

Status SearchEnvironment::Reset() {
  Impl& s = *impl_;
  s.layer = 0;
  s.policy = CompressionPolicy{};
  s.policy.layers.assign(s.space.layers.size(), LayerDecision{});
  return s.ComputeMasks();
}

std::vector<float> SearchEnvironment::State() const {
  const Impl& s = *impl_;
  const int64_t i = std::min<int64_t>(s.layer, static_cast<int64_t>(s.space.layers.size()) - 1);
  std::vector<float> state = LayerFeatures(s.space, i);
  auto now = s.predictor->Predict(s.policy);
  const auto share = [](double v, double base) {
    return base > 0 ? static_cast<float>(std::clamp(v / base, 0.0, 2.0)) : 0.0f;
  };
  state.push_back(now ? share(now->latency_ms, s.base.latency_ms) : 1.0f);
  state.push_back(now ? share(now->size_bytes, s.base.size_bytes) : 1.0f);
  const LayerDecision prev = i > 0 ? s.policy.layers[i - 1] : LayerDecision{};
  state.push_back(static_cast<float>(prev.prune_ratio));
  state.push_back(static_cast<float>(prev.bits) / 32.0f);
  state.insert(state.end(), s.hardware.begin(), s.hardware.end());
  return state;
}

const ActionMasks& SearchEnvironment::Masks() const { return impl_->masks; }

Result<SearchEnvironment::StepResult> SearchEnvironment::Step(const std::vector<int64_t>& actions) {
  Impl& s = *impl_;
  if (done()) return MakeError(Errc::kInvalidArgument, "the episode is over (Reset first)");
  if (actions.size() != s.masks.size())
    return MakeError(Errc::kInvalidArgument, "expected " + std::to_string(s.masks.size()) +
                                                 " actions, got " + std::to_string(actions.size()));
  const auto heads = SearchHeads();
  for (size_t h = 0; h < actions.size(); ++h)
    if (actions[h] < 0 || actions[h] >= heads[h].choices || !s.masks[h][actions[h]])
      return MakeError(Errc::kInvalidArgument, "action " + std::to_string(actions[h]) +
                                                   " of head '" + heads[h].name +
                                                   "' is out of range or masked out");
  const int64_t i = s.layer;
  StepResult out;
  out.applied = actions;
  double r = kPruneRatios[actions[kPruneHead]];
  int b = kBitWidths[actions[kBitsHead]];
  if (s.wall()) {
    auto ok = s.Fits(i, r, b, b);
    if (!ok) return MakeError(ok.error());
    if (!*ok) {
      out.clamped = true;
      bool fixed = false;
      for (int with : {b, s.latency_limited() ? s.fastest[i] : s.smallest[i]}) {
        for (double cand : s.ratios[i]) {
          if (cand < r - 1e-9) continue;
          auto fits = s.Fits(i, cand, with, with);
          if (!fits) return MakeError(fits.error());
          if (*fits) {
            r = cand;
            b = with;
            fixed = true;
            break;
          }
        }
        if (fixed) break;
      }
      if (!fixed) {  // not expected while the budget is reachable: the most compressing choice
        r = s.ratios[i].back();
        b = s.latency_limited() ? s.fastest[i] : s.smallest[i];
      }
      out.applied[kPruneHead] = RatioIndex(r);
      out.applied[kBitsHead] = BitsIndex(b);
    }
  }
  s.policy.layers[i] = {r, b};
  if (i == 0) {
    s.policy.temperature = kTemperatures[actions[kTemperatureHead]];
    s.policy.alpha = kAlphas[actions[kAlphaHead]];
  }
  ++s.layer;
  out.done = done();
  HADMC_TRY(s.ComputeMasks());
  return out;
}

int64_t SearchEnvironment::layer() const { return impl_->layer; }
bool SearchEnvironment::done() const {
  return impl_->layer >= static_cast<int64_t>(impl_->space.layers.size());
}
const CompressionPolicy& SearchEnvironment::policy() const { return impl_->policy; }
const SearchSpace& SearchEnvironment::space() const { return impl_->space; }
bool SearchEnvironment::budget_reachable() const { return impl_->reachable; }

std::vector<std::vector<double>> SearchEnvironment::InitialBias(double strength) const {
  std::vector<std::vector<double>> bias(SearchHeads().size());
  for (double r : kPruneRatios) bias[kPruneHead].push_back(-3.0 * strength * r);
  // The fastest width of the middle layers (the first and last may be held at >= 8 bits).
  const Impl& s = *impl_;
  const int fast = s.fastest.empty() ? 32 : s.fastest[s.fastest.size() / 2];
  for (int b : kBitWidths)
    bias[kBitsHead].push_back(b == 4 ? -strength : (b == fast && b != 32 ? strength : 0.0));
  return bias;
}

Result<PolicyEstimate> SearchEnvironment::PredictCurrent() const {
  return impl_->predictor->Predict(impl_->policy);
}

}  // namespace hadmc::search
