// What a trained model records about its training in Model::metadata (string -> string; values
// that are lists or objects are JSON text), so `hadmc eval`, compression and the edge runtime
// preprocess inputs exactly as training did:
//   dataset          the --data spec                  (set by the CLI)
//   class_names      ["T-shirt/top", ...]
//   normalization    {"mean": [0.286], "std": [0.353]}
//   input_shape      [-1, 1, 28, 28]
//   val_accuracy, test_accuracy   fractions in [0, 1] (absent when not measured)
//   epochs_run, best_epoch, train_seconds, stopped (completed, max_minutes, ...)
//   train_options    TrainOptionsToJson
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/data/normalization.h"
#include "hadmc/ir/graph.h"

namespace hadmc::train {

using Metadata = std::map<std::string, std::string>;

void SetClassNames(Metadata& md, const std::vector<std::string>& names);
void SetNormalization(Metadata& md, const data::Normalization& norm);
void SetInputShape(Metadata& md, const ir::Shape& shape);

// std::nullopt when the key is absent; an error when it is present but malformed.
Result<std::optional<std::vector<std::string>>> ClassNamesFromMetadata(const Metadata& md);
Result<std::optional<data::Normalization>> NormalizationFromMetadata(const Metadata& md);

}  // namespace hadmc::train
