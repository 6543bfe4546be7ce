// A compression policy: the search's per-layer choices for one model, plus the distillation
// settings of the fine-tune step. Its hash keys the evaluation cache and the Pareto archive.
// Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"

namespace hadmc::search {

// The action space (AMC/HAQ style).
inline constexpr double kPruneRatios[] = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
inline constexpr int kBitWidths[] = {4, 8, 16, 32};
inline constexpr double kTemperatures[] = {1.0, 2.0, 4.0, 8.0};
inline constexpr double kAlphas[] = {0.3, 0.5, 0.7, 0.9};

struct LayerDecision {
  double prune_ratio = 0;  // one of kPruneRatios; applies to the layer's output channel group
  int bits = 32;           // one of kBitWidths (16/4: weights stored small, computed in fp32 on CPU)
};

struct CompressionPolicy {
  std::vector<LayerDecision> layers;  // one per SearchLayer (search_space.h), in order
  double temperature = 4.0;           // distillation of the fine-tune step
  double alpha = 0.7;
};

// SHA-256 (hex) of the canonical JSON: equal policies have equal hashes, on every machine.
std::string PolicyHash(const CompressionPolicy& p);

// {"layers": [{"prune": 0.3, "bits": 8}, ...], "temperature": 4, "alpha": 0.7}
nlohmann::json ToJson(const CompressionPolicy& p);
// Errors name the entry and field (a ratio or width outside the action space is an error).
Result<CompressionPolicy> PolicyFromJson(const nlohmann::json& j);

}  // namespace hadmc::search
