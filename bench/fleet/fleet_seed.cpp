// fleet_seed --state-dir DIR --devices N: registers N devices (edge-00000 …) across four device
// classes, each with one heartbeat on one of three versions, so fleet queries run over a realistic
// table. Writes straight to the registry (the server may be running: SQLite WAL).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "hadmc/registry/registry.h"
#include "hadmc/server/state_dir.h"

namespace {
hadmc::registry::Heartbeat Heartbeat(const std::string& id, uint64_t version, const char* health) {
  hadmc::registry::Heartbeat h;
  h.device_id = id;
  h.model = "resnet18";
  h.version = version;
  h.state = "serving";
  h.health = health;
  h.p50_ms = 2.0;
  h.p99_ms = 5.0;
  return h;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seed a registry with devices"};
  std::string state_dir = "hadmc-state";
  int devices = 10'000;
  app.add_option("--state-dir", state_dir);
  app.add_option("--devices", devices)->check(CLI::Range(1, 1'000'000));
  CLI11_PARSE(app, argc, argv);
  hadmc::server::StateDir dir{state_dir};
  if (auto s = hadmc::server::PrepareStateDir(dir); !s) return 1;
  auto reg = hadmc::registry::OpenSqliteRegistry(dir.RegistryDb());
  if (!reg) {
    std::cerr << reg.error().String() << "\n";
    return 1;
  }
  const char* classes[] = {"jetson_orin", "ascend_310", "mlu370", "x86_cpu"};
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < devices; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "edge-%05d", i);
    if (!(*reg)->RegisterDevice(id, classes[i % 4]) ||
        !(*reg)->RecordHeartbeat(
            Heartbeat(id, static_cast<uint64_t>(1 + i % 3), i % 50 ? "ok" : "degraded"))) {
      std::cerr << "seeding failed at " << id << "\n";
      return 1;
    }
  }
  std::cout << "seeded " << devices << " devices in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s\n";
  return 0;
}
