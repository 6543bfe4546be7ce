#include "hadmc/hal/threads.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "hadmc/hal/sysinfo.h"

namespace hadmc::hal {
namespace {

TEST(ConfigureThreadsTest, SetsTorchThreadsAndSilencesTheBlasPool) {
  const int before = at::get_num_threads();
  const ThreadSettings s = ConfigureThreads(2);
  EXPECT_EQ(s.torch_threads, 2);
  EXPECT_EQ(at::get_num_threads(), 2);
  if (CollectSystemInfo().blas.kind == BlasKind::kOpenBlas) {
    // OpenBLAS has a thread control: it must now be off, and sysinfo must say so.
    EXPECT_EQ(s.blas_threads, 1);
    EXPECT_EQ(BlasThreads(), 1);
    for (const std::string& w : SystemInfoWarnings(CollectSystemInfo()))
      EXPECT_EQ(w.find("own pool"), std::string::npos) << w;
  }
  ConfigureThreads(before);
}

TEST(ConfigureThreadsTest, NonPositiveMeansOnePerAvailableCpu) {
  const int before = at::get_num_threads();
  EXPECT_EQ(ConfigureThreads(0).torch_threads, AvailableCpus());
  EXPECT_GE(AvailableCpus(), 1);
  ConfigureThreads(before);
}

TEST(SystemInfoWarningsTest, WarnsWhenTheBlasRunsItsOwnPoolBesideTorch) {
  SystemInfo info;
  info.torch_threads = 2;
  info.blas_threads = 2;
  info.online_cpus = info.affinity_cpus = 2;
  const auto warnings = SystemInfoWarnings(info);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("own pool of 2 threads"), std::string::npos) << warnings[0];
}

}  // namespace
}  // namespace hadmc::hal
