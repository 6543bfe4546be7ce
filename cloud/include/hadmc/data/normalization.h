// Per-channel normalization of uint8 images to float: x = (pixel / 255 - mean[c]) / std[c].
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/data/dataset.h"

namespace hadmc::data {

struct Normalization {
  std::vector<float> mean;  // per channel, on the [0, 1] pixel scale; empty = no normalization
  std::vector<float> std;   // per channel, > 0

  bool empty() const { return mean.empty(); }
};

// The usual Fashion-MNIST training-set statistics (mean 0.2860, std 0.3530).
Normalization FashionMnistNormalization();

// Mean and standard deviation of each channel over all pixels of `dataset`, on the [0, 1] scale.
// Works in chunks, so it needs no float copy of the whole dataset.
Result<Normalization> ComputeNormalization(const Dataset& dataset);

// Checks that `norm` is empty or has `channels` entries in mean and std, all std > 0.
Status ValidateNormalization(const Normalization& norm, int64_t channels);

// uint8 [B, C, H, W] -> float [B, C, H, W] normalized by `norm` (only scaled to [0, 1] when
// `norm` is empty). Precondition: ValidateNormalization(norm, C) holds. May throw c10::Error on
// misuse; the loaders call it inside their own try blocks.
at::Tensor NormalizeImages(const at::Tensor& images_u8, const Normalization& norm);

}  // namespace hadmc::data
