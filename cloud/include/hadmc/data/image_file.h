// Decoding one image file (PNG, JPEG, BMP and the other formats stb_image reads) into a uint8
// CHW tensor, with channel conversion and resizing.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "hadmc/common/error.h"

namespace hadmc::data {

// Decodes `path` to uint8 [channels, H, W]. `channels` is 1 (grayscale, luma-weighted when the
// file is colour) or 3 (RGB; grayscale files are replicated). When height and width are both > 0
// the image is resized to them (triangle filter: bilinear when enlarging, area-weighted when
// shrinking); when both are 0 it keeps its own size. Errors name the file.
Result<at::Tensor> LoadImageFile(const std::string& path, int channels, int64_t height = 0,
                                 int64_t width = 0);

}  // namespace hadmc::data
