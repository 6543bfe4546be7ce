#include "ast_flags.h"

#include "commands.h"

namespace hadmc::cli {

void AddAstFlags(CLI::App* cmd, AstFlags& f) {
  train::AstOptions& o = f.values;
  const std::string group = "Adaptive sparse training";
  auto add = [&](CLI::Option* opt, const char* key) {
    opt->group(group);
    f.options.emplace_back(opt, key);
  };
  add(cmd->add_flag("--ast", o.enabled,
                    "adaptive sparse training: back-propagate only each batch's significant "
                    "samples (loss + w * entropy above a PI-controlled threshold)"),
      "ast");
  add(cmd->add_option("--ast-target", o.target_rate,
                      "target share of samples back-propagated, (0, 1] (0.3)"),
      "ast_target");
  add(cmd->add_option("--ast-entropy-weight", o.entropy_weight,
                      "w in significance = loss + w * entropy (0.5)"),
      "ast_entropy_weight");
  add(cmd->add_option("--ast-kp", o.kp, "controller proportional gain, per unit of rate error (1.0)"),
      "ast_kp");
  add(cmd->add_option("--ast-ki", o.ki, "controller integral gain, per step (0.05)"), "ast_ki");
  add(cmd->add_option("--ast-smoothing", o.smoothing,
                      "EMA weight of each batch's activation rate, (0, 1] (0.2)"),
      "ast_smoothing");
  add(cmd->add_option("--ast-warmup-epochs", o.warmup_epochs,
                      "full-data epochs before AST starts (0)"),
      "ast_warmup_epochs");
  add(cmd->add_option("--ast-gain-warmup-epochs", o.gain_warmup_epochs,
                      "ramp kp and ki linearly from 0 over this many AST epochs (0: off)"),
      "ast_gain_warmup_epochs");
  add(cmd->add_option("--ast-min-active", o.min_active_fraction,
                      "top-k floor: back-propagate at least this share of each batch (0.05)"),
      "ast_min_active");
  add(cmd->add_option("--ast-active-multiple", o.active_multiple,
                      "round each batch's active count up to a multiple of this, with the next "
                      "most significant samples, so the CPU kernels cached per shape are reused "
                      "(8; 1: off)"),
      "ast_active_multiple");
  add(cmd->add_option_function<std::string>(
             "--ast-loss",
             [&o](const std::string& v) { o.loss = *train::LossFromName(v); },
             "loss of an active sub-batch: 'active' (mean over the active samples) or 'batch' "
             "(their sum over the whole batch's size: the full batch's mean loss with the "
             "inactive terms at 0) (active)")
          ->check(CLI::IsMember({"active", "batch"})),
      "ast_loss");
  add(cmd->add_option("--ast-train-batch", o.train_batch,
                      "gather the active samples of successive batches and train them this many "
                      "at a time, so small active sets run at full-batch efficiency (0: train "
                      "each batch's active samples at once) (0)"),
      "ast_train_batch");
  add(cmd->add_option_function<std::string>(
             "--ast-score-precision",
             [&o](const std::string& v) { o.score_precision = *train::ScorePrecisionFromName(v); },
             "arithmetic of the no-grad scoring pass: 'fp32', or 'bf16' (a bfloat16 copy of the "
             "model, re-cast after each training step; faster on CPUs with AVX512-BF16) (fp32)")
          ->check(CLI::IsMember({"fp32", "bf16"})),
      "ast_score_precision");
}

nlohmann::json GivenAstFlags(const AstFlags& f) {
  const nlohmann::json all = train::AstOptionsToJson(f.values);
  nlohmann::json given = nlohmann::json::object();
  for (const auto& [opt, key] : f.options)
    if (opt->count() > 0) given[key] = all.at(key);
  return given;
}

train::AstOptions ResolveAstOptions(const AstFlags& f, const train::AstOptions& base) {
  const nlohmann::json given = GivenAstFlags(f);
  auto merged = train::AstOptionsFromJson(given, base);
  if (!merged) {
    // AstOptionsFromJson names recipe keys (ast_target); say the flag the user typed.
    std::string m = merged.error().message();
    for (const auto& [opt, key] : f.options)
      if (m.rfind(key + " ", 0) == 0) m = opt->get_name() + m.substr(key.size());
    Fail(m);
  }
  if (!merged->enabled)
    for (const auto& [opt, key] : f.options)
      if (opt->count() > 0 && key != "ast")
        Fail(opt->get_name() + " tunes adaptive sparse training, which is off: add --ast (or "
             "ast: true in the recipe)");
  return *merged;
}

}  // namespace hadmc::cli
