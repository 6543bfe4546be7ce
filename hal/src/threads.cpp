#include "hadmc/hal/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hadmc/common/log.h"

namespace hadmc::hal {
namespace {

// OpenBLAS's thread controls, looked up at run time: the BLAS is whatever the system alternative
// provides (OpenBLAS, reference BLAS, BLIS), so there is nothing to link against.
using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();

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

void UseOneTorchThreadHere() {
  // LibTorch sets each thread's OpenMP thread count once, lazily, on the thread's first parallel
  // op (or get_num_threads); after that a per-thread omp_set_num_threads sticks. OpenMP's
  // controls are per thread, so the other threads keep their teams. (at::set_num_threads would
  // also change the process-wide default that new threads start with.)
  (void)at::get_num_threads();
  if (auto set = Lookup<SetThreadsFn>("omp_set_num_threads")) set(1);
}

bool MakeThisThreadBackground(int nice) {
  bool ok = true;
  UseOneTorchThreadHere();
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice) != 0) {
    Log().warn("cannot lower a background thread's priority to nice {}: {}", nice,
               std::strerror(errno));
    ok = false;
  }
  return ok;
}

}  // namespace hadmc::hal
