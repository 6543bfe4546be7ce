// Latency and size of a policy from shapes alone, in well under a millisecond: the action
// wall's model. It edits the parameter SHAPES of the base model's fused graph (the kept channels
// of every dependency group, KeptPerGroup) and the nodes' precisions (PlanPrecisions), then asks
// the LUT for the kernels (KernelsOf + PredictGraph), with the same precision remap as the
// evaluator (a precision the target does not execute is computed in fp32). It does not build the
// model: the quantize/dequantize nodes the int8 conversion inserts at precision boundaries are
// not in its graph, so it can be a little under the evaluator's figure; the search reports the
// evaluator's (and, for its best policy, a measured) latency. Torch-free header.
#pragma once

#include <cstdint>
#include <memory>

#include "hadmc/common/error.h"
#include "hadmc/hal/lut.h"
#include "hadmc/hal/profile.h"
#include "hadmc/model/model.h"
#include "hadmc/search/policy.h"
#include "hadmc/search/search_space.h"

namespace hadmc::search {

struct PolicyEstimate {
  double latency_ms = 0;
  double size_bytes = 0;   // stored weights: conv/linear weights at their bits, the rest fp32
  int roofline = 0;        // kernels without a LUT row (estimated from the profile)
};

class PolicyPredictor {
 public:
  // `base` is the unfused fp32 model `space` was built from (fused here on a copy).
  static Result<PolicyPredictor> Create(const model::Model& base, const SearchSpace& space,
                                        hal::HardwareProfile profile, hal::LatencyLut lut,
                                        int64_t batch);
  PolicyPredictor(PolicyPredictor&&) noexcept;
  PolicyPredictor& operator=(PolicyPredictor&&) noexcept;
  ~PolicyPredictor();

  Result<PolicyEstimate> Predict(const CompressionPolicy& p) const;

 private:
  struct Impl;
  explicit PolicyPredictor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Kernel keys in a precision `profile` does not list are computed in fp32 there (fp16 / int4
// weight storage on a CPU): returns the precision the device really runs.
ir::Precision ExecutedPrecision(ir::Precision p, const hal::HardwareProfile& profile);

}  // namespace hadmc::search
