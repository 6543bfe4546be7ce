// hadmc-edged --config /etc/hadmc/edged.json: the edge daemon (docs/edge.md).
#include <csignal>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "hadmc/common/log.h"
#include "hadmc/edge/daemon.h"
#include "hadmc/hal/allocator.h"
#include "hadmc/hal/int8_backend.h"
#include "hadmc/hal/threads.h"

using hadmc::Status;

int main(int argc, char** argv) {
  CLI::App app{"hadmc-edged: keeps this device serving the newest verified compressed model"};
  std::string config_path = "/etc/hadmc/edged.json";
  app.add_option("--config", config_path, "config file, JSON or YAML (configs/edged.json)");
  CLI11_PARSE(app, argc, argv);

  auto config = hadmc::edge::LoadEdgedConfig(config_path);
  if (!config) {
    std::cerr << "error: " << config.error().message() << "\n";
    return 2;
  }
  hadmc::hal::ConfigureAllocator();
  hadmc::hal::ConfigureThreads(config->threads);
  if (auto b = hadmc::hal::ConfigureInt8Backend(); !b)
    hadmc::Log().warn("edged: no int8 engine ({}); int8 models will not load", b.error().message());

  // Signals go to one watcher thread: SIGTERM/SIGINT stop (the API drains in-flight requests).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto daemon = hadmc::edge::Daemon::Create(*config);
  if (!daemon) {
    std::cerr << "error: " << daemon.error().message() << "\n";
    return 1;
  }
  if (auto st = (*daemon)->Start(); !st) {
    std::cerr << "error: " << st.error().message() << "\n";
    return 1;
  }
  hadmc::Log().info("edged: local API on https://{}:{} (CA: {}/api/ca.crt)", config->api_address,
                    (*daemon)->api_port(), config->state_dir);
  std::thread watcher([&] {
    while (true) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        auto next = hadmc::edge::LoadEdgedConfig(config_path);
        Status st = next ? (*daemon)->Reload(*next) : hadmc::MakeError(next.error());
        if (!st) hadmc::Log().error("edged: SIGHUP: {} (still running the old config)", st.error().message());
        continue;
      }
      hadmc::Log().info("edged: signal {}: stopping", sig);
      (*daemon)->Stop();
      return;
    }
  });
  (*daemon)->Run();
  if (watcher.joinable()) {
    pthread_kill(watcher.native_handle(), SIGTERM);  // wake the watcher if Run ended otherwise
    watcher.join();
  }
  daemon->reset();  // drains the API
  return 0;
}
