// Structured channel pruning: score each dependency group's channels, choose the ones to keep
// (per group or globally), and physically remove the rest, so the result is a smaller dense model.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "hadmc/compress/dependency_groups.h"
#include "hadmc/model/model.h"

namespace hadmc::compress {

enum class Importance {
  kTaylor,  // first-order Taylor |w * dL/dw| summed over the group's slices and the batches
  kL1,      // |w| summed over the group's slices (data-free baseline)
};
Result<Importance> ParseImportance(const std::string& s);  // "taylor", "l1"

// Labelled batches for gradient-based scores: (images [N,C,H,W] normalized, labels [N] int64).
using CalibrationSet = std::vector<std::pair<at::Tensor, at::Tensor>>;

struct PruneOptions {
  double ratio = 0.5;  // fraction of prunable channels to remove, in [0, 1)
  Importance importance = Importance::kTaylor;
  // Global: one threshold on group-normalized scores across all groups, so sensitive groups keep
  // more. Per-group (default): every prunable group loses `ratio` of its channels.
  bool global = false;
  int64_t round_to = 1;          // kept channels rounded up to a multiple of this (8, 16)
  double max_group_ratio = 0.9;  // global mode: no group loses more than this fraction
};

// Per-channel scores of each group (undefined tensor for frozen groups). Taylor needs `calib`
// (an error without it); L1 ignores it.
Result<std::vector<at::Tensor>> ScoreChannels(const model::Model& m,
                                              const std::vector<DependencyGroup>& groups,
                                              Importance importance, const CalibrationSet& calib);

// Channels to keep per group (sorted indices), from scores and options.
std::vector<std::vector<int64_t>> SelectChannels(const std::vector<DependencyGroup>& groups,
                                                 const std::vector<at::Tensor>& scores,
                                                 const PruneOptions& options);

// Slices every tensor of every group to the kept channels and updates depthwise convs' groups.
// Validates the result.
Status RemoveChannels(model::Model& m, const std::vector<DependencyGroup>& groups,
                      const std::vector<std::vector<int64_t>>& keep);

struct PrunedGroup {
  std::string name;  // first producer node
  int64_t before = 0;
  int64_t after = 0;
};
struct PruneReport {
  std::vector<PrunedGroup> groups;  // prunable groups only
  int64_t params_before = 0;
  int64_t params_after = 0;
};

// Groups -> scores -> selection -> removal.
Result<PruneReport> PruneChannels(model::Model& m, const PruneOptions& options,
                                  const CalibrationSet& calib);

}  // namespace hadmc::compress
