#include "hadmc/hal/device_class.h"

#include "hadmc/hal/detect.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace hadmc::hal {

std::string DetectDeviceClass(const std::string& root) { return Detect(root).device_class; }

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
