// The ImageFolder layout (as in torchvision): root/<class name>/<image files>. Class labels are
// the subfolder names in sorted order, so the same folder always gives the same labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hadmc/data/dataset.h"

namespace hadmc::data {

struct ImageFolderOptions {
  int channels = 3;    // 1 (grayscale) or 3 (RGB)
  int64_t height = 0;  // resize target; 0 and 0 keep the images' own size, which must then agree
  int64_t width = 0;
  // When non-empty, these are the classes (label = position), and a listed class without a
  // subfolder simply has no samples; used to give a test folder the train folder's labels.
  // When empty, classes are the sorted subfolders of root and each must hold an image.
  std::vector<std::string> class_names;
};

// True for the file names LoadImageFolder reads: .png, .jpg, .jpeg, .bmp (any letter case).
bool IsImageFileName(const std::string& file_name);

// The sorted names of the subfolders of `root` (hidden ones skipped).
Result<std::vector<std::string>> ListClassFolders(const std::string& root);

// Loads every image under root/<class>/ (files sorted by name within a class; other files are
// skipped) into memory, decoding in parallel. Preconditions: channels is 1 or 3; height and
// width are both 0 or both > 0. Errors name the file that could not be read or decoded.
Result<Dataset> LoadImageFolder(const std::string& root, const ImageFolderOptions& options);

}  // namespace hadmc::data
