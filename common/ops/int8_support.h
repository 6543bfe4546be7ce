// Private to common/ops: what the int8 kernels share. LibTorch's quantized operators are reached
// through the dispatcher (quantized::conv2d_prepack, quantized::conv2d.new, ...), the way
// TorchScript calls them, so no private ATen header is needed; prepacked weights are custom-class
// objects held as IValues.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/ir/graph.h"

namespace hadmc::ops {

// Calls a quantized operator by schema name and overload ("" for the default) with boxed
// arguments; returns its first result. Throws what the operator throws (the executor turns it
// into an Error naming the node).
c10::IValue CallQuantizedOp(const char* name, const char* overload, std::vector<c10::IValue> args);

// Output quantization of an int8 node: attributes out_scale (> 0) and out_zero_point (0..255).
struct OutputQuant {
  double scale = 1.0;
  int64_t zero_point = 0;
};
Result<OutputQuant> GetOutputQuant(const ir::Attributes& a);

// The per-channel int8 weight (params[0], dtype int8) with its scales (params[2], float [O]) as
// a quantized tensor (qint8, symmetric: zero points 0, axis 0).
Result<at::Tensor> PerChannelWeight(const ir::Node& n, const at::Tensor& weight,
                                    const at::Tensor& scales);

}  // namespace hadmc::ops
