// Readers for the IDX format (the MNIST / Fashion-MNIST file format: big-endian magic number,
// big-endian uint32 dimensions, raw bytes), gzip-compressed or not.
#pragma once

#include <string>
#include <vector>

#include "hadmc/data/dataset.h"

namespace hadmc::data {

// Where Debian's dataset-fashion-mnist package installs the files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// The ten Fashion-MNIST class names, in label order.
const std::vector<std::string>& FashionMnistClassNames();

// Loads an IDX image file (magic 0x00000803, uint8 [N, H, W]) and an IDX label file (magic
// 0x00000801, uint8 [N]). Either file may be gzip-compressed (detected from its content, not its
// name). Images come back as [N, 1, H, W]. `class_names` names the labels; when empty the names
// are "0".."max label". Errors (missing file, wrong magic, mismatched counts, truncated or
// trailing data, bad gzip stream, labels out of range) name the offending file.
Result<Dataset> LoadIdx(const std::string& images_path, const std::string& labels_path,
                        std::vector<std::string> class_names = {});

// Loads one split of Fashion-MNIST from `dir`, which holds train-images-idx3-ubyte.gz,
// train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (the
// uncompressed names without ".gz" are accepted too).
Result<Dataset> LoadFashionMnist(const std::string& dir, Split split);

}  // namespace hadmc::data
