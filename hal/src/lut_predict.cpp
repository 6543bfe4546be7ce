// Predicting a kernel's latency from the LUT (see lut.h): the exact row; else the comparable rows
// (same kind/window/stride/groups class/precision, nearest in pixels and batch) placed by their
// work on channel counts rounded up to the device's channel step — the nearest row's time inside
// its stair, a line between the two stairs around the kernel, a line through the two nearest
// stairs beyond the measured range; else the roofline.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "hadmc/hal/lut.h"
#include "hadmc/hal/roofline.h"

namespace hadmc::hal {
namespace {

constexpr int64_t kDefaultChannelStep = 8;

enum class GroupsClass { kDense, kDepthwise, kGrouped };

int64_t Channels(const KernelKey& k) { return k.input.size() >= 2 ? k.input[1] : 1; }

GroupsClass GroupsOf(const KernelKey& k) {
  if (k.groups == 1) return GroupsClass::kDense;
  return k.groups == Channels(k) ? GroupsClass::kDepthwise : GroupsClass::kGrouped;
}

// Rounded up to the next multiple of `step`; counts <= 0 (no such dimension) count as 1.
double Stepped(int64_t c, int64_t step) {
  if (c <= 0) return 1;
  step = std::max<int64_t>(1, step);
  return static_cast<double>((c + step - 1) / step * step);
}

double Spatial(const ir::Shape& s) {
  double n = 1;
  for (size_t i = 2; i < s.size(); ++i) n *= static_cast<double>(s[i]);
  return n;
}

double Batch(const ir::Shape& s) { return s.empty() ? 1 : std::max<double>(1, s[0]); }

// Output pixels of a windowed kernel (conv, pool) on a 4-D input; the input's pixels otherwise.
double OutputSpatial(const KernelKey& k) {
  if (k.kernel_h <= 0 || k.input.size() != 4) return Spatial(k.input);
  auto out = [&](int64_t in, int64_t kernel) {
    return std::max<int64_t>(1, (in + 2 * k.padding - kernel) / k.stride + 1);
  };
  return static_cast<double>(out(k.input[2], k.kernel_h) * out(k.input[3], k.kernel_w));
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// The work a kernel does, from its key alone, with channel counts stepped: MACs for conv and
// linear, elements read + written for the rest. Only ratios of two kernels of the same kind are
// used, so constant factors (bytes per element) cancel.
double SteppedWork(const KernelKey& k, int64_t step) {
  const double in_c = Stepped(Channels(k), step), out_c = Stepped(k.out_channels, step);
  const double batch = Batch(k.input);
  if (StartsWith(k.kind, "linear")) {
    double rows = 1;  // per sample: every dim between the batch and the features
    for (size_t i = 1; i + 1 < k.input.size(); ++i) rows *= static_cast<double>(k.input[i]);
    const double in_f = Stepped(k.input.empty() ? 0 : k.input.back(), step);
    return batch * rows * in_f * out_c;
  }
  if (StartsWith(k.kind, "conv2d")) {
    // Depthwise and grouped kernels: each output channel reads one group's channels, a count
    // fixed by the key (not stepped: groups are not).
    const double per_group =
        k.groups == 1 ? in_c
                      : std::ceil(static_cast<double>(Channels(k)) / static_cast<double>(k.groups));
    return batch * OutputSpatial(k) * out_c * per_group * static_cast<double>(k.kernel_h) *
           static_cast<double>(k.kernel_w);
  }
  return batch * (in_c * Spatial(k.input) + out_c * OutputSpatial(k));
}

bool Comparable(const KernelKey& a, const KernelKey& b) {
  return a.kind == b.kind && a.kernel_h == b.kernel_h && a.kernel_w == b.kernel_w &&
         a.stride == b.stride && a.precision == b.precision && a.input.size() == b.input.size() &&
         GroupsOf(a) == GroupsOf(b);
}

double LogRatio(double a, double b) { return std::fabs(std::log(a / b)); }


}  // namespace

LatencyLut::Prediction LatencyLut::Predict(const KernelInstance& k,
                                           const HardwareProfile* profile) const {
  if (const LutEntry* e = Find(k.key)) return {e->median_ms, "exact", e->key.ToString()};
  // The step of the kernel's precision (tensor cores tile int8 wider than fp16). Only MAC
  // kernels (conv, linear) run in channel blocks; elementwise and layout kernels (quantize, add,
  // pools) scale with their elements, one channel at a time.
  const bool blocked = StartsWith(k.key.kind, "conv2d") || StartsWith(k.key.kind, "linear");
  const int64_t step = !blocked ? 1
                       : profile ? ChannelStepFor(*profile, ir::PrecisionName(k.key.precision))
                                 : kDefaultChannelStep;
  const double work = SteppedWork(k.key, step);

  // Comparable rows; among them, those closest in pixels and batch (a pruned variant of a
  // measured model has rows at exactly its shapes, differing in channels only).
  struct Candidate {
    const LutEntry* e;
    double work;
    double shape_distance;
  };
  std::vector<Candidate> candidates;
  double nearest_shape = std::numeric_limits<double>::infinity();
  for (const LutEntry& e : rows_) {
    if (!Comparable(e.key, k.key)) continue;
    const double w = SteppedWork(e.key, step);
    if (w <= 0) continue;
    const double d = LogRatio(std::max(1.0, Spatial(e.key.input)), std::max(1.0, Spatial(k.key.input))) +
                     LogRatio(Batch(e.key.input), Batch(k.key.input));
    nearest_shape = std::min(nearest_shape, d);
    candidates.push_back({&e, w, d});
  }
  if (candidates.empty()) {
    if (!profile) return {0, "none", ""};
    return {Roofline(k, *profile).ms, "roofline", ""};
  }
  // Same shape class only when the nearest shape is this one's; otherwise everything comparable
  // (and the work ratio carries the pixel difference).
  std::vector<Candidate> pool;
  for (const Candidate& c : candidates)
    if (c.shape_distance <= nearest_shape + 1e-12) pool.push_back(c);
  // Nearest in work first; ties to the smaller key, so the rows' order does not matter.
  std::sort(pool.begin(), pool.end(), [&](const Candidate& a, const Candidate& b) {
    const double da = LogRatio(a.work, work), db = LogRatio(b.work, work);
    if (da != db) return da < db;
    return a.e->key.ToString() < b.e->key.ToString();
  });
  const Candidate& nearest = pool.front();
  const std::string from = nearest.e->key.ToString();
  // In the nearest row's stair: its time (latency is flat within a channel step).
  if (nearest.work == work) return {nearest.e->median_ms, "neighbour", from};

  // Between two measured stairs: linear in stepped work between them (the stairs' own times,
  // not a line through the origin: small kernels have a fixed cost that proportional scaling
  // would shrink away).
  const Candidate* below = nullptr;
  const Candidate* above = nullptr;
  for (const Candidate& c : pool) {
    if (c.work < work && (!below || c.work > below->work)) below = &c;
    if (c.work > work && (!above || c.work < above->work)) above = &c;
  }
  if (below && above) {
    const double f = (work - below->work) / (above->work - below->work);
    return {below->e->median_ms + f * (above->e->median_ms - below->e->median_ms),
            "neighbour", from};
  }
  // Beyond the measured range: the slope of the two nearest stairs on that side when it is a
  // sensible line (rising, with a non-negative fixed cost), else proportional to work.
  const double proportional = nearest.e->median_ms * work / nearest.work;
  const Candidate* second = nullptr;
  for (const Candidate& c : pool)
    if (&c != &nearest && c.work != nearest.work && (c.work - work) * (nearest.work - work) > 0) {
      second = &c;
      break;  // pool is sorted by distance in work
    }
  if (second) {
    const double slope = (nearest.e->median_ms - second->e->median_ms) / (nearest.work - second->work);
    const double fixed = nearest.e->median_ms - slope * nearest.work;
    if (slope > 0 && fixed >= 0) return {fixed + slope * work, "neighbour", from};
  }
  return {proportional, "neighbour", from};
}

LatencyLut::GraphPrediction LatencyLut::PredictGraph(const std::vector<KernelInstance>& kernels,
                                                     const HardwareProfile* profile) const {
  GraphPrediction g;
  for (const KernelInstance& k : kernels) {
    Prediction p = Predict(k, profile);
    g.ms += p.ms;
    if (p.how == "exact")
      ++g.exact;
    else if (p.how == "neighbour")
      ++g.neighbour;
    else if (p.how == "roofline")
      ++g.roofline;
    else
      ++g.none;
    g.kernels.push_back(std::move(p));
  }
  return g;
}

}  // namespace hadmc::hal
