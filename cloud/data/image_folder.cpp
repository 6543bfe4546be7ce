#include "hadmc/data/image_folder.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <optional>

#include "hadmc/common/log.h"
#include "hadmc/data/image_file.h"

namespace hadmc::data {
namespace fs = std::filesystem;
namespace {

struct ImageEntry {
  std::string path;
  int64_t label;
};

bool IsHidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

// The image files directly inside `dir`, sorted by name.
Result<std::vector<std::string>> ListImages(const fs::path& dir, int64_t* skipped) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (IsHidden(it->path()) || !it->is_regular_file(ec)) continue;
    if (IsImageFileName(it->path().filename().string())) {
      files.push_back(it->path().string());
    } else {
      ++*skipped;
    }
  }
  if (ec) return MakeError(Errc::kIo, "listing " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

Result<std::vector<ImageEntry>> ListEntries(const std::string& root,
                                            const std::vector<std::string>& class_names,
                                            bool classes_given) {
  std::vector<ImageEntry> entries;
  int64_t skipped = 0;
  for (size_t c = 0; c < class_names.size(); ++c) {
    const fs::path dir = fs::path(root) / class_names[c];
    std::error_code ec;
    if (classes_given && !fs::is_directory(dir, ec)) continue;  // class absent from this split
    auto files = ListImages(dir, &skipped);
    if (!files) return tl::unexpected(files.error());
    if (files->empty() && !classes_given) {
      return MakeError(Errc::kNotFound,
                       dir.string() + ": class folder holds no .png, .jpg, .jpeg or .bmp images");
    }
    for (std::string& f : *files) entries.push_back({std::move(f), static_cast<int64_t>(c)});
  }
  if (skipped > 0) Log().debug("{}: skipped {} files that are not images", root, skipped);
  if (entries.empty()) return MakeError(Errc::kNotFound, root + ": no images found");
  return entries;
}

// Checks that every subfolder of root is one of the given classes.
Status CheckNoUnknownClasses(const std::string& root, const std::vector<std::string>& given) {
  auto found = ListClassFolders(root);
  if (!found) return tl::unexpected(found.error());
  for (const std::string& name : *found) {
    if (std::find(given.begin(), given.end(), name) == given.end()) {
      return MakeError(Errc::kInvalidArgument, (fs::path(root) / name).string() +
                                                   ": class folder not among the expected classes");
    }
  }
  return {};
}

}  // namespace

bool IsImageFileName(const std::string& file_name) {
  const std::string ext = fs::path(file_name).extension().string();
  std::string lower(ext.size(), '\0');
  std::transform(ext.begin(), ext.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return lower == ".png" || lower == ".jpg" || lower == ".jpeg" || lower == ".bmp";
}

Result<std::vector<std::string>> ListClassFolders(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return MakeError(Errc::kNotFound, root + ": not a directory");
  std::vector<std::string> names;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!IsHidden(it->path()) && it->is_directory(ec)) {
      names.push_back(it->path().filename().string());
    }
  }
  if (ec) return MakeError(Errc::kIo, "listing " + root + ": " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

Result<Dataset> LoadImageFolder(const std::string& root, const ImageFolderOptions& options) {
  if (options.channels != 1 && options.channels != 3) {
    return MakeError(Errc::kInvalidArgument,
                     "image channels must be 1 or 3, got " + std::to_string(options.channels));
  }
  const bool classes_given = !options.class_names.empty();
  std::vector<std::string> class_names = options.class_names;
  if (classes_given) {
    HADMC_TRY(CheckNoUnknownClasses(root, class_names));
  } else {
    auto found = ListClassFolders(root);
    if (!found) return tl::unexpected(found.error());
    if (found->empty()) return MakeError(Errc::kNotFound, root + ": no class subfolders");
    class_names = std::move(*found);
  }
  auto entries = ListEntries(root, class_names, classes_given);
  if (!entries) return tl::unexpected(entries.error());
  const auto n = static_cast<int64_t>(entries->size());

  // The first image fixes the size when no resize is asked for; the rest must match it.
  auto first = LoadImageFile((*entries)[0].path, options.channels, options.height, options.width);
  if (!first) return tl::unexpected(first.error());
  const int64_t h = first->size(1), w = first->size(2);
  const int64_t sample_bytes = first->numel();

  try {
    Dataset d;
    d.images = torch::empty({n, options.channels, h, w}, torch::kUInt8);
    d.labels = torch::empty({n}, torch::kLong);
    d.class_names = std::move(class_names);
    uint8_t* images = d.images.data_ptr<uint8_t>();
    int64_t* labels = d.labels.data_ptr<int64_t>();
    std::vector<std::optional<Error>> errors(n);
    // Decoding dominates; LoadImageFile neither throws nor shares state, so it parallelizes.
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const ImageEntry& e = (*entries)[i];
        labels[i] = e.label;
        Result<at::Tensor> img =
            i == 0 ? Result<at::Tensor>(*first)
                   : LoadImageFile(e.path, options.channels, options.height, options.width);
        if (!img) {
          errors[i] = img.error();
          continue;
        }
        if (options.height == 0 && (img->size(1) != h || img->size(2) != w)) {
          errors[i] = Error(Errc::kShapeMismatch,
                            e.path + ": image is " + std::to_string(img->size(1)) + "x" +
                                std::to_string(img->size(2)) + " but " + (*entries)[0].path +
                                " is " + std::to_string(h) + "x" + std::to_string(w) +
                                "; set a resize height and width");
          continue;
        }
        std::memcpy(images + i * sample_bytes, img->data_ptr<uint8_t>(), sample_bytes);
      }
    });
    for (const auto& err : errors) {  // report the first failure in file order, deterministically
      if (err) return MakeError(*err);
    }
    Log().debug("loaded image folder {}: {} images, {} classes, {}x{}x{}", root, n,
                d.class_names.size(), options.channels, h, w);
    return d;
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, "loading image folder " + root + ": " + e.what());
  }
}

}  // namespace hadmc::data
