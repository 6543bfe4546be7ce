// Post-training int8 quantization onto real int8 kernels: per-channel symmetric weights,
// per-tensor affine activations from calibration observers, quantize/dequantize nodes only at
// precision boundaries. Run after fusion (BN folded, relu fused): int8 conv2d, linear and add
// nodes then run quantized::conv2d(_relu), linear(_relu) and add(_relu) through the executor.
#pragma once

#include <ATen/core/Tensor.h>

#include <set>
#include <string>
#include <vector>

#include "hadmc/compress/activation_observer.h"
#include "hadmc/model/model.h"

namespace hadmc::compress {

struct QuantizeOptions {
  ObserverKind observer = ObserverKind::kPercentile;
  bool reduce_range = false;  // 7-bit weights (x86 without VNNI; see hal/int8_backend.h)
  // HAD-MC keeps the first and last weight layers in high precision: they see raw pixels and
  // produce the logits, and hold few of the MACs.
  bool keep_first_last = true;
  // When non-empty, exactly these conv2d/linear/add nodes become int8 (the allocator's or the
  // search's choice); otherwise every eligible one does.
  std::set<std::string> int8_nodes;
};

struct QuantizeReport {
  std::vector<std::string> int8_nodes;  // conv2d/linear/add nodes now on int8 kernels
  std::vector<std::string> fp32_nodes;  // eligible weight/add nodes left in fp32
  int quantize_nodes = 0;               // precision boundaries inserted
  int dequantize_nodes = 0;
};

// Ops whose reference kernels take quint8 tensors and keep their quantization: they join the
// int8 region when their input is int8, so no dequantize/quantize pair surrounds them.
bool RunsOnQuantized(const std::string& op);

// Nodes that could run on int8 kernels: conv2d, linear and add in fp32, not fed by a BN that was
// left unfused (those stay fp32).
std::vector<std::string> Int8Candidates(const ir::Graph& g);

// Quantizes `m` in place. `calib_inputs` are model inputs (normalized images), a few hundred
// samples are plenty. The int8 engine must already be active (hal::ConfigureInt8Backend).
Result<QuantizeReport> QuantizeInt8(model::Model& m, const QuantizeOptions& options,
                                    const std::vector<at::Tensor>& calib_inputs);

}  // namespace hadmc::compress
