#include "hadmc/common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace hadmc {
namespace {

std::string ParentDir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status WriteAll(int fd, std::string_view bytes, const std::string& what) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return MakeError(ErrnoError("write " + what));
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

Result<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MakeError(ErrnoError("open " + path));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Error e = ErrnoError("stat " + path);
    ::close(fd);
    return MakeError(e);
  }
  // Sized once and read in large pieces: a stream iterator reads 45 MB models ~10x slower.
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (true) {
    if (done == bytes.size()) bytes.resize(bytes.size() + 65536);  // the file grew, or /proc
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = ErrnoError("read " + path);
      ::close(fd);
      return MakeError(e);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(done);
  return bytes;
}

Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return MakeError(ErrnoError("open directory " + dir));
  const int rc = ::fsync(fd);
  Error e = rc != 0 ? ErrnoError("fsync directory " + dir) : Error();
  ::close(fd);
  if (rc != 0) return MakeError(e);
  return {};
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes, unsigned mode,
                           Overwrite overwrite) {
  if (overwrite == Overwrite::kRefuse && ::access(path.c_str(), F_OK) == 0)
    return MakeError(Errc::kAlreadyExists, path + " already exists; not overwriting it");
  // Unique per process and call, so concurrent writers of one path never share a temp file.
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(counter.fetch_add(1));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return MakeError(ErrnoError("create " + tmp));
  auto fail = [&](const Error& e) {
    ::unlink(tmp.c_str());
    return MakeError(e);
  };
  if (auto w = WriteAll(fd, bytes, tmp); !w) {
    ::close(fd);
    return fail(w.error());
  }
  if (::fsync(fd) != 0) {
    Error e = ErrnoError("fsync " + tmp);
    ::close(fd);
    return fail(e);
  }
  if (::close(fd) != 0) return fail(ErrnoError("close " + tmp));
  if (overwrite == Overwrite::kRefuse) {
    // link() fails if `path` appeared meanwhile, unlike rename().
    if (::link(tmp.c_str(), path.c_str()) != 0) return fail(ErrnoError("create " + path));
    ::unlink(tmp.c_str());
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(ErrnoError("rename " + tmp + " to " + path));
  }
  return SyncDirectory(ParentDir(path));
}

}  // namespace hadmc
