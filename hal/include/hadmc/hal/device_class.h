// Which kind of edge box this is, from what the system shows: the device class a heartbeat
// reports and the latency LUT is keyed by. Detection reads device nodes and release files only
// (no vendor library is loaded): Jetson (/etc/nv_tegra_release, the module from
// /proc/device-tree/model), Ascend 310
// (/dev/davinci_manager), Cambricon MLU370 (/dev/cambricon_ctl), else the CPU architecture.
// Only the CPU classes can be seen on the machines this project is built and tested on.
#pragma once

#include <string>

namespace hadmc::hal {

// "jetson_orin", "jetson_xavier", "jetson" (another module), "ascend_310", "mlu370",
// "x86_cpu", "arm64_cpu" or "cpu" — the spelling of the classes given to `hadmc ca
// issue-device --class`. `root` prefixes every path looked at (tests point it at a fake tree).
std::string DetectDeviceClass(const std::string& root = "");

// Free bytes for an unprivileged writer on the filesystem holding `path`; -1 if unknown.
long long FreeDiskBytes(const std::string& path);
// MemAvailable from /proc/meminfo in bytes; -1 if unknown.
long long AvailableMemoryBytes();

}  // namespace hadmc::hal
