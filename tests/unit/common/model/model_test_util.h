// Shared by the common/model tests: a tiny CNN with random weights, a scratch directory and a way
// to run the Python reference scripts in tests/fixtures.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "hadmc/ir/builder.h"
#include "hadmc/model/model.h"
#include "test_paths.h"

namespace hadmc::model::testing {

// conv(3->8, 3x3, pad 1) -> batch_norm -> relu -> adaptive_avg_pool2d(1) -> flatten ->
// linear(8->10)
inline Model TinyCnn(uint64_t seed = 1) {
  ir::GraphBuilder b("tiny_cnn");
  auto x = b.Input("x", {-1, 3, 8, 8});
  auto c = b.Conv2d("conv1", x, 3, 8, 3, {.padding = 1});
  auto n = b.BatchNorm("bn1", c, 8);
  auto r = b.Op("relu", "relu1", {n});
  auto p = b.AdaptiveAvgPool("pool", r, 1, 1);
  auto f = b.Flatten("flatten", p);
  b.Output(b.Linear("fc", f, 8, 10));
  auto g = b.Finish();
  EXPECT_TRUE(g) << g.error().String();
  Model m{*g, {}, {{"arch", "tiny_cnn"}, {"dataset", "synthetic"}, {"accuracy", "0.5"}}};
  torch::manual_seed(seed);
  for (const auto& [name, info] : m.graph.params)
    m.tensors[name] = name.find("running_var") != std::string::npos ? torch::rand(info.shape) + 0.5
                                                                    : torch::randn(info.shape);
  return m;
}

// A fresh directory under the gtest temp dir, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = ::testing::TempDir() + "hadmc_model_XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
    EXPECT_FALSE(path_.empty());
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

inline CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The system Python with numpy (the reference for .npy and safetensors), or "" without one.
inline std::string PythonWithNumpy() {
  static const std::string python = [] {
    const std::string candidate = "/usr/bin/python3";
    if (::access(candidate.c_str(), X_OK) != 0) return std::string();
    return RunCommand(candidate + " -c 'import numpy'").exit_code == 0 ? candidate : std::string();
  }();
  return python;
}

inline std::string FixtureScript(const std::string& name) {
  return std::string(HADMC_TESTS_DIR) + "/fixtures/" + name;
}

}  // namespace hadmc::model::testing
