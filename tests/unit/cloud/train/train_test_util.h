// Helpers for the hadmc::train tests: a learnable synthetic dataset held in memory, a tiny
// conv-bn-relu-linear model built with the GraphBuilder, and a self-deleting temp directory.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "hadmc/data/dataset.h"
#include "hadmc/ir/builder.h"
#include "hadmc/model/model.h"

namespace hadmc::train::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("hadmc_train_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// `per_class` 8x8 gray images per class for 4 classes: class k has a bright 4x4 quadrant k over
// a noisy dark background, so a tiny conv net separates them within a few epochs.
inline data::Dataset QuadrantDataset(int64_t per_class, uint64_t seed) {
  constexpr int64_t kClasses = 4;
  const int64_t n = per_class * kClasses;
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor images = torch::randint(0, 60, {n, 1, 8, 8}, gen, torch::kLong);
  at::Tensor labels = torch::arange(n, torch::kLong).remainder(kClasses);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = labels[i].item<int64_t>();
    const int64_t y = (k / 2) * 4, x = (k % 2) * 4;
    images[i].narrow(1, y, 4).narrow(2, x, 4).add_(120);
  }
  data::Dataset d;
  d.images = images.to(torch::kByte).contiguous();
  d.labels = labels;
  d.class_names = {"top-left", "top-right", "bottom-left", "bottom-right"};
  return d;
}

// input [-1,1,8,8] -> conv 3x3/2 (4 ch, bias) -> bn -> relu -> flatten -> fc (64 -> 4).
inline model::Model TinyModel(uint64_t seed) {
  ir::GraphBuilder b("tiny");
  std::string x = b.Input("input", {-1, 1, 8, 8});
  ir::ConvOptions c;
  c.stride = 2;
  c.padding = 1;
  c.bias = true;
  x = b.Conv2d("conv", x, 1, 4, 3, c);
  x = b.BatchNorm("bn", x, 4);
  x = b.Op("relu", "relu", {x});
  x = b.Flatten("flatten", x);
  x = b.Linear("fc", x, 64, 4);
  b.Output(x);
  auto g = b.Finish();
  EXPECT_TRUE(g.has_value()) << g.error().message();
  model::Model m;
  m.graph = *g;
  at::Generator gen = at::detail::createCPUGenerator(seed);
  for (const auto& [name, info] : m.graph.params) {
    const std::string slot = name.substr(name.rfind('.') + 1);
    at::Tensor t;
    if (slot == "running_var" || (name.rfind("bn.", 0) == 0 && slot == "weight")) {
      t = torch::ones(info.shape);
    } else if (slot == "running_mean" || slot == "bias") {
      t = torch::zeros(info.shape);
    } else {
      t = torch::randn(info.shape, gen) * 0.3;
    }
    m.tensors[name] = t;
  }
  m.metadata["arch"] = "tiny";
  return m;
}

// Bit-identical, or with atol > 0 equal to within atol + 1e-5 relative.
inline bool SameTensors(const model::TensorMap& a, const model::TensorMap& b, std::string* diff,
                        double atol = 0) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    const bool same = it != b.end() && (atol > 0 ? t.detach().allclose(it->second.detach(), 1e-5, atol)
                                                 : torch::equal(t.detach(), it->second.detach()));
    if (!same) {
      if (diff) *diff = name;
      return false;
    }
  }
  return true;
}

}  // namespace hadmc::train::testing
