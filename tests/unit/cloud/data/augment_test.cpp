#include "hadmc/data/augment.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace hadmc::data {
namespace {

// Distinct non-zero pixels, so every output pixel reveals where it came from.
at::Tensor Ramp(int64_t b, int64_t c, int64_t h, int64_t w) {
  return (torch::arange(b * c * h * w, torch::kLong) % 250 + 1)
      .to(torch::kUInt8)
      .view({b, c, h, w});
}

TEST(AugmentTest, DisabledReturnsAnEqualCopy) {
  const at::Tensor x = Ramp(3, 2, 5, 6);
  const at::Tensor y = AugmentBatch(x, AugmentOptions{}, 1);
  EXPECT_TRUE(torch::equal(x, y));
  EXPECT_NE(x.data_ptr(), y.data_ptr());
}

TEST(AugmentTest, FlipOnlyMirrorsEachSampleOrLeavesIt) {
  const at::Tensor x = Ramp(64, 2, 4, 5);
  AugmentOptions opt;
  opt.horizontal_flip = true;
  const at::Tensor y = AugmentBatch(x, opt, 42);
  const at::Tensor mirrored = x.flip({3});
  int flipped = 0;
  for (int64_t b = 0; b < 64; ++b) {
    const bool same = torch::equal(y[b], x[b]);
    const bool mirror = torch::equal(y[b], mirrored[b]);
    ASSERT_TRUE(same || mirror) << "sample " << b;
    flipped += mirror;
  }
  EXPECT_GT(flipped, 16);  // about half; 64 fair coins give <= 16 with probability ~3e-5
  EXPECT_LT(flipped, 48);
}

TEST(AugmentTest, CropIsAShiftWithZeroFill) {
  const int64_t pad = 2, h = 6, w = 7;
  const at::Tensor x = Ramp(32, 1, h, w);
  AugmentOptions opt;
  opt.crop_padding = pad;
  const at::Tensor y = AugmentBatch(x, opt, 9);
  const at::Tensor padded = torch::constant_pad_nd(x, {pad, pad, pad, pad}, 0);
  int shifted = 0;
  for (int64_t b = 0; b < 32; ++b) {
    bool matched = false;
    for (int64_t i = 0; i <= 2 * pad && !matched; ++i) {
      for (int64_t j = 0; j <= 2 * pad && !matched; ++j) {
        matched = torch::equal(y[b], padded[b].slice(1, i, i + h).slice(2, j, j + w));
        if (matched && (i != pad || j != pad)) ++shifted;
      }
    }
    ASSERT_TRUE(matched) << "sample " << b << " is not a padded crop of its input";
  }
  EXPECT_GT(shifted, 20);  // 24 of 25 offsets are shifts
}

TEST(AugmentTest, SameSeedSameOutputOtherSeedDiffers) {
  const at::Tensor x = Ramp(16, 3, 8, 8);
  AugmentOptions opt;
  opt.crop_padding = 2;
  opt.horizontal_flip = true;
  EXPECT_TRUE(torch::equal(AugmentBatch(x, opt, 5), AugmentBatch(x, opt, 5)));
  EXPECT_FALSE(torch::equal(AugmentBatch(x, opt, 5), AugmentBatch(x, opt, 6)));
}

TEST(AugmentTest, PaddingLargerThanImageGivesZeros) {
  const at::Tensor x = Ramp(1, 1, 2, 2);
  AugmentOptions opt;
  opt.crop_padding = 50;
  // With offsets up to +-50 on a 2x2 image nearly every draw lands outside; no crash either way.
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const at::Tensor y = AugmentBatch(x, opt, seed);
    EXPECT_EQ(y.sizes(), x.sizes());
  }
}

TEST(AugmentTest, RejectsWrongDtype) {
  EXPECT_THROW(AugmentBatch(torch::zeros({1, 1, 2, 2}), AugmentOptions{}, 0), c10::Error);
}

TEST(AugmentTest, MixSeedSeparatesNeighbours) {
  EXPECT_NE(MixSeed(1, 0), MixSeed(0, 1));
  EXPECT_NE(MixSeed(0, 0, 1), MixSeed(0, 0, 2));
  EXPECT_EQ(MixSeed(3, 4, 5), MixSeed(3, 4, 5));
}

}  // namespace
}  // namespace hadmc::data
