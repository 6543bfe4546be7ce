#include "hadmc/data/data_loader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "hadmc/common/log.h"
#include "hadmc/data/idx_reader.h"

namespace hadmc::data {
namespace {

// n samples of 1x2x3; sample i has every pixel = i and label i % 4, so a batch's images reveal
// exactly which samples it holds.
Dataset Indexed(int64_t n) {
  Dataset d;
  d.images = torch::arange(n, torch::kLong)
                 .to(torch::kUInt8)
                 .view({n, 1, 1, 1})
                 .expand({n, 1, 2, 3})
                 .contiguous();
  d.labels = torch::arange(n, torch::kLong) % 4;
  d.class_names = {"a", "b", "c", "d"};
  return d;
}

std::unique_ptr<DataLoader> MakeLoader(const Dataset& d, DataLoaderOptions opt) {
  auto loader = DataLoader::Create(d, std::move(opt));
  EXPECT_TRUE(loader) << loader.error().String();
  return loader ? std::move(*loader) : nullptr;
}

// All batches of one epoch (from first_batch on).
std::vector<Batch> Drain(DataLoader& loader, int64_t epoch, int64_t first_batch = 0) {
  std::vector<Batch> out;
  EXPECT_TRUE(loader.StartEpoch(epoch, first_batch));
  while (true) {
    auto b = loader.Next();
    EXPECT_TRUE(b) << b.error().String();
    if (!b || !*b) break;
    out.push_back(std::move(**b));
  }
  return out;
}

at::Tensor Order(const std::vector<Batch>& batches) {
  std::vector<at::Tensor> parts;
  for (const Batch& b : batches) parts.push_back(b.indices);
  return torch::cat(parts);
}

TEST(DataLoaderTest, EpochCoversEverySampleOnceWithMatchingLabels) {
  const Dataset d = Indexed(10);
  DataLoaderOptions opt;
  opt.batch_size = 4;
  auto loader = MakeLoader(d, opt);
  ASSERT_TRUE(loader);
  EXPECT_EQ(loader->BatchesPerEpoch(), 3);
  const auto batches = Drain(*loader, 0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].images.size(0), 2);  // the remainder batch is kept
  const at::Tensor order = Order(batches);
  EXPECT_TRUE(torch::equal(std::get<0>(torch::sort(order)), torch::arange(10, torch::kLong)));
  EXPECT_FALSE(torch::equal(order, torch::arange(10, torch::kLong)));  // shuffled
  for (const Batch& b : batches) {
    EXPECT_EQ(b.images.scalar_type(), torch::kFloat);
    EXPECT_EQ(b.images.sizes(), (std::vector<int64_t>{b.indices.size(0), 1, 2, 3}));
    // pixel = index / 255 since normalization is empty
    EXPECT_TRUE(torch::allclose(b.images.amax({1, 2, 3}), b.indices.to(torch::kFloat) / 255.0));
    EXPECT_TRUE(torch::equal(b.labels, b.indices % 4));
  }
}

TEST(DataLoaderTest, OrderIsReproduciblePerEpochAndDiffersAcrossEpochs) {
  const Dataset d = Indexed(100);
  DataLoaderOptions opt;
  opt.batch_size = 16;
  opt.seed = 5;
  auto a = MakeLoader(d, opt);
  auto b = MakeLoader(d, opt);
  ASSERT_TRUE(a && b);
  const at::Tensor a0 = Order(Drain(*a, 0)), a1 = Order(Drain(*a, 1));
  EXPECT_TRUE(torch::equal(a1, Order(Drain(*b, 1))));  // epoch 1 without running epoch 0 first
  EXPECT_TRUE(torch::equal(a0, Order(Drain(*b, 0))));
  EXPECT_FALSE(torch::equal(a0, a1));
  opt.seed = 6;
  auto c = MakeLoader(d, opt);
  EXPECT_FALSE(torch::equal(a0, Order(Drain(*c, 0))));
}

TEST(DataLoaderTest, ResumingMidEpochGivesTheSameAugmentedBatches) {
  const Dataset d = Indexed(50);
  DataLoaderOptions opt;
  opt.batch_size = 8;
  opt.augment.crop_padding = 1;
  opt.augment.horizontal_flip = true;
  auto loader = MakeLoader(d, opt);
  ASSERT_TRUE(loader);
  const auto full = Drain(*loader, 3);
  const auto tail = Drain(*loader, 3, 4);
  ASSERT_EQ(tail.size(), full.size() - 4);
  for (size_t i = 0; i < tail.size(); ++i) {
    EXPECT_EQ(tail[i].index, full[i + 4].index);
    EXPECT_TRUE(torch::equal(tail[i].images, full[i + 4].images)) << "batch " << i + 4;
  }
  EXPECT_TRUE(Drain(*loader, 3, loader->BatchesPerEpoch()).empty());
  EXPECT_FALSE(loader->StartEpoch(3, loader->BatchesPerEpoch() + 1));
  EXPECT_FALSE(loader->StartEpoch(-1));
}

TEST(DataLoaderTest, PrefetchDepthDoesNotChangeTheBatches) {
  const Dataset d = Indexed(40);
  DataLoaderOptions opt;
  opt.batch_size = 6;
  opt.augment.crop_padding = 1;
  opt.prefetch = 0;
  auto sync = MakeLoader(d, opt);
  opt.prefetch = 3;
  auto async = MakeLoader(d, opt);
  ASSERT_TRUE(sync && async);
  const auto s = Drain(*sync, 2), a = Drain(*async, 2);
  ASSERT_EQ(s.size(), a.size());
  for (size_t i = 0; i < s.size(); ++i) EXPECT_TRUE(torch::equal(s[i].images, a[i].images));
}

TEST(DataLoaderTest, DropLastAndNoShuffle) {
  const Dataset d = Indexed(10);
  DataLoaderOptions opt;
  opt.batch_size = 4;
  opt.drop_last = true;
  opt.shuffle = false;
  auto loader = MakeLoader(d, opt);
  ASSERT_TRUE(loader);
  EXPECT_EQ(loader->BatchesPerEpoch(), 2);
  const auto batches = Drain(*loader, 7);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_TRUE(torch::equal(Order(batches), torch::arange(8, torch::kLong)));
}

TEST(DataLoaderTest, AppliesNormalization) {
  const Dataset d = Indexed(3);
  DataLoaderOptions opt;
  opt.shuffle = false;
  opt.normalization = {{1.0f / 255.0f}, {2.0f / 255.0f}};
  auto loader = MakeLoader(d, opt);
  ASSERT_TRUE(loader);
  const auto batches = Drain(*loader, 0);
  ASSERT_EQ(batches.size(), 1u);
  // (i/255 - 1/255) / (2/255) = (i - 1) / 2
  EXPECT_TRUE(
      torch::allclose(batches[0].images.amax({1, 2, 3}), torch::tensor({-0.5f, 0.f, 0.5f})));
}

TEST(DataLoaderTest, CreateRejectsBadOptions) {
  const Dataset d = Indexed(4);
  DataLoaderOptions opt;
  opt.batch_size = 0;
  EXPECT_FALSE(DataLoader::Create(d, opt));
  opt = {};
  opt.normalization = {{0.1f, 0.2f, 0.3f}, {1, 1, 1}};  // 3 channels for a 1-channel dataset
  EXPECT_FALSE(DataLoader::Create(d, opt));
  opt = {};
  opt.augment.crop_padding = -1;
  EXPECT_FALSE(DataLoader::Create(d, opt));
  Dataset broken = d;
  broken.labels = broken.labels.slice(0, 0, 3);
  EXPECT_FALSE(DataLoader::Create(broken, {}));
}

TEST(DataLoaderTest, NextBeforeStartEpochIsAnError) {
  auto loader = MakeLoader(Indexed(4), {});
  ASSERT_TRUE(loader);
  EXPECT_FALSE(loader->Next());
}

TEST(DataLoaderTest, WorkerFailureSurfacesAsErrorThenEpochEnds) {
  for (int64_t prefetch : {0, 2}) {
    DataLoaderOptions opt;
    opt.batch_size = 2;
    opt.shuffle = false;
    opt.prefetch = prefetch;
    opt.batch_transform = [](const at::Tensor& x) {
      if (x.max().item<float>() >= 4.0f / 255.0f) throw std::runtime_error("transform exploded");
      return x;
    };
    auto loader = MakeLoader(Indexed(10), opt);
    ASSERT_TRUE(loader);
    ASSERT_TRUE(loader->StartEpoch(0));
    auto b0 = loader->Next(), b1 = loader->Next(), b2 = loader->Next();
    ASSERT_TRUE(b0 && *b0 && b1 && *b1) << "prefetch " << prefetch;
    ASSERT_FALSE(b2) << "prefetch " << prefetch;
    EXPECT_NE(b2.error().message().find("transform exploded"), std::string::npos);
    auto after = loader->Next();
    ASSERT_TRUE(after);
    EXPECT_FALSE(after->has_value());
  }
}

TEST(DataLoaderTest, DestroyingMidEpochDoesNotHang) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    DataLoaderOptions opt;
    opt.batch_size = 1;
    opt.prefetch = 2;
    auto loader = MakeLoader(Indexed(200), opt);
    ASSERT_TRUE(loader);
    ASSERT_TRUE(loader->StartEpoch(0));
    // Whether or not one batch was taken, the worker soon blocks on a full queue.
    if (i % 2) {
      ASSERT_TRUE(loader->Next());
    }
    ASSERT_TRUE(loader->StartEpoch(1));  // restarting also abandons the running worker
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(DataLoaderTest, BatchTransformRuns) {
  DataLoaderOptions opt;
  opt.batch_transform = [](const at::Tensor& x) { return x.repeat({1, 3, 1, 1}); };
  auto loader = MakeLoader(Indexed(5), opt);
  ASSERT_TRUE(loader);
  const auto batches = Drain(*loader, 0);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].images.size(1), 3);
}

TEST(DataLoaderFashionMnist, FullAugmentedEpochIsCheap) {
  if (!std::filesystem::exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  auto train = LoadFashionMnist(kFashionMnistDir, Split::kTrain);
  ASSERT_TRUE(train) << train.error().String();
  DataLoaderOptions opt;
  opt.augment.crop_padding = 2;
  opt.augment.horizontal_flip = true;
  opt.normalization = FashionMnistNormalization();
  auto loader = MakeLoader(*train, opt);
  ASSERT_TRUE(loader);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(loader->StartEpoch(0));
  int64_t samples = 0;
  double sum = 0;
  while (true) {
    auto b = loader->Next();
    ASSERT_TRUE(b) << b.error().String();
    if (!*b) break;
    samples += (*b)->labels.size(0);
    sum += (*b)->images.sum().item<double>();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Log().info("Fashion-MNIST augmented epoch: 469 batches in {:.3f} s", seconds);
  EXPECT_EQ(samples, 60000);
  // Normalized with the dataset's own statistics the mean is near 0 (padding pulls it lower).
  EXPECT_LT(std::abs(sum / (60000.0 * 784)), 0.3);
  EXPECT_LT(seconds, 10.0);  // ~0.2 s on an idle 2-core machine; generous for loaded CI
}

}  // namespace
}  // namespace hadmc::data
