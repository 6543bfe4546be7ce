#include "hadmc/hal/cpu_features.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hadmc::hal {
namespace {

// Two vCPUs of the AMD EPYC build machine in DESIGN.md (AVX2, AVX-512, SHA-NI, no VNNI), trimmed.
const char kEpycNoVnni[] = R"(processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 25
model		: 1
model name	: AMD EPYC 7B13
physical id	: 0
siblings	: 2
core id		: 0
cpu cores	: 2
flags		: fpu vme de pse tsc msr sse sse2 ssse3 fma cx16 sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512cd sha_ni avx512bw avx512vl
bogomips	: 4899.99

processor	: 1
vendor_id	: AuthenticAMD
model name	: AMD EPYC 7B13
physical id	: 0
siblings	: 2
core id		: 1
cpu cores	: 2
flags		: fpu vme de pse tsc msr sse sse2 ssse3 fma cx16 sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512cd sha_ni avx512bw avx512vl
bogomips	: 4899.99
)";

// A hyper-threaded Intel client part with AVX-VNNI but no AVX-512: 4 logical CPUs on 2 cores.
const char kAlderLakeHt[] = R"(processor	: 0
model name	: 12th Gen Intel(R) Core(TM) i5-1240P
physical id	: 0
core id		: 0
flags		: fpu sse2 avx fma f16c avx2 sha_ni avx_vnni
processor	: 1
model name	: 12th Gen Intel(R) Core(TM) i5-1240P
physical id	: 0
core id		: 0
flags		: fpu sse2 avx fma f16c avx2 sha_ni avx_vnni
processor	: 2
model name	: 12th Gen Intel(R) Core(TM) i5-1240P
physical id	: 0
core id		: 1
flags		: fpu sse2 avx fma f16c avx2 sha_ni avx_vnni
processor	: 3
model name	: 12th Gen Intel(R) Core(TM) i5-1240P
physical id	: 0
core id		: 1
flags		: fpu sse2 avx fma f16c avx2 sha_ni avx_vnni
)";

// Jetson AGX Orin (Cortex-A78AE); AArch64 kernels print no model name.
const char kJetsonOrin[] = R"(processor	: 0
BogoMIPS	: 62.50
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp uscat ilrcpc flagm paca pacg
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x1
CPU part	: 0xd42
CPU revision	: 1

processor	: 1
BogoMIPS	: 62.50
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp uscat ilrcpc flagm paca pacg
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x1
CPU part	: 0xd42
CPU revision	: 1
)";

std::vector<std::string> Names(const std::vector<CpuFeature>& features, bool present) {
  std::vector<std::string> out;
  for (const CpuFeature& f : features) {
    if (f.present == present) out.push_back(f.name);
  }
  return out;
}

TEST(ParseCpuInfoTest, X86EpycWithoutVnni) {
  const CpuFeatures cpu = ParseCpuInfo(kEpycNoVnni);
  EXPECT_EQ(cpu.arch, CpuArch::kX86);
  EXPECT_EQ(cpu.model_name, "AMD EPYC 7B13");
  EXPECT_EQ(cpu.logical_cpus, 2);
  EXPECT_EQ(cpu.physical_cores, 2);
  EXPECT_TRUE(cpu.Has("avx2"));
  EXPECT_FALSE(cpu.HasInt8DotProduct());
  EXPECT_EQ(Names(cpu.KeyFeatures(), true),
            (std::vector<std::string>{"AVX2", "AVX-512F", "SHA-NI", "F16C", "FMA"}));
  EXPECT_EQ(Names(cpu.KeyFeatures(), false), (std::vector<std::string>{"AVX512-VNNI", "AVX-VNNI"}));
}

TEST(ParseCpuInfoTest, X86KeyFeaturesAreListedInReportOrder) {
  const CpuFeatures cpu = ParseCpuInfo(kEpycNoVnni);
  std::vector<std::string> all;
  for (const CpuFeature& f : cpu.KeyFeatures()) all.push_back(f.name);
  EXPECT_EQ(all, (std::vector<std::string>{"AVX2", "AVX-512F", "AVX512-VNNI", "AVX-VNNI", "SHA-NI",
                                           "F16C", "FMA"}));
}

TEST(ParseCpuInfoTest, X86HyperThreadsCountOncePerCore) {
  const CpuFeatures cpu = ParseCpuInfo(kAlderLakeHt);
  EXPECT_EQ(cpu.logical_cpus, 4);
  EXPECT_EQ(cpu.physical_cores, 2);
  EXPECT_TRUE(cpu.HasInt8DotProduct());  // AVX-VNNI
  EXPECT_FALSE(cpu.Has("avx512f"));
}

TEST(ParseCpuInfoTest, AvxVnniOrAvx512VnniGiveInt8DotProduct) {
  EXPECT_TRUE(
      ParseCpuInfo("processor : 0\nflags : avx2 avx512f avx512_vnni\n").HasInt8DotProduct());
  EXPECT_TRUE(ParseCpuInfo("processor : 0\nflags : avx2 avx_vnni\n").HasInt8DotProduct());
}

TEST(ParseCpuInfoTest, ArmJetsonOrinNamesCoreFromPartCode) {
  const CpuFeatures cpu = ParseCpuInfo(kJetsonOrin);
  EXPECT_EQ(cpu.arch, CpuArch::kArm);
  EXPECT_EQ(cpu.model_name, "ARM Cortex-A78AE");
  EXPECT_EQ(cpu.logical_cpus, 2);
  EXPECT_EQ(cpu.physical_cores, 0);  // ARM cpuinfo has no core ids
  EXPECT_TRUE(cpu.HasInt8DotProduct());
  EXPECT_EQ(Names(cpu.KeyFeatures(), true),
            (std::vector<std::string>{"asimd", "dotprod", "fp16", "sha2"}));
  EXPECT_EQ(Names(cpu.KeyFeatures(), false), (std::vector<std::string>{"i8mm", "bf16", "sve"}));
}

TEST(ParseCpuInfoTest, ArmBigLittleKeepsOnlyFeaturesOfEveryCore) {
  // A Cortex-A55 with dot product next to an A53 without: kernels may land on either core.
  const CpuFeatures cpu = ParseCpuInfo(
      "processor : 0\nFeatures : fp asimd asimddp asimdhp\nCPU implementer : 0x41\n"
      "CPU part : 0xd05\n\n"
      "processor : 1\nFeatures : fp asimd\nCPU implementer : 0x41\nCPU part : 0xd03\n");
  EXPECT_EQ(cpu.model_name, "ARM Cortex-A55");
  EXPECT_TRUE(cpu.Has("asimd"));
  EXPECT_FALSE(cpu.Has("asimddp"));
  EXPECT_FALSE(cpu.HasInt8DotProduct());
}

TEST(ParseCpuInfoTest, Armv7NeonCountsAsAsimdAndPartBeatsGenericModelName) {
  const CpuFeatures cpu = ParseCpuInfo(
      "processor\t: 0\nmodel name\t: ARMv7 Processor rev 4 (v7l)\n"
      "Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt\n"
      "CPU implementer\t: 0x41\nCPU part\t: 0xd03\nHardware\t: BCM2835\n");
  EXPECT_EQ(cpu.arch, CpuArch::kArm);
  EXPECT_EQ(cpu.model_name, "ARM Cortex-A53");
  EXPECT_EQ(Names(cpu.KeyFeatures(), true), (std::vector<std::string>{"asimd"}));
}

TEST(ParseCpuInfoTest, ArmUnknownPartKeepsCodesOrKernelModelName) {
  EXPECT_EQ(ParseCpuInfo("processor : 0\nFeatures : fp asimd\nCPU implementer : 0x61\n"
                         "CPU part : 0x022\n")
                .model_name,
            "implementer 0x61 part 0x022");
  EXPECT_EQ(ParseCpuInfo("processor : 0\nmodel name : Phytium FT-2000\nFeatures : fp asimd\n"
                         "CPU implementer : 0x70\nCPU part : 0x662\n")
                .model_name,
            "Phytium FT-2000");
  EXPECT_EQ(ParseCpuInfo("processor : 0\nFeatures : fp asimd\nCPU implementer : zz\n"
                         "CPU part : 0x662\n")
                .model_name,
            "implementer zz part 0x662");
}

TEST(ParseCpuInfoTest, EmptyOrGarbageTextGivesUnknown) {
  for (const char* text : {"", "no colon here\n\n", ":\n: :\n"}) {
    const CpuFeatures cpu = ParseCpuInfo(text);
    EXPECT_EQ(cpu.arch, CpuArch::kUnknown) << text;
    EXPECT_EQ(cpu.logical_cpus, 0);
    EXPECT_TRUE(cpu.model_name.empty());
    EXPECT_TRUE(cpu.KeyFeatures().empty());
    EXPECT_FALSE(cpu.HasInt8DotProduct());
  }
}

}  // namespace
}  // namespace hadmc::hal
