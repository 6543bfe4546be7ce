#include "hadmc/hal/sysinfo.h"

#include "hadmc/hal/allocator.h"
#include "hadmc/hal/threads.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sched.h>
#include <sys/utsname.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "hadmc/common/log.h"

namespace hadmc::hal {
namespace {

namespace fs = std::filesystem;

// Debian registers the system BLAS as the alternative "libblas.so.3-<multiarch>".
#if defined(__x86_64__)
constexpr const char* kMultiarch = "x86_64-linux-gnu";
#elif defined(__aarch64__)
constexpr const char* kMultiarch = "aarch64-linux-gnu";
#elif defined(__arm__)
constexpr const char* kMultiarch = "arm-linux-gnueabihf";
#else
constexpr const char* kMultiarch = "";
#endif

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Resolves symlinks (/lib -> /usr/lib, /etc/alternatives/...); returns `path` if that fails.
std::string RealPath(const std::string& path) {
  std::error_code ec;
  const fs::path real = fs::canonical(path, ec);
  return ec ? path : real.string();
}

BlasKind ClassifyBlas(const std::string& path) {
  if (path.empty()) return BlasKind::kNone;
  const std::string lower = Lower(path);
  const std::string file = fs::path(lower).filename().string();
  if (lower.find("openblas") != std::string::npos) return BlasKind::kOpenBlas;
  if (lower.find("mkl") != std::string::npos) return BlasKind::kMkl;
  // Netlib's libblas.so.3 (Debian: /usr/lib/<multiarch>/blas/); BLIS, ArmPL and ATLAS ship
  // their own directories or names and land in kOther.
  if (file.rfind("libblas.so", 0) == 0 && lower.find("blis") == std::string::npos &&
      lower.find("atlas") == std::string::npos && lower.find("armpl") == std::string::npos) {
    return BlasKind::kReference;
  }
  return BlasKind::kOther;
}

// Files mapped into this process whose name contains "blas", in map order, without repeats.
std::vector<std::string> MappedBlasObjects() {
  std::vector<std::string> out;
  std::istringstream maps(ReadFile("/proc/self/maps"));
  for (std::string line; std::getline(maps, line);) {
    // address perms offset dev inode [path]; the path may contain spaces.
    std::istringstream fields(line);
    std::string address, perms, offset, dev, inode, path;
    fields >> address >> perms >> offset >> dev >> inode;
    std::getline(fields >> std::ws, path);
    if (path.empty() || path[0] != '/') continue;
    if (Lower(fs::path(path).filename().string()).find("blas") == std::string::npos) continue;
    if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
  }
  return out;
}

// The shared object that global symbol lookup binds sgemm_ to: the BLAS LibTorch's GEMMs call.
std::string SgemmProvider() {
  void* sym = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info info{};
  if (sym == nullptr || dladdr(sym, &info) == 0 || info.dli_fname == nullptr) return "";
  return RealPath(info.dli_fname);
}

BlasInfo CollectBlasInfo() {
  BlasInfo blas;
  blas.mapped = MappedBlasObjects();
  blas.provider = SgemmProvider();
  if (blas.provider.empty()) {
    // Symbol not in the global scope (e.g. LibTorch dlopen'ed RTLD_LOCAL): fall back to the
    // first mapped libblas/openblas object, which is what the loader bound first.
    for (const std::string& path : blas.mapped) {
      if (ClassifyBlas(path) != BlasKind::kOther) {
        blas.provider = RealPath(path);
        break;
      }
    }
  }
  blas.kind = ClassifyBlas(blas.provider);
  const std::string alternative = std::string("/etc/alternatives/libblas.so.3-") + kMultiarch;
  std::error_code ec;
  if (*kMultiarch != '\0' && fs::exists(alternative, ec)) blas.alternative = RealPath(alternative);
  return blas;
}

// Stable lower-case token for the JSON output.
const char* BlasKindId(BlasKind kind) {
  switch (kind) {
    case BlasKind::kOpenBlas:
      return "openblas";
    case BlasKind::kReference:
      return "reference";
    case BlasKind::kMkl:
      return "mkl";
    case BlasKind::kOther:
      return "other";
    default:
      return "none";
  }
}

int AffinityCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  return CPU_COUNT(&set);
}

std::string KernelDescription() {
  utsname u{};
  if (uname(&u) != 0) return "";
  return std::string(u.sysname) + " " + u.release + " " + u.machine;
}

}  // namespace

const char* BlasKindName(BlasKind kind) {
  switch (kind) {
    case BlasKind::kOpenBlas:
      return "OpenBLAS";
    case BlasKind::kReference:
      return "reference BLAS (slow!)";
    case BlasKind::kMkl:
      return "MKL";
    case BlasKind::kOther:
      return "other";
    default:
      return "none";
  }
}

SystemInfo CollectSystemInfo() {
  SystemInfo info;
  info.torch_version = TORCH_VERSION;
  // Touching the context and thread pool first makes sure libtorch_cpu (and the BLAS it needs)
  // is loaded and initialised before /proc/self/maps is read.
  at::Context& ctx = at::globalContext();
  info.torch_threads = at::get_num_threads();
  info.torch_interop_threads = static_cast<int>(at::get_num_interop_threads());
  info.blas_threads = BlasThreads();
  info.allocator = CurrentAllocatorSettings().note;
  for (at::QEngine e : ctx.supportedQEngines()) {
    if (e != at::QEngine::NoQEngine) info.quantized_engines.push_back(c10::toString(e));
  }
  try {
    info.quantized_engine = c10::toString(ctx.qEngine());
  } catch (const std::exception& e) {  // a build without any quantized engine
    Log().debug("no quantized engine: {}", e.what());
  }
  info.has_openmp = at::hasOpenMP();
  info.has_mkldnn = at::hasMKLDNN();
  info.has_mkl = at::hasMKL();
  info.has_lapack = at::hasLAPACK();

  info.blas = CollectBlasInfo();
  info.cpu = ParseCpuInfo(ReadFile("/proc/cpuinfo"));
  info.online_cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  info.affinity_cpus = AffinityCpus();
  info.kernel = KernelDescription();
  return info;
}

std::vector<std::string> SystemInfoWarnings(const SystemInfo& info) {
  std::vector<std::string> warnings;
  if (info.blas.kind == BlasKind::kReference) {
    const bool alternative_ok = ClassifyBlas(info.blas.alternative) == BlasKind::kOpenBlas;
    warnings.push_back("reference BLAS is loaded (" + info.blas.provider +
                       "): fp32 GEMM/conv run about 9x slower and fp32 baselines are not honest; " +
                       (alternative_ok ? "the system alternative is OpenBLAS, so check "
                                         "LD_LIBRARY_PATH and LD_PRELOAD"
                                       : "install libopenblas0-pthread (bash scripts/setup.sh)"));
  }
  if (info.blas_threads > 1 && info.torch_threads > 1) {
    warnings.push_back("the BLAS runs its own pool of " + std::to_string(info.blas_threads) +
                       " threads beside LibTorch's " + std::to_string(info.torch_threads) +
                       ": the pools fight over the cores (batch-1 latency about 3.5x worse); "
                       "hal::ConfigureThreads sets the BLAS to one thread");
  }
  const int cpus = info.affinity_cpus > 0 ? info.affinity_cpus : info.online_cpus;
  if (info.torch_threads == 1 && cpus > 1) {
    warnings.push_back("LibTorch runs 1 intra-op thread on a " + std::to_string(cpus) +
                       "-CPU machine; pass --threads " + std::to_string(cpus) +
                       " (or omit --threads) to use them");
  } else if (cpus > 0 && info.torch_threads > cpus) {
    warnings.push_back("LibTorch runs " + std::to_string(info.torch_threads) + " threads on " +
                       std::to_string(cpus) +
                       " available CPUs: oversubscription makes latencies noisy");
  }
  return warnings;
}

nlohmann::json ToJson(const SystemInfo& info) {
  nlohmann::json features = nlohmann::json::object();
  for (const CpuFeature& f : info.cpu.KeyFeatures()) features[f.name] = f.present;
  return {
      {"torch",
       {{"version", info.torch_version},
        {"threads", info.torch_threads},
        {"interop_threads", info.torch_interop_threads},
        {"quantized_engines", info.quantized_engines},
        {"quantized_engine", info.quantized_engine},
        {"openmp", info.has_openmp},
        {"mkldnn", info.has_mkldnn},
        {"mkl", info.has_mkl},
        {"lapack", info.has_lapack}}},
      {"blas",
       {{"kind", BlasKindId(info.blas.kind)},
        {"provider", info.blas.provider},
        {"mapped", info.blas.mapped},
        {"alternative", info.blas.alternative},
        {"threads", info.blas_threads}}},
      {"allocator", info.allocator},
      {"cpu",
       {{"arch", CpuArchName(info.cpu.arch)},
        {"model", info.cpu.model_name},
        {"logical_cpus", info.cpu.logical_cpus},
        {"physical_cores", info.cpu.physical_cores},
        {"online_cpus", info.online_cpus},
        {"affinity_cpus", info.affinity_cpus},
        {"features", features},
        {"int8_dot_product", info.cpu.HasInt8DotProduct()}}},
      {"kernel", info.kernel},
      {"warnings", SystemInfoWarnings(info)},
  };
}

}  // namespace hadmc::hal
