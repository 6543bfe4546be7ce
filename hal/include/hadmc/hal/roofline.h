// Roofline estimate of one fused kernel: the fallback when the LUT has neither a measurement
// nor a usable neighbour. time = max(compute, memory) + per-kernel overhead, where
// compute = 2·MACs / (peak(precision) · compute_efficiency) and
// memory = bytes / (bandwidth · memory_efficiency). Always labelled an estimate.
#pragma once

#include <string>

#include "hadmc/hal/kernels.h"
#include "hadmc/hal/profile.h"

namespace hadmc::hal {

struct RooflineEstimate {
  double ms = 0;
  double compute_ms = 0;
  double memory_ms = 0;
  bool compute_bound = false;
  // The precision whose peak was used: the kernel's own, or else the widest precision the
  // profile lists — "fp32" for int4 on a CPU that runs it dequantized, "fp16" for fp32 on an
  // Ascend 310, whose converter casts fp32 models to fp16.
  std::string precision_used;
};

RooflineEstimate Roofline(const KernelInstance& k, const HardwareProfile& p);
// Sum over kernels.
double RooflineGraphMs(const std::vector<KernelInstance>& kernels, const HardwareProfile& p);

}  // namespace hadmc::hal
