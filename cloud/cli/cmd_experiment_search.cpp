// `hadmc experiment sota --model base.hmc --latency-fraction 0.3 --episodes 60 --seeds 0,1,2
//  --out-dir out/sota`: HAD-MC 2.0's PPO search against random search, uniform L1 + int8 PTQ,
// AMC-style, HAQ-style, HAD-MC 1.0 and DQN, in one harness with the same evaluations
// (search/search_experiment.h). `hadmc experiment ppo-vs-dqn` is the same with two methods.
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/search/search_experiment.h"
#include "model_data.h"
#include "search_flags.h"

namespace hadmc::cli {
namespace {

struct SearchExperimentCommand {
  SearchFlags flags;
  std::string out_dir;
  std::vector<std::string> methods, final_methods;
  std::vector<uint64_t> seeds = {0, 1, 2};
  bool no_final_finetune = false;
  std::string title, command_line;
};

std::vector<search::Method> ParseMethods(const std::vector<std::string>& names,
                                         const std::string& flag) {
  std::vector<search::Method> out;
  for (const std::string& name : names) {
    auto m = search::ParseMethod(name);
    if (!m) Fail(flag + ": " + m.error().message());
    out.push_back(*m);
  }
  return out;
}

void RunSearchExperimentCommand(SearchExperimentCommand& c) {
  SearchFlags& f = c.flags;
  ResolveSearchFlags(f);
  search::SearchExperimentOptions o;
  o.methods = ParseMethods(c.methods, "--methods");
  if (o.methods.empty()) Fail("--methods: name at least one method");
  o.final_methods = ParseMethods(c.final_methods, "--final-methods");
  o.seeds = c.seeds;
  if (o.seeds.empty()) Fail("--seeds: at least one seed");
  SearchInputs in = LoadSearchInputs(f, c.out_dir);
  TrainTest& data = in.data;

  search::SearchSetupOptions so = f.setup;
  so.lut_out = c.out_dir + "/lut.json";
  so.progress = &std::cout;
  auto setup = search::PrepareSearch(in.base, data.train, so);
  if (!setup) Fail(setup.error().message());

  o.search = f.search;
  o.search.progress = &std::cout;
  o.env = f.env;
  o.final_finetune = !c.no_final_finetune && f.setup.finetune_epochs > 0;
  o.batch = f.setup.batch;
  o.out_dir = c.out_dir;
  o.base_path = f.model_path;
  auto e = search::RunSearchExperiment(**setup, data.test, o);
  if (!e) Fail(e.error().message());

  const std::string table = search::SearchExperimentMarkdown(*e, **setup);
  const std::string md = "# " + c.title + ": " + f.model_path + "\n\nCommand: `" + c.command_line +
                         "`\n\n" + table;
  if (auto s = WriteFileAtomically(c.out_dir + "/" + c.title + ".md", md); !s)
    Fail(s.error().message());
  nlohmann::json j = search::SearchExperimentJson(*e, **setup);
  j["model"] = f.model_path;
  j["command"] = c.command_line;
  if (auto s = WriteFileAtomically(c.out_dir + "/" + c.title + ".json", j.dump(1) + "\n"); !s)
    Fail(s.error().message());
  if (auto s = search::WriteSearchExperimentPlots(*e, c.out_dir); !s) Fail(s.error().message());
  std::cout << "\n" << table << "wrote " << c.out_dir << "/" << c.title << ".md, " << c.title
            << ".json, convergence.svg, pareto.svg and each checked method's model\n";
}

void Register(CLI::App* experiment, const GlobalOptions& g, const std::string& name,
              const std::string& help, const std::vector<std::string>& default_methods) {
  auto c = std::make_shared<SearchExperimentCommand>();
  c->methods = default_methods;
  std::string defaults;
  for (const std::string& m : default_methods) defaults += (defaults.empty() ? "" : ",") + m;
  c->title = name;
  c->flags.search.episodes = 60;
  CLI::App* cmd = experiment->add_subcommand(name, help);
  AddSearchFlags(cmd, c->flags);
  cmd->add_option("--out-dir", c->out_dir, "directory for the tables, plots and models")->required();
  cmd->add_option("--methods", c->methods,
                  "comma-separated: hadmc2, dqn, random, amc, haq, uniform, hadmc1 (default " +
                      defaults + ")")
      ->delimiter(',');
  cmd->add_option("--seeds", c->seeds, "controller seeds, comma-separated (0,1,2)")->delimiter(',');
  cmd->add_option("--final-methods", c->final_methods,
                  "methods whose best policy is built, fine-tuned, tested and timed, "
                  "comma-separated (default: all)")
      ->delimiter(',');
  cmd->add_flag("--no-final-finetune", c->no_final_finetune,
                "test the best policies without the fine-tune");
  cmd->callback([c, cmd, &g] {
    ApplyGlobalOptions(g);
    c->flags.env.action_wall = cmd->get_option("--no-wall")->count() == 0;
    c->command_line = CommandLine(cmd, "experiment " + c->title);
    RunSearchExperimentCommand(*c);
  });
}

}  // namespace

void RegisterExperimentSearch(CLI::App* experiment, const GlobalOptions& g) {
  Register(experiment, g, "sota",
           "HAD-MC 2.0's PPO search against random, uniform L1+PTQ, AMC-, HAQ-style, HAD-MC 1.0 "
           "and DQN with the same evaluations, over several seeds; tables and plots",
           {"hadmc2", "random", "uniform", "amc", "haq", "hadmc1", "dqn"});
  Register(experiment, g, "ppo-vs-dqn",
           "PPO against DQN as the search controller, same environment and evaluations",
           {"hadmc2", "dqn"});
}

}  // namespace hadmc::cli
