#include "hadmc/compress/distill.h"

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <memory>

#include "hadmc/exec/executor.h"
#include "hadmc/train/train_step.h"

namespace hadmc::compress {
namespace {

class DistillStep : public train::TrainStep {
 public:
  DistillStep(const train::TrainStepContext& c, std::shared_ptr<const exec::Executor> teacher,
              std::vector<std::string> features, DistillOptions o)
      : student_(c.executor), optimizer_(c.optimizer), teacher_(std::move(teacher)),
        features_(std::move(features)), o_(std::move(o)) {}

  Result<train::StepResult> Run(const data::Batch& batch) override {
    std::map<std::string, at::Tensor> t_taps, s_taps;
    auto t_logits = teacher_->RunWithTaps({batch.images}, exec::Mode::kInference, features_, &t_taps);
    if (!t_logits) return MakeError(t_logits.error().WithContext("teacher forward"));
    auto s_logits = student_.RunWithTaps({batch.images}, exec::Mode::kTrain, features_, &s_taps);
    if (!s_logits) return MakeError(s_logits.error().WithContext("student forward"));
    try {
      std::vector<at::Tensor> s_feats, t_feats;
      for (size_t k = 0; k < features_.size(); ++k) {
        at::Tensor s = s_taps.at(features_[k]);
        at::Tensor t = t_taps.at(features_[k]).clone();  // out of inference mode
        if (s.size(1) != t.size(1)) s = at::conv2d(s, Adapter(k, s.size(1), t.size(1)));
        s_feats.push_back(s);
        t_feats.push_back(t);
      }
      at::Tensor t_out = (*t_logits)[0].clone();
      if (weight_ < 0) weight_ = 1.0;  // set from the first batch's terms below
      DistillTerms terms = DistillLoss((*s_logits)[0], t_out, batch.labels, s_feats, t_feats, o_,
                                       weight_);
      if (first_batch_ && terms.feature > 0) {
        weight_ = o_.feature_lambda * terms.ce / terms.feature;
        terms = DistillLoss((*s_logits)[0], t_out, batch.labels, s_feats, t_feats, o_, weight_);
      }
      first_batch_ = false;
      optimizer_.zero_grad();
      (loss_scale_ == 1.0 ? terms.total : terms.total * loss_scale_).backward();
      optimizer_.step();
      ce_sum_ += terms.ce;
      feature_sum_ += terms.feature;
      kl_sum_ += terms.kl;
      ++batches_;
      train::StepResult r;
      r.samples = batch.labels.size(0);
      r.backpropagated = r.samples;
      r.loss_sum = terms.total.item<double>() * static_cast<double>(r.samples);
      r.correct = (*s_logits)[0].detach().argmax(1).eq(batch.labels).sum().item<int64_t>();
      return r;
    } catch (const std::exception& e) {
      std::string what = e.what();
      if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
      return MakeError(Errc::kInternal, "distillation step: " + what);
    }
  }

  void SetLossScale(double scale) override { loss_scale_ = scale; }

  void BeginEpoch(int64_t) override {
    // Dynamic balancing: rescale the feature term from the last epoch's mean terms.
    if (batches_ > 0 && feature_sum_ > 0) weight_ = o_.feature_lambda * ce_sum_ / feature_sum_;
    ce_sum_ = feature_sum_ = kl_sum_ = 0;
    batches_ = 0;
  }

  nlohmann::json EpochStats() const override {
    const double n = batches_ > 0 ? static_cast<double>(batches_) : 1.0;
    return {{"distill_kl", kl_sum_ / n}, {"distill_ce", ce_sum_ / n},
            {"distill_feature_mse", feature_sum_ / n}, {"distill_feature_weight", weight_}};
  }

 private:
  // 1x1 conv from the student's to the teacher's width, created on first use and trained with
  // the student (added to the optimizer as its own parameter group).
  at::Tensor Adapter(size_t k, int64_t in, int64_t out) {
    if (adapters_.size() <= k) adapters_.resize(k + 1);
    if (!adapters_[k].defined()) {
      at::Tensor w = torch::empty({out, in, 1, 1});
      torch::nn::init::kaiming_uniform_(w, std::sqrt(5.0));
      w.set_requires_grad(true);
      adapters_[k] = w;
      optimizer_.add_param_group(torch::optim::OptimizerParamGroup({w}));
    }
    return adapters_[k];
  }

  const exec::Executor& student_;
  torch::optim::Optimizer& optimizer_;
  std::shared_ptr<const exec::Executor> teacher_;
  std::vector<std::string> features_;
  DistillOptions o_;
  std::vector<at::Tensor> adapters_;
  double weight_ = -1;
  bool first_batch_ = true;
  double loss_scale_ = 1.0;
  double ce_sum_ = 0, feature_sum_ = 0, kl_sum_ = 0;
  int64_t batches_ = 0;
};

}  // namespace

DistillTerms DistillLoss(const at::Tensor& s, const at::Tensor& t, const at::Tensor& labels,
                         const std::vector<at::Tensor>& s_feats,
                         const std::vector<at::Tensor>& t_feats, const DistillOptions& o,
                         double feature_weight) {
  const double T = o.temperature;
  // KL(p_t || p_s), averaged over the batch, scaled by T^2 so its gradients keep their size
  // as T changes (Hinton et al.).
  at::Tensor kl = at::kl_div(at::log_softmax(s / T, 1), at::softmax(t / T, 1),
                             at::Reduction::Sum) / s.size(0) * (T * T);
  at::Tensor ce = at::cross_entropy_loss(s, labels);
  at::Tensor feat = at::zeros({}, s.options());
  for (size_t k = 0; k < s_feats.size(); ++k) feat = feat + at::mse_loss(s_feats[k], t_feats[k]);
  DistillTerms d;
  d.total = o.alpha * kl + (1.0 - o.alpha) * ce + feature_weight * feat;
  d.kl = kl.item<double>();
  d.ce = ce.item<double>();
  d.feature = feat.item<double>();
  return d;
}

Result<std::vector<std::string>> DistillFeatures(const ir::Graph& teacher, const ir::Graph& student,
                                                 const DistillOptions& o) {
  auto has_value = [](const ir::Graph& g, const std::string& v) {
    if (g.Producer(v)) return true;
    for (const auto& in : g.inputs)
      if (in.name == v) return true;
    return false;
  };
  std::vector<std::string> features = o.features;
  if (features.empty() && o.feature_lambda > 0) {
    for (auto it = teacher.nodes.rbegin(); it != teacher.nodes.rend(); ++it)
      if (it->op == "adaptive_avg_pool2d") {
        if (has_value(student, it->inputs[0])) features.push_back(it->inputs[0]);
        break;
      }
  }
  for (const std::string& f : features)
    if (!has_value(teacher, f) || !has_value(student, f))
      return MakeError(Errc::kNotFound, "distillation feature '" + f +
                                            "' is not a value of both teacher and student");
  return features;
}

Result<train::TrainStepFactory> MakeDistillStep(const model::Model& teacher,
                                                const ir::Graph& student,
                                                const DistillOptions& options) {
  if (!(options.alpha >= 0 && options.alpha <= 1) || !(options.temperature > 0))
    return MakeError(Errc::kInvalidArgument, "distillation needs alpha in [0,1] and temperature > 0");
  auto features = DistillFeatures(teacher.graph, student, options);
  if (!features) return MakeError(features.error());
  auto ex = exec::Executor::Create(teacher);
  if (!ex) return MakeError(ex.error().WithContext("teacher"));
  auto shared = std::make_shared<const exec::Executor>(std::move(*ex));
  return train::TrainStepFactory(
      [shared, features = *features, options](const train::TrainStepContext& c)
          -> Result<std::unique_ptr<train::TrainStep>> {
        return std::unique_ptr<train::TrainStep>(new DistillStep(c, shared, features, options));
      });
}

}  // namespace hadmc::compress
