// NumPy .npy files (format versions 1.0, 2.0 and 3.0): the way inputs and outputs cross between
// `hadmc run` and Python. Torch-free; callers wrap the values in a tensor themselves.
//
// Reading accepts little-endian C-order arrays of float32 ('<f4'), and converts float64, int64,
// int32, int8, uint8 and bool to float32, saying so in `source_dtype` (see ConversionNote). It
// rejects, with an error naming the problem: a bad magic string or version, a malformed header
// dict, Fortran order, big-endian data, other dtypes, and data that is truncated or followed by
// trailing bytes. Writing produces '<f4' C-order arrays (version 1.0 unless the header needs 2.0).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "hadmc/ir/graph.h"

namespace hadmc::model {

struct NpyArray {
  ir::Shape shape;            // all dims >= 0; empty for a 0-d array
  std::vector<float> values;  // C order, numel(shape) values
  std::string source_dtype;   // the dtype as stored, e.g. "<f4" or "<f8"

  bool converted() const { return source_dtype != "<f4"; }
};

Result<NpyArray> ParseNpy(std::string_view bytes, const std::string& what = "array");
Result<NpyArray> ReadNpy(const std::string& path);

// "x.npy holds float64 ('<f8'); converted to float32 (values may lose precision)", or "" when
// the array was stored as float32.
std::string ConversionNote(const NpyArray& a, const std::string& what);

// Encodes `values` (numel(shape) floats, C order) as a '<f4' .npy file.
// Precondition: values.size() equals the product of shape's dims, all >= 0.
Result<std::string> SerializeNpy(const ir::Shape& shape, const float* values, size_t count);
// Writes atomically (temp file, fsync, rename); the directory must exist.
Status WriteNpy(const std::string& path, const ir::Shape& shape, const float* values, size_t count);

}  // namespace hadmc::model
