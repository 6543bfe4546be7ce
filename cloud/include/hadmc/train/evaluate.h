// Classification metrics of a model on a dataset: top-1 accuracy, mean cross-entropy, per-class
// accuracy and the confusion matrix. Runs in Mode::kInference (no autograd, BN running stats).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"
#include "hadmc/data/dataset.h"
#include "hadmc/data/normalization.h"
#include "hadmc/exec/executor.h"

namespace hadmc::train {

struct EvalResult {
  int64_t samples = 0;
  double loss = 0;      // mean cross-entropy (no label smoothing)
  double accuracy = 0;  // top-1, in [0, 1]
  std::vector<std::string> class_names;
  std::vector<int64_t> class_samples;      // samples per true class
  std::vector<double> per_class_accuracy;  // NaN for a class without samples
  // confusion[true][predicted] = count.
  std::vector<std::vector<int64_t>> confusion;
};

// Accumulates metrics batch by batch; usable on any logits, so tests can feed hand-made
// predictions.
class EvalAccumulator {
 public:
  explicit EvalAccumulator(int64_t num_classes);
  // logits float [B, num_classes], labels int64 [B] in [0, num_classes). Throws c10::Error on
  // shape mismatch (Evaluate catches it).
  void Add(const at::Tensor& logits, const at::Tensor& labels);
  EvalResult Finish(std::vector<std::string> class_names) const;

 private:
  int64_t num_classes_;
  int64_t samples_ = 0;
  double loss_sum_ = 0;
  std::vector<int64_t> confusion_;  // row-major [true][pred]
};

struct EvalOptions {
  int64_t batch_size = 512;
  data::Normalization normalization;  // as used in training
  // Applied to each normalized batch before the model (see input_transform.h); may be empty.
  std::function<at::Tensor(const at::Tensor&)> batch_transform;
};

// Evaluates every sample of `dataset` once, in order. Errors: a failing forward pass, logits
// whose width differs from dataset.num_classes().
Result<EvalResult> Evaluate(const exec::Executor& executor, const data::Dataset& dataset,
                            const EvalOptions& options);

// {"samples", "loss", "accuracy", "classes": [{"name", "samples", "accuracy"}],
//  "confusion": [[...]]}; a NaN accuracy is null.
nlohmann::json EvalResultToJson(const EvalResult& r);

// A human-readable report: top-1 and loss, per-class accuracy with names, confusion matrix.
std::string FormatEvalReport(const EvalResult& r);

}  // namespace hadmc::train
