// One entry point that turns a dataset name from a command line or config into a Dataset.
#pragma once

#include <cstdint>
#include <string>

#include "hadmc/data/dataset.h"
#include "hadmc/data/image_folder.h"

namespace hadmc::data {

struct DatasetOptions {
  // Decoding options for ImageFolder specs (channels, resize). Its class_names is ignored.
  ImageFolderOptions image;
  // For a folder without train/test subfolders: fraction of each class held out as test, and
  // the seed that picks them (see StratifiedSplit).
  double test_fraction = 0.2;
  uint64_t split_seed = 0;
};

// Loads `split` of the dataset named by `spec`:
//   "fashion-mnist"         Fashion-MNIST from kFashionMnistDir
//   "fashion-mnist:<dir>"   Fashion-MNIST IDX files in <dir>
//   "<dir>"                 an ImageFolder. If <dir> has a "train" subfolder and one of "test",
//                           "val" or "validation", those are the splits (test uses train's class
//                           list, so labels agree); otherwise <dir> itself is the class root and
//                           the split is StratifiedSplit(test_fraction, split_seed).
// `options.image` applies to ImageFolder specs only.
Result<Dataset> LoadDataset(const std::string& spec, Split split,
                            const DatasetOptions& options = {});

}  // namespace hadmc::data
