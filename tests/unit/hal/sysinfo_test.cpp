#include "hadmc/hal/sysinfo.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace hadmc::hal {
namespace {

bool AnyContains(const std::vector<std::string>& items, const std::string& needle) {
  for (const std::string& s : items) {
    if (s.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(CollectSystemInfoTest, ReportsTorchThreadsAndCpus) {
  const SystemInfo info = CollectSystemInfo();
  EXPECT_FALSE(info.torch_version.empty());
  EXPECT_GE(info.torch_threads, 1);
  EXPECT_GE(info.torch_interop_threads, 1);
  EXPECT_GE(info.online_cpus, 1);
  EXPECT_GE(info.affinity_cpus, 1);
  EXPECT_GE(info.cpu.logical_cpus, 1);  // /proc/cpuinfo exists on every Linux host we support
  if (!info.quantized_engines.empty()) {
    EXPECT_FALSE(info.quantized_engine.empty());
  }
}

// DESIGN.md: fp32 baselines are only honest with OpenBLAS; scripts/setup.sh selects it.
TEST(CollectSystemInfoTest, ReferenceBlasIsNotLoaded) {
  const SystemInfo info = CollectSystemInfo();
  EXPECT_STRNE(BlasKindName(info.blas.kind), BlasKindName(BlasKind::kReference))
      << "LibTorch calls " << info.blas.provider << "; run scripts/setup.sh";
  if (info.blas.kind != BlasKind::kNone) {
    EXPECT_FALSE(info.blas.provider.empty());
  }
}

TEST(SystemInfoWarningsTest, HealthySetupHasNone) {
  SystemInfo info;
  info.blas.kind = BlasKind::kOpenBlas;
  info.torch_threads = 2;
  info.affinity_cpus = 2;
  info.online_cpus = 2;
  EXPECT_TRUE(SystemInfoWarnings(info).empty());
}

TEST(SystemInfoWarningsTest, FlagsReferenceBlasSingleThreadAndOversubscription) {
  SystemInfo info;
  info.blas.kind = BlasKind::kReference;
  info.blas.provider = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3";
  info.torch_threads = 1;
  info.affinity_cpus = 4;
  const auto warnings = SystemInfoWarnings(info);
  EXPECT_TRUE(AnyContains(warnings, "reference BLAS"));
  EXPECT_TRUE(AnyContains(warnings, "--threads 4"));

  info.blas.kind = BlasKind::kOpenBlas;
  info.torch_threads = 8;
  info.affinity_cpus = 2;
  EXPECT_TRUE(AnyContains(SystemInfoWarnings(info), "oversubscription"));
}

TEST(SystemInfoJsonTest, HasStableKeys) {
  SystemInfo info;
  info.torch_version = "1.13.0";
  info.blas.kind = BlasKind::kReference;
  info.cpu = ParseCpuInfo("processor : 0\nmodel name : Test CPU\nflags : avx2 avx512_vnni\n");
  const nlohmann::json j = ToJson(info);
  EXPECT_EQ(j.at("torch").at("version"), "1.13.0");
  EXPECT_EQ(j.at("blas").at("kind"), "reference");
  EXPECT_EQ(j.at("cpu").at("arch"), "x86");
  EXPECT_EQ(j.at("cpu").at("model"), "Test CPU");
  EXPECT_EQ(j.at("cpu").at("features").at("AVX2"), true);
  EXPECT_EQ(j.at("cpu").at("features").at("AVX-512F"), false);
  EXPECT_EQ(j.at("cpu").at("int8_dot_product"), true);
  EXPECT_TRUE(j.at("warnings").is_array());
  EXPECT_FALSE(j.at("warnings").empty());
}

}  // namespace
}  // namespace hadmc::hal
