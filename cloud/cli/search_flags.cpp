#include "search_flags.h"

#include <filesystem>
#include <sstream>

#include "commands.h"
#include "hadmc/model/hmc_file.h"

namespace hadmc::cli {

SearchFlags::SearchFlags() {
  search.ppo.gamma = 1.0;  // one terminal reward per episode: no discounting
  search.ppo.lr = 1e-3;
  search.ppo.epochs = 8;
  search.ppo.minibatch_size = 32;
  search.rollout_episodes = 4;
}

void AddSearchFlags(CLI::App* cmd, SearchFlags& f) {
  search::SearchSetupOptions& s = f.setup;
  cmd->add_option("--model", f.model_path, "trained .hmc model (fp32, unfused)")->required();
  cmd->add_option("--data", f.data, "dataset (default: the one recorded in the model)");
  cmd->add_option("--train-samples", f.train_samples,
                  "use a stratified subset of the training set (0: all)");
  cmd->add_option("--target", s.target,
                  "hardware profile name or file (default: this machine's, see hadmc hal detect)");
  cmd->add_option("--lut", s.lut_path,
                  "LUT file (hadmc lut export); default: time kernels here when the target is "
                  "this machine, else roofline estimates");
  cmd->add_flag("--no-measure-lut", f.no_measure_lut, "do not time kernels here");
  cmd->add_option("--latency-ms", s.latency_ms, "latency budget in ms (batch --batch)");
  cmd->add_option("--latency-fraction", s.latency_fraction,
                  "latency budget as a fraction of the base's latency (measured here when the "
                  "target is this machine, else LUT-predicted)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--size-kb", s.size_kb, "size budget of the stored weights, KiB");
  cmd->add_option("--max-accuracy-drop", s.max_accuracy_drop,
                  "accuracy floor: proxy top-1 at most this many points under the base's (1.0); "
                  "negative: no floor");
  cmd->add_option("--batch", s.batch, "latency batch (1)")->check(CLI::PositiveNumber);
  cmd->add_option("--proxy-samples", s.proxy_samples,
                  "held-out training images for the accuracy proxy (2000)");
  cmd->add_option("--recal-samples", s.recal_samples,
                  "training images for batch-norm recalibration (512)");
  cmd->add_option("--finetune-epochs", s.finetune_epochs,
                  "epochs of distillation fine-tuning of the final policy (1; 0: none)");
  cmd->add_option("--finetune-lr", s.finetune_lr, "its learning rate (0.01)");
  cmd->add_option("--bits", f.env.bits, "bit widths the search may choose, comma-separated (4,8,16,32)")
      ->delimiter(',');
  cmd->add_option("--max-prune", f.env.max_prune_ratio, "highest prune ratio per layer (0.8)")
      ->check(CLI::Range(0.0, 0.9));
  cmd->add_flag("--no-prune", f.no_prune, "search bit widths only");
  cmd->add_flag("--no-distill-search", f.no_distill,
                "fix the fine-tune's temperature (4) and alpha (0.7) instead of searching them");
  cmd->add_flag("--no-wall", "turn the action wall off (ablation)");
  cmd->add_option("--episodes", f.search.episodes, "episodes (policies evaluated) per search (200)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rollout", f.search.rollout_episodes,
                  "episodes per PPO update and per checkpoint (4)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--ppo-lr", f.search.ppo.lr, "PPO learning rate (1e-3)");
  cmd->add_option("--ppo-epochs", f.search.ppo.epochs, "PPO epochs per rollout (8)");
  cmd->add_option("--ppo-entropy", f.search.ppo.entropy_coef, "PPO entropy bonus (0.01)");
  cmd->add_option("--dqn-lr", f.search.dqn.lr, "DQN learning rate (1e-3)");
  cmd->add_option("--prior", f.search.prior,
                  "PPO's first policy prefers mild pruning and the target's fastest precision: "
                  "prune logits -3 x prior x ratio, fastest width +prior, int4 -prior (2; 0: "
                  "uniform)");
  cmd->add_option("--pareto-bonus", f.search.weights.pareto,
                  "reward bonus for entering the Pareto front (0.1)");
  cmd->add_option("--seed", s.seed, "seed of the splits and calibration (and of the controller "
                                    "in hadmc search)");
}

void ResolveSearchFlags(SearchFlags& f) {
  f.env.prune = !f.no_prune;
  f.env.distillation = !f.no_distill;
  f.setup.measure_lut = !f.no_measure_lut;
  if (auto s = search::ValidateEnvironmentOptions(f.env); !s) Fail(s.error().message());
}

SearchInputs LoadSearchInputs(const SearchFlags& f, const std::string& out_dir) {
  auto base = model::LoadHmc(f.model_path);
  if (!base) Fail("loading " + f.model_path + ": " + base.error().message());
  SearchInputs in{std::move(*base), {}};
  in.data = LoadTrainTest(in.base, f.data);
  if (f.train_samples > 0)
    in.data.train = StratifiedSubset(in.data.train, f.train_samples, f.setup.seed, "--train-samples");
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) Fail("creating " + out_dir + ": " + ec.message());
  return in;
}

std::string CommandLine(const CLI::App* cmd, const std::string& path) {
  std::ostringstream line;
  line << "hadmc " << path;
  for (const CLI::Option* o : cmd->get_options()) {
    if (o->count() == 0 || o->get_name() == "--help") continue;
    line << " " << o->get_name();
    if (o->get_expected_min() == 0) continue;  // a flag: no value to write back
    // A list flag (--targets a,b) is written back the way it is typed.
    const char sep = o->get_delimiter() != '\0' ? o->get_delimiter() : ' ';
    const auto& values = o->results();
    for (size_t k = 0; k < values.size(); ++k) line << (k == 0 ? ' ' : sep) << values[k];
  }
  return line.str();
}

}  // namespace hadmc::cli
