// The HAD-MC ablation study, measured: one full recipe (prune + distillation fine-tune + int8)
// and the configurations that leave parts of it out, each run through the same pipeline on the
// same model and data, in one table.
//
//   baseline        the original model, measured only
//   fuse            Conv-BN-ReLU fusion alone (lossless; every row below fuses too)
//   quant           fuse + int8 PTQ
//   prune           prune + fine-tune with plain cross-entropy (same epochs as the full recipe)
//   distill         fine-tune with distillation, no pruning (the distillation term alone)
//   prune+quant     prune + cross-entropy fine-tune + int8
//   prune+distill   prune + distillation fine-tune, fp32
//   full            prune + distillation fine-tune + int8 (the recipe given)
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/compress/pipeline.h"

namespace hadmc::compress {

struct AblationRow {
  std::string name;
  CompressRecipe recipe;
  CompressReport report;
  std::string model_path;
};

// The configurations derived from `full` (which must prune, fine-tune and use bits 8).
Result<std::vector<std::pair<std::string, CompressRecipe>>> AblationRecipes(const CompressRecipe& full);

// Runs every configuration; models go to `out_dir`/<name>.hmc. The original model is measured
// once and shared by all rows.
Result<std::vector<AblationRow>> RunAblation(const model::Model& base, const std::string& base_path,
                                             const CompressRecipe& full, const data::Dataset& train,
                                             const data::Dataset& test, const std::string& out_dir,
                                             std::ostream* progress);

std::string AblationMarkdown(const std::vector<AblationRow>& rows);
nlohmann::json AblationJson(const std::vector<AblationRow>& rows);

}  // namespace hadmc::compress
