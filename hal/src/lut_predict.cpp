// Predicting a kernel's latency from the LUT: the exact row, else the nearest row of the same
// kind/window/stride/groups class/precision scaled by work computed on channel counts rounded up
// to the device's channel step (a staircase, not a line), else the roofline (see lut.h).
#include <algorithm>
#include <cmath>
#include <limits>

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

// How far apart two comparable kernels are: |log| ratios of stepped channels, pixels and batch.
double Distance(const KernelKey& a, const KernelKey& b, int64_t step) {
  return LogRatio(Stepped(Channels(a), step), Stepped(Channels(b), step)) +
         LogRatio(Stepped(a.out_channels, step), Stepped(b.out_channels, step)) +
         LogRatio(std::max(1.0, Spatial(a.input)), std::max(1.0, Spatial(b.input))) +
         LogRatio(Batch(a.input), Batch(b.input));
}

}  // namespace

LatencyLut::Prediction LatencyLut::Predict(const KernelInstance& k,
                                           const HardwareProfile* profile) const {
  if (const LutEntry* e = Find(k.key)) return {e->median_ms, "exact", e->key.ToString()};
  // The step of the kernel's precision (tensor cores tile int8 wider than fp16).
  const int64_t step =
      profile ? ChannelStepFor(*profile, ir::PrecisionName(k.key.precision)) : kDefaultChannelStep;
  const LutEntry* best = nullptr;
  double best_distance = std::numeric_limits<double>::infinity();
  for (const LutEntry& e : rows_) {
    if (!Comparable(e.key, k.key) || SteppedWork(e.key, step) <= 0) continue;
    const double d = Distance(e.key, k.key, step);
    // Ties go to the smaller key, so the choice does not depend on the rows' order.
    if (d < best_distance ||
        (d == best_distance && best && e.key.ToString() < best->key.ToString())) {
      best = &e;
      best_distance = d;
    }
  }
  if (best) {
    const double ratio = SteppedWork(k.key, step) / SteppedWork(best->key, step);
    return {best->median_ms * ratio, "neighbour", best->key.ToString()};
  }
  if (!profile) return {0, "none", ""};
  return {Roofline(k, *profile).ms, "roofline", ""};
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
