// Recipes in JSON, and the compress report as JSON and as a readable table.
#include <algorithm>
#include <iomanip>
#include <sstream>

#include "hadmc/compress/pipeline.h"
#include "hadmc/model/model_summary.h"

namespace hadmc::compress {
namespace {

template <typename T>
Status Read(const nlohmann::json& j, const char* key, T& into) {
  if (!j.contains(key)) return {};
  try {
    into = j.at(key).get<T>();
  } catch (const std::exception& e) {
    return MakeError(Errc::kInvalidArgument, std::string("recipe key '") + key + "': " + e.what());
  }
  return {};
}

std::string Ms(double ms) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(ms < 10 ? 2 : 1) << ms << " ms";
  return s.str();
}

std::string Ratio(double before, double after) {
  if (after <= 0) return "";
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << before / after << "x";
  return s.str();
}

// "2.24x faster", or "1.10x slower" when the compressed model lost.
std::string Speed(double before_ms, double after_ms) {
  if (after_ms <= 0 || before_ms <= 0) return "";
  return after_ms <= before_ms ? Ratio(before_ms, after_ms) + " faster"
                               : Ratio(after_ms, before_ms) + " slower";
}

}  // namespace

Result<CompressRecipe> RecipeFromJson(const nlohmann::json& j, CompressRecipe r) {
  if (!j.is_object()) return MakeError(Errc::kInvalidArgument, "a recipe is a JSON object");
  static const std::set<std::string> known = {
      "prune", "importance", "global", "round_to", "calib_batches", "distill_epochs", "distill",
      "alpha", "temperature", "feature_lambda", "features", "lr", "batch_size", "augment", "fuse",
      "disable_passes", "bits", "mixed_budget_kb", "qat_epochs", "qat_lr", "observer", "keep_first_last", "quant_calib_samples",
      "latency_runs", "seed"};
  for (const auto& [key, value] : j.items()) {
    const auto& ast_keys = train::AstRecipeKeys();
    const bool ast_key = std::find(ast_keys.begin(), ast_keys.end(), key) != ast_keys.end();
    if (!known.count(key) && !ast_key)
      return MakeError(Errc::kInvalidArgument, "unknown recipe key '" + key + "'");
  }
  auto ast = train::AstOptionsFromJson(j, r.ast);
  if (!ast) return MakeError(ast.error());
  r.ast = *ast;
  std::string importance = r.importance == Importance::kTaylor ? "taylor" : "l1";
  std::string observer = ObserverKindName(r.observer);
  std::vector<std::string> disabled(r.disabled_passes.begin(), r.disabled_passes.end());
  HADMC_TRY(Read(j, "prune", r.prune_ratio));
  HADMC_TRY(Read(j, "importance", importance));
  HADMC_TRY(Read(j, "global", r.global));
  HADMC_TRY(Read(j, "round_to", r.round_to));
  HADMC_TRY(Read(j, "calib_batches", r.calib_batches));
  HADMC_TRY(Read(j, "distill_epochs", r.finetune_epochs));
  HADMC_TRY(Read(j, "distill", r.distill));
  HADMC_TRY(Read(j, "alpha", r.distillation.alpha));
  HADMC_TRY(Read(j, "temperature", r.distillation.temperature));
  HADMC_TRY(Read(j, "feature_lambda", r.distillation.feature_lambda));
  HADMC_TRY(Read(j, "features", r.distillation.features));
  HADMC_TRY(Read(j, "lr", r.finetune_lr));
  HADMC_TRY(Read(j, "batch_size", r.batch_size));
  HADMC_TRY(Read(j, "augment", r.augment));
  HADMC_TRY(Read(j, "fuse", r.fuse));
  HADMC_TRY(Read(j, "disable_passes", disabled));
  HADMC_TRY(Read(j, "bits", r.bits));
  HADMC_TRY(Read(j, "mixed_budget_kb", r.mixed_budget_kb));
  HADMC_TRY(Read(j, "qat_epochs", r.qat_epochs));
  HADMC_TRY(Read(j, "qat_lr", r.qat_lr));
  HADMC_TRY(Read(j, "observer", observer));
  HADMC_TRY(Read(j, "keep_first_last", r.keep_first_last));
  HADMC_TRY(Read(j, "quant_calib_samples", r.quant_calib_samples));
  HADMC_TRY(Read(j, "latency_runs", r.latency.runs));
  HADMC_TRY(Read(j, "seed", r.seed));
  auto imp = ParseImportance(importance);
  if (!imp) return MakeError(imp.error());
  r.importance = *imp;
  auto obs = ParseObserverKind(observer);
  if (!obs) return MakeError(obs.error());
  r.observer = *obs;
  r.disabled_passes = {disabled.begin(), disabled.end()};
  if (!(r.prune_ratio >= 0 && r.prune_ratio < 1))
    return MakeError(Errc::kInvalidArgument, "prune must be in [0, 1)");
  if (r.bits != 4 && r.bits != 8 && r.bits != 16 && r.bits != 32)
    return MakeError(Errc::kInvalidArgument,
                     "bits must be 32, 16, 8 or 4, got " + std::to_string(r.bits));
  if (r.mixed_budget_kb < 0 || (r.mixed_budget_kb > 0 && r.bits != 8))
    return MakeError(Errc::kInvalidArgument,
                     "mixed_budget_kb (int8/int4 allocation) needs bits 8 and a budget > 0");
  if (r.qat_epochs < 0 || (r.qat_epochs > 0 && r.bits != 8))
    return MakeError(Errc::kInvalidArgument, "qat_epochs needs bits 8 (QAT trains for int8)");
  if (!(r.qat_lr > 0)) return MakeError(Errc::kInvalidArgument, "qat_lr must be > 0");
  if (r.latency.runs < 50)
    return MakeError(Errc::kInvalidArgument, "latency_runs must be >= 50 (median and p90 need them)");
  return r;
}

nlohmann::json RecipeToJson(const CompressRecipe& r) {
  nlohmann::json j = {{"prune", r.prune_ratio},
          {"importance", r.importance == Importance::kTaylor ? "taylor" : "l1"},
          {"global", r.global},
          {"round_to", r.round_to},
          {"calib_batches", r.calib_batches},
          {"distill_epochs", r.finetune_epochs},
          {"distill", r.distill},
          {"alpha", r.distillation.alpha},
          {"temperature", r.distillation.temperature},
          {"feature_lambda", r.distillation.feature_lambda},
          {"features", r.distillation.features},
          {"lr", r.finetune_lr},
          {"batch_size", r.batch_size},
          {"augment", r.augment},
          {"fuse", r.fuse},
          {"disable_passes", std::vector<std::string>(r.disabled_passes.begin(), r.disabled_passes.end())},
          {"bits", r.bits},
          {"mixed_budget_kb", r.mixed_budget_kb},
          {"qat_epochs", r.qat_epochs},
          {"qat_lr", r.qat_lr},
          {"observer", ObserverKindName(r.observer)},
          {"keep_first_last", r.keep_first_last},
          {"quant_calib_samples", r.quant_calib_samples},
          {"latency_runs", r.latency.runs},
          {"seed", r.seed}};
  j.update(train::AstOptionsToJson(r.ast));
  return j;
}

namespace {
nlohmann::json FactsToJson(const ModelFacts& f) {
  nlohmann::json measured = nlohmann::json::array();
  for (const Latency& l : f.measured) measured.push_back(ToJson(l));
  return {{"accuracy", f.accuracy}, {"params", f.params},      {"macs", f.macs},
          {"file_bytes", f.file_bytes}, {"latency_batch1", ToJson(f.batch1)},
          {"latency_batch32", ToJson(f.batch32)}, {"latency_measured", measured}};
}
}  // namespace

nlohmann::json ReportToJson(const CompressReport& r) {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : r.pruning.groups)
    groups.push_back({{"group", g.name}, {"channels_before", g.before}, {"channels_after", g.after}});
  return {{"recipe", RecipeToJson(r.recipe)},
          {"int8_engine", r.int8_engine},
          {"before", FactsToJson(r.before)},
          {"after", FactsToJson(r.after)},
          {"pruned_groups", groups},
          {"int8_nodes", r.int8_nodes},
          {"fp32_nodes", r.fp32_nodes},
          {"fp16_nodes", r.fp16_nodes},
          {"int4_nodes", r.int4_nodes},
          {"allocation", r.allocation},
          {"finetune_epochs", r.finetune},
          {"qat_epochs", r.qat},
          {"seconds", r.seconds}};
}

std::string FormatReport(const CompressReport& r) {
  const ModelFacts& a = r.before;
  const ModelFacts& b = r.after;
  std::ostringstream s;
  auto row = [&s](const std::string& what, const std::string& x, const std::string& y,
                  const std::string& change) {
    s << "  " << std::left << std::setw(26) << what << std::setw(18) << x << std::setw(18) << y
      << change << "\n";
  };
  auto pct = [](double v) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(2) << v * 100 << "%";
    return o.str();
  };
  auto lat = [](const Latency& l) {
    return Ms(l.median_ms) + " (p90 " + Ms(l.p90_ms) + ", " + std::to_string(l.threads) + "t)";
  };
  s << "compression report\n";
  row("", "before", "after", "change");
  std::ostringstream dacc;
  dacc << std::showpos << std::fixed << std::setprecision(2) << (b.accuracy - a.accuracy) * 100
       << " points";
  row("test accuracy", pct(a.accuracy), pct(b.accuracy), dacc.str());
  row("parameters", model::FormatCount(a.params), model::FormatCount(b.params),
      pct(1.0 - static_cast<double>(b.params) / std::max<int64_t>(1, a.params)) + " fewer");
  row("file size", model::FormatBytes(a.file_bytes), model::FormatBytes(b.file_bytes),
      Ratio(a.file_bytes, b.file_bytes) + " smaller");
  row("MACs per image", model::FormatCount(a.macs), model::FormatCount(b.macs),
      Ratio(a.macs, b.macs) + " fewer");
  s << "  latency, median (p90) at the measured-fastest thread count:\n";
  row("  batch 1", Ms(a.batch1.median_ms), Ms(b.batch1.median_ms),
      Speed(a.batch1.median_ms, b.batch1.median_ms));
  row("  batch 32", Ms(a.batch32.median_ms), Ms(b.batch32.median_ms),
      Speed(a.batch32.median_ms, b.batch32.median_ms));
  s << "  every measurement (" << r.recipe.latency.runs << " runs after " << r.recipe.latency.warmup
    << " warm-up):\n";
  for (size_t i = 0; i < a.measured.size() && i < b.measured.size(); ++i)
    s << "    batch " << std::setw(3) << a.measured[i].batch << " threads "
      << a.measured[i].threads << ":  " << lat(a.measured[i]) << "  ->  " << lat(b.measured[i])
      << "\n";
  if (!r.int8_engine.empty()) s << "  int8 engine: " << r.int8_engine << "\n";
  if (!r.pruning.groups.empty()) {
    s << "  pruned channel groups (before -> after):\n   ";
    for (const auto& g : r.pruning.groups) s << " " << g.name << " " << g.before << "->" << g.after << ";";
    s << "\n";
  }
  if (!r.int8_nodes.empty() || !r.fp32_nodes.empty())
    s << "  precision: " << r.int8_nodes.size() << " int8 nodes, fp32 kept for "
      << r.fp32_nodes.size() << " weight/add nodes\n";
  if (!r.fp16_nodes.empty() || !r.int4_nodes.empty())
    s << "  stored small: " << r.fp16_nodes.size() << " fp16 and " << r.int4_nodes.size()
      << " int4 weight nodes; they are dequantized to fp32 when the model loads, so they shrink\n"
         "  the file and the download, not CPU latency\n";
  if (!r.allocation.is_null())
    s << "  mixed precision: weights " << model::FormatBytes(r.allocation.value("weight_bytes", 0))
      << " for a budget of " << r.recipe.mixed_budget_kb << " KiB"
      << (r.allocation.value("budget_met", true) ? "" : " (NOT met: every eligible layer is int4)")
      << "\n";
  std::ostringstream secs;
  secs << std::fixed << std::setprecision(0) << r.seconds;
  s << "  pipeline time: " << secs.str() << " s\n";
  return s.str();
}

}  // namespace hadmc::compress
