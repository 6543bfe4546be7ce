// Fits dataset images to a model's declared input: Fashion-MNIST is 1x28x28, but a model built or
// imported for 32 px or 3 channels still trains and evaluates on it.
#pragma once

#include <functional>

#include <ATen/core/Tensor.h>

#include "hadmc/common/error.h"
#include "hadmc/data/dataset.h"
#include "hadmc/ir/graph.h"

namespace hadmc::train {

using BatchTransform = std::function<at::Tensor(const at::Tensor&)>;

// The transform from normalized dataset batches [B, C, H, W] to the graph's single input:
// gray -> RGB by repeating the channel when the graph wants 3 channels and the data has 1, and a
// bilinear resize when the graph declares a fixed H x W different from the data's. Returns an
// empty function when the data already fits. Errors: other channel mismatches, a graph without
// exactly one 4-D input.
Result<BatchTransform> MakeInputTransform(const ir::Graph& graph, const data::Dataset& dataset);

}  // namespace hadmc::train
