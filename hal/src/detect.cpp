#include "hadmc/hal/detect.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

namespace hadmc::hal {
namespace {

namespace fs = std::filesystem;

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The first line (or NUL-terminated string, as device-tree properties are), trimmed.
std::string FirstLine(const std::string& text) {
  std::string s = text.substr(0, text.find_first_of(std::string("\n\0", 2)));
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// Entries of <root>/dev whose names match `pattern`, as "/dev/<name>", sorted.
std::vector<std::string> DeviceNodes(const std::string& root, const std::regex& pattern) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(root + "/dev", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (std::regex_match(name, pattern)) out.push_back("/dev/" + name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

void NoteTool(DeviceInfo& info, const std::string& tool, const std::string& root) {
  const std::string path = FindTool(tool, root);
  info.evidence.push_back(path.empty() ? tool + " not found on PATH (not run either way)"
                                       : tool + " found at " + path + " (not run)");
}

// Jetson: the release file, or a device-tree model that names a Jetson.
bool DetectJetson(const std::string& root, DeviceInfo& info) {
  const bool release = Exists(root + "/etc/nv_tegra_release");
  std::string model;
  for (const char* p : {"/proc/device-tree/model", "/sys/firmware/devicetree/base/model"}) {
    if (!Exists(root + p)) continue;
    model = FirstLine(ReadText(root + p));
    info.evidence.push_back(std::string(p) + ": \"" + model + "\"");
    break;
  }
  const bool jetson_model = model.find("Jetson") != std::string::npos;
  if (!release && !jetson_model) {
    info.evidence.push_back("/etc/nv_tegra_release absent" +
                            std::string(model.empty() ? ", no device-tree model" : ""));
    return false;
  }
  if (release)
    info.evidence.push_back("/etc/nv_tegra_release: \"" +
                            FirstLine(ReadText(root + "/etc/nv_tegra_release")) + "\"");
  info.device_class = model.find("Orin") != std::string::npos     ? "jetson_orin"
                      : model.find("Xavier") != std::string::npos ? "jetson_xavier"
                                                                  : "jetson";
  info.description = model.empty() ? "NVIDIA Jetson (module model unknown)" : model;
  if (info.device_class == "jetson_orin") info.profile = "jetson_orin";
  return true;
}

// A discrete NVIDIA GPU, named by the driver's /proc files (no NVML).
bool DetectNvidiaGpu(const std::string& root, DeviceInfo& info) {
  std::error_code ec;
  std::vector<std::string> models;
  for (fs::directory_iterator it(root + "/proc/driver/nvidia/gpus", ec), end; !ec && it != end;
       it.increment(ec)) {
    std::istringstream in(ReadText((it->path() / "information").string()));
    for (std::string line; std::getline(in, line);)
      if (line.rfind("Model:", 0) == 0)
        models.push_back(line.substr(line.find_first_not_of(" \t", 6)));
  }
  if (models.empty()) {
    info.evidence.push_back("no GPU under /proc/driver/nvidia/gpus");
    return false;
  }
  info.evidence.push_back("/proc/driver/nvidia/gpus: " + Join(models, ", "));
  const bool a100 = models[0].find("A100") != std::string::npos;
  info.device_class = a100 ? "nvidia_a100" : "nvidia_gpu";
  info.profile = a100 ? "nvidia_a100" : "";
  info.description =
      models[0] + (models.size() > 1 ? " (x" + std::to_string(models.size()) + ")" : "");
  return true;
}

// An accelerator seen by its device nodes; `tool` is the vendor's monitor, noted not run.
bool DetectByNodes(const std::string& root, DeviceInfo& info, const std::string& control,
                   const std::regex& numbered, const std::string& tool,
                   const std::string& device_class, const std::string& vendor) {
  std::vector<std::string> nodes = DeviceNodes(root, numbered);
  const bool has_control = Exists(root + control);
  if (!has_control && nodes.empty()) {
    info.evidence.push_back(control + " and numbered nodes absent");
    return false;
  }
  if (has_control) nodes.insert(nodes.begin(), control);
  info.evidence.push_back("present: " + Join(nodes, ", "));
  NoteTool(info, tool, root);
  info.evidence.push_back("chip model not read (it needs " + tool + "); assumed " + device_class);
  info.accelerators = nodes;
  info.device_class = device_class;
  info.profile = device_class;
  info.description = vendor + " (" + Join(nodes, ", ") + ")";
  return true;
}

bool DetectHygon(const std::string& root, DeviceInfo& info) {
  if (!Exists(root + "/dev/kfd")) {
    info.evidence.push_back("/dev/kfd absent (no ROCm/DTK device)");
    return false;
  }
  const std::string smi = FindTool("hy-smi", root);
  const bool hyhal = Exists(root + "/opt/hyhal");
  if (smi.empty() && !hyhal) {
    info.evidence.push_back(
        "/dev/kfd present but neither hy-smi nor /opt/hyhal: an AMD GPU, not "
        "a Hygon DCU; treated as the CPU");
    return false;
  }
  info.evidence.push_back("present: /dev/kfd");
  info.evidence.push_back(smi.empty() ? "/opt/hyhal present"
                                      : "hy-smi found at " + smi + " (not run)");
  info.accelerators = {"/dev/kfd"};
  info.device_class = "hygon_dcu";
  info.profile = "hygon_dcu";
  info.description = "Hygon DCU (/dev/kfd)";
  return true;
}

void DetectCpu(DeviceInfo& info) {
#if defined(__x86_64__)
  info.device_class = "x86_cpu";
  info.profile = "x86_cpu";
#elif defined(__aarch64__)
  info.device_class = "arm64_cpu";
#else
  info.device_class = "cpu";
#endif
  info.description =
      (info.cpu.model_name.empty() ? std::string("unknown CPU") : info.cpu.model_name) + ", " +
      std::to_string(info.cpu_cores) + " CPUs, " + CpuArchName(info.cpu.arch);
  info.evidence.push_back("no accelerator found: the CPU");
}

}  // namespace

std::string FindTool(const std::string& tool, const std::string& root) {
  std::vector<std::string> dirs;
  const char* path = std::getenv("PATH");
  std::istringstream in(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string d; std::getline(in, d, ':');)
    if (!d.empty()) dirs.push_back(d);
  for (const char* d :
       {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
        "/usr/local/Ascend/driver/tools", "/usr/local/neuware/bin", "/opt/hyhal/bin"})
    dirs.push_back(d);
  for (const std::string& d : dirs) {
    const std::string p = d + "/" + tool;
    if (::access((root + p).c_str(), X_OK) == 0) return p;
  }
  return "";
}

DeviceInfo Detect(const std::string& root) {
  DeviceInfo info;
  info.cpu = ParseCpuInfo(ReadText(root + "/proc/cpuinfo"));
  info.cpu_cores =
      root.empty() ? static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)) : info.cpu.logical_cpus;
  for (const CpuFeature& f : info.cpu.KeyFeatures())
    if (f.present) info.isa.push_back(f.name);

  const bool found =
      DetectJetson(root, info) || DetectNvidiaGpu(root, info) ||
      DetectByNodes(root, info, "/dev/davinci_manager", std::regex("davinci[0-9]+"), "npu-smi",
                    "ascend_310", "Huawei Ascend NPU") ||
      DetectByNodes(root, info, "/dev/cambricon_ctl", std::regex("cambricon_dev[0-9]+"), "cnmon",
                    "mlu370", "Cambricon MLU") ||
      DetectHygon(root, info);
  if (!found) DetectCpu(info);
  return info;
}

nlohmann::json ToJson(const DeviceInfo& info) {
  return {{"device_class", info.device_class},
          {"description", info.description},
          {"profile", info.profile},
          {"cpu_cores", info.cpu_cores},
          {"cpu_model", info.cpu.model_name},
          {"cpu_arch", CpuArchName(info.cpu.arch)},
          {"isa", info.isa},
          {"accelerators", info.accelerators},
          {"evidence", info.evidence}};
}

}  // namespace hadmc::hal
