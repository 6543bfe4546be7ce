// CPU facts that decide which kernels are fast on a machine: model, core counts and the
// instruction-set extensions the int8/fp16 kernels depend on (VNNI or dot-product for int8,
// F16C/FP16 for half precision). Parsed from /proc/cpuinfo text so that it is testable on any host.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace hadmc::hal {

enum class CpuArch { kUnknown, kX86, kArm };

// "x86", "arm" or "unknown".
const char* CpuArchName(CpuArch arch);

// One named extension as reported to users: "AVX512-VNNI" is present when cpuinfo lists
// "avx512_vnni".
struct CpuFeature {
  std::string name;  // display name, e.g. "AVX2", "dotprod"
  bool present = false;
};

struct CpuFeatures {
  CpuArch arch = CpuArch::kUnknown;
  // "AMD EPYC 7B13"; on ARM, where the kernel often prints no model name, "ARM Cortex-A78AE"
  // (from the implementer and part codes) or "implementer 0x41 part 0xd42". Empty if unknown.
  std::string model_name;
  int logical_cpus = 0;         // "processor" entries
  int physical_cores = 0;       // distinct (physical id, core id) pairs; 0 when cpuinfo omits them
  std::set<std::string> flags;  // raw "flags" (x86) or "Features" (ARM) tokens, as printed

  bool Has(const std::string& flag) const { return flags.count(flag) != 0; }

  // The extensions that matter for this project's kernels, in report order, for this arch:
  // x86: AVX2, AVX-512F, AVX512-VNNI, AVX-VNNI, SHA-NI, F16C, FMA;
  // ARM: asimd, dotprod, i8mm, fp16, bf16, sve, sha2.
  std::vector<CpuFeature> KeyFeatures() const;

  // True when the CPU has int8 dot-product instructions (AVX512-VNNI or AVX-VNNI on x86,
  // dotprod on ARM). Without them, oneDNN's u8*s8 products saturate and int8 weights need
  // reduce-range (7-bit) quantization (DESIGN.md, "Quantization on LibTorch 1.13").
  bool HasInt8DotProduct() const;
};

// Parses the text of /proc/cpuinfo (x86 or ARM layout). Pure: never touches the file system.
// Unknown or missing fields leave the defaults; an empty text gives arch kUnknown.
CpuFeatures ParseCpuInfo(const std::string& cpuinfo_text);

}  // namespace hadmc::hal
