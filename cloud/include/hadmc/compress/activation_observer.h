// Calibration observers: the range [lo, hi] an activation tensor is quantized to, from samples of
// its values over calibration batches. min-max keeps every value (outliers stretch the scale);
// percentile clips the extreme 0.01%; MSE picks the clipping range that minimizes the
// quantization error of the samples (what TensorRT/PyTorch's histogram observers aim at).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::compress {

enum class ObserverKind { kMinMax, kPercentile, kMse };
Result<ObserverKind> ParseObserverKind(const std::string& s);  // "minmax", "percentile", "mse"
const char* ObserverKindName(ObserverKind k);

class ActivationObserver {
 public:
  explicit ActivationObserver(ObserverKind kind, int64_t max_samples = 1 << 18)
      : kind_(kind), max_samples_(max_samples) {}
  // Records one batch of the tensor (any shape).
  void Observe(const at::Tensor& t);
  // The range to quantize to; always contains 0 (so zero is exact, as padding needs).
  std::pair<double, double> Range() const;

 private:
  ObserverKind kind_;
  int64_t max_samples_;
  double min_ = 0, max_ = 0;
  bool seen_ = false;
  std::vector<at::Tensor> samples_;  // random subsamples, for percentile and MSE
  int64_t sampled_ = 0;
};

// Per-tensor affine quint8 parameters for a range: scale = (hi - lo) / 255, zero point = the
// code of 0.0.
struct AffineQuant {
  double scale = 1.0;
  int64_t zero_point = 0;
};
AffineQuant AffineFromRange(double lo, double hi);

}  // namespace hadmc::compress
