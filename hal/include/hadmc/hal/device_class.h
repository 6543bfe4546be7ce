// Which kind of edge box this is, from what the system shows: the device class a heartbeat
// reports and the latency LUT is keyed by. The class of hal::Detect (detect.h), which lists the
// rules and keeps the evidence: device nodes, release files and /proc only, no vendor library.
#pragma once

#include <string>

namespace hadmc::hal {

// "jetson_orin", "jetson_xavier", "jetson" (another module), "nvidia_a100", "nvidia_gpu",
// "ascend_310", "mlu370", "hygon_dcu", "x86_cpu", "arm64_cpu" or "cpu" — the spelling of the
// classes given to `hadmc ca issue-device --class`. `root` prefixes every path looked at (tests
// point it at a fake tree).
std::string DetectDeviceClass(const std::string& root = "");

// Free bytes for an unprivileged writer on the filesystem holding `path`; -1 if unknown.
long long FreeDiskBytes(const std::string& path);
// MemAvailable from /proc/meminfo in bytes; -1 if unknown.
long long AvailableMemoryBytes();

}  // namespace hadmc::hal
