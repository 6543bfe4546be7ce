// Helpers for the hadmc::data tests: a self-deleting temp directory and writers for tiny IDX
// files and images, so every test makes its own data and no binary fixtures are checked in.
#pragma once

#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace hadmc::data::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("hadmc_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path / relative, with parent folders created.
  std::string File(const std::string& relative) const {
    const std::filesystem::path p = path_ / relative;
    std::filesystem::create_directories(p.parent_path());
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

inline void AppendU32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// The bytes of an IDX file: magic, dims, payload.
inline std::vector<uint8_t> IdxBytes(uint32_t magic, const std::vector<uint32_t>& dims,
                                     const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out;
  AppendU32(out, magic);
  for (uint32_t d : dims) AppendU32(out, d);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

inline void WriteRaw(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline void WriteGz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

inline std::vector<uint8_t> ReadRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

// n images of h x w where pixel (i, y, x) = (i * 7 + y * w + x) % 256, and labels i % classes.
struct TinyIdx {
  std::vector<uint8_t> images;
  std::vector<uint8_t> labels;
};
inline TinyIdx MakeTinyIdx(uint32_t n, uint32_t h, uint32_t w, uint32_t classes) {
  TinyIdx t;
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t p = 0; p < h * w; ++p)
      t.images.push_back(static_cast<uint8_t>((i * 7 + p) % 256));
    t.labels.push_back(static_cast<uint8_t>(i % classes));
  }
  return t;
}

// Writes a w x h image with `channels` interleaved channels; format from the extension
// (.png, .bmp or .jpg).
inline void WriteImage(const std::string& path, int w, int h, int channels,
                       const std::vector<uint8_t>& hwc) {
  ASSERT_EQ(hwc.size(), static_cast<size_t>(w * h * channels));
  const std::string ext = std::filesystem::path(path).extension().string();
  int ok = 0;
  if (ext == ".png" || ext == ".PNG") {
    ok = stbi_write_png(path.c_str(), w, h, channels, hwc.data(), w * channels);
  } else if (ext == ".bmp" || ext == ".BMP") {
    ok = stbi_write_bmp(path.c_str(), w, h, channels, hwc.data());
  } else {
    ok = stbi_write_jpg(path.c_str(), w, h, channels, hwc.data(), 95);
  }
  ASSERT_NE(ok, 0) << "writing " << path;
}

// A solid-colour image.
inline void WriteSolidImage(const std::string& path, int w, int h, int channels, uint8_t value) {
  WriteImage(path, w, h, channels, std::vector<uint8_t>(w * h * channels, value));
}

}  // namespace hadmc::data::testing
