#include "hadmc/train/evaluate.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace hadmc::train {
namespace {

std::string PadLeft(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

}  // namespace

EvalAccumulator::EvalAccumulator(int64_t num_classes)
    : num_classes_(num_classes), confusion_(num_classes * num_classes, 0) {}

void EvalAccumulator::Add(const at::Tensor& logits, const at::Tensor& labels) {
  TORCH_CHECK(logits.dim() == 2 && logits.size(1) == num_classes_, "expected logits [B, ",
              num_classes_, "], got ", logits.sizes());
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == logits.size(0), "expected labels [",
              logits.size(0), "], got ", labels.sizes());
  const at::Tensor l = logits.to(at::kFloat);
  const at::Tensor y = labels.to(at::kLong);
  loss_sum_ += at::cross_entropy_loss(l, y, {}, at::Reduction::Sum).item<double>();
  const at::Tensor cells = (y * num_classes_ + l.argmax(1)).contiguous();
  const at::Tensor counts = at::bincount(cells, {}, num_classes_ * num_classes_);
  const int64_t* c = counts.data_ptr<int64_t>();
  for (int64_t i = 0; i < num_classes_ * num_classes_; ++i) confusion_[i] += c[i];
  samples_ += y.size(0);
}

EvalResult EvalAccumulator::Finish(std::vector<std::string> class_names) const {
  EvalResult r;
  r.samples = samples_;
  r.class_names = std::move(class_names);
  r.class_names.resize(num_classes_);
  for (int64_t k = 0; k < num_classes_; ++k)
    if (r.class_names[k].empty()) r.class_names[k] = std::to_string(k);
  int64_t correct = 0;
  for (int64_t t = 0; t < num_classes_; ++t) {
    std::vector<int64_t> row(confusion_.begin() + t * num_classes_,
                             confusion_.begin() + (t + 1) * num_classes_);
    int64_t n = 0;
    for (int64_t v : row) n += v;
    correct += row[t];
    r.class_samples.push_back(n);
    r.per_class_accuracy.push_back(n > 0 ? static_cast<double>(row[t]) / n
                                         : std::numeric_limits<double>::quiet_NaN());
    r.confusion.push_back(std::move(row));
  }
  if (samples_ > 0) {
    r.loss = loss_sum_ / static_cast<double>(samples_);
    r.accuracy = static_cast<double>(correct) / static_cast<double>(samples_);
  }
  return r;
}

Result<EvalResult> Evaluate(const exec::Executor& executor, const data::Dataset& dataset,
                            const EvalOptions& options) {
  HADMC_TRY_CTX(data::ValidateDataset(dataset), "evaluating");
  HADMC_TRY_CTX(data::ValidateNormalization(options.normalization, dataset.channels()),
                "evaluating");
  if (options.batch_size < 1)
    return MakeError(Errc::kInvalidArgument, "evaluation batch size must be >= 1");
  EvalAccumulator acc(dataset.num_classes());
  for (int64_t begin = 0; begin < dataset.size(); begin += options.batch_size) {
    const int64_t len = std::min(options.batch_size, dataset.size() - begin);
    at::Tensor images, labels;
    try {
      c10::InferenceMode guard;
      images = data::NormalizeImages(dataset.images.narrow(0, begin, len), options.normalization);
      if (options.batch_transform) images = options.batch_transform(images);
      labels = dataset.labels.narrow(0, begin, len);
    } catch (const std::exception& e) {
      return MakeError(Errc::kInternal, std::string("preparing evaluation batch: ") + e.what());
    }
    auto logits = executor.Run(images, exec::Mode::kInference);
    if (!logits) return tl::unexpected(logits.error().WithContext("evaluating"));
    if (logits->dim() != 2 || logits->size(1) != dataset.num_classes())
      return MakeError(Errc::kShapeMismatch,
                       "the model outputs " + ir::ShapeString(logits->sizes().vec()) + " but the "
                       "dataset has " + std::to_string(dataset.num_classes()) + " classes");
    try {
      c10::InferenceMode guard;
      acc.Add(*logits, labels);
    } catch (const std::exception& e) {
      return MakeError(Errc::kInternal, std::string("scoring evaluation batch: ") + e.what());
    }
  }
  return acc.Finish(dataset.class_names);
}

nlohmann::json EvalResultToJson(const EvalResult& r) {
  nlohmann::json classes = nlohmann::json::array();
  for (size_t k = 0; k < r.class_names.size(); ++k) {
    const double a = r.per_class_accuracy[k];
    classes.push_back({{"name", r.class_names[k]},
                       {"samples", r.class_samples[k]},
                       {"accuracy", std::isnan(a) ? nlohmann::json(nullptr) : nlohmann::json(a)}});
  }
  return {{"samples", r.samples},     {"loss", r.loss},           {"accuracy", r.accuracy},
          {"classes", classes},       {"confusion", r.confusion}};
}

std::string FormatEvalReport(const EvalResult& r) {
  std::ostringstream out;
  char line[160];
  std::snprintf(line, sizeof line, "top-1 accuracy  %.2f%%  (%lld samples)\nmean loss       %.4f\n",
                100.0 * r.accuracy, static_cast<long long>(r.samples), r.loss);
  out << line << "\nper-class accuracy\n";
  size_t name_width = 5;
  for (const auto& n : r.class_names) name_width = std::max(name_width, n.size());
  for (size_t k = 0; k < r.class_names.size(); ++k) {
    const double a = r.per_class_accuracy[k];
    out << "  " << std::to_string(k) << (k < 10 ? "  " : " ") << r.class_names[k]
        << std::string(name_width + 2 - r.class_names[k].size(), ' ');
    if (std::isnan(a)) {
      out << "     -";
    } else {
      std::snprintf(line, sizeof line, "%6.2f%%", 100.0 * a);
      out << line;
    }
    out << "  (" << r.class_samples[k] << ")\n";
  }
  // Column width fits the largest count.
  int64_t largest = 0;
  for (const auto& row : r.confusion)
    for (int64_t v : row) largest = std::max(largest, v);
  const size_t width = std::max<size_t>(4, std::to_string(largest).size() + 1);
  out << "\nconfusion matrix (rows: true class, columns: predicted)\n" << PadLeft("", 4);
  for (size_t k = 0; k < r.confusion.size(); ++k) out << PadLeft(std::to_string(k), width);
  out << "\n";
  for (size_t t = 0; t < r.confusion.size(); ++t) {
    out << PadLeft(std::to_string(t), 3) << ' ';
    for (int64_t v : r.confusion[t]) out << PadLeft(std::to_string(v), width);
    out << "\n";
  }
  return out.str();
}

}  // namespace hadmc::train
