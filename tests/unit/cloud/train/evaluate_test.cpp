#include "hadmc/train/evaluate.h"

#include <torch/torch.h>

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "train_test_util.h"

namespace hadmc::train {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Logits that put `margin` on the predicted class and 0 elsewhere.
at::Tensor OneHotLogits(const std::vector<int64_t>& preds, int64_t classes, float margin) {
  at::Tensor l = torch::zeros({static_cast<int64_t>(preds.size()), classes});
  for (size_t i = 0; i < preds.size(); ++i) l[i][preds[i]] = margin;
  return l;
}

TEST(EvaluateTest, ConfusionMatrixAndPerClassAccuracyFromHandMadePredictions) {
  EvalAccumulator acc(3);
  // true:  0 0 1 1 2 2  /  predicted: 0 1 1 1 0 2 (added in two batches)
  acc.Add(OneHotLogits({0, 1, 1}, 3, 2.0f), torch::tensor({0, 0, 1}, torch::kLong));
  acc.Add(OneHotLogits({1, 0, 2}, 3, 2.0f), torch::tensor({1, 2, 2}, torch::kLong));
  const EvalResult r = acc.Finish({"a", "b", "c"});
  EXPECT_EQ(r.samples, 6);
  EXPECT_DOUBLE_EQ(r.accuracy, 4.0 / 6.0);
  EXPECT_THAT(r.confusion, ElementsAre(ElementsAre(1, 1, 0), ElementsAre(0, 2, 0),
                                       ElementsAre(1, 0, 1)));
  EXPECT_THAT(r.per_class_accuracy, ElementsAre(0.5, 1.0, 0.5));
  EXPECT_THAT(r.class_samples, ElementsAre(2, 2, 2));
  // Cross-entropy of a 2-margin one-hot logit: right = log(e^2 + 2) - 2, wrong = log(e^2 + 2).
  const double right = std::log(std::exp(2.0) + 2.0) - 2.0, wrong = std::log(std::exp(2.0) + 2.0);
  EXPECT_NEAR(r.loss, (4 * right + 2 * wrong) / 6.0, 1e-5);
}

TEST(EvaluateTest, ClassWithoutSamplesHasNoAccuracy) {
  EvalAccumulator acc(3);
  acc.Add(OneHotLogits({0, 2}, 3, 1.0f), torch::tensor({0, 0}, torch::kLong));
  const EvalResult r = acc.Finish({"a", "b", "c"});
  EXPECT_TRUE(std::isnan(r.per_class_accuracy[1]));
  const nlohmann::json j = EvalResultToJson(r);
  EXPECT_TRUE(j["classes"][1]["accuracy"].is_null());
  EXPECT_EQ(j["classes"][0]["accuracy"], 0.5);
  EXPECT_EQ(j["confusion"][0][2], 1);
  EXPECT_THAT(FormatEvalReport(r), HasSubstr("50.00%"));
}

TEST(EvaluateTest, EvaluatesAModelOverAllSamplesInOrder) {
  const data::Dataset d = testing::QuadrantDataset(5, 3);  // 20 samples
  const model::Model m = testing::TinyModel(4);
  auto ex = exec::Executor::Create(m);
  ASSERT_TRUE(ex);
  auto r = Evaluate(*ex, d, {7, {{0.2f}, {0.3f}}, {}});  // 7 does not divide 20
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->samples, 20);
  int64_t total = 0;
  for (const auto& row : r->confusion)
    for (int64_t v : row) total += v;
  EXPECT_EQ(total, 20);
  EXPECT_THAT(r->class_samples, ElementsAre(5, 5, 5, 5));
  EXPECT_THAT(FormatEvalReport(*r), HasSubstr("bottom-right"));
  EXPECT_TRUE(std::isfinite(r->loss));
}

TEST(EvaluateTest, RejectsAModelWithTheWrongNumberOfClasses) {
  data::Dataset d = testing::QuadrantDataset(2, 3);
  d.class_names.push_back("extra");  // 5 classes, the model has 4 outputs
  auto ex = exec::Executor::Create(testing::TinyModel(4));
  ASSERT_TRUE(ex);
  auto r = Evaluate(*ex, d, {8, {}, {}});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("5 classes"));
}

}  // namespace
}  // namespace hadmc::train
