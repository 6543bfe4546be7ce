// `hadmc compress`: the HAD-MC pipeline on one model, measured before and after.
//
//   prune (Taylor/L1 on dependency groups) -> fine-tune with distillation from the original
//   -> fuse (BN fold, activations) -> int8 PTQ onto real kernels -> evaluate, size, latency.
//
// Order: fine-tuning runs before fusion so the pruned network still has its BatchNorms while it
// trains (a folded conv has no normalization, and fine-tuning it is less stable); the fold is
// exact, so fusing afterwards loses nothing. Quantization comes last because it needs the final
// weights and the fused graph (BN folded, relu inside the int8 kernels).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/compress/activation_observer.h"
#include "hadmc/compress/distill.h"
#include "hadmc/compress/latency.h"
#include "hadmc/compress/prune_channels.h"
#include "hadmc/data/dataset.h"
#include "hadmc/model/model.h"

namespace hadmc::compress {

struct CompressRecipe {
  // Pruning (ratio 0: none).
  double prune_ratio = 0.0;
  Importance importance = Importance::kTaylor;
  bool global = false;
  int64_t round_to = 8;
  int64_t calib_batches = 8;  // batches of 64 training images for the Taylor scores
  // Fine-tuning after pruning (0 epochs: none), distilled from the original model unless off.
  int64_t finetune_epochs = 0;
  bool distill = true;
  DistillOptions distillation;
  double finetune_lr = 0.02;
  int64_t batch_size = 128;
  bool augment = false;
  // Fusion.
  bool fuse = true;
  std::set<std::string> disabled_passes;
  // Precision: 32 = keep fp32; 8 = int8 PTQ on real kernels; 16 / 4 = every conv/linear weight
  // stored fp16 / int4 (size only: computed in fp32 on the CPU).
  int bits = 32;
  // With bits 8 and a budget > 0: the sensitivity allocator (precision_allocator.h) moves robust
  // layers to int4 until conv/linear weights fit this many KiB (HAD-MC mixed precision).
  int64_t mixed_budget_kb = 0;
  // With bits 8: quantization-aware training epochs (fake quantization, straight-through
  // gradients) on the fused model before the int8 conversion (qat.h); 0: post-training only.
  int64_t qat_epochs = 0;
  double qat_lr = 0.002;
  ObserverKind observer = ObserverKind::kPercentile;
  bool keep_first_last = true;
  int64_t quant_calib_samples = 512;
  // Adaptive sparse training in the fine-tuning and QAT runs (keys ast, ast_target, ...).
  train::AstOptions ast;
  // Measurement.
  LatencyOptions latency;
  uint64_t seed = 0;
};

// Reads a JSON recipe; keys are the flag names ("prune", "importance", "global", "round_to",
// "distill_epochs", "distill", "alpha", "temperature", "feature_lambda", "lr", "bits",
// "observer", "keep_first_last", "disable_passes", ...). Unknown keys are errors.
Result<CompressRecipe> RecipeFromJson(const nlohmann::json& j, CompressRecipe base = {});
nlohmann::json RecipeToJson(const CompressRecipe& r);

struct ModelFacts {
  double accuracy = 0;  // test top-1 in [0, 1]
  int64_t params = 0;   // trainable scalars (int8 weights count once)
  int64_t macs = 0;     // per image
  int64_t file_bytes = 0;
  Latency batch1, batch32;  // at the measured-fastest thread count
  std::vector<Latency> measured;  // every (batch, threads) measured
};

struct CompressReport {
  CompressRecipe recipe;
  std::string int8_engine;  // engine and weight range, with the reason
  ModelFacts before, after;
  PruneReport pruning;
  std::vector<std::string> int8_nodes, fp32_nodes;
  std::vector<std::string> fp16_nodes, int4_nodes;  // stored small, computed in fp32
  nlohmann::json allocation;                        // the mixed-precision allocator's table
  nlohmann::json finetune;  // epochs of the fine-tuning run
  nlohmann::json qat;       // epochs of quantization-aware training
  double seconds = 0;
};

struct CompressInputs {
  const data::Dataset* train = nullptr;  // calibration and fine-tuning
  const data::Dataset* test = nullptr;   // accuracy before/after
  std::string out_path;                   // where the compressed .hmc is written
  std::string work_dir;                   // checkpoints of the fine-tuning run
  std::ostream* progress = nullptr;
  // Accuracy, parameters and size of `base` measured earlier (the ablation shares them);
  // nullptr: measure them here. Latency is always measured here, the original's runs
  // interleaved with the compressed model's.
  const ModelFacts* known_before = nullptr;
};

// Runs the pipeline on a copy of `base` and writes the result to inputs.out_path. `base` must
// carry its normalization in metadata (models trained by `hadmc train` do).
Result<CompressReport> Compress(const model::Model& base, const std::string& base_path,
                                const CompressRecipe& recipe, const CompressInputs& inputs);

nlohmann::json ReportToJson(const CompressReport& r);
std::string FormatReport(const CompressReport& r);  // readable before/after table

}  // namespace hadmc::compress
