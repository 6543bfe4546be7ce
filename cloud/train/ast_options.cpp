#include "hadmc/train/ast_options.h"

#include <cmath>
#include <string>
#include <vector>

namespace hadmc::train {
namespace {

auto Invalid(const std::string& message) { return MakeError(Errc::kInvalidArgument, message); }

bool InUnitInterval(double v) { return v > 0 && v <= 1; }

}  // namespace

const char* LossName(AstOptions::Loss l) {
  return l == AstOptions::Loss::kBatch ? "batch" : "active";
}

std::optional<AstOptions::Loss> LossFromName(const std::string& name) {
  for (auto l : {AstOptions::Loss::kActive, AstOptions::Loss::kBatch})
    if (name == LossName(l)) return l;
  return std::nullopt;
}

const char* ScorePrecisionName(AstOptions::ScorePrecision p) {
  return p == AstOptions::ScorePrecision::kBf16 ? "bf16" : "fp32";
}

std::optional<AstOptions::ScorePrecision> ScorePrecisionFromName(const std::string& name) {
  for (auto p : {AstOptions::ScorePrecision::kFp32, AstOptions::ScorePrecision::kBf16})
    if (name == ScorePrecisionName(p)) return p;
  return std::nullopt;
}

Status ValidateAstOptions(const AstOptions& o) {
  if (!InUnitInterval(o.target_rate))
    return Invalid("--ast-target must be in (0, 1], got " + std::to_string(o.target_rate));
  if (!(o.entropy_weight >= 0) || !std::isfinite(o.entropy_weight))
    return Invalid("--ast-entropy-weight must be >= 0, got " + std::to_string(o.entropy_weight));
  if (!(o.kp >= 0) || !std::isfinite(o.kp))
    return Invalid("--ast-kp must be >= 0, got " + std::to_string(o.kp));
  if (!(o.ki >= 0) || !std::isfinite(o.ki))
    return Invalid("--ast-ki must be >= 0, got " + std::to_string(o.ki));
  if (!InUnitInterval(o.smoothing))
    return Invalid("--ast-smoothing must be in (0, 1], got " + std::to_string(o.smoothing));
  if (o.warmup_epochs < 0)
    return Invalid("--ast-warmup-epochs must be >= 0, got " + std::to_string(o.warmup_epochs));
  if (!(o.gain_warmup_epochs >= 0) || !std::isfinite(o.gain_warmup_epochs))
    return Invalid("--ast-gain-warmup-epochs must be >= 0, got " +
                   std::to_string(o.gain_warmup_epochs));
  if (!(o.min_active_fraction >= 0 && o.min_active_fraction <= 1))
    return Invalid("--ast-min-active must be in [0, 1], got " +
                   std::to_string(o.min_active_fraction));
  if (o.active_multiple < 1 || o.active_multiple > 4096)
    return Invalid("--ast-active-multiple must be in [1, 4096], got " +
                   std::to_string(o.active_multiple));
  if (o.train_batch < 0 || o.train_batch > 65536)
    return Invalid("--ast-train-batch must be in [0, 65536], got " +
                   std::to_string(o.train_batch));
  return {};
}

nlohmann::json AstOptionsToJson(const AstOptions& o) {
  return {{"ast", o.enabled},
          {"ast_target", o.target_rate},
          {"ast_entropy_weight", o.entropy_weight},
          {"ast_kp", o.kp},
          {"ast_ki", o.ki},
          {"ast_smoothing", o.smoothing},
          {"ast_warmup_epochs", o.warmup_epochs},
          {"ast_gain_warmup_epochs", o.gain_warmup_epochs},
          {"ast_min_active", o.min_active_fraction},
          {"ast_active_multiple", o.active_multiple},
          {"ast_loss", LossName(o.loss)},
          {"ast_train_batch", o.train_batch},
          {"ast_score_precision", ScorePrecisionName(o.score_precision)}};
}

const std::vector<const char*>& AstRecipeKeys() {
  static const std::vector<const char*> keys = {
      "ast",    "ast_target",    "ast_entropy_weight",     "ast_kp",        "ast_ki",
      "ast_smoothing", "ast_warmup_epochs", "ast_gain_warmup_epochs", "ast_min_active",
      "ast_active_multiple", "ast_loss", "ast_train_batch", "ast_score_precision"};
  return keys;
}

Result<AstOptions> AstOptionsFromJson(const nlohmann::json& j, const AstOptions& defaults) {
  AstOptions o = defaults;
  if (!j.is_object()) return Invalid("AST options must be a JSON object");
  auto number = [&](const char* key, double& out) -> Status {
    if (!j.contains(key)) return {};
    if (!j.at(key).is_number()) return Invalid(std::string(key) + " must be a number");
    out = j.at(key).get<double>();
    return {};
  };
  if (j.contains("ast")) {
    if (!j.at("ast").is_boolean()) return Invalid("ast must be true or false");
    o.enabled = j.at("ast").get<bool>();
  }
  HADMC_TRY(number("ast_target", o.target_rate));
  HADMC_TRY(number("ast_entropy_weight", o.entropy_weight));
  HADMC_TRY(number("ast_kp", o.kp));
  HADMC_TRY(number("ast_ki", o.ki));
  HADMC_TRY(number("ast_smoothing", o.smoothing));
  HADMC_TRY(number("ast_gain_warmup_epochs", o.gain_warmup_epochs));
  HADMC_TRY(number("ast_min_active", o.min_active_fraction));
  auto whole = [&](const char* key, int64_t& out) -> Status {
    if (!j.contains(key)) return {};
    if (!j.at(key).is_number_integer()) return Invalid(std::string(key) + " must be a whole number");
    out = j.at(key).get<int64_t>();
    return {};
  };
  HADMC_TRY(whole("ast_warmup_epochs", o.warmup_epochs));
  HADMC_TRY(whole("ast_active_multiple", o.active_multiple));
  HADMC_TRY(whole("ast_train_batch", o.train_batch));
  if (j.contains("ast_loss")) {
    const auto& v = j.at("ast_loss");
    const auto loss = v.is_string() ? LossFromName(v.get<std::string>()) : std::nullopt;
    if (!loss) return Invalid("ast_loss must be \"active\" or \"batch\", got " + v.dump());
    o.loss = *loss;
  }
  if (j.contains("ast_score_precision")) {
    const auto& v = j.at("ast_score_precision");
    const auto p = v.is_string() ? ScorePrecisionFromName(v.get<std::string>()) : std::nullopt;
    if (!p) return Invalid("ast_score_precision must be \"fp32\" or \"bf16\", got " + v.dump());
    o.score_precision = *p;
  }
  // The recipe spells the keys with underscores; say so rather than the CLI flag's name.
  if (auto valid = ValidateAstOptions(o); !valid) {
    std::string m = valid.error().message();
    if (m.rfind("--ast-", 0) == 0) {
      m = m.substr(2);
      for (char& c : m) {
        if (c == ' ') break;
        if (c == '-') c = '_';
      }
    }
    return Invalid(m);
  }
  return o;
}

}  // namespace hadmc::train
