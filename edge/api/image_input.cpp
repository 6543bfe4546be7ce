#include "hadmc/edge/image_input.h"

#include <limits>
#include <memory>
#include <string>

// stb_image and stb_image_resize are compiled into this file only, as static functions: the cloud
// library links Debian's libstb.so, which exports the same names with every format enabled, and
// binaries such as the unit tests link both; static copies neither clash with it nor replace its
// functions for the cloud code. Only the PNG and JPEG decoders are built: request bodies are
// untrusted, and the other formats would be attack surface for nothing.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#include <stb/stb_image.h>
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>
#pragma GCC diagnostic pop

namespace hadmc::edge {
namespace {

struct StbiFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};

// Whether `bytes` starts like `format`: a clearer error than the decoder's when the
// Content-Type names the other format.
bool HasSignature(std::string_view bytes, ImageFormat format) {
  static constexpr std::string_view kPng("\x89PNG\r\n\x1a\n", 8), kJpeg("\xff\xd8\xff", 3);
  const std::string_view sig = format == ImageFormat::kPng ? kPng : kJpeg;
  return bytes.substr(0, sig.size()) == sig;
}

// stb keeps its last failure reason in a thread-local that the format probes also set: a failed
// JPEG decode may set none of its own and leave the PNG probe's "bad png sig" (stb probes PNG
// first). So the reason is cleared before each call (this file's static copy of stb makes the
// variable reachable) and the PNG probe's is ignored for a JPEG.
void ClearReason() { stbi__g_failure_reason = nullptr; }

// stb's reason, with its terse codes for a request body spelt out.
std::string Reason(ImageFormat format) {
  const char* why = stbi_failure_reason();
  const std::string_view code(why ? why : "");
  if (code.empty() || (format == ImageFormat::kJpeg && code == "bad png sig"))
    return "corrupt or truncated data";
  if (code == "outofdata") return "outofdata: the data ends early (truncated?)";
  if (code == "unknown image type") return "unknown image type: the header is corrupt or truncated";
  return std::string(code);
}

}  // namespace

Result<std::vector<float>> ImageToModelInput(std::string_view bytes, ImageFormat format,
                                             const Preprocessing& pre, int channels, int height,
                                             int width) {
  const char* name = format == ImageFormat::kPng ? "PNG" : "JPEG";
  if (!pre.mean.empty() && pre.mean.size() != static_cast<size_t>(channels))
    return MakeError(Errc::kShapeMismatch, "the preprocessing has " +
                                               std::to_string(pre.mean.size()) +
                                               " channels, the input " + std::to_string(channels));
  if (bytes.empty()) return MakeError(Errc::kParse, std::string("empty body, not a ") + name);
  if (!HasSignature(bytes, format))
    return MakeError(Errc::kParse, std::string("the body does not start like a ") + name);
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    return MakeError(Errc::kUnsupported, "image larger than 2 GiB");
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());

  // The header first: a huge image is refused before its pixels are allocated.
  int w = 0, h = 0, file_channels = 0;
  ClearReason();
  if (!stbi_info_from_memory(data, len, &w, &h, &file_channels))
    return MakeError(Errc::kParse,
                     std::string("cannot read the ") + name + " header: " + Reason(format));
  if (w > kMaxImageSide || h > kMaxImageSide)
    return MakeError(Errc::kUnsupported, std::string("the ") + name + " is " + std::to_string(w) +
                                             "x" + std::to_string(h) + " pixels; the limit is " +
                                             std::to_string(kMaxImageSide) + "x" +
                                             std::to_string(kMaxImageSide));
  ClearReason();
  std::unique_ptr<stbi_uc, StbiFree> pixels(
      stbi_load_from_memory(data, len, &w, &h, &file_channels, channels));
  if (!pixels)
    return MakeError(Errc::kParse,
                     std::string("cannot decode the ") + name + ": " + Reason(format));

  std::vector<stbi_uc> resized;
  const stbi_uc* hwc = pixels.get();
  if (h != height || w != width) {
    resized.resize(static_cast<size_t>(height) * width * channels);
    if (!stbir_resize_uint8_generic(pixels.get(), w, h, 0, resized.data(), width, height, 0,
                                    channels, STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP,
                                    STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR, nullptr))
      return MakeError(Errc::kInternal, std::string("resizing the ") + name + " failed");
    hwc = resized.data();
  }

  // (p / 255 - mean) / std as training computes it: p * scale + shift, in float.
  std::vector<float> scale(channels, 1.0f / 255.0f), shift(channels, 0.0f);
  if (!pre.mean.empty()) {
    for (int c = 0; c < channels; ++c) {
      scale[c] = 1.0f / (255.0f * pre.std[c]);
      shift[c] = -pre.mean[c] / pre.std[c];
    }
  }
  // stb gives interleaved HWC; the models take planar CHW.
  const size_t plane = static_cast<size_t>(height) * width;
  std::vector<float> out(plane * channels);
  for (int c = 0; c < channels; ++c) {
    float* dst = out.data() + c * plane;
    for (size_t i = 0; i < plane; ++i) {
      const float p = static_cast<float>(hwc[i * channels + c]);
      dst[i] = p * scale[c] + shift[c];
    }
  }
  return out;
}

}  // namespace hadmc::edge
