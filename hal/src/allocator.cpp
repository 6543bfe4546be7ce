#include "hadmc/hal/allocator.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace hadmc::hal {
namespace {

constexpr size_t kMmapThreshold = size_t{32} << 20;  // glibc's maximum on 64-bit
constexpr size_t kTrimThreshold = size_t{1} << 30;

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}

AllocatorSettings& Current() {
  static AllocatorSettings s{false, 0, 0, "glibc defaults (ConfigureAllocator has not run)"};
  return s;
}

}  // namespace

AllocatorSettings ConfigureAllocator() {
  std::lock_guard<std::mutex> lock(Mu());
  AllocatorSettings& s = Current();
  if (s.configured) return s;
#if defined(__GLIBC__)
  const char* mode = std::getenv("HADMC_MALLOC");
  if ((mode && std::strcmp(mode, "default") == 0) || std::getenv("MALLOC_MMAP_THRESHOLD_") ||
      std::getenv("MALLOC_TRIM_THRESHOLD_")) {
    s.note = "glibc, thresholds left to the environment (HADMC_MALLOC / MALLOC_*_ set)";
    return s;
  }
  // mallopt returns 1 on success. Setting either threshold also turns off glibc's dynamic
  // adjustment, so both are set together (the trim threshold alone measured 87 images/s against
  // 557 with the defaults and 1,936 with both: docs/benchmarks.md).
  if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMmapThreshold)) == 1 &&
      mallopt(M_TRIM_THRESHOLD, static_cast<int>(kTrimThreshold)) == 1) {
    s = {true, kMmapThreshold, kTrimThreshold,
         "glibc, mmap threshold 32 MiB, trim threshold 1 GiB (freed tensors are reused)"};
  } else {
    s.note = "glibc, mallopt refused the thresholds: defaults in use";
  }
#else
  s.note = "not glibc: the C library's defaults";
#endif
  return s;
}

AllocatorSettings CurrentAllocatorSettings() {
  std::lock_guard<std::mutex> lock(Mu());
  return Current();
}

}  // namespace hadmc::hal
