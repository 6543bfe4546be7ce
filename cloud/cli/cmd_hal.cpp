// `hadmc hal`: the hardware profiles (list, show, validate) and what this machine is (detect).
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "hadmc/hal/backend.h"
#include "hadmc/hal/profile.h"
#include "hal_report.h"

namespace hadmc::cli {
namespace {

struct HalOptions {
  std::string dir;  // profile directory; "" = hal::DefaultProfileDir()
  bool json = false;
  std::string name;
  std::vector<std::string> files;
  std::string root;  // detect: a fake tree (tests)
  std::string backend = "auto";
};

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string Peak(const hal::HardwareProfile& p, const std::string& precision) {
  auto it = p.peak_tops.find(precision);
  return it == p.peak_tops.end() ? "-" : Num(it->second);
}

void RunList(const HalOptions& o) {
  auto all = hal::LoadAllProfiles(o.dir);
  if (!all) Fail(all.error().message());
  if (o.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& p : *all) j.push_back(hal::ToJson(p));
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "profiles in " << (o.dir.empty() ? hal::DefaultProfileDir() : o.dir)
            << "  (peak in dense TOPS; sources: hadmc hal show <name>)\n";
  std::cout << Pad("name", 13) << Pad("kind", 5) << Pad("fp32", 7) << Pad("fp16", 7)
            << Pad("int8", 7) << Pad("int4", 7) << Pad("GB/s", 8) << Pad("TDP W", 7)
            << "description\n";
  for (const auto& p : *all)
    std::cout << Pad(p.name, 13) << Pad(p.kind, 5) << Pad(Peak(p, "fp32"), 7)
              << Pad(Peak(p, "fp16"), 7) << Pad(Peak(p, "int8"), 7) << Pad(Peak(p, "int4"), 7)
              << Pad(Num(p.memory_bandwidth_gbs), 8) << Pad(Num(p.tdp_w), 7) << p.display_name
              << "\n";
}

void PrintField(const hal::HardwareProfile& p, const std::string& field, const std::string& value) {
  std::cout << "  " << Pad(field, 34) << value << "\n";
  auto src = p.sources.find(field);
  if (src != p.sources.end())
    std::cout << "  " << std::string(34, ' ') << "  source: " << src->second << "\n";
}

void RunShow(const HalOptions& o) {
  auto p = hal::FindProfile(o.name, o.dir);
  if (!p) Fail(p.error().message());
  if (o.json) {
    std::cout << hal::ToJson(*p).dump(2) << "\n";
    return;
  }
  std::cout << p->name << ": " << p->display_name << " (" << p->kind << ")\n";
  std::string precisions;
  for (const std::string& s : p->precisions) precisions += (precisions.empty() ? "" : ", ") + s;
  PrintField(*p, "precisions", precisions);
  for (const auto& [prec, tops] : p->peak_tops)
    PrintField(*p, "peak_tops." + prec, Num(tops) + " TOPS");
  PrintField(*p, "memory_bandwidth_gbs", Num(p->memory_bandwidth_gbs) + " GB/s");
  PrintField(*p, "tdp_w", Num(p->tdp_w) + " W");
  if (p->cores > 0) PrintField(*p, "cores", std::to_string(p->cores));
  PrintField(*p, "tensor_cores", p->tensor_cores ? "yes" : "no");
  PrintField(*p, "sparsity_2_4", p->sparsity_2_4 ? "yes" : "no");
  PrintField(*p, "compute_efficiency", Num(p->compute_efficiency));
  PrintField(*p, "memory_efficiency", Num(p->memory_efficiency));
  PrintField(*p, "kernel_overhead_us", Num(p->kernel_overhead_us) + " us");
  PrintField(*p, "channel_step", std::to_string(p->channel_step));
  for (const auto& [prec, step] : p->channel_step_by_precision)
    PrintField(*p, "channel_step_by_precision." + prec, std::to_string(step));
  if (!p->notes.empty()) std::cout << "  notes: " << p->notes << "\n";
}

void RunValidate(const HalOptions& o) {
  int bad = 0;
  for (const std::string& f : o.files) {
    auto p = hal::LoadProfile(f);
    if (p) {
      std::cout << "ok  " << f << " (" << p->name << ")\n";
    } else {
      std::cout << "bad " << p.error().message() << "\n";
      ++bad;
    }
  }
  if (bad)
    Fail(std::to_string(bad) + " of " + std::to_string(o.files.size()) + " profile(s) invalid");
}

void RunDetect(const HalOptions& o) {
  const hal::DeviceInfo info = hal::Detect(o.root);
  auto choice = hal::SelectBackend(o.backend, info);
  if (!choice) Fail(choice.error().message());
  if (o.json) {
    nlohmann::json j = DeviceReportJson(info);
    j["selected_backend"] = {
        {"requested", o.backend}, {"backend", choice->backend}, {"warning", choice->warning}};
    std::cout << j.dump(2) << "\n";
  } else {
    PrintDeviceReport(std::cout, info);
    std::cout << "  " << Pad("selected backend", 20) << choice->backend << "  (requested "
              << o.backend << ")\n";
  }
  if (!choice->warning.empty()) std::cerr << "warning: " << choice->warning << "\n";
}

}  // namespace

void PrintDeviceReport(std::ostream& out, const hal::DeviceInfo& info) {
  auto row = [&](const std::string& label, const std::string& value) {
    out << "  " << Pad(label, 20) << value << "\n";
  };
  out << "Device\n";
  row("device class", info.device_class);
  row("description", info.description);
  std::string profile = info.profile.empty() ? "none shipped for this class" : info.profile;
  if (!info.profile.empty()) {
    auto p = hal::FindProfile(info.profile);
    if (!p) {
      profile += "  (" + p.error().message() + ")";
    } else if (p->cores > 0 && info.cpu_cores > 0 && p->cores != info.cpu_cores) {
      const hal::HardwareProfile s = hal::ScaledToCores(*p, info.cpu_cores);
      profile += "  (written for " + std::to_string(p->cores) + " cores; scaled to " +
                 std::to_string(info.cpu_cores) + ": fp32 " + Num(s.peak_tops.at("fp32")) +
                 " TOPS, " + Num(s.tdp_w) + " W)";
    }
  }
  row("hardware profile", profile);
  row("CPUs", std::to_string(info.cpu_cores));
  std::string isa;
  for (const std::string& f : info.isa) isa += (isa.empty() ? "" : " ") + f;
  row("ISA", isa.empty() ? "none of interest" : isa);
  for (size_t i = 0; i < info.evidence.size(); ++i) row(i == 0 ? "evidence" : "", info.evidence[i]);
  bool first = true;
  for (const auto& b : hal::Backends(info)) {
    row(first ? "backends" : "",
        Pad(b->name(), 7) + (b->available() ? "available: " : "unavailable: ") + b->reason());
    first = false;
  }
}

nlohmann::json DeviceReportJson(const hal::DeviceInfo& info) {
  nlohmann::json j = hal::ToJson(info);
  j["backends"] = hal::BackendsJson(info);
  return j;
}

void RegisterHal(CLI::App& app, const GlobalOptions& g) {
  auto o = std::make_shared<HalOptions>();
  CLI::App* hal = app.add_subcommand(
      "hal", "Hardware profiles (peak throughput, bandwidth, TDP, with sources) and detection");
  hal->require_subcommand(1);
  auto dir_option = [&](CLI::App* cmd) {
    cmd->add_option("--dir", o->dir,
                    "profile directory (default: $HADMC_HAL_DIR, the installed share/hadmc/hal, "
                    "else the source tree's configs/hal)");
  };

  CLI::App* list = hal->add_subcommand("list", "List the hardware profiles with their key numbers");
  dir_option(list);
  list->add_flag("--json", o->json, "machine-readable output");
  list->callback([o, &g] {
    ApplyGlobalOptions(g);
    RunList(*o);
  });

  CLI::App* show = hal->add_subcommand("show", "Print one profile, each number with its source");
  show->add_option("name", o->name, "profile name, e.g. jetson_orin")->required();
  dir_option(show);
  show->add_flag("--json", o->json, "print the profile's JSON");
  show->callback([o, &g] {
    ApplyGlobalOptions(g);
    RunShow(*o);
  });

  CLI::App* validate = hal->add_subcommand(
      "validate",
      "Check profile files (strict: unknown keys, bad numbers, missing sources); "
      "exit 1 if any is invalid");
  validate->add_option("files", o->files, "profile JSON files")
      ->required()
      ->check(CLI::ExistingFile);
  validate->callback([o, &g] {
    ApplyGlobalOptions(g);
    RunValidate(*o);
  });

  CLI::App* detect = hal->add_subcommand(
      "detect", "Detect this device (class, evidence) and which execution backends can run here");
  detect->add_flag("--json", o->json, "machine-readable output");
  detect
      ->add_option("--backend", o->backend,
                   "backend to select: auto, cpu, cuda, ascend, mlu; one that cannot execute "
                   "here falls back to cpu with a warning")
      ->capture_default_str();
  detect->add_option("--root", o->root, "prefix for every path looked at (a fake tree, for tests)");
  detect->callback([o, &g] {
    ApplyGlobalOptions(g);
    RunDetect(*o);
  });
}

}  // namespace hadmc::cli
