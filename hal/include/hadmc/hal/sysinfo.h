// What every measured number depends on: LibTorch build, the BLAS actually loaded, thread count,
// quantized engines and CPU extensions. `hadmc sysinfo` prints it; benchmark reports embed it.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "hadmc/hal/cpu_features.h"

namespace hadmc::hal {

enum class BlasKind {
  kNone,       // no BLAS shared object is mapped (a static or MKL-only LibTorch)
  kOpenBlas,   // OpenBLAS (Debian libopenblas0-*): the fast path
  kReference,  // Netlib reference BLAS (Debian libblas3): ~9x slower fp32 convs
  kMkl,        // Intel MKL
  kOther,      // BLIS, Arm Performance Libraries, ...
};

// "none", "OpenBLAS", "reference BLAS (slow!)", "MKL" or "other".
const char* BlasKindName(BlasKind kind);

struct BlasInfo {
  BlasKind kind = BlasKind::kNone;
  // The shared object that provides sgemm_ to this process (what LibTorch calls), resolved to a
  // real path; empty if none.
  std::string provider;
  // Every mapped file whose name contains "blas", from /proc/self/maps, in map order.
  std::vector<std::string> mapped;
  // Where the Debian alternative libblas.so.3-<multiarch> points (resolved), or empty if the
  // system has no such alternative.
  std::string alternative;
};

struct SystemInfo {
  std::string torch_version;  // "1.13.0" (TORCH_VERSION of the headers we built against)
  int torch_threads = 0;      // at::get_num_threads() at collection time
  int torch_interop_threads = 0;
  int blas_threads = -1;  // the BLAS's own pool (OpenBLAS), -1 if it has no such control
  std::string allocator;  // C heap settings for tensors (hal/allocator.h)
  std::vector<std::string> quantized_engines;  // supported: "QNNPACK", "ONEDNN", ...
  std::string quantized_engine;                // the current one
  bool has_openmp = false;
  bool has_mkldnn = false;  // oneDNN (MKLDNN) kernels compiled in
  bool has_mkl = false;
  bool has_lapack = false;
  BlasInfo blas;
  CpuFeatures cpu;
  int online_cpus = 0;    // sysconf(_SC_NPROCESSORS_ONLN)
  int affinity_cpus = 0;  // CPUs this process may run on (containers and taskset narrow it)
  std::string kernel;     // "Linux 6.1.0-18-amd64 x86_64"
};

// Gathers the facts of this process and machine. Reads /proc/self/maps, /proc/cpuinfo and the
// BLAS alternative; call after the thread count is set so torch_threads reports what runs.
SystemInfo CollectSystemInfo();

// Things that make measured numbers misleading, as sentences (reference BLAS, one thread on a
// multi-core machine, ...). Empty when nothing is wrong.
std::vector<std::string> SystemInfoWarnings(const SystemInfo& info);

// Machine-readable form, stable keys (see the definition for the schema); includes "warnings".
nlohmann::json ToJson(const SystemInfo& info);

}  // namespace hadmc::hal
