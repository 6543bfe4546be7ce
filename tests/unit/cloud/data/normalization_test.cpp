#include "hadmc/data/normalization.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace hadmc::data {
namespace {

Dataset TwoChannelDataset() {
  // Channel 0 alternates 0 and 255 (mean 0.5, std 0.5); channel 1 is constant 51 (0.2, std 0).
  Dataset d;
  d.images = torch::empty({4, 2, 2, 2}, torch::kUInt8);
  d.images.select(1, 0).copy_(
      (torch::arange(16, torch::kLong) % 2 * 255).to(torch::kUInt8).view({4, 2, 2}));
  d.images.select(1, 1).fill_(51);
  d.labels = torch::zeros({4}, torch::kLong);
  d.class_names = {"only"};
  return d;
}

TEST(NormalizationTest, ComputesPerChannelMeanAndStd) {
  auto norm = ComputeNormalization(TwoChannelDataset());
  ASSERT_TRUE(norm) << norm.error().String();
  ASSERT_EQ(norm->mean.size(), 2u);
  EXPECT_NEAR(norm->mean[0], 0.5, 1e-6);
  EXPECT_NEAR(norm->std[0], 0.5, 1e-6);
  EXPECT_NEAR(norm->mean[1], 0.2, 1e-6);
  EXPECT_EQ(norm->std[1], 1.0f);  // a constant channel is centred, not divided by zero
}

TEST(NormalizationTest, NormalizedDataHasZeroMeanUnitStd) {
  const Dataset d = TwoChannelDataset();
  auto norm = ComputeNormalization(d);
  ASSERT_TRUE(norm);
  const at::Tensor x = NormalizeImages(d.images, *norm);
  EXPECT_EQ(x.scalar_type(), torch::kFloat);
  const at::Tensor c0 = x.select(1, 0);
  EXPECT_NEAR(c0.mean().item<float>(), 0.0, 1e-5);
  EXPECT_NEAR(c0.std(/*unbiased=*/false).item<float>(), 1.0, 1e-5);
  EXPECT_NEAR(x.select(1, 1).abs().max().item<float>(), 0.0, 1e-6);
}

TEST(NormalizationTest, EmptyNormalizationOnlyScales) {
  const at::Tensor x = NormalizeImages(torch::full({1, 1, 1, 2}, 255, torch::kUInt8), {});
  EXPECT_FLOAT_EQ(x.max().item<float>(), 1.0f);
  const at::Tensor fm =
      NormalizeImages(torch::zeros({1, 1, 1, 1}, torch::kUInt8), FashionMnistNormalization());
  EXPECT_NEAR(fm.item<float>(), -0.2860 / 0.3530, 1e-5);
}

TEST(NormalizationTest, ValidationCatchesMismatches) {
  EXPECT_TRUE(ValidateNormalization({}, 3));
  EXPECT_TRUE(ValidateNormalization(FashionMnistNormalization(), 1));
  EXPECT_FALSE(ValidateNormalization(FashionMnistNormalization(), 3));
  EXPECT_FALSE(ValidateNormalization({{0.5f}, {0.0f}}, 1));
  EXPECT_FALSE(ValidateNormalization({{0.5f}, {}}, 1));
}

TEST(NormalizationTest, EmptyDatasetIsAnError) {
  Dataset d;
  d.images = torch::empty({0, 1, 2, 2}, torch::kUInt8);
  d.labels = torch::empty({0}, torch::kLong);
  EXPECT_FALSE(ComputeNormalization(d));
}

}  // namespace
}  // namespace hadmc::data
