// hadmc: the cloud-side command line (train, import, inspect, run; compression and fleet commands
// arrive with their issues).
#include <iostream>
#include <thread>

#include "commands.h"
#include "hadmc/common/log.h"

namespace hadmc::cli {

[[noreturn]] void Fail(const std::string& message, int code) {
  std::cerr << "error: " << message << "\n";
  throw CLI::RuntimeError(code);
}

}  // namespace hadmc::cli

int main(int argc, char** argv) {
  using namespace hadmc::cli;
  CLI::App app{"HAD-MC: hardware-aware compression of neural networks for edge fleets"};
  app.require_subcommand(1);
  GlobalOptions global;
  app.add_option("--threads", global.threads,
                 "intra-op threads for LibTorch (default: number of CPUs)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--log-level", global.log_level, "trace, debug, info, warn, error or off");

  // The table of subcommands; each registers its own options and callback.
  using RegisterFn = void (*)(CLI::App&, const GlobalOptions&);
  const RegisterFn commands[] = {
      RegisterSysinfo, RegisterInfo, RegisterRun,     RegisterImport,  RegisterTrain,
      RegisterEval,    RegisterCompress, RegisterKeys, RegisterCa,      RegisterToken,
      RegisterPublish, RegisterServe, RegisterExperiment, RegisterFinetune, RegisterHal,
      RegisterLut,     RegisterSearch,
  };
  for (RegisterFn reg : commands) reg(app, global);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
