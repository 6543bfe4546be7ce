#include "hadmc/compress/ablation.h"

#include <filesystem>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "hadmc/common/format.h"
#include "hadmc/model/model_summary.h"

namespace hadmc::compress {

Result<std::vector<std::pair<std::string, CompressRecipe>>> AblationRecipes(const CompressRecipe& full) {
  if (!(full.prune_ratio > 0) || full.finetune_epochs <= 0 || full.bits != 8)
    return MakeError(Errc::kInvalidArgument,
                     "the ablation's full recipe must prune (> 0), fine-tune (distill_epochs > 0) "
                     "and quantize to int8 (bits 8)");
  // Every row starts from the full recipe with each part turned off, then turns parts back on.
  CompressRecipe none = full;
  none.prune_ratio = 0;
  none.finetune_epochs = 0;
  none.qat_epochs = 0;
  none.mixed_budget_kb = 0;
  none.bits = 32;
  auto with_int8 = [&full](CompressRecipe r) {
    r.bits = 8;
    r.mixed_budget_kb = full.mixed_budget_kb;
    r.qat_epochs = full.qat_epochs;
    return r;
  };
  CompressRecipe baseline = none;
  baseline.fuse = false;
  CompressRecipe fuse = none;
  CompressRecipe quant = with_int8(none);
  CompressRecipe prune = none;
  prune.prune_ratio = full.prune_ratio;
  prune.finetune_epochs = full.finetune_epochs;
  prune.distill = false;
  CompressRecipe distill = none;
  distill.finetune_epochs = full.finetune_epochs;
  distill.distill = true;
  CompressRecipe prune_quant = with_int8(prune);
  CompressRecipe prune_distill = prune;
  prune_distill.distill = true;
  CompressRecipe all = full;
  all.distill = true;
  return std::vector<std::pair<std::string, CompressRecipe>>{
      {"baseline", baseline}, {"fuse", fuse},           {"quant", quant},
      {"prune", prune},       {"distill", distill},     {"prune+quant", prune_quant},
      {"prune+distill", prune_distill}, {"full", all}};
}

Result<std::vector<AblationRow>> RunAblation(const model::Model& base, const std::string& base_path,
                                             const CompressRecipe& full, const data::Dataset& train,
                                             const data::Dataset& test, const std::string& out_dir,
                                             std::ostream* progress) {
  auto recipes = AblationRecipes(full);
  if (!recipes) return MakeError(recipes.error());
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return MakeError(Errc::kIo, "cannot create " + out_dir + ": " + ec.message());
  std::vector<AblationRow> rows;
  for (const auto& [name, recipe] : *recipes) {
    if (progress) *progress << "\n==> ablation: " << name << " (" << rows.size() + 1 << "/"
                            << recipes->size() << ")\n";
    std::string file = name;
    for (char& ch : file)
      if (ch == '+') ch = '_';
    AblationRow row{name, recipe, {}, out_dir + "/" + file + ".hmc"};
    CompressInputs in{&train, &test, row.model_path, out_dir + "/" + file + ".work", progress,
                      rows.empty() ? nullptr : &rows.front().report.before};
    auto report = Compress(base, base_path, recipe, in);
    if (!report) return MakeError(report.error().WithContext("ablation row '" + name + "'"));
    row.report = std::move(*report);
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {

}  // namespace

std::string AblationMarkdown(const std::vector<AblationRow>& rows) {
  if (rows.empty()) return "";
  const ModelFacts& base = rows.front().report.before;
  std::ostringstream s;
  s << "| config | prune | distill | int8 | test acc | Δ acc (points) | params | fewer | file | "
       "smaller | b1 latency | b1 speed-up | b32 latency | b32 speed-up |\n"
    << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const AblationRow& r : rows) {
    const ModelFacts& a = r.report.after;
    const CompressRecipe& c = r.recipe;
    s << "| " << r.name << " | " << (c.prune_ratio > 0 ? FormatFixed(c.prune_ratio, 2) : "-") << " | "
      << (c.finetune_epochs > 0 ? (c.distill ? "KD " : "CE ") + std::to_string(c.finetune_epochs) + " ep" : "-")
      << " | " << (c.bits == 8 ? "yes" : "-") << " | " << FormatFixed(a.accuracy * 100, 2) << "% | "
      << (a.accuracy >= base.accuracy ? "+" : "") << FormatFixed((a.accuracy - base.accuracy) * 100, 2)
      << " | " << model::FormatCount(a.params) << " | "
      << FormatFixed(100.0 * (1.0 - static_cast<double>(a.params) / std::max<int64_t>(1, base.params)), 1)
      << "% | " << model::FormatBytes(a.file_bytes) << " | "
      << FormatFixed(static_cast<double>(base.file_bytes) / std::max<int64_t>(1, a.file_bytes), 2) << "x | "
      << FormatFixed(a.batch1.median_ms, 2) << " ms (" << a.batch1.threads << "t) | "
      << FormatFixed(r.report.before.batch1.median_ms / a.batch1.median_ms, 2) << "x | "
      << FormatFixed(a.batch32.median_ms, 2) << " ms (" << a.batch32.threads << "t) | "
      << FormatFixed(r.report.before.batch32.median_ms / a.batch32.median_ms, 2) << "x |\n";
  }
  s << "\nLatency: median of " << rows.front().recipe.latency.runs
    << " runs at the measured-fastest thread count (t); each speed-up compares the row's model "
       "with the original timed in the same run, the two taking turns in blocks of 10 runs. The "
       "baseline row times the original against a copy of itself: its distance from 1.00x is "
       "the noise band.\n";
  return s.str();
}

nlohmann::json AblationJson(const std::vector<AblationRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const AblationRow& r : rows)
    out.push_back({{"config", r.name}, {"model", r.model_path}, {"report", ReportToJson(r.report)}});
  return out;
}

}  // namespace hadmc::compress
