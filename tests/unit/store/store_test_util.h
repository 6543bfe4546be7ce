// Shared by the store tests: scratch directories and synthetic .hmc (safetensors) files built
// without LibTorch.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace hadmc::testing {

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = ::testing::TempDir() + "hadmc_store_XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
    EXPECT_FALSE(path_.empty());
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

struct FakeTensor {
  std::string dtype = "F32";
  std::vector<int64_t> shape;
  std::string bytes;
};

// A safetensors file: tensors laid out in sorted-name order, header padded to 8 bytes, and a
// graph in __metadata__ whose node "fc" runs in `fc_precision`.
inline std::string MakeSafetensors(const std::map<std::string, FakeTensor>& tensors,
                                   const std::string& fc_precision = "fp32") {
  nlohmann::json graph = {
      {"name", "fake"},
      {"nodes", {{{"name", "fc"}, {"op", "linear"}, {"params", {{"weight", "fc.weight"}}},
                  {"precision", fc_precision}}}}};
  nlohmann::json h;
  h["__metadata__"] = {{"format", "hadmc"}, {"graph", graph.dump()}};
  uint64_t at = 0;
  std::string data;
  for (const auto& [name, t] : tensors) {
    h[name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {at, at + t.bytes.size()}}};
    at += t.bytes.size();
    data += t.bytes;
  }
  std::string header = h.dump();
  while ((8 + header.size()) % 8) header.push_back(' ');
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

// A model with a 1 MiB+ body, a small head, and a zero-size tensor.
inline std::map<std::string, FakeTensor> FakeModel(uint32_t head_seed = 7) {
  return {{"body.weight", {"F32", {300, 1000}, RandomBytes(1'200'000, 1)}},
          {"body.bias", {"F32", {300}, RandomBytes(1200, 2)}},
          {"empty", {"F32", {0}, ""}},
          {"fc.weight", {"F32", {10, 300}, RandomBytes(12'000, head_seed)}},
          {"fc.bias", {"F32", {10}, RandomBytes(40, head_seed + 1)}}};
}

}  // namespace hadmc::testing
