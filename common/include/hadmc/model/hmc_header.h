// The header of an .hmc file, read and checked without touching the tensor bytes: what `hadmc
// info` prints and what the block store needs to split a model into per-tensor blocks.
// Torch-free on purpose.
//
// Layout (safetensors): u64 little-endian N | N bytes of JSON, space-padded so 8 + N is a multiple
// of 8 | the data buffer, tensors contiguous in sorted-name order, offsets relative to its start.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hadmc/ir/graph.h"

namespace hadmc::model {

inline constexpr uint64_t kMaxHeaderBytes = 64ull << 20;
inline constexpr char kHmcFormat[] = "hadmc";
inline constexpr char kHmcFormatVersion[] = "1";
// Keys of "__metadata__" owned by the file format; model metadata may not use them.
inline constexpr const char* kReservedMetadataKeys[] = {"format", "hadmc_format_version", "graph"};

struct HmcTensorEntry {
  std::string name;
  ir::DType dtype = ir::DType::kF32;
  ir::Shape shape;
  uint64_t begin = 0;  // byte offsets into the data buffer, [begin, end)
  uint64_t end = 0;
};

struct HmcHeader {
  ir::Graph graph;                              // validated (nodes in topological order)
  std::map<std::string, std::string> metadata;  // model metadata, reserved keys removed
  std::vector<HmcTensorEntry> tensors;          // in buffer order
  uint64_t data_offset = 0;                     // where the buffer starts in the file (8 + N)
  uint64_t file_size = 0;
};

// Reads and checks everything but the tensor values: header length and JSON, dtypes, shapes,
// that the tensors tile the data buffer exactly (no overlap, hole or trailing bytes), that each
// byte count equals numel x dtype size, and that the tensors match the graph's parameters.
Result<HmcHeader> ReadHmcHeader(const std::string& path);
// The same for a whole file in memory.
Result<HmcHeader> ParseHmcHeader(const std::string& bytes, const std::string& what = "model");

// Bytes of numel(shape) x DTypeSize(dtype), or an error if that overflows 64 bits.
Result<uint64_t> TensorByteCount(const ir::Shape& shape, ir::DType dtype);

}  // namespace hadmc::model
