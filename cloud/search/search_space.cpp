#include "hadmc/search/search_space.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "hadmc/model/model_summary.h"

namespace hadmc::search {
namespace {

// Which dependency group each layer's output channels belong to (-1: none or frozen).
std::map<std::string, int64_t> GroupOfProducer(const std::vector<compress::DependencyGroup>& gs) {
  std::map<std::string, int64_t> of;
  for (size_t g = 0; g < gs.size(); ++g)
    for (const std::string& p : gs[g].producers)
      of[p] = gs[g].prunable() ? static_cast<int64_t>(g) : -1;
  return of;
}

// Mean channel score of each group, normalized so the most sensitive group is 1.
std::vector<double> GroupSensitivity(const std::vector<at::Tensor>& scores) {
  std::vector<double> s(scores.size(), 0.0);
  double top = 0;
  for (size_t g = 0; g < scores.size(); ++g) {
    if (!scores[g].defined() || scores[g].numel() == 0) continue;
    s[g] = scores[g].to(at::kDouble).abs().mean().item<double>();
    top = std::max(top, s[g]);
  }
  if (top > 0)
    for (double& v : s) v /= top;
  return s;
}

Result<SearchLayer> DescribeLayer(const ir::Graph& g, const ir::Node& n,
                                  const std::map<std::string, ir::Shape>& shapes,
                                  const model::NodeSummary& summary) {
  SearchLayer l;
  l.node = n.name;
  const ir::Shape& w = g.params.at(n.params.at("weight")).shape;
  l.out_channels = w.at(0);
  l.params = summary.params;
  l.macs = summary.macs;
  if (n.op == "linear") {
    l.kind = "linear";
    l.in_channels = w.at(1);
    return l;
  }
  auto groups = n.attrs.GetInt("groups", 1);
  auto stride = n.attrs.GetInts("stride", std::vector<int64_t>{1, 1});
  if (!groups || !stride) return MakeError(Errc::kParse, "node '" + n.name + "': bad attributes");
  l.in_channels = w.at(1) * *groups;
  l.depthwise = *groups > 1 && *groups == l.in_channels;
  l.kind = l.depthwise ? "conv2d_dw" : "conv2d";
  l.kernel = w.at(2);
  l.stride = stride->empty() ? 1 : stride->front();
  const ir::Shape& out = shapes.at(n.output());
  if (out.size() == 4) l.out_hw = std::max<int64_t>(1, out[2]) * std::max<int64_t>(1, out[3]);
  return l;
}

float Log2Scaled(double v, double max_log2) {
  return static_cast<float>(std::clamp(std::log2(std::max(v, 1.0)) / max_log2, 0.0, 1.0));
}

}  // namespace

Result<SearchSpace> BuildSearchSpace(const model::Model& base,
                                     const compress::CalibrationSet& calib) {
  SearchSpace s;
  auto groups = compress::ComputeDependencyGroups(base.graph);
  if (!groups) return tl::unexpected(groups.error().WithContext("search space"));
  s.groups = std::move(*groups);
  auto scores = compress::ScoreChannels(base, s.groups, compress::Importance::kTaylor, calib);
  if (!scores) return tl::unexpected(scores.error().WithContext("search space: channel scores"));
  s.channel_scores = std::move(*scores);
  auto summary = model::SummarizeGraph(base.graph);
  if (!summary) return tl::unexpected(summary.error());
  auto shapes = ir::InferShapes(base.graph);
  if (!shapes) return tl::unexpected(shapes.error());
  s.total_params = summary->total_params;
  s.total_macs = summary->total_macs;

  const auto group_of = GroupOfProducer(s.groups);
  const std::vector<double> sensitivity = GroupSensitivity(s.channel_scores);
  std::set<int64_t> decided;
  for (size_t i = 0; i < base.graph.nodes.size(); ++i) {
    const ir::Node& n = base.graph.nodes[i];
    if (n.op != "conv2d" && n.op != "linear") continue;
    auto layer = DescribeLayer(base.graph, n, *shapes, summary->nodes.at(i));
    if (!layer) return tl::unexpected(layer.error());
    layer->index = static_cast<int64_t>(s.layers.size());
    auto it = group_of.find(n.name);
    layer->group = it == group_of.end() ? -1 : it->second;
    if (layer->group >= 0) {
      layer->decides_group = decided.insert(layer->group).second;
      layer->sensitivity = sensitivity.at(layer->group);
    }
    s.layers.push_back(std::move(*layer));
  }
  if (s.layers.empty())
    return MakeError(Errc::kUnsupported, "search space: the model has no conv2d or linear layer");
  s.layers.front().first_or_last = true;
  s.layers.back().first_or_last = true;
  return s;
}

std::vector<float> LayerFeatures(const SearchSpace& s, int64_t layer) {
  const SearchLayer& l = s.layers.at(layer);
  const double count = static_cast<double>(s.layers.size());
  const auto share = [](int64_t part, int64_t total) {
    return total > 0 ? static_cast<float>(static_cast<double>(part) / total) : 0.0f;
  };
  return {count > 1 ? static_cast<float>(l.index / (count - 1)) : 0.0f,
          l.kind == "conv2d" ? 1.0f : 0.0f,
          l.kind == "conv2d_dw" ? 1.0f : 0.0f,
          l.kind == "linear" ? 1.0f : 0.0f,
          Log2Scaled(l.in_channels, 12),  // 4096 channels -> 1
          Log2Scaled(l.out_channels, 12),
          static_cast<float>(std::min<int64_t>(l.kernel, 11)) / 11.0f,
          static_cast<float>(std::min<int64_t>(l.stride, 4)) / 4.0f,
          Log2Scaled(static_cast<double>(l.out_hw), 16),  // 256x256 -> 1
          share(l.params, s.total_params),
          share(l.macs, s.total_macs),
          static_cast<float>(l.sensitivity),
          l.depthwise ? 1.0f : 0.0f};
}

std::vector<float> HardwareFeatures(const hal::HardwareProfile& p) {
  const auto tops = [&](const char* precision) {
    auto it = p.peak_tops.find(precision);
    // log10 over 0.01 .. 10,000 TOPS
    return it == p.peak_tops.end()
               ? 0.0f
               : static_cast<float>(std::clamp((std::log10(it->second) + 2) / 6, 0.0, 1.0));
  };
  return {tops("int8"),
          tops("fp16"),
          tops("fp32"),
          static_cast<float>(
              std::clamp(std::log10(std::max(p.memory_bandwidth_gbs, 1.0)) / 4, 0.0, 1.0)),
          static_cast<float>(std::min<int64_t>(p.channel_step, 64)) / 64.0f,
          p.tensor_cores ? 1.0f : 0.0f,
          p.sparsity_2_4 ? 1.0f : 0.0f};
}

nlohmann::json ToJson(const SearchLayer& l) {
  return {{"node", l.node},         {"kind", l.kind},
          {"index", l.index},       {"in_channels", l.in_channels},
          {"out_channels", l.out_channels}, {"kernel", l.kernel},
          {"stride", l.stride},     {"out_hw", l.out_hw},
          {"params", l.params},     {"macs", l.macs},
          {"sensitivity", l.sensitivity}, {"depthwise", l.depthwise},
          {"group", l.group},       {"decides_group", l.decides_group},
          {"first_or_last", l.first_or_last}};
}

int64_t KeptChannels(int64_t channels, double ratio, int64_t step) {
  if (channels <= 0) return 0;
  step = std::max<int64_t>(step, 1);
  const double wanted = (1.0 - std::clamp(ratio, 0.0, 1.0)) * static_cast<double>(channels);
  // 1e-9: (1 - 0.7) * 10 is 2.9999999999999996 in binary floating point.
  int64_t kept = static_cast<int64_t>(std::ceil(wanted - 1e-9));
  kept = (kept + step - 1) / step * step;
  return std::clamp<int64_t>(kept, 1, channels);
}

std::set<std::string> PrecisionPlan::int8_nodes() const {
  std::set<std::string> out;
  for (const auto& [name, p] : nodes)
    if (p == ir::Precision::kInt8) out.insert(name);
  return out;
}

std::map<std::string, ir::Precision> PrecisionPlan::low_precision_nodes() const {
  std::map<std::string, ir::Precision> out;
  for (const auto& [name, p] : nodes)
    if (p == ir::Precision::kFp16 || p == ir::Precision::kInt4) out[name] = p;
  return out;
}

namespace {

ir::Precision PrecisionOfBits(int bits) {
  switch (bits) {
    case 8: return ir::Precision::kInt8;
    case 16: return ir::Precision::kFp16;
    case 4: return ir::Precision::kInt4;
    default: return ir::Precision::kFp32;
  }
}

Status CheckLength(const SearchSpace& s, const CompressionPolicy& p) {
  if (p.layers.size() != s.layers.size())
    return MakeError(Errc::kInvalidArgument,
                     "policy has " + std::to_string(p.layers.size()) + " layers, the model " +
                         std::to_string(s.layers.size()));
  return {};
}

}  // namespace

Result<PrecisionPlan> PlanPrecisions(const ir::Graph& fused, const SearchSpace& s,
                                     const CompressionPolicy& p) {
  HADMC_TRY(CheckLength(s, p));
  PrecisionPlan plan;
  for (size_t i = 0; i < s.layers.size(); ++i) {
    if (!fused.FindNode(s.layers[i].node))
      return MakeError(Errc::kNotFound,
                       "layer '" + s.layers[i].node + "' is not in the fused graph");
    plan.nodes[s.layers[i].node] = PrecisionOfBits(p.layers[i].bits);
  }
  std::map<std::string, std::string> producer;  // value -> node
  for (const ir::Node& n : fused.nodes)
    for (const std::string& v : n.outputs) producer[v] = n.name;
  for (const ir::Node& n : fused.nodes) {  // topological order: an add sees earlier adds' plans
    if (n.op != "add") continue;
    bool int8_input = false;
    for (const std::string& v : n.inputs) {
      auto it = producer.find(v);
      if (it == producer.end()) continue;
      auto planned = plan.nodes.find(it->second);
      int8_input |= planned != plan.nodes.end() && planned->second == ir::Precision::kInt8;
    }
    plan.nodes[n.name] = int8_input ? ir::Precision::kInt8 : ir::Precision::kFp32;
  }
  return plan;
}

Result<std::vector<int64_t>> KeptPerGroup(const SearchSpace& s, const CompressionPolicy& p,
                                          const hal::HardwareProfile& profile) {
  HADMC_TRY(CheckLength(s, p));
  std::vector<int64_t> kept;
  for (const auto& g : s.groups) kept.push_back(g.channels);
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const SearchLayer& l = s.layers[i];
    if (l.group < 0 || !l.decides_group) continue;
    const std::string precision = ir::PrecisionName(PrecisionOfBits(p.layers[i].bits));
    // fp16/int4 storage computes in fp32 where the device lacks the precision.
    const bool supported = std::find(profile.precisions.begin(), profile.precisions.end(),
                                     precision) != profile.precisions.end();
    const int64_t step = hal::ChannelStepFor(profile, supported ? precision : "fp32");
    kept[l.group] = KeptChannels(s.groups[l.group].channels, p.layers[i].prune_ratio, step);
  }
  return kept;
}

}  // namespace hadmc::search
