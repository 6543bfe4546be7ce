#include "hadmc/train/train_options.h"

#include <cmath>
#include <set>

namespace hadmc::train {
namespace {

Status Invalid(const std::string& message) { return MakeError(Errc::kInvalidArgument, message); }

}  // namespace

Status ValidateTrainOptions(const TrainOptions& o) {
  if (o.epochs < 1) return Invalid("epochs must be >= 1, got " + std::to_string(o.epochs));
  if (o.batch_size < 1)
    return Invalid("batch size must be >= 1, got " + std::to_string(o.batch_size));
  if (o.eval_batch_size < 1)
    return Invalid("eval batch size must be >= 1, got " + std::to_string(o.eval_batch_size));
  if (o.optimizer != "sgd" && o.optimizer != "adamw")
    return Invalid("unknown optimizer '" + o.optimizer + "' (known: sgd, adamw)");
  if (!(o.lr > 0) || !std::isfinite(o.lr))
    return Invalid("learning rate must be > 0, got " + std::to_string(o.lr));
  if (!(o.momentum >= 0 && o.momentum < 1))
    return Invalid("momentum must be in [0, 1), got " + std::to_string(o.momentum));
  if (o.nesterov && o.optimizer == "sgd" && o.momentum == 0)
    return Invalid("Nesterov momentum needs momentum > 0");
  if (!(o.weight_decay >= 0))
    return Invalid("weight decay must be >= 0, got " + std::to_string(o.weight_decay));
  if (!(o.warmup_epochs >= 0) || o.warmup_epochs > static_cast<double>(o.epochs))
    return Invalid("warm-up epochs must be in [0, epochs], got " +
                   std::to_string(o.warmup_epochs));
  if (!(o.label_smoothing >= 0 && o.label_smoothing < 1))
    return Invalid("label smoothing must be in [0, 1), got " + std::to_string(o.label_smoothing));
  if (!(o.val_fraction >= 0 && o.val_fraction < 1))
    return Invalid("validation fraction must be in [0, 1), got " +
                   std::to_string(o.val_fraction));
  if (o.augment.crop_padding < 0)
    return Invalid("crop padding must be >= 0, got " + std::to_string(o.augment.crop_padding));
  if (!(o.max_minutes >= 0))
    return Invalid("max minutes must be >= 0, got " + std::to_string(o.max_minutes));
  if (o.patience < 0) return Invalid("patience must be >= 0, got " + std::to_string(o.patience));
  if (o.threads < 0) return Invalid("threads must be >= 0, got " + std::to_string(o.threads));
  if (o.resume && o.checkpoint_dir.empty())
    return Invalid("resuming needs a checkpoint directory");
  if (o.ast.enabled) {
    HADMC_TRY(ValidateAstOptions(o.ast));
    if (o.ast.warmup_epochs >= o.epochs)
      return Invalid("--ast-warmup-epochs (" + std::to_string(o.ast.warmup_epochs) +
                     ") leaves no epoch for adaptive sparse training out of " +
                     std::to_string(o.epochs));
  }
  return {};
}

nlohmann::json TrainOptionsToJson(const TrainOptions& o) {
  nlohmann::json norm = nullptr;
  if (!o.normalization.empty()) norm = {{"mean", o.normalization.mean}, {"std", o.normalization.std}};
  nlohmann::json j = {
      {"epochs", o.epochs},
      {"batch_size", o.batch_size},
      {"optimizer", o.optimizer},
      {"lr", o.lr},
      {"momentum", o.momentum},
      {"nesterov", o.nesterov},
      {"weight_decay", o.weight_decay},
      {"warmup_epochs", o.warmup_epochs},
      {"label_smoothing", o.label_smoothing},
      {"seed", o.seed},
      {"val_fraction", o.val_fraction},
      {"augment", {{"crop_padding", o.augment.crop_padding},
                   {"horizontal_flip", o.augment.horizontal_flip}}},
      {"normalization", norm},
      {"max_minutes", o.max_minutes},
      {"patience", o.patience},
      {"select_best", o.select_best},
      {"eval_batch_size", o.eval_batch_size},
  };
  // Only when on, so checkpoints of runs without AST keep resuming.
  if (o.ast.enabled) j["ast"] = AstOptionsToJson(o.ast);
  return j;
}

std::vector<std::string> ResumeIncompatibleOptions(const nlohmann::json& saved,
                                                   const nlohmann::json& current) {
  // A resumed run may train longer or stop differently; everything else changes the trajectory.
  static const std::set<std::string> kMayChange = {"epochs", "max_minutes", "patience",
                                                   "select_best", "eval_batch_size"};
  std::vector<std::string> differing;
  for (const auto& [key, value] : current.items()) {
    if (kMayChange.count(key)) continue;
    if (!saved.contains(key) || saved.at(key) != value) differing.push_back(key);
  }
  return differing;
}

}  // namespace hadmc::train
