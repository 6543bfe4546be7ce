// The latency LUT of a device class (docs/lut.md):
//   hadmc lut show CLASS [--json]            merged rows: key, median, p90, count, source, updated
//   hadmc lut export CLASS -o FILE           the rows as a LUT file
//   hadmc lut import FILE                    merge a LUT file's rows (estimates never replace
//                                            measurements)
//   hadmc lut predict --model M.hmc --lut FILE [--profile NAME|PATH] [--batch N] [--json]
//                     [--measure RUNS]       per-kernel predictions, how each was made, the total;
//                                            with --measure also timed here, kernel by kernel
// show/export/import work on the local state directory, or on a running server with --server.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "commands.h"
#include "fleet_options.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/hal/int8_backend.h"
#include "hadmc/hal/kernel_bench.h"
#include "hadmc/hal/lut.h"
#include "hadmc/hal/profile.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/model/hmc_header.h"
#include "hadmc/server/lut_json.h"
#include "hadmc/server/publish_client.h"

namespace hadmc::cli {
namespace {

using nlohmann::json;

struct LutOptions {
  std::string device_class, file, state_dir;
  bool json = false;
  RemoteOptions remote;
};

struct PredictOptions {
  std::string model, lut, profile;
  int64_t batch = 1;
  bool json = false;
  int measure_runs = 0;  // > 0: also time every kernel here, in context, and the whole model
};

// The class's LUT as GET /v1/lut/{class} answers it, from the server or the local registry.
json FetchLut(const LutOptions& o) {
  if (!server::IsValidDeviceClass(o.device_class))
    Fail("device class '" + o.device_class + "' must be 1-64 characters [a-z0-9_-]");
  const auto dir = OpenStateDir(o.state_dir);
  if (o.remote.server.empty()) {
    auto lut = OpenRegistry(dir)->Lut(o.device_class);
    if (!lut) Fail(lut.error().message());
    return server::DeviceLutJson(*lut);
  }
  std::string token;
  auto client = AdminClient(o.remote, dir, &token);
  return CheckedJson(
      client->Request("GET", "/v1/lut/" + o.device_class, "", server::BearerHeaders(token)), 200,
      "fetching the LUT of " + o.device_class);
}

std::string Ms(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(v < 1 ? 4 : 3) << v;
  return s.str();
}

// Left-aligned columns, each as wide as its widest cell.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i)
      line += r[i] + (i + 1 < r.size() ? std::string(width[i] - r[i].size() + 2, ' ') : "");
    std::cout << line << "\n";
  }
}

void RunShow(const LutOptions& o) {
  const json j = FetchLut(o);
  if (o.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "LUT of " << o.device_class << ": " << j["rows"].size() << " kernels\n";
  std::vector<std::vector<std::string>> table = {
      {"key", "median_ms", "p90_ms", "count", "source", "updated"}};
  for (const auto& r : j["rows"])
    table.push_back({r["key"].get<std::string>(), Ms(r["median_ms"].get<double>()),
                     Ms(r["p90_ms"].get<double>()), std::to_string(r["count"].get<int64_t>()),
                     r["source"].get<std::string>(), r["updated_at"].get<std::string>()});
  if (!j["rows"].empty()) PrintTable(table);
  if (j["e2e"].empty()) return;
  std::cout << "\nend to end\n";
  std::vector<std::vector<std::string>> e2e = {
      {"model", "version", "batch", "median_ms", "p90_ms", "count", "J/inference", "updated"}};
  for (const auto& r : j["e2e"])
    e2e.push_back({r["model"].get<std::string>(), std::to_string(r["version"].get<uint64_t>()),
                   std::to_string(r["batch"].get<int64_t>()), Ms(r["median_ms"].get<double>()),
                   Ms(r["p90_ms"].get<double>()), std::to_string(r["count"].get<int64_t>()),
                   r.contains("joules_per_inference")
                       ? Ms(r["joules_per_inference"].get<double>()) + " (" +
                             r["energy_source"].get<std::string>() + ")"
                       : "-",
                   r["updated_at"].get<std::string>()});
  PrintTable(e2e);
}

void RunExport(const LutOptions& o) {
  const json j = FetchLut(o);
  const json file = {{"device_class", j["device_class"]}, {"rows", j["rows"]}};
  if (auto check = hal::LutFromJson(file); !check)
    Fail("the LUT read back is not a valid LUT file: " + check.error().message());
  if (auto s = WriteFileAtomically(o.file, file.dump(2) + "\n"); !s) Fail(s.error().message());
  std::cout << "wrote " << j["rows"].size() << " rows of " << o.device_class << " to " << o.file
            << "\n";
}

Result<hal::LatencyLut> ReadLutFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return MakeError(text.error());
  const json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return MakeError(Errc::kParse, path + ": not JSON");
  auto lut = hal::LutFromJson(j);
  if (!lut) return MakeError(lut.error().WithContext(path));
  return lut;
}

void RunImport(const LutOptions& o) {
  auto lut = ReadLutFile(o.file);
  if (!lut) Fail(lut.error().message());
  const auto dir = OpenStateDir(o.state_dir);
  int64_t imported = 0;
  if (o.remote.server.empty()) {
    auto n = OpenRegistry(dir)->ImportLut(lut->device_class(), lut->rows());
    if (!n) Fail(n.error().message());
    imported = *n;
  } else {
    std::string token;
    auto client = AdminClient(o.remote, dir, &token);
    auto headers = server::BearerHeaders(token);
    headers.push_back({"Content-Type", "application/json"});
    imported = CheckedJson(client->Request("POST", "/v1/lut/" + lut->device_class(),
                                           hal::ToJson(*lut).dump(), headers),
                           200, "importing " + o.file)["imported"];
  }
  std::cout << "imported " << imported << " rows into the LUT of " << lut->device_class() << "\n";
}

// A profile by name (configs/hal/<name>.json) or by path.
hal::HardwareProfile LoadProfileArg(const std::string& arg) {
  auto p = std::filesystem::exists(arg) ? hal::LoadProfile(arg) : hal::FindProfile(arg);
  if (!p) Fail(p.error().message());
  return *p;
}

void RunPredict(const PredictOptions& o) {
  auto header = model::ReadHmcHeader(o.model);
  if (!header) Fail(header.error().message());
  auto kernels = hal::KernelsOf(header->graph, o.batch);
  if (!kernels) Fail(o.model + ": " + kernels.error().message());
  auto lut = ReadLutFile(o.lut);
  if (!lut) Fail(lut.error().message());
  std::optional<hal::HardwareProfile> profile;
  if (!o.profile.empty()) profile = LoadProfileArg(o.profile);
  const auto g = lut->PredictGraph(*kernels, profile ? &*profile : nullptr);
  // Measured here (kernel_bench.h, in context, 1 thread), when asked: the same kernels in order.
  std::vector<double> measured;
  double measured_e2e = 0;
  if (o.measure_runs > 0) {
    auto m = model::LoadHmc(o.model);
    if (!m) Fail(m.error().message());
    if (auto b = hal::ConfigureInt8Backend(); !b) Fail(b.error().message());
    hal::BenchOptions bo;
    bo.runs = o.measure_runs;
    bo.batch = o.batch;
    auto k = hal::ProfileModelKernels(*m, bo);
    if (!k) Fail(k.error().message());
    if (k->size() != kernels->size()) Fail("the profiler listed a different number of kernels");
    for (const auto& km : *k) measured.push_back(km.timing.median_ms);
    auto e2e = hal::ProfileEndToEnd(*m, bo);
    if (!e2e) Fail(e2e.error().message());
    measured_e2e = e2e->median_ms;
  }

  if (o.json) {
    json rows = json::array();
    for (size_t i = 0; i < kernels->size(); ++i) {
      const auto& k = (*kernels)[i];
      const auto& p = g.kernels[i];
      rows.push_back({{"node", k.node},
                      {"key", k.key.ToString()},
                      {"macs", k.macs},
                      {"bytes", k.bytes},
                      {"ms", p.ms},
                      {"how", p.how},
                      {"from_key", p.from_key}});
      if (!measured.empty()) rows.back()["measured_ms"] = measured[i];
    }
    std::cout << json{{"model", o.model},
                      {"device_class", lut->device_class()},
                      {"profile", profile ? profile->name : ""},
                      {"batch", o.batch},
                      {"ms", g.ms},
                      {"exact", g.exact},
                      {"neighbour", g.neighbour},
                      {"roofline", g.roofline},
                      {"none", g.none},
                      {"kernels", rows},
                      {"measured_e2e_ms", measured_e2e}}
                     .dump(2)
              << "\n";
    return;
  }
  std::vector<std::vector<std::string>> table = {{"node", "kernel", "ms", "how", "from"}};
  if (!measured.empty()) table[0].insert(table[0].begin() + 3, "measured");
  double measured_sum = 0;
  for (size_t i = 0; i < kernels->size(); ++i) {
    const auto& p = g.kernels[i];
    table.push_back({(*kernels)[i].node, (*kernels)[i].key.ToString(), Ms(p.ms), p.how,
                     p.how == "neighbour" ? p.from_key : ""});
    if (!measured.empty()) {
      table.back().insert(table.back().begin() + 3, Ms(measured[i]));
      measured_sum += measured[i];
    }
  }
  PrintTable(table);
  std::cout << "\npredicted " << Ms(g.ms) << " ms at batch " << o.batch << " on "
            << lut->device_class() << " (" << g.exact << " exact, " << g.neighbour << " neighbour, "
            << g.roofline << " roofline";
  if (g.none) std::cout << ", " << g.none << " without a prediction: pass --profile";
  std::cout << ")\n";
  if (!measured.empty())
    std::cout << "measured here: kernels " << Ms(measured_sum) << " ms, whole model "
              << Ms(measured_e2e) << " ms (median of " << o.measure_runs
              << " runs, 1 thread, in context)\n";
}

void AddClassCommand(CLI::App* lut, const GlobalOptions& g, const char* name, const char* help,
                     void (*run)(const LutOptions&), bool with_file_out) {
  auto o = std::make_shared<LutOptions>();
  CLI::App* cmd = lut->add_subcommand(name, help);
  cmd->add_option("device_class", o->device_class, "device class, e.g. x86_cpu")->required();
  if (with_file_out)
    cmd->add_option("-o,--output", o->file, "LUT file to write")->required();
  else
    cmd->add_flag("--json", o->json, "print the JSON of GET /v1/lut/{device_class}");
  AddStateDirOption(cmd, o->state_dir);
  AddRemoteOptions(cmd, o->remote);
  cmd->callback([o, &g, run] {
    ApplyGlobalOptions(g);
    run(*o);
  });
}

}  // namespace

void RegisterLut(CLI::App& app, const GlobalOptions& g) {
  CLI::App* lut = app.add_subcommand("lut", "The latency LUT of a device class");
  lut->require_subcommand(1);
  AddClassCommand(lut, g, "show", "Print the merged LUT rows and end-to-end latencies", RunShow,
                  false);
  AddClassCommand(lut, g, "export", "Write the LUT rows to a file (the import format)", RunExport,
                  true);

  auto im = std::make_shared<LutOptions>();
  CLI::App* import =
      lut->add_subcommand("import",
                          "Merge a LUT file's rows into its device class (estimates never replace "
                          "measurements)");
  import->add_option("file", im->file, "LUT file")->required()->check(CLI::ExistingFile);
  AddStateDirOption(import, im->state_dir);
  AddRemoteOptions(import, im->remote);
  import->callback([im, &g] {
    ApplyGlobalOptions(g);
  RunImport(*im);
});

auto p = std::make_shared<PredictOptions>();
CLI::App* predict = lut->add_subcommand(
    "predict", "Predict a model's latency from a LUT file: the sum over its fused kernels");
predict->add_option("--model", p->model, ".hmc model file")->required()->check(CLI::ExistingFile);
predict->add_option("--lut", p->lut, "LUT file (hadmc lut export)")
    ->required()
    ->check(CLI::ExistingFile);
predict->add_option("--profile", p->profile,
                    "hardware profile (name in configs/hal or a path) for the roofline "
                    "fallback and the channel step");
predict->add_option("--batch", p->batch, "batch size (default 1)")->check(CLI::PositiveNumber);
predict->add_flag("--json", p->json, "print JSON");
predict->add_option("--measure", p->measure_runs,
                    "also time every kernel on this machine (in context, 1 thread) over this "
                    "many runs, and the whole model")
    ->check(CLI::PositiveNumber);
predict->callback([p, &g] {
  ApplyGlobalOptions(g);
  RunPredict(*p);
});
}  // namespace hadmc::cli

}  // namespace hadmc::cli
