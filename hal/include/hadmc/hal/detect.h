// Which device this is, and the evidence for it. Detection reads device nodes, release files
// and /proc only, and looks for the vendors' command-line tools on $PATH without running them:
// no vendor library is loaded, so it works (and is testable) on any Linux. Rules, first match:
//   Jetson     /etc/nv_tegra_release, or a device-tree model naming an NVIDIA Jetson
//              (class from the model: jetson_orin, jetson_xavier, else jetson)
//   NVIDIA GPU /proc/driver/nvidia/gpus/*/information (nvidia_a100 for an A100, else nvidia_gpu)
//   Ascend     /dev/davinci_manager or /dev/davinci<N>; npu-smi noted    -> ascend_310
//   MLU        /dev/cambricon_ctl or /dev/cambricon_dev<N>; cnmon noted   -> mlu370
//   Hygon DCU  /dev/kfd together with hy-smi or /opt/hyhal               -> hygon_dcu
//   else the CPU architecture: x86_cpu, arm64_cpu or cpu.
// The accelerator classes are assumed from the vendor (an Ascend node is taken to be a 310, an
// MLU node an MLU370) because reading the chip type needs the vendor tools; the evidence says so.
// Only the CPU classes can be seen on the machines this project is built and tested on.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "hadmc/hal/cpu_features.h"

namespace hadmc::hal {

struct DeviceInfo {
  std::string device_class;      // the class the LUT is keyed by (see above)
  std::string description;       // "NVIDIA Jetson AGX Orin Developer Kit", "AMD EPYC, 2 CPUs, x86"
  std::string profile;           // the shipped hardware profile describing it, "" if none
  int cpu_cores = 0;             // online CPUs (on a fake root: cpuinfo's processor entries)
  CpuFeatures cpu;               // parsed from <root>/proc/cpuinfo
  std::vector<std::string> isa;  // present key CPU extensions: "AVX2", "FMA", ...
  std::vector<std::string> accelerators;  // accelerator device nodes seen: "/dev/davinci0"
  std::vector<std::string> evidence;      // each file or tool looked for, and what was found
};

// `root` prefixes every path looked at (tests point it at a fake tree); with a root, the tools
// are looked for under it too.
DeviceInfo Detect(const std::string& root = "");

// The path of an executable `tool` on $PATH or in the vendor's default directory (Ascend:
// /usr/local/Ascend/driver/tools, Cambricon: /usr/local/neuware/bin, Hygon: /opt/hyhal/bin),
// under `root`; "" when absent.
std::string FindTool(const std::string& tool, const std::string& root = "");

nlohmann::json ToJson(const DeviceInfo& info);

}  // namespace hadmc::hal
