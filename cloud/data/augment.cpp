#include "hadmc/data/augment.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <random>

namespace hadmc::data {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Writes one output row: out[x] = in[x + dx] where that is inside [0, W), else 0; mirrored
// left-right when `flip`.
void CropRow(const uint8_t* in, uint8_t* out, int64_t width, int64_t dx, bool flip) {
  const int64_t x0 = std::clamp<int64_t>(-dx, 0, width);
  const int64_t x1 = std::clamp<int64_t>(width - dx, x0, width);
  if (!flip) {
    std::memset(out, 0, x0);
    if (x1 > x0) std::memcpy(out + x0, in + x0 + dx, x1 - x0);
    std::memset(out + x1, 0, width - x1);
    return;
  }
  for (int64_t x = 0; x < width; ++x) {
    const int64_t ux = width - 1 - x;
    out[x] = (ux >= x0 && ux < x1) ? in[ux + dx] : 0;
  }
}

}  // namespace

uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c) {
  return SplitMix64(SplitMix64(SplitMix64(a) ^ b) ^ c);
}

at::Tensor AugmentBatch(const at::Tensor& images, const AugmentOptions& options, uint64_t seed) {
  TORCH_CHECK(images.dim() == 4 && images.scalar_type() == at::kByte,
              "AugmentBatch expects uint8 [B, C, H, W]");
  TORCH_CHECK(options.crop_padding >= 0, "crop padding must be >= 0");
  const at::Tensor src = images.contiguous();
  if (!options.enabled()) return src.clone();
  const int64_t batch = src.size(0), channels = src.size(1);
  const int64_t height = src.size(2), width = src.size(3);
  at::Tensor out = torch::empty_like(src);
  const uint8_t* in = src.data_ptr<uint8_t>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  const int64_t pad = options.crop_padding;
  const auto span = static_cast<uint64_t>(2 * pad + 1);
  std::mt19937_64 rng(seed);
  // A raw per-row loop: per-sample tensor slicing would cost more in dispatch than the copy.
  for (int64_t b = 0; b < batch; ++b) {
    // Crop offset in the padded image, minus the padding: the source shift, in [-pad, pad].
    const int64_t dy = pad > 0 ? static_cast<int64_t>(rng() % span) - pad : 0;
    const int64_t dx = pad > 0 ? static_cast<int64_t>(rng() % span) - pad : 0;
    const bool flip = options.horizontal_flip && (rng() & 1) != 0;
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t plane = (b * channels + c) * height * width;
      for (int64_t y = 0; y < height; ++y) {
        uint8_t* out_row = dst + plane + y * width;
        const int64_t sy = y + dy;
        if (sy < 0 || sy >= height) {
          std::memset(out_row, 0, width);
          continue;
        }
        CropRow(in + plane + sy * width, out_row, width, dx, flip);
      }
    }
  }
  return out;
}

}  // namespace hadmc::data
