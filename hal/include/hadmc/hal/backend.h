// Execution backends: where a graph's kernels can run in this process. Built in: "cpu" (always),
// "cuda" (only when the LibTorch this binary links has CUDA and sees a device — Debian's
// libtorch-dev is CPU-only), and "ascend" and "mlu", which report the device when detect.h sees
// it but cannot execute: that needs the vendor SDK (CANN / torch_npu, Cambricon Neuware /
// torch_mlu), which this build does not link. A vendor plugin replaces one of those by name with
// RegisterBackendFactory. SelectBackend never names a backend that cannot run: when the preferred
// one cannot, it answers "cpu" and says why in a warning. Torch-free header.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/hal/detect.h"

namespace hadmc::hal {

class ExecutionBackend {
 public:
  virtual ~ExecutionBackend() = default;
  virtual std::string name() const = 0;
  // True when graphs can run on it in this process, now.
  virtual bool available() const = 0;
  // Why it is or is not available, in a sentence a user can act on.
  virtual std::string reason() const = 0;
  // The LibTorch device string the executor places tensors on ("cpu", "cuda:0"; a plugin built
  // on a PyTorch device extension gives its own, e.g. "npu:0"). Meaningful only when available.
  virtual std::string torch_device() const = 0;
};

// Makes the backend for this machine; `info` is what detection saw.
using BackendFactory = std::function<std::unique_ptr<ExecutionBackend>(const DeviceInfo& info)>;

// The plugin hook: registers (or replaces, by name) the factory for backend `name`. A vendor
// plugin — a shared object linked against the vendor SDK — calls it from a static initializer or
// an init function with name "ascend" or "mlu" to turn the detected-but-unavailable backend into
// one that executes. Thread-safe.
void RegisterBackendFactory(const std::string& name, BackendFactory factory);

// Every registered backend, built for `info`, in preference order: vendor accelerators
// ("ascend", "mlu", then any plugin-added name), "cuda", "cpu".
std::vector<std::unique_ptr<ExecutionBackend>> Backends(const DeviceInfo& info);

struct BackendChoice {
  std::string backend;       // the backend that will run: always an available one
  std::string torch_device;  // its device string
  std::string warning;       // non-empty when `preferred` could not be honoured, saying why
};

// `preferred`: a backend name, or "auto" / "" for the first available in preference order.
// kInvalidArgument for a name no factory is registered under (the message lists them).
Result<BackendChoice> SelectBackend(const std::string& preferred, const DeviceInfo& info);

// Whether the linked LibTorch has CUDA and how many devices it sees, and a sentence saying so.
struct CudaStatus {
  bool built_with_cuda = false;
  int devices = 0;
  std::string summary;
};
CudaStatus ProbeCuda();  // defined in cuda_probe.cpp, the only torch-including file of this part

nlohmann::json BackendsJson(const DeviceInfo& info);  // [{"name","available","reason"}, ...]

}  // namespace hadmc::hal
