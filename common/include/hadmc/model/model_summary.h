// What a model is made of, per node and in total: output shapes, parameter counts, MACs and
// storage by dtype. Computed from the graph alone (shapes and dtypes of the parameters), so it
// needs no tensor data: `hadmc info` prints it from a file header, reports embed it.
// Torch-free on purpose.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "hadmc/ir/graph.h"

namespace hadmc::model {

struct NodeSummary {
  std::string name;
  std::string op;
  ir::Shape output_shape;  // for batch 1
  int64_t params = 0;      // trainable parameter elements (weights, biases)
  int64_t buffers = 0;     // stored non-trainable elements (BN running statistics)
  int64_t macs = 0;        // multiply-accumulates for batch 1; -1 when a shape is unknown
  ir::Precision precision = ir::Precision::kFp32;
};

struct ModelSummary {
  std::string graph_name;
  std::vector<ir::ValueInfo> inputs;   // as declared (-1: any size)
  std::vector<ir::ValueInfo> outputs;  // inferred from the declared inputs
  std::vector<NodeSummary> nodes;      // in topological order
  // Totals count a parameter shared by several nodes once.
  int64_t total_params = 0;
  int64_t total_buffers = 0;
  int64_t total_macs = 0;  // batch 1; -1 when any node's MACs are unknown
  uint64_t tensor_bytes = 0;
  std::map<std::string, uint64_t> bytes_by_dtype;  // "F32" -> bytes
  std::map<std::string, int> nodes_by_precision;   // "fp32" -> count
};

// Precondition: `g` is valid (ir::Validate) and its nodes are in topological order.
Result<ModelSummary> SummarizeGraph(const ir::Graph& g);

// {"graph": ..., "inputs": [{"name", "shape"}], "outputs": [...], "nodes": [{"name", "op",
//  "output_shape", "params", "buffers", "macs", "precision"}], "totals": {"params", "buffers",
//  "macs", "tensor_bytes", "bytes_by_dtype": {...}, "nodes_by_precision": {...}}}
nlohmann::json SummaryToJson(const ModelSummary& s);

// A fixed-width table, one row per node, then a totals block.
std::string FormatSummaryTable(const ModelSummary& s);

// 11689512 -> "11.69M", 1820000000 -> "1.82G", 950 -> "950"; negative -> "?".
std::string FormatCount(int64_t n);
// 46758112 -> "44.6 MiB"
std::string FormatBytes(uint64_t n);

}  // namespace hadmc::model
