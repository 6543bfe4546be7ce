// Where each tensor's bytes sit in an .hmc (safetensors layout) file, read from the header alone.
// The store only needs byte ranges, dtypes, shapes and the graph text, so it reads the layout
// itself instead of depending on the torch-linked model library; it checks exactly what byte-exact
// reassembly relies on: the header and the tensors tile the file with no gap, overlap or tail.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::store {

struct TensorSpan {
  std::string name;
  std::string dtype;           // safetensors dtype name: F32, F16, I8, U8, I32, I64
  std::vector<int64_t> shape;
  std::string quant;           // precision of the graph node owning it when not fp32 ("int8")
  uint64_t begin = 0;          // absolute file offsets, [begin, end)
  uint64_t end = 0;
};

struct ModelLayout {
  uint64_t header_size = 0;         // 8-byte length + JSON header
  std::vector<TensorSpan> tensors;  // in file order
  std::string graph_sha256;         // SHA256 of __metadata__.graph ("" when there is none)
  uint64_t file_size = 0;
};

// Parses the header of a whole file held in memory.
Result<ModelLayout> ParseModelLayout(std::string_view file);

}  // namespace hadmc::store
