// HAD-MC 1.0's layer-wise precision allocation: the first and last weight layers stay fp32, layers
// the loss is sensitive to get int8, robust layers int4, until the weights fit a size budget.
//
// Sensitivity of layer l at b bits is the loss increase the empirical Fisher predicts for its
// quantization error:  S_l(b) = 1/2 * mean over calibration batches of sum_j g_j^2 * dw_j(b)^2,
// g = dL/dw on the batch, dw(b) = w - Q_b(w) (per-channel symmetric). It needs one backward pass
// per batch and no retraining. Greedy allocation: start with every eligible layer at int8, then
// move the layer with the smallest extra sensitivity per byte saved, S_l(4) - S_l(8) over
// bytes(8) - bytes(4), to int4, until the weight bytes are within the budget.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hadmc/compress/prune_channels.h"
#include "hadmc/model/model.h"

namespace hadmc::compress {

struct LayerSensitivity {
  std::string node;
  int64_t params = 0;
  double int8 = 0;  // S_l(8)
  double int4 = 0;  // S_l(4)
};

// Fisher sensitivities of every conv2d/linear node of an fp32 model.
Result<std::vector<LayerSensitivity>> MeasureSensitivity(const model::Model& m,
                                                         const CalibrationSet& calib);

struct AllocationOptions {
  int64_t weight_budget_bytes = 0;  // bytes of conv/linear weights + scales; 0: all int8
  bool keep_first_last = true;      // first and last weight layers stay fp32
};

struct Allocation {
  std::map<std::string, ir::Precision> precision;  // every conv2d/linear node
  int64_t weight_bytes = 0;                        // under this allocation
  int64_t fp32_weight_bytes = 0;                   // all fp32, for comparison
  bool budget_met = true;
  std::vector<LayerSensitivity> sensitivity;
};

// Bytes a weight of `params` scalars over `out_channels` channels takes at `p`.
int64_t WeightBytes(int64_t params, int64_t out_channels, ir::Precision p);

Result<Allocation> AllocatePrecision(const model::Model& m,
                                     const std::vector<LayerSensitivity>& sensitivity,
                                     const AllocationOptions& options);

nlohmann::json AllocationToJson(const Allocation& a);

}  // namespace hadmc::compress
