// Weights stored below fp32 for size, computed in fp32 on the CPU: fp16 (safetensors F16) and
// int4 (per-output-channel symmetric codes in [-7, 7], packed two per byte). Neither makes a CPU
// faster — LibTorch has no fp16 or int4 CPU kernels worth using — so the executor turns them back
// into fp32 once, when it binds the node, and the node then runs its fp32 kernel. What they buy
// is a smaller model file and fewer bytes to ship to a device.
//
// int4 layout: the node's "weight" parameter is U8 [O, ceil(K/2)] where K is the product of the
// logical weight's other dimensions; element 2i of a row is the low nibble of byte i, element
// 2i+1 the high nibble, each a two's-complement 4-bit code. The logical shape is the node
// attribute "weight_shape" and the per-channel scales are the "weight_scale" parameter [O], as
// for int8 nodes: w[o, k] = code[o, k] * weight_scale[o].
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/ir/graph.h"

namespace hadmc::exec {

// int8 codes in [-8, 7], shape [O, ...] -> packed U8 [O, ceil(K/2)].
at::Tensor PackInt4(const at::Tensor& codes);
// Packed U8 [O, ceil(K/2)] -> int8 codes with the logical `shape` ([O, ...]).
Result<at::Tensor> UnpackInt4(const at::Tensor& packed, const std::vector<int64_t>& shape);

// Per-output-channel symmetric quantization of a weight [O, ...]: scale_o = max|w_o| / qmax,
// codes = round(w / scale) clamped to [-qmax, qmax], as int8 with w's shape; scales [O]. The
// one definition the int8 (qmax 127, or 63 for 7-bit weights) and int4 (qmax 7) paths share.
std::pair<at::Tensor, at::Tensor> QuantizePerChannel(const at::Tensor& weight, double qmax);

// Per-output-channel symmetric int4 quantization of an fp32 weight [O, ...]: scale = max|w_o| / 7.
// Returns the packed codes and the scales [O].
std::pair<at::Tensor, at::Tensor> QuantizeInt4(const at::Tensor& weight);

// The fp32 weight an fp16 or int4 node computes with, from its stored "weight" and
// "weight_scale" parameters. Errors name the node and say what is wrong with the stored form.
Result<at::Tensor> DequantizeWeight(const ir::Node& n, const at::Tensor& weight,
                                    const at::Tensor& scale);

}  // namespace hadmc::exec
