// Quantization-aware training (QAT): fine-tune a fused fp32 model while it sees the rounding its
// int8 conversion will apply, then convert for real.
//
//   probe = QuantizeInt8(copy of m)      // where the conversion quantizes, with which ranges
//   PrepareQat(m, probe)                 // fake quantization at exactly those places
//   train m (straight-through gradients) // the weights learn to sit well on the int8 grid
//   FinishQat(m); QuantizeInt8(m)        // fresh calibration on the trained weights
//
// Fake quantization: conv2d/linear weights get the attribute fake_quant_weight (per-channel
// symmetric, scale from the current weight); every value the probe quantizes — int8 node outputs
// and int8 region inputs — gets a fake_quantize node with the probe's scale and zero point.
#pragma once

#include <cstdint>

#include "hadmc/model/model.h"

namespace hadmc::compress {

struct QatReport {
  int weight_nodes = 0;     // conv2d/linear with fake-quantized weights
  int activation_nodes = 0; // fake_quantize nodes inserted
};

// `probe` is `m` after QuantizeInt8 (same node names). weight_qmax: 127, or 63 for 7-bit weights.
Result<QatReport> PrepareQat(model::Model& m, const model::Model& probe, int64_t weight_qmax);

// Removes every fake_quantize node and fake_quant_weight attribute.
Status FinishQat(model::Model& m);

}  // namespace hadmc::compress
