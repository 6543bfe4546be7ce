// The .hmc model file: the safetensors layout (8-byte little-endian header length, JSON header,
// raw little-endian tensor bytes), with the graph IR and metadata in "__metadata__" so the
// Python safetensors library can read the tensors.
//   __metadata__ = {"format": "hadmc", "hadmc_format_version": "1", "graph": <IR JSON text>,
//                   <model metadata keys>...}
// Loading rejects, with an error naming the problem, never a crash: a truncated file, a header
// longer than the file or than kMaxHeaderBytes, unknown dtypes, offsets out of range or
// overlapping, a byte count that disagrees with dtype x shape, and tensors whose shapes disagree
// with the graph. Nothing is allocated for tensor data before the whole header has been checked
// against the file size.
// Saving is deterministic: tensors are stored sorted by name and the header's keys are sorted, so
// the same model always gives the same bytes (the block store dedupes on that).
#pragma once

#include <string>

#include "hadmc/model/hmc_header.h"
#include "hadmc/model/model.h"

namespace hadmc::model {

// Writes atomically ("<path>.tmp.<pid>", fsync, rename, fsync of the directory), so a crash never
// leaves a half-written model. The directory must exist. Tensors may live on any device and need
// not be contiguous. Fails if the model is inconsistent (CheckConsistent) or its metadata uses a
// reserved key (kReservedMetadataKeys).
Status SaveHmc(const Model& m, const std::string& path);
// Reads the tensors straight from the file into CPU tensors (no second copy of the file).
Result<Model> LoadHmc(const std::string& path);

// In-memory forms (used by the block store and tests).
Result<std::string> SerializeHmc(const Model& m);
Result<Model> ParseHmc(const std::string& bytes, const std::string& what = "model");

}  // namespace hadmc::model
