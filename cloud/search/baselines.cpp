#include "hadmc/search/baselines.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "hadmc/compress/prune_channels.h"

namespace hadmc::search {
namespace {

struct MethodRow {
  Method method;
  const char* name;
  const char* description;
};

const MethodRow kMethods[] = {
    {Method::kHadmc2, "hadmc2", "PPO over prune ratio, bits and distillation, action wall"},
    {Method::kDqn, "dqn", "branching double DQN in the same environment"},
    {Method::kRandom, "random", "uniform among the wall's legal choices"},
    {Method::kAmc, "amc", "AMC-style: PPO over prune ratios only (fp32), action wall"},
    {Method::kHaq, "haq", "HAQ-style: PPO over bit widths only (no pruning), action wall"},
    {Method::kUniform, "uniform", "uniform L1 pruning + int8 PTQ, every ratio"},
    {Method::kHadmc1, "hadmc1", "HAD-MC 1.0: sensitivity-scaled Taylor pruning + int8, swept"},
};

const MethodRow& Row(Method m) {
  for (const MethodRow& r : kMethods)
    if (r.method == m) return r;
  return kMethods[0];
}

// The largest table ratio <= v.
double SnapDown(double v) {
  double out = 0;
  for (double r : kPruneRatios)
    if (r <= v + 1e-9) out = r;
  return out;
}

// Ratios of the deciding layers given per group; followers copy their group's, frozen get 0.
CompressionPolicy Fill(const SearchSpace& s, const std::vector<double>& group_ratio,
                       const std::vector<int>& bits) {
  CompressionPolicy p;
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const SearchLayer& l = s.layers[i];
    p.layers.push_back({l.group >= 0 ? group_ratio.at(l.group) : 0.0, bits[i]});
  }
  return p;
}

std::vector<int> EdgesFp32(const SearchSpace& s, int bits) {
  std::vector<int> out;
  for (const SearchLayer& l : s.layers) out.push_back(l.first_or_last ? 32 : bits);
  return out;
}

}  // namespace

const std::vector<Method>& AllMethods() {
  static const std::vector<Method> all = [] {
    std::vector<Method> v;
    for (const MethodRow& r : kMethods) v.push_back(r.method);
    return v;
  }();
  return all;
}

const char* MethodName(Method m) { return Row(m).name; }
const char* MethodDescription(Method m) { return Row(m).description; }

Result<Method> ParseMethod(const std::string& s) {
  std::string names;
  for (const MethodRow& r : kMethods) {
    if (s == r.name) return r.method;
    names += (names.empty() ? "" : ", ") + std::string(r.name);
  }
  return MakeError(Errc::kInvalidArgument, "unknown method '" + s + "' (expected " + names + ")");
}

std::vector<CompressionPolicy> UniformPolicies(const SearchSpace& s, double max_ratio, int bits) {
  std::vector<CompressionPolicy> out;
  for (double r : kPruneRatios) {
    if (r > max_ratio + 1e-9) break;
    out.push_back(Fill(s, std::vector<double>(s.groups.size(), r), EdgesFp32(s, bits)));
  }
  return out;
}

std::vector<CompressionPolicy> Hadmc1Policies(const SearchSpace& s, double max_ratio) {
  // Robustness 1 - sensitivity per deciding group, normalized to mean 1 over those groups.
  std::vector<double> robust(s.groups.size(), 0.0);
  double sum = 0;
  int deciders = 0;
  for (const SearchLayer& l : s.layers) {
    if (l.group < 0 || !l.decides_group) continue;
    robust[l.group] = 1.0 - l.sensitivity;
    sum += robust[l.group];
    ++deciders;
  }
  const double mean = deciders > 0 ? sum / deciders : 0.0;
  std::vector<CompressionPolicy> out;
  for (double overall : kPruneRatios) {
    if (overall > max_ratio + 1e-9) break;
    std::vector<double> ratio(s.groups.size(), 0.0);
    for (size_t g = 0; g < s.groups.size(); ++g)
      ratio[g] = mean > 0 ? SnapDown(std::min(max_ratio, overall * robust[g] / mean)) : overall;
    out.push_back(Fill(s, ratio, EdgesFp32(s, 8)));
  }
  return out;
}

Result<SearchResult> RunMethod(Method m, SearchSetup& setup, SearchOptions o,
                               EnvironmentOptions env) {
  o.constraints = setup.constraints;
  o.checkpoint_dir.clear();
  switch (m) {
    case Method::kUniform: {
      // Its own evaluator: the same options and data, L1-norm channel scores.
      SearchSpace l1 = setup.space;
      auto scores = compress::ScoreChannels(setup.base, l1.groups, compress::Importance::kL1, {});
      if (!scores) return MakeError(scores.error());
      l1.channel_scores = std::move(*scores);
      auto ev = PolicyEvaluator::Create(setup.base, l1, setup.train, setup.evaluator_options);
      if (!ev) return MakeError(ev.error());
      return EvaluatePolicies(*ev, UniformPolicies(l1, env.max_prune_ratio, 8), o, MethodName(m));
    }
    case Method::kHadmc1:
      return EvaluatePolicies(*setup.evaluator, Hadmc1Policies(setup.space, env.max_prune_ratio), o,
                              MethodName(m));
    case Method::kAmc:
      env.bits = {32};
      env.keep_first_last = false;
      o.controller = ControllerKind::kPpo;
      break;
    case Method::kHaq:
      env.prune = false;
      o.controller = ControllerKind::kPpo;
      break;
    case Method::kHadmc2: o.controller = ControllerKind::kPpo; break;
    case Method::kDqn: o.controller = ControllerKind::kDqn; break;
    case Method::kRandom: o.controller = ControllerKind::kRandom; break;
  }
  auto e = MakeEnvironment(setup, env);
  if (!e) return MakeError(e.error());
  auto r = RunSearch(*setup.evaluator, *e, o);
  if (!r) return MakeError(r.error());
  r->controller = MethodName(m);
  return r;
}

}  // namespace hadmc::search
