#include "hadmc/data/image_folder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data_test_util.h"
#include "hadmc/data/image_file.h"

namespace hadmc::data {
namespace {

using testing::TempDir;
using testing::WriteImage;
using testing::WriteRaw;
using testing::WriteSolidImage;

ImageFolderOptions Opts(int channels, int64_t height = 0, int64_t width = 0) {
  ImageFolderOptions o;
  o.channels = channels;
  o.height = height;
  o.width = width;
  return o;
}

TEST(ImageFileTest, DecodesLosslessPixelsAsChw) {
  TempDir dir;
  // 3 wide, 2 high RGB: pixel (y, x) = (10y + x, 100 + 10y + x, 200 + x).
  std::vector<uint8_t> hwc;
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x)
      hwc.insert(hwc.end(), {uint8_t(10 * y + x), uint8_t(100 + 10 * y + x), uint8_t(200 + x)});
  for (const char* name : {"a.png", "a.bmp"}) {
    const std::string path = dir.File(name);
    WriteImage(path, 3, 2, 3, hwc);
    auto img = LoadImageFile(path, 3);
    ASSERT_TRUE(img) << img.error().String();
    EXPECT_EQ(img->sizes(), (std::vector<int64_t>{3, 2, 3})) << name;
    EXPECT_EQ((*img)[0][1][2].item<int>(), 12) << name;
    EXPECT_EQ((*img)[1][1][0].item<int>(), 110) << name;
    EXPECT_EQ((*img)[2][0][2].item<int>(), 202) << name;
  }
}

TEST(ImageFileTest, ConvertsChannelsBothWays) {
  TempDir dir;
  const std::string gray = dir.File("g.png");
  WriteSolidImage(gray, 4, 4, 1, 77);
  auto rgb = LoadImageFile(gray, 3);
  ASSERT_TRUE(rgb) << rgb.error().String();
  EXPECT_EQ(rgb->size(0), 3);
  EXPECT_TRUE(torch::all(*rgb == 77).item<bool>());
  const std::string red = dir.File("r.png");
  WriteImage(red, 1, 1, 3, {255, 0, 0});
  auto luma = LoadImageFile(red, 1);
  ASSERT_TRUE(luma) << luma.error().String();
  EXPECT_EQ(luma->size(0), 1);
  EXPECT_NEAR((*luma)[0][0][0].item<int>(), 77, 2);  // stb's luma weight for red: 77/256
}

TEST(ImageFileTest, ResizesToRequestedSize) {
  TempDir dir;
  const std::string path = dir.File("big.png");
  WriteSolidImage(path, 40, 30, 3, 128);
  auto img = LoadImageFile(path, 3, 8, 10);
  ASSERT_TRUE(img) << img.error().String();
  EXPECT_EQ(img->sizes(), (std::vector<int64_t>{3, 8, 10}));
  EXPECT_TRUE(torch::all((*img - 128).abs() <= 1).item<bool>());  // a flat image stays flat
}

TEST(ImageFileTest, CorruptJpegNamesTheFile) {
  TempDir dir;
  const std::string path = dir.File("broken.jpg");
  WriteSolidImage(path, 16, 16, 3, 90);
  auto bytes = testing::ReadRaw(path);
  bytes.resize(20);  // SOI and part of the first segment only
  WriteRaw(path, bytes);
  auto img = LoadImageFile(path, 3);
  ASSERT_FALSE(img);
  EXPECT_TRUE(img.error().Is(Errc::kParse));
  EXPECT_NE(img.error().message().find(path + ": cannot decode image"), std::string::npos)
      << img.error().message();
}

TEST(ImageFileTest, RejectsBadArguments) {
  TempDir dir;
  const std::string path = dir.File("x.png");
  WriteSolidImage(path, 2, 2, 1, 1);
  EXPECT_FALSE(LoadImageFile(path, 2));
  EXPECT_FALSE(LoadImageFile(path, 1, 8, 0));
  auto missing = LoadImageFile(dir.File("missing.png"), 1);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("missing.png"), std::string::npos);
  WriteRaw(dir.File("empty.png"), {});
  auto empty = LoadImageFile(dir.File("empty.png"), 1);
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message().find("empty.png"), std::string::npos);
}

TEST(ImageFolderTest, RecognizesImageExtensionsCaseInsensitively) {
  EXPECT_TRUE(IsImageFileName("a.PNG"));
  EXPECT_TRUE(IsImageFileName("b.JpEg"));
  EXPECT_TRUE(IsImageFileName("c.jpg"));
  EXPECT_TRUE(IsImageFileName("d.Bmp"));
  EXPECT_FALSE(IsImageFileName("e.txt"));
  EXPECT_FALSE(IsImageFileName("png"));
  EXPECT_FALSE(IsImageFileName("f.png.xml"));
}

// root/<class>/... with a distinct gray value per class and image.
class ImageFolderLayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Written out of order to check the sorting.
    WriteSolidImage(dir_.File("scratches/b.bmp"), 12, 10, 3, 30);
    WriteSolidImage(dir_.File("scratches/a.PNG"), 12, 10, 3, 20);
    WriteSolidImage(dir_.File("crazing/x.png"), 12, 10, 1, 10);
    WriteSolidImage(dir_.File("inclusion/y.jpg"), 12, 10, 3, 200);
    WriteRaw(dir_.File("inclusion/notes.txt"), {'h', 'i'});
    WriteRaw(dir_.File(".hidden/z.png"), {1, 2, 3});
  }
  TempDir dir_;
  std::string root_ = dir_.path().string();
};

TEST_F(ImageFolderLayoutTest, LabelsFollowSortedFoldersAndFilesFollowSortedNames) {
  auto d = LoadImageFolder(root_, Opts(1));
  ASSERT_TRUE(d) << d.error().String();
  EXPECT_EQ(d->class_names, (std::vector<std::string>{"crazing", "inclusion", "scratches"}));
  ASSERT_EQ(d->size(), 4);
  EXPECT_EQ(d->images.sizes(), (std::vector<int64_t>{4, 1, 10, 12}));
  EXPECT_TRUE(torch::equal(d->labels, torch::tensor({0, 1, 2, 2}, torch::kLong)));
  EXPECT_EQ(d->images[0][0][5][5].item<int>(), 10);
  EXPECT_NEAR(d->images[1][0][5][5].item<int>(), 200, 3);  // jpeg is lossy
  EXPECT_EQ(d->images[2][0][0][0].item<int>(), 20);        // a.PNG before b.bmp
  EXPECT_EQ(d->images[3][0][0][0].item<int>(), 30);
}

TEST_F(ImageFolderLayoutTest, ResizesAndConvertsToRgb) {
  auto d = LoadImageFolder(root_, Opts(3, 6, 5));
  ASSERT_TRUE(d) << d.error().String();
  EXPECT_EQ(d->images.sizes(), (std::vector<int64_t>{4, 3, 6, 5}));
}

TEST_F(ImageFolderLayoutTest, DifferentSizesWithoutResizeNameTheFile) {
  WriteSolidImage(dir_.File("scratches/c.png"), 7, 7, 3, 1);
  auto d = LoadImageFolder(root_, Opts(3));
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().Is(Errc::kShapeMismatch));
  EXPECT_NE(d.error().message().find("c.png"), std::string::npos) << d.error().message();
  EXPECT_TRUE(LoadImageFolder(root_, Opts(3, 7, 7)));
}

TEST_F(ImageFolderLayoutTest, CorruptImageNamesTheFile) {
  const std::string bad = dir_.File("inclusion/zz_bad.jpg");
  WriteRaw(bad, {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 2});
  auto d = LoadImageFolder(root_, Opts(3, 4, 4));
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find(bad), std::string::npos) << d.error().message();
}

TEST_F(ImageFolderLayoutTest, EmptyClassFolderIsAnError) {
  std::filesystem::create_directories(dir_.path() / "rolled-in_scale");
  auto d = LoadImageFolder(root_, Opts(1, 4, 4));
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("rolled-in_scale"), std::string::npos);
}

TEST_F(ImageFolderLayoutTest, GivenClassListFixesLabelsAndRejectsUnknownFolders) {
  ImageFolderOptions opt = Opts(1, 4, 4);
  opt.class_names = {"aaa", "crazing", "inclusion", "patches", "scratches"};
  auto d = LoadImageFolder(root_, opt);
  ASSERT_TRUE(d) << d.error().String();
  EXPECT_EQ(d->num_classes(), 5);
  EXPECT_TRUE(torch::equal(d->labels, torch::tensor({1, 2, 4, 4}, torch::kLong)));
  opt.class_names = {"crazing", "inclusion"};
  auto unknown = LoadImageFolder(root_, opt);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("scratches"), std::string::npos);
}

TEST(ImageFolderTest, MissingRootOrNoClassesIsNotFound) {
  TempDir dir;
  auto missing = LoadImageFolder(dir.File("nope"), {});
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().Is(Errc::kNotFound));
  auto empty = LoadImageFolder(dir.path().string(), {});
  ASSERT_FALSE(empty);
  EXPECT_TRUE(empty.error().Is(Errc::kNotFound));
}

}  // namespace
}  // namespace hadmc::data
