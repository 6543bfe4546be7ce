// Background-thread scheduling: the short EEVDF slice is really applied (read back through
// sched_getattr) on kernels that support custom slices.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <thread>

#include "hadmc/hal/threads.h"

namespace {

struct SchedAttr {  // the kernel ABI, SCHED_ATTR_SIZE_VER1
  uint32_t size, sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
  uint32_t sched_util_min, sched_util_max;
};

bool KernelAtLeast(int major, int minor) {
  utsname u{};
  if (uname(&u) != 0) return false;
  int ma = 0, mi = 0;
  if (std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

TEST(SchedSliceTest, ShortSliceAndNiceAreApplied) {
  if (!KernelAtLeast(6, 12)) GTEST_SKIP() << "custom SCHED_OTHER slices need Linux >= 6.12";
  uint64_t runtime = 0;
  int nice = 0;
  bool set = false;
  std::thread t([&] {
    const int current = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
    set = hadmc::hal::SetThisThreadSlice(250, current < 19 ? current + 1 : current);
    SchedAttr attr{};
    if (syscall(SYS_sched_getattr, 0, &attr, sizeof(attr), 0) == 0) {
      runtime = attr.sched_runtime;
      nice = attr.sched_nice;
    }
    EXPECT_EQ(nice, current < 19 ? current + 1 : current);
  });
  t.join();
  ASSERT_TRUE(set);
  EXPECT_EQ(runtime, 250'000u);  // ns
}

TEST(SchedSliceTest, ZeroSliceLeavesTheThreadAlone) {
  EXPECT_TRUE(hadmc::hal::SetThisThreadSlice(0, 0));
}

}  // namespace
