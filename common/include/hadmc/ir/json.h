// JSON round trip of the graph IR. The schema:
//   {"name": "...", "inputs": [{"name": "x", "shape": [-1,1,28,28]}], "outputs": ["logits"],
//    "params": {"conv1.weight": {"shape": [...], "dtype": "F32"}},
//    "nodes": [{"name": "conv1", "op": "conv2d", "inputs": ["x"], "outputs": ["conv1"],
//               "attrs": {"stride": [1,1]}, "params": {"weight": "conv1.weight"},
//               "precision": "fp32"}]}
// Attribute types survive the round trip: integers stay integers, floats stay floats.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "hadmc/ir/graph.h"

namespace hadmc::ir {

nlohmann::json GraphToJson(const Graph& g);
Result<Graph> GraphFromJson(const nlohmann::json& j);

std::string GraphToString(const Graph& g);          // compact JSON text
Result<Graph> GraphFromString(const std::string& text);

}  // namespace hadmc::ir
