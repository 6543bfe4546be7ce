#include "hadmc/data/image_file.h"

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#include <torch/torch.h>

#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <vector>

// Debian's libstb.so carries the stb_image and stb_image_resize implementations, so this file
// includes only the declarations (defining STB_IMAGE_IMPLEMENTATION here would duplicate them).

namespace hadmc::data {
namespace {

Result<std::vector<unsigned char>> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrnoError("open " + path));
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  if (in.bad()) return MakeError(ErrnoError("read " + path));
  return bytes;
}

struct StbiFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};

}  // namespace

Result<at::Tensor> LoadImageFile(const std::string& path, int channels, int64_t height,
                                 int64_t width) {
  if (channels != 1 && channels != 3) {
    return MakeError(Errc::kInvalidArgument,
                     "image channels must be 1 or 3, got " + std::to_string(channels));
  }
  if ((height == 0) != (width == 0) || height < 0 || width < 0 || height > (1 << 15) ||
      width > (1 << 15)) {
    return MakeError(Errc::kInvalidArgument,
                     "image size must be both 0 or both in (0, 32768], got " +
                         std::to_string(height) + "x" + std::to_string(width));
  }
  auto bytes = ReadFileBytes(path);
  if (!bytes) return tl::unexpected(bytes.error());
  if (bytes->empty()) return MakeError(Errc::kParse, path + ": empty file, not an image");
  if (bytes->size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return MakeError(Errc::kUnsupported, path + ": image file larger than 2 GiB");
  }

  int w = 0, h = 0, file_channels = 0;
  // stbi_failure_reason() is thread-local in this stb version, so parallel decodes are safe.
  std::unique_ptr<unsigned char, StbiFree> pixels(stbi_load_from_memory(
      bytes->data(), static_cast<int>(bytes->size()), &w, &h, &file_channels, channels));
  if (!pixels) {
    const char* why = stbi_failure_reason();
    return MakeError(Errc::kParse,
                     path + ": cannot decode image: " + (why ? why : "unknown reason"));
  }

  const int out_h = height > 0 ? static_cast<int>(height) : h;
  const int out_w = width > 0 ? static_cast<int>(width) : w;
  std::vector<unsigned char> resized;
  const unsigned char* hwc = pixels.get();
  if (out_h != h || out_w != w) {
    resized.resize(static_cast<size_t>(out_h) * out_w * channels);
    const int ok = stbir_resize_uint8_generic(
        pixels.get(), w, h, 0, resized.data(), out_w, out_h, 0, channels, STBIR_ALPHA_CHANNEL_NONE,
        0, STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR, nullptr);
    if (!ok) return MakeError(Errc::kInternal, path + ": resizing image failed");
    hwc = resized.data();
  }

  try {
    // stb gives interleaved HWC; the models want planar CHW.
    at::Tensor out = torch::empty({channels, out_h, out_w}, torch::kUInt8);
    uint8_t* dst = out.data_ptr<uint8_t>();
    const int64_t plane = static_cast<int64_t>(out_h) * out_w;
    for (int64_t i = 0; i < plane; ++i) {
      for (int c = 0; c < channels; ++c) dst[c * plane + i] = hwc[i * channels + c];
    }
    return out;
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, path + ": " + e.what());
  }
}

}  // namespace hadmc::data
