// Image bodies of POST /v1/infer: PNG or JPEG bytes turned into a model's input the way the
// cloud's image-folder loader prepares training images (cloud/data/image_file.cpp LoadImageFile,
// then cloud/data/normalization.cpp NormalizeImages), so a picture reaches the model as its
// training pictures did:
//   1. decode (stb_image, PNG and JPEG only) straight to the model's C channels: gray -> RGB
//      repeats the gray; RGB -> gray is stb's luma (77 R + 150 G + 29 B) / 256, i.e. the BT.601
//      weights 0.299 / 0.587 / 0.114; an alpha channel is dropped; 16-bit PNGs become 8-bit;
//   2. resize in 8 bits to the model's H x W with stb_image_resize's triangle filter (bilinear
//      when enlarging; when shrinking the tent widens with the scale, so it averages rather than
//      aliases), edges clamped — the filter the cloud loader uses;
//   3. x = (pixel / 255 - mean[c]) / std[c], computed as pixel * (1 / (255 std)) - mean / std in
//      float, the same operations as training (only pixel / 255 when mean and std are empty).
// Torch-free.
#pragma once

#include <string_view>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/edge/preprocessing.h"

namespace hadmc::edge {

enum class ImageFormat { kPng, kJpeg };

// Largest width and height accepted (a 4096 x 4096 RGB image decodes to 48 MiB).
inline constexpr int kMaxImageSide = 4096;

// `bytes` (a whole PNG or JPEG file, as `format` says) as planar float [channels, height, width].
// Errors: kParse when the bytes are not a decodable image of `format` (the message carries the
// decoder's reason); kUnsupported when the image is wider or higher than kMaxImageSide.
// Preconditions: channels is 1 or 3; height and width are in [1, 32768].
Result<std::vector<float>> ImageToModelInput(std::string_view bytes, ImageFormat format,
                                             const Preprocessing& pre, int channels, int height,
                                             int width);

}  // namespace hadmc::edge
