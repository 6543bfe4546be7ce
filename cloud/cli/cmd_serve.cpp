// `hadmc serve [--config configs/cloud.json] [--state-dir DIR]`: the cloud HTTPS server. Without
// a config it listens on 127.0.0.1:8443 (devices, mTLS) and :8444 (admin), and on first start
// creates a CA, server certificate, signing key and admin token in the state directory.
// SIGTERM or SIGINT drains: no new connections, in-flight requests finish.
#include <signal.h>

#include <iostream>
#include <memory>

#include "commands.h"
#include "fleet_options.h"
#include "hadmc/common/log.h"
#include "hadmc/server/bootstrap.h"
#include "hadmc/server/cloud_server.h"

namespace hadmc::cli {
namespace {

struct ServeOptions {
  std::string config;
  std::string state_dir;
  int device_port = -1, admin_port = -1;
};

void PrintFirstRun(const server::DevDefaults& d, const server::CloudConfig& c) {
  if (d.created.empty()) return;
  const server::StateDir s = c.State();
  std::cout << "first start: created\n";
  for (const auto& what : d.created) std::cout << "  " << what << "\n";
  const std::string admin = "https://" + c.admin.address + ":" + std::to_string(c.admin.port);
  std::cout << "\ntry it:\n"
            << "  export HADMC_TOKEN=$(cat " << s.AdminTokenFile() << ")\n"
            << "  curl --cacert " << s.CaCert() << " -H \"Authorization: Bearer $HADMC_TOKEN\" "
            << admin << "/v1/fleet\n"
            << "  hadmc publish model.hmc --name resnet --channel stable --state-dir " << s.root
            << " --server " << admin << "\n"
            << "  hadmc ca issue-device edge-1 --state-dir " << s.root
            << "   # client certificate for a device\n\n";
}

void RunServe(const ServeOptions& o) {
  server::CloudConfig config;
  if (!o.config.empty()) {
    auto c = server::LoadCloudConfig(o.config);
    if (!c) Fail(c.error().message(), 2);
    config = *c;
  }
  if (config.state_dir.empty() || !o.state_dir.empty())
    config.state_dir = o.state_dir.empty() ? server::DefaultStateDir() : o.state_dir;
  if (o.device_port >= 0) config.device.port = static_cast<uint16_t>(o.device_port);
  if (o.admin_port >= 0) config.admin.port = static_cast<uint16_t>(o.admin_port);
  const server::StateDir dir = OpenStateDir(config.state_dir);
  {
    auto reg = OpenRegistry(dir);
    auto defaults = server::EnsureDevDefaults(dir, *reg);
    if (!defaults) Fail(defaults.error().message());
    PrintFirstRun(*defaults, config);
  }
  // Block the stop signals before the I/O threads start, so only sigwait below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  auto s = server::CloudServer::Start(config);
  if (!s) Fail(s.error().message());
  std::cout << "listening: devices https://" << config.device.address << ":"
            << (*s)->device_port() << " (mTLS), admin https://" << config.admin.address << ":"
            << (*s)->admin_port() << std::endl;
  int sig = 0;
  sigwait(&stop, &sig);
  Log().info("signal {}: draining connections", sig);
  (*s)->Stop();
  Log().info("stopped");
}

}  // namespace

void RegisterServe(CLI::App& app, const GlobalOptions& g) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the cloud HTTPS server (REST API, blocks)");
  cmd->add_option("--config", o->config, "cloud.json (see configs/cloud.json)");
  cmd->add_option("--state-dir", o->state_dir,
                  "state directory (overrides the config; default $HADMC_STATE_DIR or "
                  "./hadmc-state)");
  cmd->add_option("--device-port", o->device_port, "override the device listener's port");
  cmd->add_option("--admin-port", o->admin_port, "override the admin listener's port");
  cmd->callback([o, &g] {
    ApplyGlobalOptions(g);
    RunServe(*o);
  });
}

}  // namespace hadmc::cli
