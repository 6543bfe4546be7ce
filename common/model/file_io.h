// Private to common/model: bounded positional reads from a file or a string, and atomic whole-file
// writes. The .hmc and .npy readers use the same code path for bytes in memory and on disk.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::model::detail {

// Random-access bytes of known size. Reads past the end are errors, never short reads.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Copies bytes [offset, offset + n) into dst. Precondition: dst holds n bytes.
  virtual Status ReadAt(uint64_t offset, void* dst, size_t n) const = 0;
};

// Views a caller-owned buffer; the buffer must outlive the source.
class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  Status ReadAt(uint64_t offset, void* dst, size_t n) const override;

 private:
  std::string_view bytes_;
};

// A regular file opened read-only; its size is taken once at open.
class FileSource : public ByteSource {
 public:
  static Result<std::unique_ptr<FileSource>> Open(const std::string& path);
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, void* dst, size_t n) const override;

 private:
  FileSource(int fd, uint64_t size, std::string path)
      : fd_(fd), size_(size), path_(std::move(path)) {}
  int fd_;
  uint64_t size_;
  std::string path_;
};

// Reads a whole regular file.
Result<std::string> ReadWholeFile(const std::string& path);

struct ByteChunk {
  const void* data;
  size_t size;
};

// Writes the chunks, in order, to "<path>.tmp.<pid>", fsyncs it, renames it over `path` and fsyncs
// the directory, so readers see either the old file or the complete new one. The directory must
// exist. On failure the temporary file is removed.
Status WriteFileAtomically(const std::string& path, const std::vector<ByteChunk>& chunks);

}  // namespace hadmc::model::detail
