#include "hadmc/train/train_step.h"

#include <torch/torch.h>

namespace hadmc::train {
namespace {

class CrossEntropyStep : public TrainStep {
 public:
  explicit CrossEntropyStep(const TrainStepContext& c)
      : executor_(c.executor), optimizer_(c.optimizer), smoothing_(c.options.label_smoothing) {}

  Result<StepResult> Run(const data::Batch& batch) override {
    auto logits = executor_.Run(batch.images, exec::Mode::kTrain);
    if (!logits) return tl::unexpected(logits.error().WithContext("forward pass"));
    try {
      at::Tensor loss = at::cross_entropy_loss(*logits, batch.labels, /*weight=*/{},
                                               at::Reduction::Mean, /*ignore_index=*/-100,
                                               smoothing_);
      optimizer_.zero_grad();
      (loss_scale_ == 1.0 ? loss : loss * loss_scale_).backward();
      optimizer_.step();
      StepResult r;
      r.samples = batch.labels.size(0);
      r.backpropagated = r.samples;
      r.loss_sum = loss.item<double>() * static_cast<double>(r.samples);
      r.correct = logits->detach().argmax(1).eq(batch.labels).sum().item<int64_t>();
      return r;
    } catch (const std::exception& e) {
      std::string what = e.what();
      if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
      return MakeError(Errc::kInternal, "training step: " + what);
    }
  }

  void SetLossScale(double scale) override { loss_scale_ = scale; }

 private:
  const exec::Executor& executor_;
  torch::optim::Optimizer& optimizer_;
  double smoothing_;
  double loss_scale_ = 1.0;
};

}  // namespace

std::unique_ptr<TrainStep> MakeCrossEntropyStep(const TrainStepContext& context) {
  return std::make_unique<CrossEntropyStep>(context);
}

}  // namespace hadmc::train
