#include "hadmc/data/dataset_registry.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data_test_util.h"
#include "hadmc/data/idx_reader.h"

namespace hadmc::data {
namespace {

using testing::TempDir;
using testing::WriteSolidImage;

// `per_class` images per class under root/<class>, pixel value = distinct id.
void WriteClasses(const TempDir& dir, const std::string& root,
                  const std::vector<std::string>& classes, int per_class) {
  static int id = 0;
  for (const std::string& c : classes) {
    for (int i = 0; i < per_class; ++i) {
      WriteSolidImage(dir.File(root + c + "/img" + std::to_string(i) + ".png"), 6, 6, 1,
                      static_cast<uint8_t>(++id % 256));
    }
  }
}

TEST(DatasetRegistryTest, FashionMnistSpecWithDirectory) {
  TempDir dir;
  const auto t = testing::MakeTinyIdx(4, 28, 28, 10);
  testing::WriteGz(dir.File("t10k-images-idx3-ubyte.gz"),
                   testing::IdxBytes(0x803, {4, 28, 28}, t.images));
  testing::WriteGz(dir.File("t10k-labels-idx1-ubyte.gz"), testing::IdxBytes(0x801, {4}, t.labels));
  auto d = LoadDataset("fashion-mnist:" + dir.path().string(), Split::kTest);
  ASSERT_TRUE(d) << d.error().String();
  EXPECT_EQ(d->size(), 4);
  EXPECT_EQ(d->class_names, FashionMnistClassNames());
  EXPECT_FALSE(LoadDataset("fashion-mnist:" + dir.path().string(), Split::kTrain));
}

TEST(DatasetRegistryTest, FolderWithTrainAndTestUsesTrainClassesForTest) {
  TempDir dir;
  WriteClasses(dir, "train/", {"crazing", "patches", "scratches"}, 2);
  WriteClasses(dir, "test/", {"patches", "scratches"}, 1);  // no crazing in test
  DatasetOptions opt;
  opt.image.channels = 1;
  auto train = LoadDataset(dir.path().string(), Split::kTrain, opt);
  auto test = LoadDataset(dir.path().string(), Split::kTest, opt);
  ASSERT_TRUE(train) << train.error().String();
  ASSERT_TRUE(test) << test.error().String();
  EXPECT_EQ(train->size(), 6);
  EXPECT_EQ(test->size(), 2);
  EXPECT_EQ(test->class_names, train->class_names);
  EXPECT_TRUE(torch::equal(test->labels, torch::tensor({1, 2}, torch::kLong)));
}

TEST(DatasetRegistryTest, ValidationFolderServesAsTest) {
  TempDir dir;
  WriteClasses(dir, "train/", {"a", "b"}, 1);
  WriteClasses(dir, "validation/", {"b"}, 3);
  auto test = LoadDataset(dir.path().string(), Split::kTest);
  ASSERT_TRUE(test) << test.error().String();
  EXPECT_EQ(test->size(), 3);
  EXPECT_EQ(test->channels(), 3);  // default options: RGB
}

TEST(DatasetRegistryTest, UnsplitFolderGetsSeededStratifiedSplit) {
  TempDir dir;
  WriteClasses(dir, "", {"x", "y"}, 10);
  DatasetOptions opt;
  opt.image.channels = 1;
  opt.split_seed = 4;
  auto train = LoadDataset(dir.path().string(), Split::kTrain, opt);
  auto test = LoadDataset(dir.path().string(), Split::kTest, opt);
  auto test_again = LoadDataset(dir.path().string(), Split::kTest, opt);
  ASSERT_TRUE(train && test && test_again);
  EXPECT_EQ(train->size(), 16);
  EXPECT_EQ(test->size(), 4);
  EXPECT_TRUE(torch::equal(torch::bincount(test->labels), torch::tensor({2, 2}, torch::kLong)));
  EXPECT_TRUE(torch::equal(test->images, test_again->images));
  // Every image has a distinct value: train and test share none.
  const at::Tensor train_px = train->images.flatten(1).select(1, 0);
  const at::Tensor test_px = test->images.flatten(1).select(1, 0);
  EXPECT_FALSE(torch::isin(test_px, train_px).any().item<bool>());
}

TEST(DatasetRegistryTest, UnknownSpecIsNotFound) {
  auto d = LoadDataset("/definitely/not/here", Split::kTrain);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().Is(Errc::kNotFound));
  EXPECT_NE(d.error().message().find("/definitely/not/here"), std::string::npos);
}

TEST(DatasetRegistryTest, ErrorsCarrySplitAndFileContext) {
  TempDir dir;
  WriteClasses(dir, "", {"x"}, 2);
  testing::WriteRaw(dir.File("x/broken.bmp"), {'B', 'M', 0, 0});
  auto d = LoadDataset(dir.path().string(), Split::kTrain);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("train split"), std::string::npos) << d.error().message();
  EXPECT_NE(d.error().message().find("broken.bmp"), std::string::npos) << d.error().message();
}

}  // namespace
}  // namespace hadmc::data
