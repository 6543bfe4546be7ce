#include "hadmc/hal/threads.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>
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

namespace hadmc::hal {
namespace {

TEST(BackgroundThreadTest, OneTorchThreadAndLowPriorityOnThatThreadOnly) {
  ConfigureThreads(2);
  const int main_threads = at::get_num_threads();
  const int main_nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  const int want = std::min(19, main_nice + 3);  // lower only: raising needs privileges
  int bg_threads = 0, bg_nice = 0;
  std::thread t([&] {
    EXPECT_TRUE(MakeThisThreadBackground(want));
    bg_threads = at::get_num_threads();
    errno = 0;
    bg_nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
    // Ops still run (on this one thread).
    EXPECT_EQ(at::ones({64, 64}).matmul(at::ones({64, 64})).sum().item<float>(), 64.f * 64 * 64);
  });
  t.join();
  EXPECT_EQ(bg_threads, 1);
  EXPECT_EQ(bg_nice, want);
  EXPECT_EQ(at::get_num_threads(), main_threads);  // the caller's team is untouched
  EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())), main_nice);
}

}  // namespace
}  // namespace hadmc::hal
