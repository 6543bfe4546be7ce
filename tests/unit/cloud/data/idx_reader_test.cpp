#include "hadmc/data/idx_reader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "data_test_util.h"

namespace hadmc::data {
namespace {

using testing::IdxBytes;
using testing::MakeTinyIdx;
using testing::TempDir;
using testing::WriteGz;
using testing::WriteRaw;

constexpr uint32_t kImages = 0x803;
constexpr uint32_t kLabels = 0x801;

class IdxReaderTest : public ::testing::Test {
 protected:
  // Writes a valid 5-image 3x4 pair; gz or raw.
  void WritePair(bool gz) {
    const auto t = MakeTinyIdx(5, 3, 4, 3);
    const auto write = gz ? WriteGz : WriteRaw;
    write(images_, IdxBytes(kImages, {5, 3, 4}, t.images));
    write(labels_, IdxBytes(kLabels, {5}, t.labels));
  }
  TempDir dir_;
  std::string images_ = dir_.File("images.idx");
  std::string labels_ = dir_.File("labels.idx");
};

TEST_F(IdxReaderTest, ReadsGzipPairWithPixelsAndLabels) {
  WritePair(/*gz=*/true);
  auto d = LoadIdx(images_, labels_);
  ASSERT_TRUE(d) << d.error().String();
  EXPECT_EQ(d->images.sizes(), (std::vector<int64_t>{5, 1, 3, 4}));
  EXPECT_EQ(d->images.scalar_type(), torch::kUInt8);
  EXPECT_EQ(d->labels.scalar_type(), torch::kLong);
  // pixel (i, y, x) = (7 i + 4 y + x) % 256
  EXPECT_EQ(d->images[2][0][1][3].item<int>(), (14 + 4 + 3));
  EXPECT_EQ(d->images[4][0][2][0].item<int>(), (28 + 8));
  EXPECT_EQ(d->labels[4].item<int64_t>(), 1);
  EXPECT_EQ(d->class_names, (std::vector<std::string>{"0", "1", "2"}));
}

TEST_F(IdxReaderTest, ReadsUncompressedPairAndKeepsGivenClassNames) {
  WritePair(/*gz=*/false);
  auto d = LoadIdx(images_, labels_, {"a", "b", "c", "d"});
  ASSERT_TRUE(d) << d.error().String();
  EXPECT_EQ(d->size(), 5);
  EXPECT_EQ(d->num_classes(), 4);
  EXPECT_EQ(d->images[1][0][0][0].item<int>(), 7);
}

TEST_F(IdxReaderTest, WrongMagicNamesTheFile) {
  WritePair(true);
  WriteGz(labels_, IdxBytes(kImages, {5, 1, 1}, std::vector<uint8_t>(5)));  // images, not labels
  auto d = LoadIdx(images_, labels_);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().Is(Errc::kParse));
  EXPECT_NE(d.error().message().find(labels_), std::string::npos) << d.error().message();
  EXPECT_NE(d.error().message().find("magic"), std::string::npos) << d.error().message();
  EXPECT_NE(d.error().message().find("0x00000803"), std::string::npos);
}

TEST_F(IdxReaderTest, SwappedArgumentsFailOnMagic) {
  WritePair(true);
  auto d = LoadIdx(labels_, images_);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find(labels_ + ": wrong magic"), std::string::npos)
      << d.error().message();
}

TEST_F(IdxReaderTest, TruncatedRawImagesNameFileAndCounts) {
  WritePair(false);
  auto bytes = IdxBytes(kImages, {5, 3, 4}, MakeTinyIdx(5, 3, 4, 3).images);
  bytes.resize(bytes.size() - 10);
  WriteRaw(images_, bytes);
  auto d = LoadIdx(images_, labels_);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().Is(Errc::kParse));
  EXPECT_NE(
      d.error().message().find(images_ + ": truncated image data: expected 60 bytes, found 50"),
      std::string::npos)
      << d.error().message();
}

TEST_F(IdxReaderTest, TruncatedHeaderIsAnError) {
  WritePair(false);
  WriteRaw(labels_, {0, 0, 8});
  auto d = LoadIdx(images_, labels_);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find(labels_), std::string::npos);
  EXPECT_NE(d.error().message().find("truncated header"), std::string::npos) << d.error().message();
}

TEST_F(IdxReaderTest, TruncatedGzipStreamIsAnError) {
  WritePair(true);
  auto gz = testing::ReadRaw(images_);
  gz.resize(gz.size() / 2);
  WriteRaw(images_, gz);
  auto d = LoadIdx(images_, labels_);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find(images_), std::string::npos) << d.error().message();
}

TEST_F(IdxReaderTest, CorruptGzipCrcIsAnError) {
  WritePair(true);
  auto gz = testing::ReadRaw(labels_);
  gz[gz.size() - 6] ^= 0xff;  // inside the CRC32 trailer
  WriteRaw(labels_, gz);
  auto d = LoadIdx(images_, labels_);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().Is(Errc::kCorrupt)) << d.error().String();
  EXPECT_NE(d.error().message().find(labels_), std::string::npos) << d.error().message();
}

TEST_F(IdxReaderTest, TrailingDataIsAnError) {
  WritePair(true);
  auto t = MakeTinyIdx(5, 3, 4, 3);
  t.labels.push_back(0);
  WriteGz(labels_, IdxBytes(kLabels, {5}, t.labels));
  auto d = LoadIdx(images_, labels_);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find(labels_ + ": unexpected data after"), std::string::npos)
      << d.error().message();
}

TEST_F(IdxReaderTest, CountMismatchNamesBothFiles) {
  WritePair(true);
  WriteGz(labels_, IdxBytes(kLabels, {4}, {0, 1, 2, 0}));
  auto d = LoadIdx(images_, labels_);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().Is(Errc::kShapeMismatch));
  EXPECT_NE(d.error().message().find(images_), std::string::npos);
  EXPECT_NE(d.error().message().find(labels_), std::string::npos);
}

TEST_F(IdxReaderTest, LabelBeyondClassNamesIsAnError) {
  WritePair(true);
  auto d = LoadIdx(images_, labels_, {"only", "two"});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find(labels_), std::string::npos) << d.error().message();
}

TEST_F(IdxReaderTest, ImplausibleDimensionsAreRefusedBeforeAllocating) {
  WritePair(true);
  WriteGz(images_, IdxBytes(kImages, {0xffffffffu, 0xffffffffu, 0xffffffffu}, {}));
  auto d = LoadIdx(images_, labels_);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("implausible"), std::string::npos) << d.error().message();
}

TEST_F(IdxReaderTest, MissingFileIsNotFound) {
  auto d = LoadIdx(dir_.File("nope.gz"), labels_);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().Is(Errc::kNotFound));
  EXPECT_NE(d.error().message().find("nope.gz"), std::string::npos);
}

TEST_F(IdxReaderTest, FashionMnistLayoutAcceptsRawAndGzipNames) {
  const auto t = MakeTinyIdx(6, 28, 28, 10);
  WriteGz(dir_.File("fm/train-images-idx3-ubyte.gz"), IdxBytes(kImages, {6, 28, 28}, t.images));
  WriteGz(dir_.File("fm/train-labels-idx1-ubyte.gz"), IdxBytes(kLabels, {6}, t.labels));
  WriteRaw(dir_.File("fm/t10k-images-idx3-ubyte"),
           IdxBytes(kImages, {2, 28, 28}, MakeTinyIdx(2, 28, 28, 10).images));
  WriteRaw(dir_.File("fm/t10k-labels-idx1-ubyte"), IdxBytes(kLabels, {2}, {9, 3}));
  const std::string fm = (dir_.path() / "fm").string();
  auto train = LoadFashionMnist(fm, Split::kTrain);
  ASSERT_TRUE(train) << train.error().String();
  EXPECT_EQ(train->size(), 6);
  EXPECT_EQ(train->class_names[9], "Ankle boot");
  auto test = LoadFashionMnist(fm, Split::kTest);
  ASSERT_TRUE(test) << test.error().String();
  EXPECT_EQ(test->labels[0].item<int64_t>(), 9);
  auto missing = LoadFashionMnist(dir_.File("empty"), Split::kTrain);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("train-images-idx3-ubyte.gz"), std::string::npos);
}

TEST(FashionMnistInstalled, LoadsBothSplits) {
  if (!std::filesystem::exists(std::string(kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  auto train = LoadFashionMnist(kFashionMnistDir, Split::kTrain);
  ASSERT_TRUE(train) << train.error().String();
  EXPECT_EQ(train->images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(train->labels.min().item<int64_t>(), 0);
  EXPECT_EQ(train->labels.max().item<int64_t>(), 9);
  // Fashion-MNIST is balanced: 6000 per class in train.
  EXPECT_TRUE(torch::equal(torch::bincount(train->labels), torch::full({10}, 6000, torch::kLong)));
  auto test = LoadFashionMnist(kFashionMnistDir, Split::kTest);
  ASSERT_TRUE(test) << test.error().String();
  EXPECT_EQ(test->size(), 10000);
  EXPECT_EQ(test->labels.max().item<int64_t>(), 9);
}

}  // namespace
}  // namespace hadmc::data
