#include "hadmc/hal/cpu_features.h"

#include <iterator>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace hadmc::hal {
namespace {

std::string Trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const auto begin = s.find_first_not_of(ws);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(ws) - begin + 1);
}

std::set<std::string> SplitTokens(const std::string& s) {
  std::set<std::string> tokens;
  std::istringstream in(s);
  for (std::string t; in >> t;) tokens.insert(t);
  return tokens;
}

// A user-facing extension name and the cpuinfo tokens that mean it (ARMv7 says "neon" where
// AArch64 says "asimd").
struct FeatureSpelling {
  const char* name;
  std::vector<const char*> tokens;
};

const std::vector<FeatureSpelling>& KeyFeatureTable(CpuArch arch) {
  static const std::vector<FeatureSpelling> kX86 = {
      {"AVX2", {"avx2"}},         {"AVX-512F", {"avx512f"}}, {"AVX512-VNNI", {"avx512_vnni"}},
      {"AVX-VNNI", {"avx_vnni"}}, {"SHA-NI", {"sha_ni"}},    {"F16C", {"f16c"}},
      {"FMA", {"fma"}},
  };
  static const std::vector<FeatureSpelling> kArm = {
      {"asimd", {"asimd", "neon"}}, {"dotprod", {"asimddp"}}, {"i8mm", {"i8mm"}},
      {"fp16", {"asimdhp"}},        {"bf16", {"bf16"}},       {"sve", {"sve"}},
      {"sha2", {"sha2"}},
  };
  static const std::vector<FeatureSpelling> kNone;
  switch (arch) {
    case CpuArch::kX86:
      return kX86;
    case CpuArch::kArm:
      return kArm;
    default:
      return kNone;
  }
}

// ARM cores by (implementer, part) code, for kernels that print no "model name". Covers the
// edge targets in DESIGN.md (Jetson, Ascend 310 host cores) and common servers.
struct ArmPart {
  unsigned implementer;
  unsigned part;
  const char* name;
};
constexpr ArmPart kArmParts[] = {
    {0x41, 0xd03, "ARM Cortex-A53"},         {0x41, 0xd04, "ARM Cortex-A35"},
    {0x41, 0xd05, "ARM Cortex-A55"},         {0x41, 0xd07, "ARM Cortex-A57"},
    {0x41, 0xd08, "ARM Cortex-A72"},         {0x41, 0xd09, "ARM Cortex-A73"},
    {0x41, 0xd0a, "ARM Cortex-A75"},         {0x41, 0xd0b, "ARM Cortex-A76"},
    {0x41, 0xd0c, "ARM Neoverse-N1"},        {0x41, 0xd0d, "ARM Cortex-A77"},
    {0x41, 0xd40, "ARM Neoverse-V1"},        {0x41, 0xd41, "ARM Cortex-A78"},
    {0x41, 0xd42, "ARM Cortex-A78AE"},       {0x41, 0xd44, "ARM Cortex-X1"},
    {0x41, 0xd49, "ARM Neoverse-N2"},        {0x41, 0xd4f, "ARM Neoverse-V2"},
    {0x48, 0xd01, "HiSilicon TaiShan v110"}, {0x4e, 0x003, "NVIDIA Denver 2"},
    {0x4e, 0x004, "NVIDIA Carmel"},
};

// The core's name from its hex codes ("0x41", "0xd42"), or "" when the table does not know it.
std::string KnownArmCore(const std::string& implementer, const std::string& part) {
  if (implementer.empty() || part.empty()) return "";
  try {
    const unsigned long impl = std::stoul(implementer, nullptr, 0);
    const unsigned long prt = std::stoul(part, nullptr, 0);
    for (const ArmPart& p : kArmParts) {
      if (p.implementer == impl && p.part == prt) return p.name;
    }
  } catch (const std::exception&) {  // malformed codes: treat as unknown
  }
  return "";
}

// Keeps only the tokens every processor reports: on big.LITTLE parts a kernel may be scheduled
// on any core, so an extension counts only if all cores have it.
void IntersectInto(std::set<std::string>& acc, const std::set<std::string>& next, bool first) {
  if (first) {
    acc = next;
    return;
  }
  for (auto it = acc.begin(); it != acc.end();) {
    it = next.count(*it) ? std::next(it) : acc.erase(it);
  }
}

}  // namespace

const char* CpuArchName(CpuArch arch) {
  switch (arch) {
    case CpuArch::kX86:
      return "x86";
    case CpuArch::kArm:
      return "arm";
    default:
      return "unknown";
  }
}

std::vector<CpuFeature> CpuFeatures::KeyFeatures() const {
  std::vector<CpuFeature> out;
  for (const FeatureSpelling& f : KeyFeatureTable(arch)) {
    bool present = false;
    for (const char* token : f.tokens) present = present || Has(token);
    out.push_back({f.name, present});
  }
  return out;
}

bool CpuFeatures::HasInt8DotProduct() const {
  return Has("avx512_vnni") || Has("avx_vnni") || Has("asimddp");
}

CpuFeatures ParseCpuInfo(const std::string& cpuinfo_text) {
  CpuFeatures cpu;
  std::set<std::pair<std::string, std::string>> cores;  // (physical id, core id)
  std::string physical_id, implementer, part, hardware;
  bool have_flags = false;

  std::istringstream in(cpuinfo_text);
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = Trim(line.substr(0, colon));
    const std::string value = Trim(line.substr(colon + 1));

    if (key == "processor") {
      ++cpu.logical_cpus;
      physical_id.clear();
    } else if (key == "flags" || key == "Features") {
      cpu.arch = key == "flags" ? CpuArch::kX86 : CpuArch::kArm;
      IntersectInto(cpu.flags, SplitTokens(value), !have_flags);
      have_flags = true;
    } else if (key == "model name" && cpu.model_name.empty()) {
      cpu.model_name = value;
    } else if (key == "physical id") {
      physical_id = value;
    } else if (key == "core id") {
      cores.emplace(physical_id, value);
    } else if (key == "CPU implementer" && implementer.empty()) {
      implementer = value;
      cpu.arch = CpuArch::kArm;
    } else if (key == "CPU part" && part.empty()) {
      part = value;
    } else if (key == "Hardware") {
      hardware = value;
    }
  }

  cpu.physical_cores = static_cast<int>(cores.size());
  // AArch64 kernels usually print no model name and ARMv7 ones print "ARMv7 Processor rev 4
  // (v7l)", which says less than the core's part code; prefer the decoded core name.
  if (cpu.arch == CpuArch::kArm) {
    const std::string known = KnownArmCore(implementer, part);
    if (!known.empty()) {
      cpu.model_name = known;
    } else if (cpu.model_name.empty() && !implementer.empty()) {
      cpu.model_name = "implementer " + implementer + " part " + part;
    }
    if (cpu.model_name.empty()) cpu.model_name = hardware;
  }
  return cpu;
}

}  // namespace hadmc::hal
