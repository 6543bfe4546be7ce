// Channel dependency groups on the graph IR (the DepGraph idea, computed from the op table's
// channel relations): the sets of tensor slices that must lose the same channels together so
// that removing a channel keeps the graph valid. Residual adds tie the channels of every conv
// that feeds them; depthwise convs and BN pass their input's channels through; concat places
// its inputs' channels at offsets; flatten -> linear maps a channel to H*W consecutive features.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hadmc/ir/graph.h"

namespace hadmc::compress {

// One tensor dimension tied to a group: channel i of the group is the index range
// [offset + i*stride, offset + (i+1)*stride) of dimension `dim` of parameter `param`.
struct ChannelSlice {
  std::string param;
  int dim = 0;          // 0: the tensor's output channels, 1: its input channels / features
  int64_t offset = 0;   // where the group starts in that dimension (concat)
  int64_t stride = 1;   // features per channel (flatten -> linear: H*W)
  bool trainable = true;  // false for buffers (BN running statistics): sliced, never scored
};

struct DependencyGroup {
  int64_t channels = 0;
  std::vector<ChannelSlice> slices;
  std::vector<std::string> producers;  // conv2d/linear nodes whose outputs these channels are
  // Why these channels may not be removed (graph input/output, grouped conv, softmax, ...);
  // empty when prunable.
  std::string frozen_because;
  bool prunable() const { return frozen_because.empty(); }
};

// The groups of a validated graph (nodes in topological order), one per set of tied channel
// spaces, ordered by their first producer in the graph. Graphs with ops whose channel relation
// is unknown freeze the affected channels rather than fail.
Result<std::vector<DependencyGroup>> ComputeDependencyGroups(const ir::Graph& g);

}  // namespace hadmc::compress
