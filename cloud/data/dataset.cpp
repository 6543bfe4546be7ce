#include "hadmc/data/dataset.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

namespace hadmc::data {
namespace {

std::string ShapeString(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

// Fisher-Yates with a fixed generator and a fixed reduction, so the result does not depend on
// the standard library (std::shuffle and std::uniform_int_distribution are unspecified).
void PortableShuffle(std::vector<int64_t>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace

const char* SplitName(Split split) { return split == Split::kTrain ? "train" : "test"; }

Status ValidateDataset(const Dataset& d) {
  if (!d.images.defined() || !d.labels.defined()) {
    return MakeError(Errc::kInvalidArgument, "dataset has undefined images or labels");
  }
  if (d.images.dim() != 4 || d.images.scalar_type() != at::kByte) {
    return MakeError(Errc::kInvalidArgument,
                     "dataset images must be uint8 [N, C, H, W], got " +
                         std::string(c10::toString(d.images.scalar_type())) + " " +
                         ShapeString(d.images));
  }
  if (d.labels.dim() != 1 || d.labels.scalar_type() != at::kLong) {
    return MakeError(Errc::kInvalidArgument,
                     "dataset labels must be int64 [N], got " +
                         std::string(c10::toString(d.labels.scalar_type())) + " " +
                         ShapeString(d.labels));
  }
  if (d.images.size(0) != d.labels.size(0)) {
    return MakeError(Errc::kShapeMismatch, "dataset has " + std::to_string(d.images.size(0)) +
                                               " images but " + std::to_string(d.labels.size(0)) +
                                               " labels");
  }
  if (d.labels.numel() > 0) {
    const int64_t lo = d.labels.min().item<int64_t>();
    const int64_t hi = d.labels.max().item<int64_t>();
    if (lo < 0 || hi >= d.num_classes()) {
      return MakeError(Errc::kInvalidArgument, "dataset labels span [" + std::to_string(lo) + ", " +
                                                   std::to_string(hi) + "] but there are " +
                                                   std::to_string(d.num_classes()) + " classes");
    }
  }
  return {};
}

Result<Dataset> SelectSamples(const Dataset& dataset, const at::Tensor& indices) {
  try {
    if (indices.dim() != 1 || indices.scalar_type() != at::kLong) {
      return MakeError(Errc::kInvalidArgument, "sample indices must be int64 [K]");
    }
    if (indices.numel() > 0 &&
        (indices.min().item<int64_t>() < 0 || indices.max().item<int64_t>() >= dataset.size())) {
      return MakeError(Errc::kInvalidArgument,
                       "sample index out of range [0, " + std::to_string(dataset.size()) + ")");
    }
    Dataset out;
    out.images = dataset.images.index_select(0, indices);
    out.labels = dataset.labels.index_select(0, indices);
    out.class_names = dataset.class_names;
    return out;
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, std::string("selecting samples: ") + e.what());
  }
}

at::Tensor ClassCounts(const Dataset& dataset) {
  return torch::bincount(dataset.labels, {}, dataset.num_classes());
}

Result<SplitIndices> StratifiedSplit(const Dataset& dataset, double test_fraction, uint64_t seed) {
  if (!(test_fraction >= 0.0 && test_fraction < 1.0)) {
    return MakeError(Errc::kInvalidArgument,
                     "test fraction must be in [0, 1), got " + std::to_string(test_fraction));
  }
  HADMC_TRY(ValidateDataset(dataset));
  const at::Tensor labels = dataset.labels.contiguous();
  const int64_t* label = labels.data_ptr<int64_t>();
  std::vector<std::vector<int64_t>> by_class(dataset.class_names.size());
  for (int64_t i = 0; i < labels.numel(); ++i) by_class[label[i]].push_back(i);

  std::vector<int64_t> train, test;
  for (size_t c = 0; c < by_class.size(); ++c) {
    std::vector<int64_t>& members = by_class[c];
    if (members.empty()) continue;
    // Each class gets its own stream, so adding images to one class leaves the others' split.
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + c);
    PortableShuffle(members, rng);
    const auto n = static_cast<int64_t>(members.size());
    const int64_t n_test = std::min<int64_t>(std::llround(test_fraction * n), n - 1);
    test.insert(test.end(), members.begin(), members.begin() + n_test);
    train.insert(train.end(), members.begin() + n_test, members.end());
  }
  std::sort(train.begin(), train.end());
  std::sort(test.begin(), test.end());
  const auto to_tensor = [](const std::vector<int64_t>& v) {
    return torch::tensor(v, torch::kLong).reshape({static_cast<int64_t>(v.size())});
  };
  return SplitIndices{to_tensor(train), to_tensor(test)};
}

}  // namespace hadmc::data
