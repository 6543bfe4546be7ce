// The search tests' shared fixture: resnet8 at 16 px on synthetic images whose labels mean
// something, its search space, the x86_cpu profile and evaluator options for seconds-long tests.
#pragma once

#include <torch/torch.h>

#include "../compress/compress_test_util.h"
#include "../train/train_test_util.h"
#include "hadmc/data/normalization.h"
#include "hadmc/hal/profile.h"
#include "hadmc/search/evaluator.h"
#include "hadmc/search/search_space.h"
#include "hadmc/train/model_metadata.h"

namespace hadmc::search::testing_util {

constexpr int64_t kImage = 16;  // resnet8 at 16 px: the whole file runs in seconds

// 400 gray 16x16 images of 10 classes; class k brightens row band k, so labels mean something.
inline data::Dataset SyntheticData(int64_t n, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor images = torch::randint(0, 80, {n, 1, kImage, kImage}, gen, torch::kLong);
  at::Tensor labels = torch::arange(n, torch::kLong).remainder(10);
  for (int64_t i = 0; i < n; ++i) images[i].narrow(1, labels[i].item<int64_t>(), 4).add_(150);
  data::Dataset d;
  d.images = images.clamp(0, 255).to(torch::kByte).contiguous();
  d.labels = labels;
  for (int k = 0; k < 10; ++k) d.class_names.push_back("c" + std::to_string(k));
  return d;
}

struct Fixture {
  model::Model base;
  data::Dataset data;
  SearchSpace space;
  hal::HardwareProfile profile;
};

inline Fixture Make() {
  Fixture f;
  f.base = compress::testing::ZooModel("resnet8", kImage);
  train::SetNormalization(f.base.metadata, data::Normalization{{0.4f}, {0.3f}});
  f.data = SyntheticData(400, 3);
  torch::manual_seed(0);
  auto space = BuildSearchSpace(
      f.base, {{torch::randn({32, 1, kImage, kImage}), torch::randint(0, 10, {32})}});
  EXPECT_TRUE(space) << space.error().String();
  f.space = *space;
  auto profile = hal::FindProfile("x86_cpu");
  EXPECT_TRUE(profile) << profile.error().String();
  f.profile = *profile;
  return f;
}

inline EvaluatorOptions Options(const Fixture& f) {
  EvaluatorOptions o;
  o.profile = f.profile;  // an empty LUT: every kernel from the roofline
  o.recalibration_samples = 128;
  o.proxy_samples = 100;
  o.seed = 5;
  return o;
}

inline PolicyEvaluator MakeEvaluator(const Fixture& f) {
  auto e = PolicyEvaluator::Create(f.base, f.space, f.data, Options(f));
  EXPECT_TRUE(e) << e.error().String();
  return std::move(*e);
}

inline CompressionPolicy Uniform(const SearchSpace& s, double ratio, int bits) {
  CompressionPolicy p;
  for (const SearchLayer& l : s.layers) p.layers.push_back({l.group >= 0 ? ratio : 0.0, bits});
  return p;
}

}  // namespace hadmc::search::testing_util
