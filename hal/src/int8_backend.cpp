#include "hadmc/hal/int8_backend.h"

#include <ATen/Context.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace hadmc::hal {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::vector<std::string> AvailableInt8Engines() {
  std::vector<std::string> out;
  for (at::QEngine e : at::globalContext().supportedQEngines())
    if (e != at::QEngine::NoQEngine) out.push_back(Lower(c10::toString(e)));
  return out;
}

Result<Int8Backend> ChooseInt8Backend(const CpuFeatures& cpu,
                                      const std::vector<std::string>& available) {
  if (cpu.arch == CpuArch::kArm && Contains(available, "qnnpack"))
    return Int8Backend{"qnnpack", false, "ARM CPU: QNNPACK is LibTorch's int8 engine for ARM"};
  if (Contains(available, "onednn")) {
    if (cpu.HasInt8DotProduct())
      return Int8Backend{"onednn", false, "x86 with VNNI: ONEDNN, full 8-bit weights"};
    return Int8Backend{"onednn", true,
                       "x86 without VNNI: ONEDNN with 7-bit weights (8-bit products saturate)"};
  }
  if (Contains(available, "fbgemm"))
    return Int8Backend{"fbgemm", true, "FBGEMM with 7-bit weights (its reduce-range convention)"};
  if (Contains(available, "qnnpack"))
    return Int8Backend{"qnnpack", false, "only QNNPACK is available (slow on x86)"};
  return MakeError(Errc::kUnsupported, "this LibTorch has no quantized engine: int8 kernels "
                                       "cannot run here");
}

Status ActivateInt8Engine(const std::string& engine) {
  for (at::QEngine e : at::globalContext().supportedQEngines()) {
    if (e != at::QEngine::NoQEngine && Lower(c10::toString(e)) == engine) {
      at::globalContext().setQEngine(e);
      return {};
    }
  }
  return MakeError(Errc::kUnsupported, "quantized engine '" + engine + "' is not in this LibTorch");
}

Result<Int8Backend> ConfigureInt8Backend() {
  std::ifstream in("/proc/cpuinfo");
  std::stringstream text;
  text << in.rdbuf();
  auto backend = ChooseInt8Backend(ParseCpuInfo(text.str()), AvailableInt8Engines());
  if (!backend) return backend;
  HADMC_TRY(ActivateInt8Engine(backend->engine));
  return backend;
}

}  // namespace hadmc::hal
