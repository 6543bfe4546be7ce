// Private to common/ops: attribute parsing, shape checks and fused activations shared by the op
// families, and the per-op definitions that op_table.cpp lists. Not installed, so it may use ATen.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/exec/kernel.h"
#include "hadmc/ir/graph.h"
#include "hadmc/ir/ops.h"

namespace hadmc::ops {

// ---- Op definitions, one function per op; op_table.cpp lists them all. ----
ir::OpDef Conv2dOp();     // conv2d.cpp
ir::OpDef LinearOp();     // linear.cpp
ir::OpDef BatchNormOp();  // batch_norm.cpp
ir::OpDef ReluOp();       // activations.cpp
ir::OpDef Relu6Op();
ir::OpDef SiluOp();
ir::OpDef SigmoidOp();
ir::OpDef HardswishOp();
ir::OpDef IdentityOp();
ir::OpDef SoftmaxOp();
ir::OpDef AddOp();  // elementwise.cpp
ir::OpDef MulOp();
ir::OpDef ConcatOp();
ir::OpDef MaxPool2dOp();  // pooling.cpp
ir::OpDef AvgPool2dOp();
ir::OpDef AdaptiveAvgPool2dOp();
ir::OpDef FlattenOp();  // reshape.cpp
ir::OpDef UpsampleOp();
ir::OpDef QuantizeOp();  // quantize_ops.cpp
ir::OpDef DequantizeOp();
ir::OpDef FakeQuantizeOp();

// ---- Attributes ----

// A [h, w] pair (stride, padding, kernel, ...).
using Pair = std::array<int64_t, 2>;

// Reads an int-list attribute of exactly two values, each >= min_value. `def` is used when the
// attribute is absent; without a default the attribute is required.
Result<Pair> GetPair(const ir::Attributes& a, const std::string& name, std::optional<Pair> def,
                     int64_t min_value);
// Reads [h, w] floats; an int list is accepted too (JSON "[2, 2]" parses as ints). Each > 0.
Result<std::array<double, 2>> GetPositiveFloatPair(const ir::Attributes& a,
                                                   const std::string& name);
// Reads an int attribute that must be 0 or 1.
Result<bool> GetFlag(const ir::Attributes& a, const std::string& name, bool def);
// Reads a string attribute that must be one of `allowed`.
Result<std::string> GetChoice(const ir::Attributes& a, const std::string& name,
                              const std::string& def, std::initializer_list<const char*> allowed);

// A fused activation applied to an op's output (conv2d, linear, add).
enum class Activation { kNone, kRelu, kRelu6 };
// Reads attribute "activation"; relu6 is allowed only where `allow_relu6`.
Result<Activation> GetActivation(const ir::Attributes& a, bool allow_relu6);
// Applies `act` to a freshly computed `y`. In place only when autograd cannot need the
// pre-activation value (not training and `y` does not require grad).
at::Tensor ApplyActivation(at::Tensor y, Activation act, bool training);

// Quantization-aware training of conv2d/linear weights: attribute "fake_quant_weight" = qmax
// (127, or 63 for 7-bit weights; absent or 0: off). The weight then passes through per-channel
// symmetric fake quantization, scale = max|w_c| / qmax, with the straight-through gradient.
Result<int64_t> GetWeightFakeQuant(const ir::Attributes& a);
at::Tensor FakeQuantWeight(const at::Tensor& w, int64_t qmax);

// ---- Shapes ----

inline bool Known(int64_t d) { return d >= 0; }
// "4-D [N,C,H,W]" style checks; `what` names the tensor ("input", "weight").
Status CheckRank(const ir::Shape& s, size_t rank, const std::string& what, const char* layout);
Status CheckMinRank(const ir::Shape& s, size_t min_rank, const std::string& what);
// Every dimension must be -1 (unknown) or >= 0; parameters must be fully known (>= 0).
Status CheckDims(const ir::Shape& s, const std::string& what);
// Product of dims [begin, end); -1 when any of them is unknown.
int64_t DimProduct(const ir::Shape& s, size_t begin, size_t end);
// Maps a possibly negative `dim` into [0, rank); an error names the attribute.
Result<size_t> NormalizeDim(int64_t dim, size_t rank, const std::string& attr);
// The shape of a parameter slot, or nullptr when the node does not use it.
const ir::Shape* FindParam(const ir::ParamShapes& params, const std::string& slot);
// Checks an optional per-channel parameter (bias, BN statistics) has shape [channels].
Status CheckVectorParam(const ir::ParamShapes& params, const std::string& slot, int64_t channels,
                        const std::string& channels_from);

// Output length of a sliding window (conv or pool) along one axis, following ATen's formula
// (with ceil_mode as pooling computes it). -1 when `in` is unknown. Errors when the output would
// be empty, with the numbers.
Result<int64_t> WindowOutput(int64_t in, int64_t kernel, int64_t pad, int64_t stride,
                             int64_t dilation, bool ceil_mode, const char* axis);

// ---- Pieces shared by simple ops ----

Result<ir::Shape> SameShapeAsInput(const ir::Node&, const std::vector<ir::Shape>& inputs,
                                   const ir::ParamShapes&);
int64_t NoMacs(const ir::Node&, const std::vector<ir::Shape>&, const ir::Shape&,
               const ir::ParamShapes&);
// An OpDef with the given arity and a fixed channel relation, no parameters, zero MACs and
// output shape = input shape; callers fill in bind_kernel (and override what differs).
ir::OpDef SimpleOp(const std::string& name, ir::ChannelRelation relation);

}  // namespace hadmc::ops
