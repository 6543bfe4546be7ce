// The kernel interface between the executor and the op table. An op's bind_kernel parses the
// node's attributes once and returns a BoundKernel; the executor then calls it per run.
#pragma once

#include <cstddef>
#include <functional>

#include <ATen/core/Tensor.h>

namespace hadmc::exec {

struct KernelArgs {
  const at::Tensor* inputs = nullptr;  // the node's inputs, in order
  size_t num_inputs = 0;
  const at::Tensor* params = nullptr;  // one per OpDef param slot, in slot order; undefined if
                                       // the node does not use an optional slot
  bool training = false;               // batch statistics for BN, dropout-like behaviour
};

struct BoundKernel {
  std::function<at::Tensor(const KernelArgs&)> run;
};

}  // namespace hadmc::exec
