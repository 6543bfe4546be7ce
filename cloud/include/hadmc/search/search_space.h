// The layers a compression search walks (AMC/HAQ style: conv2d and linear nodes in graph order)
// and their features, which form the per-step state. Pruning acts on channel dependency groups
// (compress/dependency_groups.h): a layer's prune action applies to the group its output
// channels belong to, decided at the group's first producer; later producers of the same group
// (residual branches) follow that decision (their prune action is masked to it).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"
#include "hadmc/compress/prune_channels.h"
#include "hadmc/hal/profile.h"
#include "hadmc/model/model.h"
#include "hadmc/search/policy.h"

namespace hadmc::search {

struct SearchLayer {
  std::string node;  // conv2d or linear node of the unfused base graph
  std::string kind;  // "conv2d", "conv2d_dw" (depthwise), "linear"
  int64_t index = 0;
  int64_t in_channels = 0, out_channels = 0;
  int64_t kernel = 1, stride = 1;
  int64_t out_hw = 1;  // output feature-map height x width (1 for linear)
  int64_t params = 0, macs = 0;  // batch 1
  double sensitivity = 0;        // mean |gradient x weight| (Taylor), normalized to max 1
  bool depthwise = false;
  int64_t group = -1;           // dependency group of the output channels; -1: not prunable
  bool decides_group = false;   // the group's first producer: its prune action is the group's
  bool first_or_last = false;   // the first and last weight layers (kept >= 8 bits by default)
};

struct SearchSpace {
  std::vector<SearchLayer> layers;
  std::vector<compress::DependencyGroup> groups;
  std::vector<at::Tensor> channel_scores;  // per group (undefined for frozen groups)
  int64_t total_params = 0, total_macs = 0;
};

// Builds the space of `base` (an unfused fp32 model), scoring channels with Taylor importance on
// `calib`. Errors: a model with no conv2d/linear node.
Result<SearchSpace> BuildSearchSpace(const model::Model& base, const compress::CalibrationSet& calib);

// Number of features LayerFeatures returns.
inline constexpr int64_t kLayerFeatures = 13;
// index/len, kind one-hot (3), log in/out channels, kernel, stride, log fmap, params share, MACs
// share, sensitivity, depthwise — each scaled to about [0, 1].
std::vector<float> LayerFeatures(const SearchSpace& s, int64_t layer);

// The target's hardware features: log peak TOPS per precision (int8/fp16/fp32), log bandwidth,
// channel step, tensor cores, 2:4 sparsity — scaled to about [0, 1].
inline constexpr int64_t kHardwareFeatures = 7;
std::vector<float> HardwareFeatures(const hal::HardwareProfile& p);

nlohmann::json ToJson(const SearchLayer& l);

// The channels a group of `channels` keeps under prune ratio `ratio`: (1 - ratio) * channels
// rounded UP to a multiple of `step` (the target's channel step for the deciding layer's
// precision: latency is a staircase in channels), at least 1 and at most `channels`.
int64_t KeptChannels(int64_t channels, double ratio, int64_t step);

// The precision of every conv2d/linear/add node of the FUSED graph under policy `p` (whose
// layers are `s`'s, named by their unfused nodes; fusion keeps conv/linear names): bits 8 ->
// kInt8, 16 -> kFp16, 4 -> kInt4, 32 -> kFp32; an add is kInt8 when any of its inputs comes from
// an int8 node (its other inputs get quantized), else kFp32. Errors: a layer missing from the
// graph, a policy of the wrong length.
struct PrecisionPlan {
  std::map<std::string, ir::Precision> nodes;
  std::set<std::string> int8_nodes() const;                         // conv/linear/add in int8
  std::map<std::string, ir::Precision> low_precision_nodes() const;  // fp16 and int4 ones
};
Result<PrecisionPlan> PlanPrecisions(const ir::Graph& fused, const SearchSpace& s,
                                     const CompressionPolicy& p);

// The kept channels of every group under `p` (all channels for frozen and undecided groups),
// the deciding layer's precision choosing the channel step on `profile`. Errors: wrong length.
Result<std::vector<int64_t>> KeptPerGroup(const SearchSpace& s, const CompressionPolicy& p,
                                          const hal::HardwareProfile& profile);

}  // namespace hadmc::search
