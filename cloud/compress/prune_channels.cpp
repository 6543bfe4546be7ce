// Channel selection and physical removal.
#include "hadmc/compress/prune_channels.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "hadmc/compress/graph_edit.h"
#include "hadmc/zoo/zoo.h"

namespace hadmc::compress {
namespace {

int64_t RoundUp(int64_t n, int64_t multiple) {
  return multiple <= 1 ? n : (n + multiple - 1) / multiple * multiple;
}

// Keeps the `n` highest-scoring channels, returned in channel order.
std::vector<int64_t> TopChannels(const at::Tensor& score, int64_t n) {
  at::Tensor order = std::get<1>(score.sort(/*dim=*/0, /*descending=*/true));
  std::vector<int64_t> keep(order.data_ptr<int64_t>(), order.data_ptr<int64_t>() + n);
  std::sort(keep.begin(), keep.end());
  return keep;
}

int64_t KeepCount(int64_t channels, double remove_fraction, int64_t round_to) {
  int64_t keep = static_cast<int64_t>(std::ceil(channels * (1.0 - remove_fraction) - 1e-9));
  keep = std::max<int64_t>(1, RoundUp(keep, round_to));
  return std::min(keep, channels);
}

}  // namespace

std::vector<std::vector<int64_t>> SelectChannels(const std::vector<DependencyGroup>& groups,
                                                 const std::vector<at::Tensor>& scores,
                                                 const PruneOptions& o) {
  std::vector<std::vector<int64_t>> keep(groups.size());
  std::vector<int64_t> count(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    count[g] = groups[g].channels;
    if (groups[g].prunable() && !o.global) count[g] = KeepCount(groups[g].channels, o.ratio, o.round_to);
  }
  if (o.global) {
    // Normalize each group's scores by their mean so groups of different sizes and depths
    // compete fairly, then drop the globally lowest `ratio` of all prunable channels.
    std::vector<std::pair<double, size_t>> all;
    int64_t total = 0;
    for (size_t g = 0; g < groups.size(); ++g) {
      if (!groups[g].prunable()) continue;
      at::Tensor s = scores[g] / (scores[g].mean() + 1e-12);
      for (int64_t c = 0; c < groups[g].channels; ++c) all.push_back({s[c].item<double>(), g});
      total += groups[g].channels;
    }
    std::sort(all.begin(), all.end());
    std::vector<int64_t> removed(groups.size(), 0);
    const auto to_remove = static_cast<int64_t>(std::floor(total * o.ratio));
    int64_t done = 0;
    for (const auto& [score, g] : all) {
      if (done >= to_remove) break;
      const auto cap = static_cast<int64_t>(std::floor(groups[g].channels * o.max_group_ratio));
      if (removed[g] >= cap) continue;
      ++removed[g];
      ++done;
    }
    for (size_t g = 0; g < groups.size(); ++g)
      if (groups[g].prunable())
        count[g] = std::min(groups[g].channels,
                            std::max<int64_t>(1, RoundUp(groups[g].channels - removed[g], o.round_to)));
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].prunable() && count[g] < groups[g].channels) {
      keep[g] = TopChannels(scores[g], count[g]);
    } else {
      keep[g].resize(groups[g].channels);
      for (int64_t c = 0; c < groups[g].channels; ++c) keep[g][c] = c;
    }
  }
  return keep;
}

Status RemoveChannels(model::Model& m, const std::vector<DependencyGroup>& groups,
                      const std::vector<std::vector<int64_t>>& keep) {
  // One keep-mask per (tensor, dim), so a tensor touched by several groups (a conv reading a
  // concat) is sliced once with all of them applied.
  std::map<std::pair<std::string, int>, at::Tensor> masks;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (static_cast<int64_t>(keep[g].size()) == groups[g].channels) continue;
    at::Tensor drop = at::ones({groups[g].channels}, at::kBool);
    for (int64_t c : keep[g]) drop[c] = false;
    for (const ChannelSlice& s : groups[g].slices) {
      const at::Tensor& t = m.tensors.at(s.param);
      auto key = std::make_pair(s.param, s.dim);
      if (!masks.count(key)) masks[key] = at::ones({t.size(s.dim)}, at::kBool);
      masks[key].narrow(0, s.offset, groups[g].channels * s.stride)
          .view({groups[g].channels, s.stride})
          .masked_fill_(drop.unsqueeze(1), false);
    }
  }
  at::NoGradGuard no_grad;
  for (const auto& [key, mask] : masks) {
    at::Tensor index = mask.nonzero().squeeze(1);
    if (index.numel() == 0)
      return MakeError(Errc::kInvalidArgument, "pruning would remove every channel of '" +
                                                   key.first + "'");
    SetParam(m, key.first, m.tensors.at(key.first).index_select(key.second, index).contiguous());
  }
  // Depthwise convs: groups follow the (pruned) channel count.
  for (ir::Node& n : m.graph.nodes) {
    if (n.op != "conv2d") continue;
    const int64_t groups_attr = n.attrs.GetInt("groups", 1).value_or(1);
    if (groups_attr == 1) continue;
    const at::Tensor& w = m.tensors.at(n.params.at("weight"));
    if (w.size(1) == 1 && groups_attr != w.size(0)) n.attrs.Set("groups", w.size(0));
  }
  // Recorded shapes of values are inferred, not stored, except graph input shapes (untouched).
  return model::CheckConsistent(m);
}

Result<PruneReport> PruneChannels(model::Model& m, const PruneOptions& o,
                                  const CalibrationSet& calib) {
  if (!(o.ratio >= 0.0 && o.ratio < 1.0))
    return MakeError(Errc::kInvalidArgument, "prune ratio must be in [0, 1), got " +
                                                 std::to_string(o.ratio));
  if (o.round_to < 1) return MakeError(Errc::kInvalidArgument, "round_to must be >= 1");
  PruneReport report;
  report.params_before = zoo::CountParameters(m.graph).trainable;
  auto groups = ComputeDependencyGroups(m.graph);
  if (!groups) return MakeError(groups.error().WithContext("dependency groups"));
  auto scores = ScoreChannels(m, *groups, o.importance, calib);
  if (!scores) return MakeError(scores.error());
  const auto keep = SelectChannels(*groups, *scores, o);
  HADMC_TRY_CTX(RemoveChannels(m, *groups, keep), "removing channels");
  for (size_t g = 0; g < groups->size(); ++g)
    if ((*groups)[g].prunable())
      report.groups.push_back({(*groups)[g].producers.empty() ? (*groups)[g].slices[0].param
                                                              : (*groups)[g].producers[0],
                               (*groups)[g].channels, static_cast<int64_t>(keep[g].size())});
  report.params_after = zoo::CountParameters(m.graph).trainable;
  return report;
}

}  // namespace hadmc::compress
