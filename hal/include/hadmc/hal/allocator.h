// How the C heap hands memory to LibTorch's CPU tensors.
//
// LibTorch allocates every CPU tensor with posix_memalign and frees it when the last reference
// goes, so a training step allocates and frees the same multi-MiB activations over and over.
// glibc's defaults serve blocks above a dynamic threshold (128 KiB at start) with a fresh mmap
// and give freed heap top back to the kernel past a trim threshold, so each step pays page
// faults and zeroing for memory it just released. Measured on a 2-core machine, resnet8 on
// Fashion-MNIST at batch 256: 557 images/s and 15 s of system time per 12,800 images with the
// defaults, 1,936 images/s and 1.4 s with a 32 MiB mmap threshold and a 1 GiB trim threshold
// (docs/benchmarks.md). The cost: freed memory stays in the process (RSS keeps its peak).
#pragma once

#include <cstddef>
#include <string>

namespace hadmc::hal {

struct AllocatorSettings {
  bool configured = false;   // false: glibc defaults (not glibc, or the user set MALLOC_*_)
  size_t mmap_threshold = 0; // bytes; blocks at least this big get their own mmap
  size_t trim_threshold = 0; // bytes of free heap top kept before returning it to the kernel
  std::string note;          // one line for sysinfo
};

// Sets the thresholds above (glibc's mallopt), unless the environment already sets
// MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ or HADMC_MALLOC=default. Call once at start,
// before the first large tensor. Safe to call more than once.
AllocatorSettings ConfigureAllocator();

// What ConfigureAllocator decided (defaults until it has run).
AllocatorSettings CurrentAllocatorSettings();

}  // namespace hadmc::hal
