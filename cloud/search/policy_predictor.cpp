#include "hadmc/search/policy_predictor.h"

#include <algorithm>
#include <map>
#include <set>

#include "hadmc/compress/dependency_groups.h"
#include "hadmc/compress/pass_registry.h"
#include "hadmc/compress/quantize_int8.h"
#include "hadmc/hal/kernels.h"

namespace hadmc::search {

ir::Precision ExecutedPrecision(ir::Precision p, const hal::HardwareProfile& profile) {
  const std::string name = ir::PrecisionName(p);
  const bool runs = std::find(profile.precisions.begin(), profile.precisions.end(), name) !=
                    profile.precisions.end();
  return runs ? p : ir::Precision::kFp32;
}

namespace {

// The int8 region and its boundary nodes, as QuantizeInt8 builds them (structure only): nodes
// marked int8, plus the quantized-friendly ops their int8 values flow into, become the region;
// a quantize node goes before the first region node reading an fp32 value, a dequantize node
// before the first outside node reading an int8 value (and after an int8 graph output). Nodes
// stay in topological order.
void AddInt8Boundaries(ir::Graph& g) {
  std::set<std::string> int8_values, region;
  for (ir::Node& n : g.nodes) {
    const bool in_int8 = !n.inputs.empty() && int8_values.count(n.inputs[0]) != 0;
    if (n.precision == ir::Precision::kInt8 || (compress::RunsOnQuantized(n.op) && in_int8)) {
      region.insert(n.name);
      n.precision = ir::Precision::kInt8;
      int8_values.insert(n.output());
    }
  }
  if (region.empty()) return;
  std::vector<ir::Node> nodes;
  std::map<std::string, std::string> renamed;  // value -> its quantized / dequantized twin
  for (ir::Node n : g.nodes) {
    const bool inside = region.count(n.name) != 0;
    for (std::string& in : n.inputs) {
      const bool int8_in = int8_values.count(in) != 0;
      if (inside == int8_in) continue;
      const std::string twin = in + (inside ? ".q" : ".dq");
      if (!renamed.count(twin)) {
        ir::Node b{in + (inside ? ".quantize" : ".dequantize"), inside ? "quantize" : "dequantize",
                   {in}, {twin}, {}, {}, inside ? ir::Precision::kInt8 : ir::Precision::kFp32};
        if (inside) {
          b.attrs.Set("scale", 1.0);
          b.attrs.Set("zero_point", int64_t{0});
        }
        nodes.push_back(std::move(b));
        renamed[twin] = twin;
      }
      in = twin;
    }
    nodes.push_back(std::move(n));
  }
  for (const std::string& out : g.outputs) {
    if (!int8_values.count(out)) continue;
    const std::string inner = out + ".int8";
    for (ir::Node& n : nodes) {
      for (std::string& v : n.outputs) if (v == out) v = inner;
      for (std::string& v : n.inputs) if (v == out) v = inner;
    }
    nodes.push_back({out + ".dequantize", "dequantize", {inner}, {out}, {}, {}, ir::Precision::kFp32});
  }
  g.nodes = std::move(nodes);
}

}  // namespace

struct PolicyPredictor::Impl {
  SearchSpace space;
  hal::HardwareProfile profile;
  hal::LatencyLut lut;
  int64_t batch = 1;
  ir::Graph fused;  // shapes only are used
  std::vector<compress::DependencyGroup> fused_groups;
  std::vector<int64_t> space_group;  // fused group -> space group (-1: frozen / unmatched)
};

PolicyPredictor::PolicyPredictor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PolicyPredictor::PolicyPredictor(PolicyPredictor&&) noexcept = default;
PolicyPredictor& PolicyPredictor::operator=(PolicyPredictor&&) noexcept = default;
PolicyPredictor::~PolicyPredictor() = default;

Result<PolicyPredictor> PolicyPredictor::Create(const model::Model& base, const SearchSpace& space,
                                                hal::HardwareProfile profile, hal::LatencyLut lut,
                                                int64_t batch) {
  if (batch < 1) return MakeError(Errc::kInvalidArgument, "batch must be >= 1");
  auto impl = std::make_unique<Impl>();
  impl->space = space;
  impl->profile = std::move(profile);
  impl->lut = std::move(lut);
  impl->batch = batch;
  model::Model fused = model::Clone(base);
  auto runs = compress::RunFusion(fused);
  if (!runs) return MakeError(runs.error().WithContext("policy predictor: fusion"));
  impl->fused = std::move(fused.graph);
  auto groups = compress::ComputeDependencyGroups(impl->fused);
  if (!groups) return MakeError(groups.error().WithContext("policy predictor: fused groups"));
  impl->fused_groups = std::move(*groups);
  // Fusion keeps conv/linear names, so a fused group is the space group with its first producer.
  std::map<std::string, int64_t> space_group_of;
  for (size_t g = 0; g < space.groups.size(); ++g)
    if (space.groups[g].prunable() && !space.groups[g].producers.empty())
      space_group_of[space.groups[g].producers.front()] = static_cast<int64_t>(g);
  for (const auto& fg : impl->fused_groups) {
    int64_t match = -1;
    if (fg.prunable() && !fg.producers.empty()) {
      auto it = space_group_of.find(fg.producers.front());
      if (it != space_group_of.end() && space.groups[it->second].channels == fg.channels)
        match = it->second;
    }
    impl->space_group.push_back(match);
  }
  return PolicyPredictor(std::move(impl));
}

Result<PolicyEstimate> PolicyPredictor::Predict(const CompressionPolicy& p) const {
  const Impl& s = *impl_;
  auto kept = KeptPerGroup(s.space, p, s.profile);
  if (!kept) return MakeError(kept.error());
  auto plan = PlanPrecisions(s.fused, s.space, p);
  if (!plan) return MakeError(plan.error());

  ir::Graph g = s.fused;
  for (size_t fg = 0; fg < s.fused_groups.size(); ++fg) {
    if (s.space_group[fg] < 0) continue;
    const auto& group = s.fused_groups[fg];
    const int64_t removed = group.channels - (*kept)[s.space_group[fg]];
    if (removed <= 0) continue;
    for (const compress::ChannelSlice& slice : group.slices)
      g.params.at(slice.param).shape.at(slice.dim) -= removed * slice.stride;
  }
  PolicyEstimate e;
  for (ir::Node& n : g.nodes) {
    auto planned = plan->nodes.find(n.name);
    // int4 nodes' IR wants packed weights; the kernel keys get their precision below.
    if (planned != plan->nodes.end() && planned->second != ir::Precision::kInt4)
      n.precision = planned->second;
    if (n.op != "conv2d" && n.op != "linear") continue;
    const ir::Shape& w = g.params.at(n.params.at("weight")).shape;
    if (n.op == "conv2d") {  // depthwise convs: groups follow the channel count
      const int64_t groups = n.attrs.GetInt("groups", 1).value_or(1);
      if (groups > 1 && w.at(1) == 1 && groups != w.at(0)) n.attrs.Set("groups", w.at(0));
    }
  }
  // Stored bytes: weights of conv/linear nodes at their precision, everything else as stored.
  std::map<std::string, ir::Precision> weight_precision;
  for (const ir::Node& n : g.nodes)
    if ((n.op == "conv2d" || n.op == "linear") && n.params.count("weight")) {
      auto planned = plan->nodes.find(n.name);
      weight_precision[n.params.at("weight")] =
          planned != plan->nodes.end() ? planned->second : n.precision;
    }
  for (auto& [name, info] : g.params) {
    int64_t numel = 1;
    for (int64_t d : info.shape) numel *= d;
    double bytes = static_cast<double>(numel) * static_cast<double>(ir::DTypeSize(info.dtype));
    auto wp = weight_precision.find(name);
    if (wp != weight_precision.end()) {
      switch (wp->second) {
        case ir::Precision::kInt8: bytes = static_cast<double>(numel); break;
        case ir::Precision::kFp16: bytes = 2.0 * static_cast<double>(numel); break;
        case ir::Precision::kInt4: bytes = 0.5 * static_cast<double>(numel); break;
        case ir::Precision::kFp32: bytes = 4.0 * static_cast<double>(numel); break;
      }
      // int8 and int4 weights carry one fp32 scale per output channel.
      if (wp->second == ir::Precision::kInt8 || wp->second == ir::Precision::kInt4)
        bytes += 4.0 * static_cast<double>(info.shape.at(0));
      // The kernels' byte counts read the stored dtype.
      if (wp->second == ir::Precision::kInt8) info.dtype = ir::DType::kI8;
      if (wp->second == ir::Precision::kFp16 &&
          ExecutedPrecision(wp->second, s.profile) == ir::Precision::kFp16)
        info.dtype = ir::DType::kF16;
    }
    e.size_bytes += bytes;
  }
  AddInt8Boundaries(g);
  auto kernels = hal::KernelsOf(g, s.batch);
  if (!kernels) return MakeError(kernels.error().WithContext("policy predictor"));
  for (hal::KernelInstance& k : *kernels) {
    auto planned = plan->nodes.find(k.node);
    const ir::Precision p = planned != plan->nodes.end() ? planned->second : k.key.precision;
    k.key.precision = ExecutedPrecision(p, s.profile);
  }
  const auto prediction = s.lut.PredictGraph(*kernels, &s.profile);
  e.latency_ms = prediction.ms;
  e.roofline = prediction.roofline;
  return e;
}

}  // namespace hadmc::search
