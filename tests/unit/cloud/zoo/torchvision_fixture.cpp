#include "torchvision_fixture.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "hadmc/model/npy.h"
#include "test_paths.h"

namespace hadmc::testing {
namespace fs = std::filesystem;
namespace {

constexpr const char* kPython = "/usr/bin/python3";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Holds an exclusive flock on `path` for its lifetime.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_CREAT | O_RDWR, 0644)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

// Fixtures of other script versions take ~150 MB each. Those untouched for a day are removed
// (younger ones may belong to another checkout's test run that is reading them now).
void RemoveStaleVersions(const fs::path& current) {
  const std::string prefix = "hadmc-torchvision-fixture-";
  const std::string keep = current.filename().string();
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(24);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(current.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || name.rfind(keep, 0) == 0) continue;
    std::error_code time_ec;
    const auto mtime = fs::last_write_time(entry.path(), time_ec);
    if (!time_ec && mtime < cutoff) fs::remove_all(entry.path(), time_ec);
  }
}

TorchvisionFixture Generate() {
  TorchvisionFixture f;
  const fs::path script = fs::path(HADMC_SOURCE_DIR) / "tests/fixtures/make_torchvision_fixture.py";
  const std::string code = ReadFile(script);
  if (code.empty()) {
    f.error = "cannot read " + script.string();
    return f;
  }
  std::ostringstream key;
  key << std::hex << std::hash<std::string>{}(code);
  const fs::path dir = fs::temp_directory_path() / ("hadmc-torchvision-fixture-" + key.str());
  FileLock lock(dir.string() + ".lock");
  if (fs::exists(dir / "DONE")) {
    f.dir = dir.string();
    return f;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  const fs::path log = dir.string() + ".log";
  const std::string cmd = std::string(kPython) + " '" + script.string() + "' '" + dir.string() +
                          "' > '" + log.string() + "' 2>&1";
  if (std::system(cmd.c_str()) == 0 && fs::exists(dir / "DONE")) {
    f.dir = dir.string();
    RemoveStaleVersions(dir);
    return f;
  }
  const std::string probe =
      std::string(kPython) + " -c 'import torch, torchvision' > /dev/null 2>&1";
  if (std::system(probe.c_str()) != 0)
    f.skip_reason = std::string(kPython) +
                    " cannot import torch and torchvision (install python3-torch and "
                    "python3-torchvision); skipping the torchvision comparison";
  else
    f.error = "tests/fixtures/make_torchvision_fixture.py failed:\n" + ReadFile(log);
  return f;
}

}  // namespace

const TorchvisionFixture& GetTorchvisionFixture() {
  static const TorchvisionFixture fixture = Generate();
  return fixture;
}

at::Tensor ReadNpyTensor(const std::string& path) {
  auto a = model::ReadNpy(path);
  if (!a) throw std::runtime_error(a.error().String());
  return at::tensor(a->values, at::kFloat).reshape(a->shape);
}

std::map<std::string, ir::Shape> ReadNames(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::map<std::string, ir::Shape> names;
  std::string name, dims;
  while (in >> name >> dims) {
    ir::Shape shape;
    std::stringstream s(dims);
    for (std::string d; std::getline(s, d, ',');) shape.push_back(std::stoll(d));
    names[name] = shape;
  }
  return names;
}

}  // namespace hadmc::testing
