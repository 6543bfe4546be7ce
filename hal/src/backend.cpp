#include "hadmc/hal/backend.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

namespace hadmc::hal {
namespace {

// A backend whose facts are fixed when it is made.
class FixedBackend : public ExecutionBackend {
 public:
  FixedBackend(std::string name, bool available, std::string reason, std::string device)
      : name_(std::move(name)),
        available_(available),
        reason_(std::move(reason)),
        device_(std::move(device)) {}
  std::string name() const override { return name_; }
  bool available() const override { return available_; }
  std::string reason() const override { return reason_; }
  std::string torch_device() const override { return device_; }

 private:
  std::string name_;
  bool available_;
  std::string reason_;
  std::string device_;
};

std::unique_ptr<ExecutionBackend> MakeCpu(const DeviceInfo& info) {
  return std::make_unique<FixedBackend>(
      "cpu", true,
      "LibTorch CPU kernels, always built; " + std::to_string(info.cpu_cores) + " CPUs", "cpu");
}

std::unique_ptr<ExecutionBackend> MakeCuda(const DeviceInfo&) {
  const CudaStatus cuda = ProbeCuda();
  return std::make_unique<FixedBackend>("cuda", cuda.devices > 0, cuda.summary, "cuda:0");
}

// Ascend and MLU: this build has no executor for them. The reason says whether the device is
// there and what would make it run.
BackendFactory VendorStub(const std::string& name, const std::string& device_class,
                          const std::string& sdk) {
  return [=](const DeviceInfo& info) -> std::unique_ptr<ExecutionBackend> {
    std::string reason;
    if (info.device_class == device_class) {
      const std::string nodes = info.accelerators.empty() ? "" : " (" + info.accelerators[0] + ")";
      reason = "device detected" + nodes + " but not executable: this build does not link " + sdk +
               "; a plugin registered with RegisterBackendFactory(\"" + name + "\") would run it";
    } else {
      reason = "no such device detected";
    }
    return std::make_unique<FixedBackend>(name, false, reason, "");
  };
}

struct Registry {
  std::mutex mu;
  std::map<std::string, BackendFactory> factories;
  std::vector<std::string> order;  // preference order
};

Registry& GetRegistry() {
  static Registry* r = [] {
    auto* reg = new Registry;
    reg->factories["ascend"] = VendorStub("ascend", "ascend_310", "Huawei CANN (torch_npu)");
    reg->factories["mlu"] = VendorStub("mlu", "mlu370", "Cambricon Neuware (torch_mlu)");
    reg->factories["cuda"] = MakeCuda;
    reg->factories["cpu"] = MakeCpu;
    reg->order = {"ascend", "mlu", "cuda", "cpu"};
    return reg;
  }();
  return *r;
}

}  // namespace

void RegisterBackendFactory(const std::string& name, BackendFactory factory) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (!r.factories.count(name)) {
    // A new accelerator: preferred over the generic cuda and cpu backends.
    auto generic = std::find(r.order.begin(), r.order.end(), "cuda");
    r.order.insert(generic, name);
  }
  r.factories[name] = std::move(factory);
}

std::vector<std::unique_ptr<ExecutionBackend>> Backends(const DeviceInfo& info) {
  std::vector<std::pair<std::string, BackendFactory>> factories;
  {
    Registry& r = GetRegistry();
    std::lock_guard<std::mutex> lock(r.mu);
    for (const std::string& name : r.order) factories.emplace_back(name, r.factories.at(name));
  }
  std::vector<std::unique_ptr<ExecutionBackend>> out;
  for (const auto& [name, make] : factories) {
    std::unique_ptr<ExecutionBackend> b = make(info);
    if (b) out.push_back(std::move(b));
  }
  return out;
}

Result<BackendChoice> SelectBackend(const std::string& preferred, const DeviceInfo& info) {
  const std::vector<std::unique_ptr<ExecutionBackend>> all = Backends(info);
  const ExecutionBackend* cpu = nullptr;
  const ExecutionBackend* wanted = nullptr;
  std::string names;
  for (const auto& b : all) {
    names += (names.empty() ? "" : ", ") + b->name();
    if (b->name() == "cpu") cpu = b.get();
    if (b->name() == preferred) wanted = b.get();
  }
  if (cpu == nullptr || !cpu->available())
    return MakeError(Errc::kInternal, "the cpu backend is not available (a plugin replaced it?)");
  if (preferred.empty() || preferred == "auto") {
    for (const auto& b : all)
      if (b->available()) return BackendChoice{b->name(), b->torch_device(), ""};
  }
  if (wanted == nullptr)
    return MakeError(Errc::kInvalidArgument,
                     "unknown backend '" + preferred + "' (known: auto, " + names + ")");
  if (wanted->available()) return BackendChoice{wanted->name(), wanted->torch_device(), ""};
  return BackendChoice{"cpu", cpu->torch_device(),
                       "backend '" + preferred + "' cannot execute here: " + wanted->reason() +
                           "; running on cpu instead"};
}

nlohmann::json BackendsJson(const DeviceInfo& info) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& b : Backends(info))
    out.push_back({{"name", b->name()}, {"available", b->available()}, {"reason", b->reason()}});
  return out;
}

}  // namespace hadmc::hal
