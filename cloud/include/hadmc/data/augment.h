// Training-time augmentation on uint8 image batches: random crop with zero padding and random
// horizontal flip (the standard CIFAR / Fashion-MNIST recipe), driven by an explicit seed so a
// run can be reproduced and resumed.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace hadmc::data {

struct AugmentOptions {
  int64_t crop_padding = 0;      // pad each side by this many zero pixels, then crop back to HxW
  bool horizontal_flip = false;  // mirror left-right with probability 1/2

  bool enabled() const { return crop_padding > 0 || horizontal_flip; }
};

// Returns an augmented copy of `images` (uint8 [B, C, H, W]); each sample draws its own crop
// offset and flip from a generator seeded by `seed`, so equal seeds give equal batches.
// Precondition: crop_padding >= 0. Throws c10::Error if `images` is not uint8 4-D.
at::Tensor AugmentBatch(const at::Tensor& images, const AugmentOptions& options, uint64_t seed);

// Mixes several values into one well-spread 64-bit seed (SplitMix64 steps); used to derive a
// per-epoch and per-batch seed from the run seed.
uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c = 0);

}  // namespace hadmc::data
