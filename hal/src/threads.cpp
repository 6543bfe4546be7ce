#include "hadmc/hal/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "hadmc/common/log.h"

namespace hadmc::hal {
namespace {

// OpenBLAS's thread controls, looked up at run time: the BLAS is whatever the system alternative
// provides (OpenBLAS, reference BLAS, BLIS), so there is nothing to link against.
using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();

// The kernel's struct sched_attr (linux/sched/types.h clashes with <sched.h>; glibc 2.36 has no
// sched_setattr wrapper). The layout is the kernel ABI, SCHED_ATTR_SIZE_VER1.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};
static_assert(sizeof(SchedAttr) == 56, "SCHED_ATTR_SIZE_VER1");

template <typename Fn>
Fn Lookup(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

int AvailableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<int>(online) : 1;
}

int BlasThreads() {
  if (auto get = Lookup<GetThreadsFn>("openblas_get_num_threads")) return get();
  return -1;
}

ThreadSettings ConfigureThreads(int threads) {
  if (threads <= 0) threads = AvailableCpus();
  at::set_num_threads(threads);
  if (auto set = Lookup<SetThreadsFn>("openblas_set_num_threads")) set(1);
  return ThreadSettings{at::get_num_threads(), BlasThreads()};
}

bool MakeThisThreadBackground(int nice) {
  bool ok = true;
  // LibTorch sets each thread's OpenMP thread count once, lazily, on the thread's first parallel
  // op (or get_num_threads); after that a per-thread omp_set_num_threads sticks. OpenMP's
  // controls are per thread, so the serving threads keep their teams.
  (void)at::get_num_threads();
  if (auto set = Lookup<SetThreadsFn>("omp_set_num_threads")) set(1);
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice) != 0) {
    Log().warn("cannot lower a background thread's priority to nice {}: {}", nice,
               std::strerror(errno));
    ok = false;
  }
  SetThisThreadSlice(BackgroundSliceUs(), nice);
  return ok;
}

int BackgroundSliceUs() {
  if (const char* env = std::getenv("HADMC_BACKGROUND_SLICE_US")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 0 && v <= 100'000) return static_cast<int>(v);
    Log().warn("HADMC_BACKGROUND_SLICE_US={} is not 0..100000; using {}", env, kBackgroundSliceUs);
  }
  return kBackgroundSliceUs;
}

bool SetThisThreadSlice(int slice_us, int nice) {
  if (slice_us <= 0) return true;
  SchedAttr attr{};
  attr.size = sizeof(attr);
  attr.sched_policy = SCHED_OTHER;
  attr.sched_nice = nice;
  attr.sched_runtime = static_cast<uint64_t>(slice_us) * 1000;  // ns
  if (::syscall(SYS_sched_setattr, 0, &attr, 0) != 0) {
    Log().debug("sched_setattr(slice {} us): {}", slice_us, std::strerror(errno));
    return false;
  }
  return true;
}

}  // namespace hadmc::hal
