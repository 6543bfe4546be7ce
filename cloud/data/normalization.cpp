#include "hadmc/data/normalization.h"

#include <torch/torch.h>

#include <cmath>

namespace hadmc::data {

Normalization FashionMnistNormalization() { return Normalization{{0.2860f}, {0.3530f}}; }

Result<Normalization> ComputeNormalization(const Dataset& dataset) {
  HADMC_TRY(ValidateDataset(dataset));
  if (dataset.size() == 0) {
    return MakeError(Errc::kInvalidArgument, "cannot compute normalization of an empty dataset");
  }
  try {
    const int64_t channels = dataset.channels();
    at::Tensor sum = torch::zeros({channels}, torch::kDouble);
    at::Tensor sum_sq = torch::zeros({channels}, torch::kDouble);
    // Chunks bound the temporary double copy to ~16 MB whatever the dataset size.
    const int64_t per_sample = std::max<int64_t>(dataset.images[0].numel(), 1);
    const int64_t chunk = std::max<int64_t>(1, (int64_t{2} << 20) / per_sample);
    for (int64_t begin = 0; begin < dataset.size(); begin += chunk) {
      const int64_t len = std::min(chunk, dataset.size() - begin);
      const at::Tensor x = dataset.images.narrow(0, begin, len).to(torch::kDouble);
      sum += x.sum({0, 2, 3});
      sum_sq += x.square().sum({0, 2, 3});
    }
    const double count = static_cast<double>(dataset.size()) * dataset.height() * dataset.width();
    const at::Tensor mean = sum / count;
    const at::Tensor var = (sum_sq / count - mean.square()).clamp_min(0.0);
    const at::Tensor mean01 = (mean / 255.0).to(torch::kFloat);
    const at::Tensor std01 = (var.sqrt() / 255.0).to(torch::kFloat);
    Normalization norm;
    for (int64_t c = 0; c < channels; ++c) {
      norm.mean.push_back(mean01[c].item<float>());
      // A constant channel has std 0; 1 keeps the division finite and the values centred.
      const float s = std01[c].item<float>();
      norm.std.push_back(s > 1e-6f ? s : 1.0f);
    }
    return norm;
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, std::string("computing normalization: ") + e.what());
  }
}

Status ValidateNormalization(const Normalization& norm, int64_t channels) {
  if (norm.empty() && norm.std.empty()) return {};
  if (static_cast<int64_t>(norm.mean.size()) != channels ||
      static_cast<int64_t>(norm.std.size()) != channels) {
    return MakeError(Errc::kInvalidArgument, "normalization has " +
                                                 std::to_string(norm.mean.size()) + " means and " +
                                                 std::to_string(norm.std.size()) + " stds for " +
                                                 std::to_string(channels) + " channels");
  }
  for (float s : norm.std) {
    if (!(s > 0.0f) || !std::isfinite(s)) {
      return MakeError(Errc::kInvalidArgument,
                       "normalization std must be positive, got " + std::to_string(s));
    }
  }
  return {};
}

at::Tensor NormalizeImages(const at::Tensor& images_u8, const Normalization& norm) {
  TORCH_CHECK(images_u8.dim() == 4 && images_u8.scalar_type() == at::kByte,
              "NormalizeImages expects uint8 [B, C, H, W]");
  at::Tensor x = images_u8.to(torch::kFloat);
  if (norm.empty()) return x.mul_(1.0f / 255.0f);
  // (p / 255 - mean) / std == p * scale + shift: one multiply-add pass per channel.
  const int64_t c = images_u8.size(1);
  std::vector<float> scale(c), shift(c);
  for (int64_t i = 0; i < c; ++i) {
    scale[i] = 1.0f / (255.0f * norm.std[i]);
    shift[i] = -norm.mean[i] / norm.std[i];
  }
  const at::Tensor scale_t = torch::tensor(scale).view({1, c, 1, 1});
  const at::Tensor shift_t = torch::tensor(shift).view({1, c, 1, 1});
  return x.mul_(scale_t).add_(shift_t);
}

}  // namespace hadmc::data
