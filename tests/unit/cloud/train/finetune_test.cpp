// Fine-tuning only named parameters: the chosen tensors learn, every other tensor (BN statistics
// included) keeps its exact bytes, also when the frozen part runs on int8 kernels.
#include "hadmc/train/finetune.h"

#include <gtest/gtest.h>

#include "hadmc/compress/quantize_int8.h"
#include "hadmc/hal/int8_backend.h"
#include "train_test_util.h"

namespace hadmc::train {
namespace {

using testing::QuadrantDataset;
using testing::TinyModel;

FinetuneOptions HeadOptions() {
  FinetuneOptions o;
  o.only = {"fc."};
  o.epochs = 3;
  o.batch_size = 16;
  o.lr = 0.05;
  o.normalization = data::Normalization{{0.2f}, {0.25f}};
  return o;
}

model::TensorMap Snapshot(const model::Model& m) {
  model::TensorMap copy;
  for (const auto& [name, t] : m.tensors) copy[name] = t.detach().clone();
  return copy;
}

// Every tensor except those starting with "fc." is bit-identical; the fc ones changed.
void ExpectOnlyHeadChanged(const model::TensorMap& before, const model::Model& after) {
  for (const auto& [name, t] : before) {
    const bool same = torch::equal(t, after.tensors.at(name).detach());
    if (name.rfind("fc.", 0) == 0) {
      EXPECT_FALSE(same) << name << " did not change";
    } else {
      EXPECT_TRUE(same) << name << " changed";
    }
    EXPECT_FALSE(after.tensors.at(name).requires_grad()) << name;
  }
}

TEST(FinetuneTest, TrainsOnlyTheHeadAndLearns) {
  model::Model m = TinyModel(3);
  const model::TensorMap before = Snapshot(m);
  auto r = FinetuneParameters(m, QuadrantDataset(32, 1), HeadOptions());
  ASSERT_TRUE(r.has_value()) << r.error().String();
  EXPECT_EQ(r->trained, (std::vector<std::string>{"fc.weight", "fc.bias"}));
  EXPECT_EQ(r->trained_elements, 64 * 4 + 4);
  EXPECT_EQ(r->steps, 3 * 8);
  EXPECT_LT(r->last_epoch_loss, r->first_epoch_loss);
  ExpectOnlyHeadChanged(before, m);  // BN running statistics too: the body ran as in inference
  EXPECT_NE(m.metadata.at("finetune").find("\"only\":[\"fc.\"]"), std::string::npos);
}

TEST(FinetuneTest, TrainsTheFp32HeadOfAnInt8Model) {
  auto backend = hal::ConfigureInt8Backend();
  if (!backend) GTEST_SKIP() << backend.error().String();
  model::Model m = TinyModel(4);
  compress::QuantizeOptions q;
  q.int8_nodes = {"conv"};
  q.reduce_range = backend->reduce_range;
  q.observer = compress::ObserverKind::kMinMax;
  auto report = compress::QuantizeInt8(m, q, {torch::randn({16, 1, 8, 8})});
  ASSERT_TRUE(report.has_value()) << report.error().String();
  ASSERT_EQ(m.graph.FindNode("conv")->precision, ir::Precision::kInt8);

  const model::TensorMap before = Snapshot(m);
  auto r = FinetuneParameters(m, QuadrantDataset(32, 1), HeadOptions());
  ASSERT_TRUE(r.has_value()) << r.error().String();
  ExpectOnlyHeadChanged(before, m);

  // The int8 conv itself cannot be trained, and the error says why.
  auto conv = SelectFinetuneParameters(m.graph, {"conv."});
  ASSERT_FALSE(conv.has_value());
  EXPECT_NE(conv.error().message().find("runs in int8"), std::string::npos)
      << conv.error().message();
}

TEST(FinetuneTest, UnknownPrefixListsWhatExists) {
  auto r = SelectFinetuneParameters(TinyModel(1).graph, {"head."});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("fc.weight"), std::string::npos) << r.error().message();
  // BN running statistics are buffers, never selected.
  auto bn = SelectFinetuneParameters(TinyModel(1).graph, {"bn."});
  ASSERT_TRUE(bn.has_value()) << bn.error().String();
  EXPECT_EQ(*bn, (std::vector<std::string>{"bn.weight", "bn.bias"}));
}

}  // namespace
}  // namespace hadmc::train
