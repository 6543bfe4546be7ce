#include "hadmc/hal/backend.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace hadmc::hal {
namespace {

DeviceInfo FakeDevice(const std::string& device_class, std::vector<std::string> nodes = {}) {
  DeviceInfo info;
  info.device_class = device_class;
  info.cpu_cores = 2;
  info.accelerators = std::move(nodes);
  return info;
}

const ExecutionBackend* Find(const std::vector<std::unique_ptr<ExecutionBackend>>& all,
                             const std::string& name) {
  for (const auto& b : all)
    if (b->name() == name) return b.get();
  return nullptr;
}

TEST(BackendTest, CpuAlwaysRunsCudaOnlyWithACudaLibTorch) {
  const auto all = Backends(FakeDevice("x86_cpu"));
  const ExecutionBackend* cpu = Find(all, "cpu");
  ASSERT_NE(cpu, nullptr);
  EXPECT_TRUE(cpu->available());
  EXPECT_EQ(cpu->torch_device(), "cpu");
  const ExecutionBackend* cuda = Find(all, "cuda");
  ASSERT_NE(cuda, nullptr);
  const CudaStatus probe = ProbeCuda();
  EXPECT_EQ(cuda->available(), probe.devices > 0);
  EXPECT_EQ(cuda->reason(), probe.summary);
  if (!probe.built_with_cuda) {
    EXPECT_FALSE(cuda->available());
    EXPECT_NE(cuda->reason().find("without CUDA"), std::string::npos) << cuda->reason();
  }
}

TEST(BackendTest, DetectedAscendIsReportedButNotExecutable) {
  const DeviceInfo ascend = FakeDevice("ascend_310", {"/dev/davinci0"});
  const auto all = Backends(ascend);
  const ExecutionBackend* b = Find(all, "ascend");
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->available());
  EXPECT_NE(b->reason().find("device detected (/dev/davinci0) but not executable"),
            std::string::npos)
      << b->reason();
  EXPECT_NE(b->reason().find("RegisterBackendFactory(\"ascend\")"), std::string::npos);

  auto choice = SelectBackend("ascend", ascend);
  ASSERT_TRUE(choice) << choice.error().String();
  EXPECT_EQ(choice->backend, "cpu");  // what will really run
  EXPECT_EQ(choice->torch_device, "cpu");
  EXPECT_NE(choice->warning.find("backend 'ascend' cannot execute here"), std::string::npos)
      << choice->warning;
  EXPECT_NE(choice->warning.find("running on cpu instead"), std::string::npos);
}

TEST(BackendTest, MluWithoutADeviceSaysSo) {
  auto choice = SelectBackend("mlu", FakeDevice("x86_cpu"));
  ASSERT_TRUE(choice) << choice.error().String();
  EXPECT_EQ(choice->backend, "cpu");
  EXPECT_NE(choice->warning.find("no such device detected"), std::string::npos) << choice->warning;
}

TEST(BackendTest, AutoAndCpuNeedNoWarning) {
  const DeviceInfo cpu_box = FakeDevice("x86_cpu");
  auto cpu = SelectBackend("cpu", cpu_box);
  ASSERT_TRUE(cpu) << cpu.error().String();
  EXPECT_EQ(cpu->backend, "cpu");
  EXPECT_TRUE(cpu->warning.empty());
  auto autos = SelectBackend("auto", cpu_box);
  ASSERT_TRUE(autos) << autos.error().String();
  EXPECT_EQ(autos->backend, ProbeCuda().devices > 0 ? "cuda" : "cpu");
  EXPECT_TRUE(autos->warning.empty());
}

TEST(BackendTest, UnknownBackendIsRefusedWithTheKnownNames) {
  auto choice = SelectBackend("tpu", FakeDevice("x86_cpu"));
  ASSERT_FALSE(choice);
  EXPECT_TRUE(choice.error().Is(Errc::kInvalidArgument));
  EXPECT_NE(choice.error().message().find("known: auto, ascend, mlu, cuda, cpu"), std::string::npos)
      << choice.error().String();
}

// A plugin that executes only on its own (fake) device class, so that registering it does not
// change what the other tests in this process see.
class FakeNpuBackend : public ExecutionBackend {
 public:
  explicit FakeNpuBackend(bool present) : present_(present) {}
  std::string name() const override { return "fake_npu"; }
  bool available() const override { return present_; }
  std::string reason() const override { return present_ ? "fake SDK loaded" : "no fake device"; }
  std::string torch_device() const override { return "privateuseone:0"; }

 private:
  bool present_;
};

TEST(BackendTest, APluginIsPreferredWhereItsDeviceIs) {
  RegisterBackendFactory("fake_npu", [](const DeviceInfo& info) {
    return std::make_unique<FakeNpuBackend>(info.device_class == "fake_class");
  });
  auto on_device = SelectBackend("auto", FakeDevice("fake_class"));
  ASSERT_TRUE(on_device) << on_device.error().String();
  EXPECT_EQ(on_device->backend, "fake_npu");
  EXPECT_EQ(on_device->torch_device, "privateuseone:0");
  auto elsewhere = SelectBackend("fake_npu", FakeDevice("x86_cpu"));
  ASSERT_TRUE(elsewhere) << elsewhere.error().String();
  EXPECT_EQ(elsewhere->backend, "cpu");
  EXPECT_NE(elsewhere->warning.find("no fake device"), std::string::npos);
  const nlohmann::json j = BackendsJson(FakeDevice("fake_class"));
  ASSERT_EQ(j.size(), 5u);  // ascend, mlu, fake_npu, cuda, cpu
  EXPECT_EQ(j[2]["name"], "fake_npu");
  EXPECT_EQ(j[2]["available"], true);
}

}  // namespace
}  // namespace hadmc::hal
