#include "hadmc/compress/activation_observer.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace hadmc::compress {

Result<ObserverKind> ParseObserverKind(const std::string& s) {
  if (s == "minmax") return ObserverKind::kMinMax;
  if (s == "percentile") return ObserverKind::kPercentile;
  if (s == "mse") return ObserverKind::kMse;
  return MakeError(Errc::kInvalidArgument,
                   "unknown observer '" + s + "' (expected minmax, percentile or mse)");
}

const char* ObserverKindName(ObserverKind k) {
  switch (k) {
    case ObserverKind::kMinMax: return "minmax";
    case ObserverKind::kPercentile: return "percentile";
    case ObserverKind::kMse: return "mse";
  }
  return "?";
}

void ActivationObserver::Observe(const at::Tensor& t) {
  at::Tensor flat = t.detach().to(at::kFloat).reshape({-1});
  if (flat.numel() == 0) return;
  const double lo = flat.min().item<double>(), hi = flat.max().item<double>();
  min_ = seen_ ? std::min(min_, lo) : lo;
  max_ = seen_ ? std::max(max_, hi) : hi;
  seen_ = true;
  if (kind_ == ObserverKind::kMinMax || sampled_ >= max_samples_) return;
  const int64_t take = std::min<int64_t>(flat.numel(), std::max<int64_t>(max_samples_ / 8, 4096));
  // An evenly strided subsample: deterministic, so the same calibration data always gives the
  // same ranges (an unseeded random pick made calibration, and its test, irreproducible).
  at::Tensor pick = flat.numel() <= take
                        ? flat.clone()
                        : flat.index_select(0, at::linspace(0, flat.numel() - 1, take).to(at::kLong));
  samples_.push_back(pick);
  sampled_ += pick.numel();
}

std::pair<double, double> ActivationObserver::Range() const {
  double lo = min_, hi = max_;
  if (kind_ != ObserverKind::kMinMax && !samples_.empty()) {
    at::Tensor all = at::cat(samples_).to(at::kDouble);
    if (kind_ == ObserverKind::kPercentile) {
      at::Tensor sorted = std::get<0>(all.sort());
      const int64_t n = sorted.numel();
      lo = sorted[static_cast<int64_t>(std::floor(0.0001 * (n - 1)))].item<double>();
      hi = sorted[static_cast<int64_t>(std::ceil(0.9999 * (n - 1)))].item<double>();
    } else {
      // MSE: shrink the min-max range by factors in (0.3, 1] and keep the one whose fake
      // quantization of the samples has the smallest squared error.
      double best = -1;
      for (int i = 0; i <= 35; ++i) {
        const double f = 1.0 - 0.02 * i;
        const double l = std::min(0.0, min_ * f), h = std::max(0.0, max_ * f);
        const AffineQuant q = AffineFromRange(l, h);
        at::Tensor codes = (all / q.scale).round().add(q.zero_point).clamp(0, 255);
        const double err = ((codes - q.zero_point) * q.scale - all).pow(2).mean().item<double>();
        if (best < 0 || err < best) {
          best = err;
          lo = l;
          hi = h;
        }
      }
    }
  }
  return {std::min(0.0, lo), std::max(0.0, hi)};
}

AffineQuant AffineFromRange(double lo, double hi) {
  lo = std::min(0.0, lo);
  hi = std::max(0.0, hi);
  const double scale = std::max((hi - lo) / 255.0, 1e-8);
  const auto zp = static_cast<int64_t>(std::clamp(std::round(-lo / scale), 0.0, 255.0));
  return {scale, zp};
}

}  // namespace hadmc::compress
