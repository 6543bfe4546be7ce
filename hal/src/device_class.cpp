#include "hadmc/hal/device_class.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace hadmc::hal {

std::string DetectDeviceClass(const std::string& root) {
  auto exists = [&](const char* p) { return ::access((root + p).c_str(), F_OK) == 0; };
  if (exists("/etc/nv_tegra_release")) {
    // The module's name, e.g. "NVIDIA Jetson AGX Orin Developer Kit".
    std::ifstream in(root + "/proc/device-tree/model");
    std::string model;
    std::getline(in, model, '\0');
    if (model.find("Orin") != std::string::npos) return "jetson_orin";
    if (model.find("Xavier") != std::string::npos) return "jetson_xavier";
    return "jetson";
  }
  if (exists("/dev/davinci_manager")) return "ascend_310";
  if (exists("/dev/cambricon_ctl")) return "mlu370";
#if defined(__x86_64__)
  return "x86_cpu";
#elif defined(__aarch64__)
  return "arm64_cpu";
#else
  return "cpu";
#endif
}

long long FreeDiskBytes(const std::string& path) {
  struct statvfs s {};
  if (::statvfs(path.c_str(), &s) != 0) return -1;
  return static_cast<long long>(s.f_bavail) * static_cast<long long>(s.f_frsize);
}

long long AvailableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("MemAvailable:", 0) == 0) return std::stoll(line.substr(13)) * 1024;  // kB
  return -1;
}

}  // namespace hadmc::hal
