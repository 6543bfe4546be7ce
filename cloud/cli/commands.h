// Each `hadmc` subcommand lives in its own cmd_<name>.cpp and registers itself here.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace hadmc::cli {

// Options every subcommand shares (set on the top-level app).
struct GlobalOptions {
  int threads = 0;  // 0 = number of online CPUs
  std::string log_level = "info";
};

// Applies the global options (thread count, log level). Call at the start of each command.
void ApplyGlobalOptions(const GlobalOptions& g);

// Register functions, one per subcommand. Each adds a subcommand to `app` whose callback runs it;
// a failing command throws CLI::RuntimeError(exit_code) after printing a clear error.
void RegisterSysinfo(CLI::App& app, const GlobalOptions& g);
void RegisterInfo(CLI::App& app, const GlobalOptions& g);
void RegisterRun(CLI::App& app, const GlobalOptions& g);
void RegisterImport(CLI::App& app, const GlobalOptions& g);
void RegisterTrain(CLI::App& app, const GlobalOptions& g);
void RegisterEval(CLI::App& app, const GlobalOptions& g);
void RegisterCompress(CLI::App& app, const GlobalOptions& g);
void RegisterFinetune(CLI::App& app, const GlobalOptions& g);
void RegisterExperiment(CLI::App& app, const GlobalOptions& g);  // experiment ablation|ast|...
void RegisterExperimentAst(CLI::App* experiment, const GlobalOptions& g);
void RegisterExperimentSearch(CLI::App* experiment, const GlobalOptions& g);  // sota, ppo-vs-dqn
void RegisterExperimentPlatform(CLI::App* experiment, const GlobalOptions& g);  // lut, cross-platform
void RegisterKeys(CLI::App& app, const GlobalOptions& g);
void RegisterCa(CLI::App& app, const GlobalOptions& g);
void RegisterToken(CLI::App& app, const GlobalOptions& g);
void RegisterPublish(CLI::App& app, const GlobalOptions& g);  // publish, versions, rollout
void RegisterServe(CLI::App& app, const GlobalOptions& g);
void RegisterSearch(CLI::App& app, const GlobalOptions& g);
void RegisterHal(CLI::App& app, const GlobalOptions& g);  // hal list|show|validate|detect
void RegisterLut(CLI::App& app, const GlobalOptions& g);  // lut show|export|import|predict

// Prints "error: <message>" to stderr and throws CLI::RuntimeError(code).
[[noreturn]] void Fail(const std::string& message, int code = 1);

}  // namespace hadmc::cli
