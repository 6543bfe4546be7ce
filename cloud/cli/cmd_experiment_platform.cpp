// `hadmc experiment lut --out-dir DIR [--archs resnet8,resnet18,mobilenet_v2] [--ratios ...]`:
// how well a LUT of kernels timed here predicts the end-to-end latency of pruned/int8 variants
// (search/lut_experiment.h, the same code as bench/lut_accuracy_bench).
// `hadmc experiment cross-platform --model base.hmc --latency-fraction 0.5 --targets
//  x86_cpu,jetson_orin --out-dir DIR`: one search per target device class, each under the same
// fraction of its own base latency (search/cross_platform_experiment.h).
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/search/cross_platform_experiment.h"
#include "hadmc/search/lut_experiment.h"
#include "search_flags.h"

namespace hadmc::cli {
namespace {

void WriteOrFail(const std::string& path, const std::string& text) {
  if (auto s = WriteFileAtomically(path, text); !s) Fail(s.error().message());
}

struct LutCommand {
  search::LutExperimentOptions options;
  std::string out_dir, command_line;
};

void RunLutCommand(LutCommand& c) {
  search::LutExperimentOptions& o = c.options;
  if (auto s = search::ValidateLutExperimentOptions(o); !s) Fail(s.error().message());
  std::error_code ec;
  std::filesystem::create_directories(c.out_dir, ec);
  if (ec) Fail("creating " + c.out_dir + ": " + ec.message());
  o.progress = &std::cout;
  auto e = search::RunLutExperiment(o);
  if (!e) Fail(e.error().message());

  const std::string body = search::LutExperimentMarkdown(*e);
  WriteOrFail(c.out_dir + "/lut.md",
              "# LUT accuracy on this machine\n\nCommand: `" + c.command_line + "`\n\n" + body);
  nlohmann::json j = search::LutExperimentJson(*e);
  j["command"] = c.command_line;
  WriteOrFail(c.out_dir + "/lut.json", j.dump(1) + "\n");
  if (auto s = search::WriteLutExperimentPlot(*e, c.out_dir + "/lut.svg"); !s)
    Fail(s.error().message());
  std::cout << "\n" << body << "wrote " << c.out_dir << "/lut.md, lut.json, lut.svg\n";
}

void RegisterLutExperiment(CLI::App* experiment, const GlobalOptions& g) {
  auto c = std::make_shared<LutCommand>();
  CLI::App* cmd = experiment->add_subcommand(
      "lut",
      "LUT accuracy on this machine: pruned fp32/int8 variants timed kernel by kernel and end to "
      "end; kernel-sum, held-out (staircase neighbour) and roofline predictions against the "
      "measurement; tables and a scatter plot");
  search::LutExperimentOptions& o = c->options;
  cmd->add_option("--out-dir", c->out_dir, "directory for lut.md, lut.json, lut.svg")->required();
  cmd->add_option("--archs", o.archs,
                  "zoo architectures, comma-separated, built for 28x28 gray images and 10 classes "
                  "with random weights (resnet8,resnet18,mobilenet_v2)")
      ->delimiter(',');
  cmd->add_option("--model", o.model_path,
                  "variants of this trained .hmc model (fp32, unfused) instead of --archs");
  cmd->add_option("--ratios", o.ratios,
                  "L1 prune ratios, comma-separated; the 1st, 3rd, ... build the held-out LUT "
                  "(0,0.15,0.3,0.45,0.6,0.75)")
      ->delimiter(',');
  cmd->add_option("--runs", o.runs, "timed runs per variant, over all rounds (100)");
  cmd->add_option("--rounds", o.rounds, "round-robin rounds over the variants (5)");
  cmd->add_option("--threads", o.threads, "LibTorch threads while timing (1)");
  cmd->add_option("--profile", o.profile, "hardware profile of the roofline predictor (x86_cpu)");
  cmd->add_option("--data", o.calibration_data,
                  "int8 calibration images (default: the model's dataset, else fashion-mnist; "
                  "random inputs when not installed)");
  cmd->callback([c, cmd, &g] {
    ApplyGlobalOptions(g);
    c->command_line = CommandLine(cmd, "experiment lut");
    RunLutCommand(*c);
  });
}

struct CrossPlatformCommand {
  SearchFlags flags;
  std::vector<std::string> targets = search::CrossPlatformOptions().targets;
  std::string out_dir, lut_dir;
  bool no_final_finetune = false;
  std::string command_line;
};

void RunCrossPlatformCommand(CrossPlatformCommand& c) {
  SearchFlags& f = c.flags;
  ResolveSearchFlags(f);
  if (!(f.setup.latency_fraction > 0))
    Fail(
        "--latency-fraction: required (each target's budget is this fraction of its own base "
        "latency)");
  search::CrossPlatformOptions o;
  o.targets = c.targets;
  if (o.targets.empty()) Fail("--targets: name at least one target");
  o.lut_dir = c.lut_dir;
  SearchInputs in = LoadSearchInputs(f, c.out_dir);
  o.setup = f.setup;
  o.setup.progress = &std::cout;
  o.search = f.search;
  o.search.progress = &std::cout;
  o.env = f.env;
  o.final_finetune = !c.no_final_finetune;
  o.out_dir = c.out_dir;
  o.base_path = f.model_path;
  auto e = search::RunCrossPlatformExperiment(in.base, in.data.train, in.data.test, o);
  if (!e) Fail(e.error().message());

  std::ostringstream head;
  head << "# Cross-platform: " << f.model_path << "\n\nCommand: `" << c.command_line
       << "`\n\nOne HAD-MC 2.0 (PPO) search per target: " << f.search.episodes << " episodes, seed "
       << f.setup.seed << ", latency budget " << f.setup.latency_fraction
       << " × the target's base latency, ";
  if (f.setup.max_accuracy_drop >= 0)
    head << "proxy accuracy at most " << f.setup.max_accuracy_drop
         << " points under the base's.\n\n";
  else
    head << "no accuracy floor.\n\n";
  const std::string table = search::CrossPlatformMarkdown(*e);
  WriteOrFail(c.out_dir + "/cross-platform.md", head.str() + table);
  nlohmann::json j = search::CrossPlatformJson(*e);
  j["model"] = f.model_path;
  j["command"] = c.command_line;
  j["episodes"] = f.search.episodes;
  j["seed"] = f.setup.seed;
  j["latency_fraction"] = f.setup.latency_fraction;
  j["max_accuracy_drop"] = f.setup.max_accuracy_drop;
  WriteOrFail(c.out_dir + "/cross-platform.json", j.dump(1) + "\n");
  if (auto s = search::WriteCrossPlatformPlot(*e, c.out_dir + "/cross-platform.svg"); !s)
    Fail(s.error().message());
  std::cout << "\n"
            << table << "wrote " << c.out_dir
            << "/cross-platform.md, cross-platform.json, cross-platform.svg and <target>.hmc\n";
  const auto failed = std::count_if(e->rows.begin(), e->rows.end(),
                                    [](const search::CrossPlatformRow& r) { return !r.error.empty(); });
  if (failed > 0)
    Fail(std::to_string(failed) + " of " + std::to_string(e->rows.size()) +
         " targets failed (their rows say why); the others are in the report");
}

void RegisterCrossPlatform(CLI::App* experiment, const GlobalOptions& g) {
  auto c = std::make_shared<CrossPlatformCommand>();
  c->flags.search.episodes = 60;
  CLI::App* cmd = experiment->add_subcommand(
      "cross-platform",
      "The same search once per target device class, each under the same fraction of its own "
      "base latency; latencies measured here for this machine, else from --lut-dir or the "
      "roofline (each row says which); table and bar chart");
  AddSearchFlags(cmd, c->flags);
  // One target, LUT and absolute budget do not apply to a run over several targets: --targets,
  // --lut-dir and --latency-fraction replace them (so --help does not offer them).
  for (const char* flag : {"--target", "--lut", "--latency-ms"})
    cmd->remove_option(cmd->get_option(flag));
  cmd->add_option("--out-dir", c->out_dir, "directory for the table, plot and models")->required();
  cmd->add_option("--targets", c->targets,
                  "hardware profiles, comma-separated (x86_cpu,jetson_orin,ascend_310,mlu370; "
                  "see hadmc hal list)")
      ->delimiter(',');
  cmd->add_option("--lut-dir", c->lut_dir,
                  "directory of <target>.json LUT files (hadmc lut export) for the targets that "
                  "are not this machine; without one a target gets roofline projections");
  cmd->add_flag("--no-final-finetune", c->no_final_finetune,
                "test the best policies without the fine-tune");
  cmd->callback([c, cmd, &g] {
    ApplyGlobalOptions(g);
    c->flags.env.action_wall = cmd->get_option("--no-wall")->count() == 0;
    c->command_line = CommandLine(cmd, "experiment cross-platform");
    RunCrossPlatformCommand(*c);
  });
}

}  // namespace

void RegisterExperimentPlatform(CLI::App* experiment, const GlobalOptions& g) {
  RegisterLutExperiment(experiment, g);
  RegisterCrossPlatform(experiment, g);
}

}  // namespace hadmc::cli
