// Fused kernels: the unit the latency LUT is keyed by. A graph's latency is the sum over the
// kernels that actually run (nn-Meter's lesson: summing raw ops misses fusion). In this
// executor a kernel is one node of a fused graph (Conv+BN+ReLU is one conv2d node with
// activation "relu"), so KernelsOf walks the nodes of the graph as it will be deployed.
// Torch-free: the cloud, the search and the edge profiler all use it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/ir/graph.h"

namespace hadmc::hal {

// What a kernel's latency depends on. Equal keys = interchangeable measurements.
struct KernelKey {
  // The node's op, with its fused activation appended: "conv2d", "conv2d_relu", "conv2d_relu6",
  // "linear_relu", "add_relu", "max_pool2d", "quantize", "flatten", ...
  std::string kind;
  ir::Shape input;           // the first input's shape, batch concrete: [1,64,28,28]
  int64_t out_channels = 0;  // output dim 1 (features for linear); 0 if the output has no dim 1
  int64_t kernel_h = 0, kernel_w = 0;  // window (conv, pools); 0 otherwise
  int64_t stride = 1;        // first stride (square strides assumed, as in every zoo model)
  int64_t padding = 0;       // first padding
  int64_t groups = 1;
  ir::Precision precision = ir::Precision::kFp32;

  // Canonical text form, the LUT's storage key and the wire format:
  // "conv2d_relu|1x64x28x28|o128|k3x3|s2|p1|g1|int8". Parse(ToString()) == *this.
  std::string ToString() const;
  static Result<KernelKey> Parse(const std::string& s);
  bool operator==(const KernelKey& o) const;
  bool operator<(const KernelKey& o) const;  // for maps; orders by ToString()
};

// One kernel of a concrete graph: its key plus the numbers the roofline needs.
struct KernelInstance {
  KernelKey key;
  std::string node;      // the graph node it comes from
  ir::Shape output;      // output shape, batch concrete
  int64_t macs = 0;      // multiply-accumulates for the whole batch
  int64_t bytes = 0;     // bytes read + written: inputs, parameters (at their stored dtype), output
};

// The kernels of `g` for concrete input shapes (e.g. batch 1), in execution order. Every node
// is one kernel, including cheap ones (flatten, quantize): they cost dispatch time too.
Result<std::vector<KernelInstance>> KernelsOf(const ir::Graph& g,
                                              const std::vector<ir::Shape>& input_shapes);
// The graph's single input with batch `batch` substituted for a dynamic batch dimension.
Result<std::vector<KernelInstance>> KernelsOf(const ir::Graph& g, int64_t batch);

}  // namespace hadmc::hal
