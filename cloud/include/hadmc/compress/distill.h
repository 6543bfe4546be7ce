// Feature-aligned knowledge distillation (HAD-MC): the compressed student learns from the
// uncompressed teacher's soft labels and intermediate features:
//   L = a * T^2 * KL(p_t || p_s)  +  (1 - a) * CE(s, y)  +  w_f * sum_k MSE(A_k(f_s,k), f_t,k)
// with p = softmax(logits / T), features f taken at named values present in both graphs, and
// A_k a trainable 1x1 conv wherever pruning changed the width (identity otherwise).
// Dynamic balancing: w_f = lambda * mean CE / mean feature-MSE of the previous epoch (of the
// first batch at the start), so the feature term stays `lambda` times the size of the CE term
// while the raw feature error shrinks by orders of magnitude during fine-tuning.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "hadmc/model/model.h"
#include "hadmc/train/train_options.h"

namespace hadmc::compress {

struct DistillOptions {
  double alpha = 0.7;        // weight of the soft-label term
  double temperature = 4.0;
  double feature_lambda = 0.5;  // feature term relative to the CE term (0: no features)
  // Values tapped in both graphs; empty: the input of the teacher's last global pool (the
  // deepest feature map), when the student has a value of that name too.
  std::vector<std::string> features;
};

struct DistillTerms {
  at::Tensor total;  // differentiable
  double kl = 0, ce = 0, feature = 0;
};

// The loss for one batch. `adapted_student_features[k]` must already have the teacher's width.
DistillTerms DistillLoss(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                         const at::Tensor& labels,
                         const std::vector<at::Tensor>& adapted_student_features,
                         const std::vector<at::Tensor>& teacher_features,
                         const DistillOptions& options, double feature_weight);

// Feature values to align for `teacher`/`student` per the options (checked to exist in both).
Result<std::vector<std::string>> DistillFeatures(const ir::Graph& teacher, const ir::Graph& student,
                                                 const DistillOptions& options);

// A training step for train::Train that distills `teacher` (kept alive by the factory) into the
// model being trained. Adapters are trained with the student and discarded afterwards.
Result<train::TrainStepFactory> MakeDistillStep(const model::Model& teacher,
                                                const ir::Graph& student,
                                                const DistillOptions& options);

}  // namespace hadmc::compress
