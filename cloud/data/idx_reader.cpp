#include "hadmc/data/idx_reader.h"

#include <torch/torch.h>
#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "hadmc/common/log.h"

namespace hadmc::data {
namespace {

constexpr uint32_t kImageMagic = 0x00000803;  // uint8, 3 dimensions
constexpr uint32_t kLabelMagic = 0x00000801;  // uint8, 1 dimension
// No real IDX file comes near this; a larger product means a corrupt header, and refusing it
// avoids trying to allocate terabytes.
constexpr uint64_t kMaxPayloadBytes = uint64_t{1} << 34;

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

// A gzip (or, transparently, uncompressed) file opened with zlib, closed on scope exit.
class GzReader {
 public:
  static Result<GzReader> Open(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      return MakeError(Errc::kNotFound, path + ": no such file");
    }
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) return MakeError(ErrnoError("open " + path));
    gzbuffer(f, 1 << 17);  // the default 8 KiB makes a 26 MB file take many more syscalls
    return GzReader(f, path);
  }
  GzReader(GzReader&& o) noexcept : file_(o.file_), path_(std::move(o.path_)) { o.file_ = nullptr; }
  GzReader& operator=(GzReader&&) = delete;
  ~GzReader() {
    if (file_ != nullptr) gzclose(file_);
  }

  // Reads up to n bytes; returns how many were read (fewer only at end of data).
  Result<uint64_t> Read(void* dst, uint64_t n) {
    auto* out = static_cast<unsigned char*>(dst);
    uint64_t done = 0;
    while (done < n) {
      const auto chunk = static_cast<unsigned>(std::min<uint64_t>(n - done, 1u << 30));
      const int got = gzread(file_, out + done, chunk);
      if (got < 0) return MakeError(StreamError());
      if (got == 0) break;
      done += static_cast<uint64_t>(got);
    }
    // gzread reports a truncated or corrupt stream through gzerror even when it returned data.
    int errnum = Z_OK;
    gzerror(file_, &errnum);
    if (errnum != Z_OK && errnum != Z_STREAM_END) return MakeError(StreamError());
    return done;
  }

  // Reads exactly n bytes, or fails naming what was being read.
  Status ReadExact(void* dst, uint64_t n, const std::string& what) {
    auto got = Read(dst, n);
    if (!got) return tl::unexpected(got.error());
    if (*got != n) {
      return MakeError(Errc::kParse, path_ + ": truncated " + what + ": expected " +
                                         std::to_string(n) + " bytes, found " +
                                         std::to_string(*got));
    }
    return {};
  }

  // Fails if any data follows; also makes zlib check the gzip trailer (CRC and length).
  Status ExpectEnd(uint64_t payload_bytes) {
    unsigned char extra = 0;
    auto got = Read(&extra, 1);
    if (!got) return tl::unexpected(got.error());
    if (*got != 0) {
      return MakeError(Errc::kParse, path_ + ": unexpected data after the " +
                                         std::to_string(payload_bytes) +
                                         " bytes the header declares");
    }
    return {};
  }

  // Big-endian uint32, the only integer encoding in an IDX header.
  Result<uint32_t> ReadU32(const std::string& what) {
    std::array<unsigned char, 4> b{};
    HADMC_TRY(ReadExact(b.data(), b.size(), what));
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  }

  const std::string& path() const { return path_; }

 private:
  GzReader(gzFile f, std::string path) : file_(f), path_(std::move(path)) {}

  Error StreamError() const {
    int errnum = Z_OK;
    const char* msg = gzerror(file_, &errnum);
    if (errnum == Z_ERRNO) return ErrnoError("read " + path_);
    return Error(Errc::kCorrupt, path_ + ": bad gzip stream: " + (msg ? msg : "unknown error"));
  }

  gzFile file_;
  std::string path_;
};

// Reads the magic number and dimensions, checking the magic against `expected`.
Result<std::vector<uint32_t>> ReadIdxHeader(GzReader& in, uint32_t expected, const char* kind) {
  auto magic = in.ReadU32("header");
  if (!magic) return tl::unexpected(magic.error());
  if (*magic != expected) {
    return MakeError(Errc::kParse, in.path() + ": wrong magic number " + Hex32(*magic) +
                                       " (expected " + Hex32(expected) + ", an IDX " + kind +
                                       " file)");
  }
  const uint32_t ndim = expected & 0xff;
  std::vector<uint32_t> dims(ndim);
  uint64_t payload = 1;
  for (uint32_t i = 0; i < ndim; ++i) {
    auto d = in.ReadU32("header");
    if (!d) return tl::unexpected(d.error());
    dims[i] = *d;
    payload *= std::max<uint64_t>(*d, 1);  // skip zeros so the overflow guard still applies
    if (payload > kMaxPayloadBytes) {
      return MakeError(Errc::kParse, in.path() + ": implausible IDX dimensions in header");
    }
  }
  return dims;
}

Result<at::Tensor> ReadImages(const std::string& path) {
  auto in = GzReader::Open(path);
  if (!in) return tl::unexpected(in.error());
  auto dims = ReadIdxHeader(*in, kImageMagic, "image");
  if (!dims) return tl::unexpected(dims.error());
  const int64_t n = (*dims)[0], h = (*dims)[1], w = (*dims)[2];
  at::Tensor images = torch::empty({n, 1, h, w}, torch::kUInt8);
  const auto bytes = static_cast<uint64_t>(images.numel());
  HADMC_TRY(in->ReadExact(images.data_ptr<uint8_t>(), bytes, "image data"));
  HADMC_TRY(in->ExpectEnd(bytes));
  return images;
}

Result<at::Tensor> ReadLabels(const std::string& path) {
  auto in = GzReader::Open(path);
  if (!in) return tl::unexpected(in.error());
  auto dims = ReadIdxHeader(*in, kLabelMagic, "label");
  if (!dims) return tl::unexpected(dims.error());
  at::Tensor labels = torch::empty({static_cast<int64_t>((*dims)[0])}, torch::kUInt8);
  const auto bytes = static_cast<uint64_t>(labels.numel());
  HADMC_TRY(in->ReadExact(labels.data_ptr<uint8_t>(), bytes, "label data"));
  HADMC_TRY(in->ExpectEnd(bytes));
  return labels.to(torch::kLong);
}

// Finds `name` + ".gz" in dir, or `name` itself.
std::string PickFile(const std::string& dir, const std::string& name) {
  const std::filesystem::path gz = std::filesystem::path(dir) / (name + ".gz");
  std::error_code ec;
  if (std::filesystem::exists(gz, ec)) return gz.string();
  const std::filesystem::path raw = std::filesystem::path(dir) / name;
  return std::filesystem::exists(raw, ec) ? raw.string() : gz.string();
}

}  // namespace

const std::vector<std::string>& FashionMnistClassNames() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                 "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

Result<Dataset> LoadIdx(const std::string& images_path, const std::string& labels_path,
                        std::vector<std::string> class_names) {
  try {
    auto images = ReadImages(images_path);
    if (!images) return tl::unexpected(images.error());
    auto labels = ReadLabels(labels_path);
    if (!labels) return tl::unexpected(labels.error());
    if (images->size(0) != labels->size(0)) {
      return MakeError(Errc::kShapeMismatch,
                       images_path + " holds " + std::to_string(images->size(0)) + " images but " +
                           labels_path + " holds " + std::to_string(labels->size(0)) + " labels");
    }
    if (class_names.empty()) {
      const int64_t max_label = labels->numel() ? labels->max().item<int64_t>() : -1;
      for (int64_t c = 0; c <= max_label; ++c) class_names.push_back(std::to_string(c));
    }
    Dataset d{std::move(*images), std::move(*labels), std::move(class_names)};
    HADMC_TRY_CTX(ValidateDataset(d), labels_path);
    return d;
  } catch (const std::exception& e) {  // allocation failures and c10::Error
    return MakeError(Errc::kInternal, "loading " + images_path + ": " + e.what());
  }
}

Result<Dataset> LoadFashionMnist(const std::string& dir, Split split) {
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  const std::string images = PickFile(dir, prefix + "-images-idx3-ubyte");
  const std::string labels = PickFile(dir, prefix + "-labels-idx1-ubyte");
  auto d = LoadIdx(images, labels, FashionMnistClassNames());
  if (!d) {
    return tl::unexpected(
        d.error().WithContext(std::string("loading Fashion-MNIST ") + SplitName(split)));
  }
  Log().debug("loaded Fashion-MNIST {}: {} images from {}", SplitName(split), d->size(), dir);
  return d;
}

}  // namespace hadmc::data
