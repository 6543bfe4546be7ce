#include "hadmc/data/dataset_registry.h"

#include <filesystem>

#include "hadmc/common/log.h"
#include "hadmc/data/idx_reader.h"

namespace hadmc::data {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFashionMnistName = "fashion-mnist";
// Names a test split folder may have, in order of preference.
constexpr const char* kTestFolderNames[] = {"test", "val", "validation"};

// The test folder next to root/train, or "" if root is not split into folders.
std::string FindTestFolder(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root / "train", ec)) return "";
  for (const char* name : kTestFolderNames) {
    if (fs::is_directory(root / name, ec)) return (root / name).string();
  }
  return "";
}

Result<Dataset> LoadSplitFolders(const fs::path& root, const std::string& test_dir, Split split,
                                 const DatasetOptions& options) {
  const std::string train_dir = (root / "train").string();
  // The test split takes train's class list, so a label means the same class in both.
  auto classes = ListClassFolders(train_dir);
  if (!classes) return tl::unexpected(classes.error());
  if (classes->empty()) return MakeError(Errc::kNotFound, train_dir + ": no class subfolders");
  ImageFolderOptions image = options.image;
  image.class_names = std::move(*classes);
  return LoadImageFolder(split == Split::kTrain ? train_dir : test_dir, image);
}

Result<Dataset> LoadAndSplitFolder(const std::string& root, Split split,
                                   const DatasetOptions& options) {
  ImageFolderOptions image = options.image;
  image.class_names.clear();
  auto all = LoadImageFolder(root, image);
  if (!all) return tl::unexpected(all.error());
  auto indices = StratifiedSplit(*all, options.test_fraction, options.split_seed);
  if (!indices) return tl::unexpected(indices.error());
  return SelectSamples(*all, split == Split::kTrain ? indices->train : indices->test);
}

}  // namespace

Result<Dataset> LoadDataset(const std::string& spec, Split split, const DatasetOptions& options) {
  const std::string fmnist_prefix = std::string(kFashionMnistName) + ":";
  if (spec == kFashionMnistName) return LoadFashionMnist(kFashionMnistDir, split);
  if (spec.rfind(fmnist_prefix, 0) == 0) {
    return LoadFashionMnist(spec.substr(fmnist_prefix.size()), split);
  }
  std::error_code ec;
  if (!fs::is_directory(spec, ec)) {
    return MakeError(Errc::kNotFound, "unknown dataset '" + spec +
                                          "': expected 'fashion-mnist', 'fashion-mnist:<dir>' "
                                          "or an image folder directory");
  }
  const std::string test_dir = FindTestFolder(spec);
  Result<Dataset> d = test_dir.empty() ? LoadAndSplitFolder(spec, split, options)
                                       : LoadSplitFolders(spec, test_dir, split, options);
  if (!d) {
    return tl::unexpected(
        d.error().WithContext("loading " + std::string(SplitName(split)) + " split of " + spec));
  }
  Log().info("dataset {} ({}): {} images, {} classes, {}x{}x{}", spec, SplitName(split), d->size(),
             d->num_classes(), d->channels(), d->height(), d->width());
  return d;
}

}  // namespace hadmc::data
