// Kernel keys for tests (torch-free: the registry tests use it too).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "hadmc/hal/kernels.h"

namespace hadmc::testing {

// A square window `k` (0: none), stride 1, groups 1, fp32.
inline hal::KernelKey TestKey(std::string kind, ir::Shape input, int64_t out_channels, int64_t k,
                              int64_t padding) {
  return {.kind = std::move(kind),
          .input = std::move(input),
          .out_channels = out_channels,
          .kernel_h = k,
          .kernel_w = k,
          .stride = 1,
          .padding = padding,
          .groups = 1,
          .precision = ir::Precision::kFp32};
}

// A 3x3 "same" conv with a fused relu on an hw x hw input.
inline hal::KernelKey TestConvKey(int64_t in, int64_t out, int64_t hw = 28) {
  return TestKey("conv2d_relu", {1, in, hw, hw}, out, 3, 1);
}

}  // namespace hadmc::testing
