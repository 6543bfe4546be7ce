#include "hadmc/train/ast.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "hadmc/common/log.h"

namespace hadmc::train {

ThresholdController::ThresholdController(const AstOptions& o, double lower, double upper,
                                         double integral_limit)
    : o_(o), lower_(lower), upper_(upper), integral_limit_(integral_limit) {}

void ThresholdController::Start(double base_threshold) {
  started_ = true;
  base_ = std::clamp(base_threshold, lower_, upper_);
  threshold_ = base_;
  smoothed_ = o_.target_rate;
  integral_ = 0;
}

double ThresholdController::Update(double rate, double gain) {
  smoothed_ = (1 - o_.smoothing) * smoothed_ + o_.smoothing * rate;
  const double e = smoothed_ - o_.target_rate;
  // Anti-windup: while the output sits at a bound, an error pushing it further is not
  // integrated, so the threshold leaves the bound as soon as the rate turns.
  const bool pinned_high = threshold_ >= upper_ && e > 0;
  const bool pinned_low = threshold_ <= lower_ && e < 0;
  if (!pinned_high && !pinned_low)
    integral_ = std::clamp(integral_ + e, -integral_limit_, integral_limit_);
  const double g = std::clamp(gain, 0.0, 1.0);
  threshold_ = std::clamp(base_ + g * (o_.kp * e + o_.ki * integral_), lower_, upper_);
  return threshold_;
}

nlohmann::json ThresholdController::Save() const {
  return {{"started", started_}, {"base", base_},         {"threshold", threshold_},
          {"smoothed_rate", smoothed_}, {"integral", integral_}};
}

Status ThresholdController::Load(const nlohmann::json& j) {
  if (j.is_null() || (j.is_object() && j.empty())) {
    started_ = false;
    return {};
  }
  try {
    started_ = j.at("started").get<bool>();
    base_ = j.at("base").get<double>();
    threshold_ = j.at("threshold").get<double>();
    smoothed_ = j.at("smoothed_rate").get<double>();
    integral_ = j.at("integral").get<double>();
  } catch (const nlohmann::json::exception& e) {
    return MakeError(Errc::kParse, std::string("AST controller state: ") + e.what());
  }
  return {};
}

at::Tensor Significance(const at::Tensor& logits, const at::Tensor& labels, double entropy_weight) {
  at::NoGradGuard no_grad;
  const at::Tensor logp = at::log_softmax(logits.to(at::kFloat), 1);
  const at::Tensor ce = -logp.gather(1, labels.unsqueeze(1)).squeeze(1);
  if (entropy_weight == 0) return ce;
  const at::Tensor entropy = -(logp.exp() * logp).sum(1);
  return ce + entropy_weight * entropy;
}

at::Tensor SelectActive(const at::Tensor& scores, double threshold, int64_t min_active,
                        int64_t multiple) {
  at::NoGradGuard no_grad;
  const int64_t n = scores.size(0);
  at::Tensor above = scores.gt(threshold).nonzero().squeeze(1);
  int64_t k = std::max(above.size(0), std::min(min_active, n));
  if (multiple > 1) k = std::min(n, (k + multiple - 1) / multiple * multiple);
  if (k == above.size(0)) return above;
  at::Tensor top = std::get<1>(scores.topk(k));
  return std::get<0>(top.sort());
}

int64_t MinActive(const AstOptions& o, int64_t n) {
  const auto floor = static_cast<int64_t>(std::ceil(o.min_active_fraction * static_cast<double>(n)));
  return std::min(n, std::max<int64_t>(2, floor));
}

namespace {

struct EpochTrace {
  int64_t steps = 0, samples = 0, active = 0;
  double threshold_sum = 0;
  nlohmann::json trace = nlohmann::json::array();
};

class AstStep : public TrainStep {
 public:
  AstStep(std::unique_ptr<TrainStep> inner, const TrainStepContext& c, const AstOptions& o,
          int64_t trace_every)
      : inner_(std::move(inner)),
        executor_(c.executor),
        o_(o),
        trace_every_(std::max<int64_t>(1, trace_every)),
        controller_(o) {}

  void BeginEpoch(int64_t epoch) override {
    epoch_ = epoch;
    ast_epoch_ = epoch >= o_.warmup_epochs;
    stats_ = EpochTrace{};
    bf16_stale_ = true;  // whatever the trainer did between epochs
    inner_->BeginEpoch(epoch);
  }

  void SetLossScale(double scale) override { loss_scale_ = scale; }

  Result<StepResult> Run(const data::Batch& batch) override {
    if (!ast_epoch_) {
      inner_->SetLossScale(loss_scale_);
      auto r = RunInner(batch);
      if (r) Count(r->samples, r->backpropagated);
      return r;
    }
    auto logits = Score(batch.images);
    if (!logits) return tl::unexpected(logits.error().WithContext("AST scoring pass"));
    try {
      return TrainActive(batch, *logits);
    } catch (const std::exception& e) {
      std::string what = e.what();
      if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
      return MakeError(Errc::kInternal, "AST step: " + what);
    }
  }

  nlohmann::json EpochStats() const override {
    nlohmann::json j = inner_->EpochStats();
    const double rate = stats_.samples > 0 ? static_cast<double>(stats_.active) / stats_.samples : 0;
    j["ast_active"] = ast_epoch_;
    j["activation_rate"] = rate;
    j["target_rate"] = o_.target_rate;
    if (ast_epoch_ && controller_.started()) {
      j["threshold"] = controller_.threshold();
      j["threshold_mean"] = stats_.steps > 0 ? stats_.threshold_sum / stats_.steps : 0.0;
      j["smoothed_rate"] = controller_.smoothed_rate();
      j["significance_scale"] = scale_;
      j["trace"] = stats_.trace;
    } else {
      j["threshold"] = nullptr;
    }
    return j;
  }

  nlohmann::json SaveState() const override {
    return {{"controller", controller_.Save()},
            {"significance_scale", scale_},
            {"inner", inner_->SaveState()}};
  }

  Status LoadState(const nlohmann::json& state) override {
    if (!state.is_object() || state.empty()) return {};
    HADMC_TRY(controller_.Load(state.value("controller", nlohmann::json::object())));
    scale_ = state.value("significance_scale", 0.0);
    bf16_stale_ = true;
    return inner_->LoadState(state.value("inner", nlohmann::json::object()));
  }

 private:
  Result<StepResult> TrainActive(const data::Batch& batch, const at::Tensor& logits) {
    const int64_t n = batch.labels.size(0);
    at::Tensor scores = Significance(logits, batch.labels, o_.entropy_weight);
    const double batch_mean = scores.mean().item<double>();
    scale_ = scale_ > 0 ? (1 - kSignificanceScaleSmoothing) * scale_ +
                              kSignificanceScaleSmoothing * batch_mean
                        : batch_mean;
    if (scale_ > 0) scores = scores / scale_;
    if (!controller_.started()) {
      // Start at the batch's (1 - target) quantile, so the first batches are near the target
      // before the controller has seen anything.
      const auto k = std::clamp<int64_t>(
          static_cast<int64_t>(std::lround((1 - o_.target_rate) * static_cast<double>(n))), 1, n);
      controller_.Start(std::get<0>(scores.kthvalue(k)).item<double>());
    }
    const double threshold = controller_.threshold();
    const bool gather = o_.train_batch > 0;
    const at::Tensor active =
        SelectActive(scores, threshold, MinActive(o_, n), gather ? 1 : o_.active_multiple);
    const int64_t k = active.size(0);

    StepResult r;
    r.samples = n;
    r.scored = n;
    {
      at::NoGradGuard no_grad;
      const at::Tensor ce = -at::log_softmax(logits, 1).gather(1, batch.labels.unsqueeze(1));
      r.loss_sum = ce.sum().item<double>();
      r.correct = logits.argmax(1).eq(batch.labels).sum().item<int64_t>();
    }
    Result<StepResult> inner;
    if (gather) {
      inner = Gather(batch, active);
    } else {
      inner_->SetLossScale(BatchLossScale(k, n));
      if (k == n) {
        inner = RunInner(batch);
      } else {
        data::Batch sub;
        sub.images = batch.images.index_select(0, active);
        sub.labels = batch.labels.index_select(0, active);
        if (batch.indices.defined()) sub.indices = batch.indices.index_select(0, active);
        sub.index = batch.index;
        inner = RunInner(sub);
      }
    }
    if (!inner) return tl::unexpected(inner.error());
    r.backpropagated = inner->backpropagated;

    stats_.threshold_sum += threshold;
    Count(n, k);
    const double rate = static_cast<double>(k) / static_cast<double>(n);
    controller_.Update(rate, Gain());
    if ((stats_.steps - 1) % trace_every_ == 0)
      stats_.trace.push_back({{"step", stats_.steps}, {"rate", rate}, {"threshold", threshold}});
    return r;
  }

  // The no-grad forward over the whole batch, in the options' precision; fp32 logits, as a
  // normal tensor (inference tensors must not reach autograd code).
  Result<at::Tensor> Score(const at::Tensor& images) {
    if (o_.score_precision == AstOptions::ScorePrecision::kBf16 && !bf16_unavailable_) {
      if (!bf16_) {
        auto copy = executor_.CastCopy(at::kBFloat16);
        if (!copy) {
          Log().warn("AST: scoring in fp32, not bf16: {}", copy.error().message());
          bf16_unavailable_ = true;
          return Score(images);
        }
        bf16_.emplace(std::move(*copy));
      } else if (bf16_stale_) {
        HADMC_TRY_CTX(bf16_->CopyTensorsFrom(executor_), "refreshing the bf16 scoring copy");
      }
      bf16_stale_ = false;
      auto out = bf16_->Run(images.to(at::kBFloat16), exec::Mode::kInference);
      if (!out) return tl::unexpected(out.error());
      return out->to(at::kFloat);
    }
    auto out = executor_.Run(images, exec::Mode::kInference);
    if (!out) return tl::unexpected(out.error());
    return out->clone();
  }

  // Adds the batch's active samples to the gathered ones and, once there are train_batch of
  // them, trains the first train_batch (the oldest) as one batch; the rest wait for the next.
  Result<StepResult> Gather(const data::Batch& batch, const at::Tensor& active) {
    const int64_t n = batch.labels.size(0), k = active.size(0);
    gathered_.images.push_back(batch.images.index_select(0, active));
    gathered_.labels.push_back(batch.labels.index_select(0, active));
    if (batch.indices.defined()) gathered_.indices.push_back(batch.indices.index_select(0, active));
    gathered_.count += k;
    if (gathered_.count < o_.train_batch) return StepResult{};

    const int64_t m = o_.train_batch, rest = gathered_.count - m;
    const at::Tensor images = at::cat(gathered_.images), labels = at::cat(gathered_.labels);
    const at::Tensor indices =
        gathered_.indices.size() == gathered_.images.size() ? at::cat(gathered_.indices) : at::Tensor();
    data::Batch sub;
    sub.images = images.narrow(0, 0, m);
    sub.labels = labels.narrow(0, 0, m);
    if (indices.defined()) sub.indices = indices.narrow(0, 0, m);
    sub.index = batch.index;
    // kBatch: each sample weighs what it weighs in its own batch's mean loss (its loss over the
    // batch size), as if the batches' kBatch gradients were accumulated.
    inner_->SetLossScale(BatchLossScale(m, n));
    Gathered left;
    if (rest > 0) {
      left.images.push_back(images.narrow(0, m, rest).clone());
      left.labels.push_back(labels.narrow(0, m, rest).clone());
      if (indices.defined()) left.indices.push_back(indices.narrow(0, m, rest).clone());
      left.count = rest;
    }
    gathered_ = std::move(left);
    return RunInner(sub);
  }

  // The loss scale for k samples trained out of a batch of n: kBatch weighs each 1 / n.
  double BatchLossScale(int64_t k, int64_t n) const {
    return o_.loss == AstOptions::Loss::kBatch
               ? loss_scale_ * static_cast<double>(k) / static_cast<double>(n)
               : loss_scale_;
  }

  void Count(int64_t samples, int64_t active) {
    ++stats_.steps;
    stats_.samples += samples;
    stats_.active += active;
  }

  // Linear warm-up of kp and ki over the first gain_warmup_epochs epochs of AST.
  double Gain() const {
    if (o_.gain_warmup_epochs <= 0) return 1.0;
    const double ast_epochs = static_cast<double>(epoch_ - o_.warmup_epochs + 1);
    return std::clamp(ast_epochs / o_.gain_warmup_epochs, 0.0, 1.0);
  }

  std::unique_ptr<TrainStep> inner_;
  const exec::Executor& executor_;
  AstOptions o_;
  int64_t trace_every_;
  ThresholdController controller_;
  double scale_ = 0;  // running mean of the batches' significance; 0 before the first
  int64_t epoch_ = 0;
  bool ast_epoch_ = false;
  double loss_scale_ = 1.0;
  EpochTrace stats_;
  // Active samples waiting to be trained (train_batch > 0); not checkpointed.
  struct Gathered {
    std::vector<at::Tensor> images, labels, indices;
    int64_t count = 0;  // samples gathered
  };
  Gathered gathered_;
  // kBf16 scoring: the bfloat16 copy, stale from the moment the inner step may have changed the
  // weights (it is copied again before the next scoring pass, after anything the caller does
  // between steps) or a checkpoint was loaded.
  std::optional<exec::Executor> bf16_;
  bool bf16_stale_ = true;
  bool bf16_unavailable_ = false;  // the graph cannot be cast: fp32 scoring, warned once

  Result<StepResult> RunInner(const data::Batch& batch) {
    bf16_stale_ = true;
    return inner_->Run(batch);
  }
};

}  // namespace

std::unique_ptr<TrainStep> MakeAstStep(std::unique_ptr<TrainStep> inner,
                                       const TrainStepContext& context, const AstOptions& o,
                                       int64_t trace_every) {
  return std::make_unique<AstStep>(std::move(inner), context, o, trace_every);
}

}  // namespace hadmc::train
