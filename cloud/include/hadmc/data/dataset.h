// An image classification dataset held fully in memory as uint8 pixels, and the helpers that
// select from it. Every loader in hadmc::data (IDX, ImageFolder) produces this one type, so the
// DataLoader, training and evaluation code never care where images came from.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::data {

enum class Split { kTrain, kTest };

// "train" / "test".
const char* SplitName(Split split);

struct Dataset {
  at::Tensor images;                     // uint8 [N, C, H, W], contiguous, pixel values 0..255
  at::Tensor labels;                     // int64 [N], each in [0, class_names.size())
  std::vector<std::string> class_names;  // index = label

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  int64_t channels() const { return images.size(1); }
  int64_t height() const { return images.size(2); }
  int64_t width() const { return images.size(3); }
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
};

// Checks the invariants above (dtypes, ranks, matching N, label range). Loaders call it before
// returning; call it on a Dataset assembled by hand.
Status ValidateDataset(const Dataset& dataset);

// The samples at `indices` (int64 [K], each in [0, N)), in that order. Shares class names.
Result<Dataset> SelectSamples(const Dataset& dataset, const at::Tensor& indices);

// Number of samples per class: int64 [num_classes].
at::Tensor ClassCounts(const Dataset& dataset);

struct SplitIndices {
  at::Tensor train;  // int64, ascending
  at::Tensor test;   // int64, ascending
};

// A stratified, seeded split: within each class, round(test_fraction * count) samples (at most
// count - 1, so a class is never missing from train) go to test, the rest to train. The choice
// depends only on labels, test_fraction and seed (portable Fisher-Yates over mt19937_64), so it
// is the same on every machine. Precondition: 0 <= test_fraction < 1.
Result<SplitIndices> StratifiedSplit(const Dataset& dataset, double test_fraction, uint64_t seed);

}  // namespace hadmc::data
