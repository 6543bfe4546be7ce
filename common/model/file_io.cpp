#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hadmc::model::detail {
namespace {

Error TruncatedError(uint64_t offset, size_t n, uint64_t size) {
  return Error(Errc::kCorrupt, "unexpected end of data: need bytes [" + std::to_string(offset) +
                                   ", " + std::to_string(offset + n) + ") of " +
                                   std::to_string(size));
}

bool InRange(uint64_t offset, size_t n, uint64_t size) {
  return offset <= size && n <= size - offset;
}

std::string DirectoryOf(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, const void* data, size_t size, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(ErrnoError("write " + what));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

Status FsyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(ErrnoError("open directory " + dir));
  const int rc = ::fsync(fd);
  const Error err = rc != 0 ? ErrnoError("fsync directory " + dir) : Error();
  ::close(fd);
  if (rc != 0) return tl::unexpected(err);
  return {};
}

}  // namespace

Status StringSource::ReadAt(uint64_t offset, void* dst, size_t n) const {
  if (!InRange(offset, n, bytes_.size())) return tl::unexpected(TruncatedError(offset, n, size()));
  if (n > 0) std::memcpy(dst, bytes_.data() + offset, n);
  return {};
}

Result<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(ErrnoError("open " + path));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const Error err = ErrnoError("stat " + path);
    ::close(fd);
    return tl::unexpected(err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return MakeError(Errc::kInvalidArgument, path + " is not a regular file");
  }
  return std::unique_ptr<FileSource>(new FileSource(fd, static_cast<uint64_t>(st.st_size), path));
}

FileSource::~FileSource() { ::close(fd_); }

Status FileSource::ReadAt(uint64_t offset, void* dst, size_t n) const {
  if (!InRange(offset, n, size_)) return tl::unexpected(TruncatedError(offset, n, size_));
  char* p = static_cast<char*>(dst);
  while (n > 0) {
    const ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(ErrnoError("read " + path_));
    }
    // The file shrank after it was opened.
    if (got == 0)
      return MakeError(Errc::kCorrupt, path_ + " ended early (was it truncated while reading?)");
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return {};
}

Result<std::string> ReadWholeFile(const std::string& path) {
  auto src = FileSource::Open(path);
  if (!src) return tl::unexpected(src.error());
  std::string bytes((*src)->size(), '\0');
  HADMC_TRY((*src)->ReadAt(0, bytes.data(), bytes.size()));
  return bytes;
}

Status WriteFileAtomically(const std::string& path, const std::vector<ByteChunk>& chunks) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == ENOENT)
      return MakeError(Errc::kNotFound, "cannot write " + path + ": directory " +
                                            DirectoryOf(path) + " does not exist");
    return tl::unexpected(ErrnoError("create " + tmp));
  }
  Status st;
  for (const auto& c : chunks) {
    st = WriteAll(fd, c.data, c.size, tmp);
    if (!st) break;
  }
  if (st && ::fsync(fd) != 0) st = tl::unexpected(ErrnoError("fsync " + tmp));
  if (::close(fd) != 0 && st) st = tl::unexpected(ErrnoError("close " + tmp));
  if (st && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = tl::unexpected(ErrnoError("rename " + tmp + " to " + path));
  if (!st) {
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDirectory(DirectoryOf(path));
}

}  // namespace hadmc::model::detail
