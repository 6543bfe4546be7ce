#include "hadmc/data/dataset.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace hadmc::data {
namespace {

// n samples; class c holds counts[c] of them; image i is filled with i % 256.
Dataset MakeDataset(const std::vector<int64_t>& counts) {
  std::vector<int64_t> labels;
  for (size_t c = 0; c < counts.size(); ++c) labels.insert(labels.end(), counts[c], int64_t(c));
  const auto n = static_cast<int64_t>(labels.size());
  Dataset d;
  d.images = (torch::arange(n, torch::kLong) % 256)
                 .to(torch::kUInt8)
                 .view({n, 1, 1, 1})
                 .expand({n, 1, 2, 2})
                 .contiguous();
  d.labels = torch::tensor(labels, torch::kLong);
  for (size_t c = 0; c < counts.size(); ++c) d.class_names.push_back("c" + std::to_string(c));
  return d;
}

TEST(DatasetTest, ValidateCatchesBrokenInvariants) {
  Dataset d = MakeDataset({2, 3});
  EXPECT_TRUE(ValidateDataset(d));
  Dataset wrong_dtype = d;
  wrong_dtype.images = d.images.to(torch::kFloat);
  EXPECT_FALSE(ValidateDataset(wrong_dtype));
  Dataset wrong_count = d;
  wrong_count.labels = d.labels.slice(0, 0, 4);
  EXPECT_FALSE(ValidateDataset(wrong_count));
  Dataset bad_label = d;
  bad_label.class_names.pop_back();
  EXPECT_FALSE(ValidateDataset(bad_label));
  EXPECT_FALSE(ValidateDataset(Dataset{}));
}

TEST(DatasetTest, SelectSamplesKeepsOrderAndRejectsOutOfRange) {
  const Dataset d = MakeDataset({2, 3});
  auto s = SelectSamples(d, torch::tensor({4, 0}, torch::kLong));
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(s->size(), 2);
  EXPECT_EQ(s->images[0][0][0][0].item<int>(), 4);
  EXPECT_EQ(s->labels[0].item<int64_t>(), 1);
  EXPECT_FALSE(SelectSamples(d, torch::tensor({5}, torch::kLong)));
  EXPECT_TRUE(torch::equal(ClassCounts(d), torch::tensor({2, 3}, torch::kLong)));
}

TEST(DatasetTest, StratifiedSplitIsDisjointCompleteAndPerClass) {
  const Dataset d = MakeDataset({50, 10, 1, 7});
  auto split = StratifiedSplit(d, 0.2, 3);
  ASSERT_TRUE(split) << split.error().String();
  const at::Tensor all = torch::cat({split->train, split->test});
  EXPECT_TRUE(torch::equal(std::get<0>(torch::sort(all)), torch::arange(68, torch::kLong)));
  const at::Tensor test_counts = torch::bincount(d.labels.index_select(0, split->test), {}, 4);
  // round(0.2 n), but a one-sample class stays in train.
  EXPECT_TRUE(torch::equal(test_counts, torch::tensor({10, 2, 0, 1}, torch::kLong)));
  // Ascending order, so the split keeps the dataset's order.
  EXPECT_TRUE(torch::equal(split->test, std::get<0>(torch::sort(split->test))));
}

TEST(DatasetTest, StratifiedSplitDependsOnlyOnSeed) {
  const Dataset d = MakeDataset({40, 40});
  auto a = StratifiedSplit(d, 0.25, 11);
  auto b = StratifiedSplit(d, 0.25, 11);
  auto c = StratifiedSplit(d, 0.25, 12);
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(torch::equal(a->test, b->test));
  EXPECT_FALSE(torch::equal(a->test, c->test));
  EXPECT_FALSE(StratifiedSplit(d, 1.0, 0));
  EXPECT_FALSE(StratifiedSplit(d, -0.1, 0));
}

}  // namespace
}  // namespace hadmc::data
