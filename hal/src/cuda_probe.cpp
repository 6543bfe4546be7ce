// The CUDA question asked of LibTorch itself, kept in its own file: it is the only part of
// detection and backends that includes torch.
#include <ATen/Version.h>
#include <torch/cuda.h>

#include <exception>

#include "hadmc/hal/backend.h"

namespace hadmc::hal {

CudaStatus ProbeCuda() {
  CudaStatus s;
  try {
    // The build settings line says USE_CUDA=ON|OFF; device_count() alone cannot tell a CPU-only
    // build from a CUDA build on a machine without a visible GPU.
    s.built_with_cuda = at::show_config().find("USE_CUDA=ON") != std::string::npos;
    s.devices = s.built_with_cuda ? static_cast<int>(torch::cuda::device_count()) : 0;
  } catch (const std::exception& e) {
    s.summary = std::string("LibTorch's CUDA probe failed: ") + e.what();
    return s;
  }
  if (!s.built_with_cuda)
    s.summary =
        "the linked LibTorch is built without CUDA (USE_CUDA=OFF; Debian's libtorch-dev "
        "is CPU-only; rebuild with -DTorch_DIR=<a CUDA LibTorch>)";
  else if (s.devices == 0)
    s.summary =
        "the linked LibTorch has CUDA but sees no device (driver, permissions or "
        "CUDA_VISIBLE_DEVICES)";
  else
    s.summary = "LibTorch has CUDA and sees " + std::to_string(s.devices) + " device(s)";
  return s;
}

}  // namespace hadmc::hal
