// A model in memory: the graph IR, its tensors by parameter name, and free-form metadata
// (architecture, dataset, class names, normalization, training history...).
#pragma once

#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "hadmc/ir/graph.h"

namespace hadmc::model {

using TensorMap = std::map<std::string, at::Tensor>;

struct Model {
  ir::Graph graph;
  TensorMap tensors;                            // every entry of graph.params
  std::map<std::string, std::string> metadata;  // string -> string, as safetensors allows
};

// Checks that tensors and graph.params agree (names, shapes, dtypes) and the graph is valid.
Status CheckConsistent(Model& m);

// Deep copy (tensors cloned), so the copy can be trained or compressed independently.
Model Clone(const Model& m);

}  // namespace hadmc::model
