// `hadmc sysinfo`: prints what measured numbers depend on (LibTorch build, BLAS, threads,
// quantized engines, CPU extensions) and the detected device with its execution backends, as
// text or --json. The facts come from hal::SystemInfo and hal::Detect.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "hal_report.h"
#include "hadmc/common/log.h"
#include "hadmc/hal/detect.h"
#include "hadmc/hal/sysinfo.h"

namespace hadmc::cli {
namespace {

struct SysinfoOptions {
  bool json = false;
};

std::string Join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

const char* YesNo(bool b) { return b ? "yes" : "no"; }

void PrintRow(std::ostream& out, const std::string& label, const std::string& value) {
  out << "  " << label << std::string(label.size() < 20 ? 20 - label.size() : 1, ' ') << value
      << "\n";
}

void PrintText(std::ostream& out, const hal::SystemInfo& info, int threads_flag) {
  const std::string threads_setting =
      threads_flag > 0 ? "--threads " + std::to_string(threads_flag) : "all online CPUs by default";
  out << "HAD-MC system info\n";
  PrintRow(out, "LibTorch", info.torch_version);
  PrintRow(out, "intra-op threads",
           std::to_string(info.torch_threads) + "  (" + threads_setting + ")");
  PrintRow(out, "inter-op threads", std::to_string(info.torch_interop_threads));
  PrintRow(out, "OpenMP", YesNo(info.has_openmp));
  PrintRow(out, "oneDNN (MKLDNN)", YesNo(info.has_mkldnn));
  PrintRow(out, "MKL", YesNo(info.has_mkl));
  PrintRow(out, "quantized engines",
           Join(info.quantized_engines, ", ") + "  (current: " +
               (info.quantized_engine.empty() ? "none" : info.quantized_engine) + ")");

  std::string blas = hal::BlasKindName(info.blas.kind);
  if (!info.blas.provider.empty()) blas += "  " + info.blas.provider;
  PrintRow(out, "BLAS", blas);
  if (info.blas_threads >= 0)
    PrintRow(out, "BLAS threads",
             std::to_string(info.blas_threads) + "  (LibTorch owns the parallelism)");
  PrintRow(out, "allocator", info.allocator);
  if (!info.blas.alternative.empty()) PrintRow(out, "BLAS alternative", info.blas.alternative);
  if (!info.blas.mapped.empty()) PrintRow(out, "BLAS objects mapped", Join(info.blas.mapped, ", "));

  const hal::CpuFeatures& cpu = info.cpu;
  PrintRow(out, "CPU",
           (cpu.model_name.empty() ? "unknown model" : cpu.model_name) + " (" +
               hal::CpuArchName(cpu.arch) + ")");
  std::ostringstream cores;
  cores << cpu.logical_cpus << " logical";
  if (cpu.physical_cores > 0) cores << ", " << cpu.physical_cores << " physical";
  cores << "; " << info.online_cpus << " online, " << info.affinity_cpus << " usable by hadmc";
  PrintRow(out, "CPU cores", cores.str());
  std::vector<std::string> present, absent;
  for (const hal::CpuFeature& f : cpu.KeyFeatures())
    (f.present ? present : absent).push_back(f.name);
  PrintRow(out, "CPU features", present.empty() ? "none of interest" : Join(present, " "));
  if (!absent.empty()) PrintRow(out, "CPU features absent", Join(absent, " "));
  const bool x86 = cpu.arch == hal::CpuArch::kX86;
  PrintRow(out, "int8 dot product",
           cpu.HasInt8DotProduct() ? "yes"
           : x86                   ? "no (oneDNN int8 needs reduce-range weights)"
                                   : "no");
  PrintRow(out, "kernel", info.kernel);
}

void RunSysinfo(const SysinfoOptions& opts, const GlobalOptions& g) {
  const hal::SystemInfo info = hal::CollectSystemInfo();
  const hal::DeviceInfo device = hal::Detect();
  if (opts.json) {
    nlohmann::json j = hal::ToJson(info);
    j["device"] = DeviceReportJson(device);
    std::cout << j.dump(2) << "\n";
  } else {
    PrintText(std::cout, info, g.threads);
    PrintDeviceReport(std::cout, device);
  }
  // Warnings go to stderr so that --json output stays parseable.
  for (const std::string& w : hal::SystemInfoWarnings(info)) Log().warn("{}", w);
}

}  // namespace

void RegisterSysinfo(CLI::App& app, const GlobalOptions& g) {
  auto opts = std::make_shared<SysinfoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "sysinfo",
      "Print what measured numbers depend on: LibTorch, BLAS, threads, CPU features, the "
      "detected device and its execution backends");
  cmd->add_flag("--json", opts->json, "machine-readable output");
  cmd->callback([opts, &g] {
    ApplyGlobalOptions(g);
    RunSysinfo(*opts, g);
  });
}

}  // namespace hadmc::cli
