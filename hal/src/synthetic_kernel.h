// Private to hal: the one-node model ProfileSyntheticKernel times (kernel_bench.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/hal/kernels.h"
#include "hadmc/model/model.h"

namespace hadmc::hal {

struct SyntheticKernel {
  model::Model model;  // one node, random weights in the key's precision
  std::vector<ir::Shape> input_shapes;
  std::vector<at::Tensor> inputs;  // random; quint8 where the node reads int8 values
};

// The node a deployed graph would hold for `key`; kUnsupported for kinds it cannot rebuild.
Result<SyntheticKernel> BuildSyntheticKernel(const KernelKey& key);

}  // namespace hadmc::hal
