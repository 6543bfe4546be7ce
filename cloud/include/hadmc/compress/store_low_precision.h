// fp16 and int4 weight storage (HAD-MC mixed precision, the size half of it). The chosen conv2d /
// linear nodes keep their fp32 compute — the executor dequantizes their weights once at bind
// time (hadmc/exec/low_precision.h) — but the model file stores them in 2 bytes (fp16) or half a
// byte (int4, per-output-channel symmetric, two codes per byte) per weight. They shrink the file
// and the bytes a device downloads, not CPU latency; reports say so.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hadmc/model/model.h"

namespace hadmc::compress {

struct LowPrecisionReport {
  std::vector<std::string> fp16_nodes, int4_nodes;
  int64_t bytes_before = 0;  // weight bytes of those nodes before and after
  int64_t bytes_after = 0;
};

// Stores each named node's weight at the given precision (kFp16 or kInt4). Nodes must be fp32
// conv2d or linear nodes; run after fusion, on final weights.
Result<LowPrecisionReport> StoreLowPrecision(model::Model& m,
                                             const std::map<std::string, ir::Precision>& plan);

}  // namespace hadmc::compress
