// fp16 / int4 weight storage and the sensitivity-based precision allocator.
#include <gtest/gtest.h>

#include "../train/train_test_util.h"
#include "compress_test_util.h"
#include "hadmc/compress/pass_registry.h"
#include "hadmc/compress/pipeline.h"
#include "hadmc/compress/precision_allocator.h"
#include "hadmc/compress/store_low_precision.h"
#include "hadmc/exec/low_precision.h"
#include "hadmc/ir/builder.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/model/model_summary.h"
#include "hadmc/train/trainer.h"

namespace hadmc::compress {
namespace {

using testing::MaxAbsDiff;
using testing::RunEval;
using testing::ZooModel;

TEST(Int4PackTest, RoundTripsEveryCodeAndOddRowLengths) {
  // Every code in [-8, 7], rows of odd length (the last byte holds one code and padding).
  for (int64_t k : {1, 7, 13, 16}) {
    at::Tensor codes = torch::randint(-8, 8, {5, k}, torch::kChar);
    const int64_t n = std::min<int64_t>(16, 5 * k);
    codes.view(-1).narrow(0, 0, n).copy_(torch::arange(-8, 8, torch::kChar).narrow(0, 0, n));
    at::Tensor packed = exec::PackInt4(codes);
    EXPECT_EQ(packed.scalar_type(), torch::kByte);
    EXPECT_EQ(packed.sizes(), (std::vector<int64_t>{5, (k + 1) / 2}));
    auto back = exec::UnpackInt4(packed, {5, k});
    ASSERT_TRUE(back.has_value()) << back.error().String();
    EXPECT_TRUE(torch::equal(*back, codes)) << "k = " << k;
  }
}

TEST(Int4PackTest, NibbleOrderIsLowThenHigh) {
  // Codes [1, -2] -> byte 0x01 | (0xE << 4) = 0xE1: a file written here reads the same anywhere.
  at::Tensor codes = torch::tensor({1, -2, 7}, torch::kChar).view({1, 3});
  at::Tensor packed = exec::PackInt4(codes);
  EXPECT_EQ(packed[0][0].item<int>(), 0xE1);
  EXPECT_EQ(packed[0][1].item<int>(), 0x07);
}

TEST(Int4PackTest, UnpackRejectsWrongShapeOrDtype) {
  at::Tensor packed = torch::zeros({4, 3}, torch::kByte);
  EXPECT_FALSE(exec::UnpackInt4(packed, {4, 7}).has_value());  // needs [4, 4]
  EXPECT_FALSE(exec::UnpackInt4(packed.to(torch::kChar), {4, 6}).has_value());
  EXPECT_TRUE(exec::UnpackInt4(packed, {4, 6}).has_value());
  EXPECT_TRUE(exec::UnpackInt4(packed, {4, 5}).has_value());
}

// Stores every conv/linear of a zoo model at `p`, then checks the executor's output against the
// fp32 model run with the same rounding applied by hand.
void CheckStoredModel(ir::Precision p, double tolerance) {
  model::Model m = ZooModel("resnet8");
  ASSERT_TRUE(RunFusion(m, {}).has_value());
  model::Model reference = model::Clone(m);
  std::map<std::string, ir::Precision> plan;
  for (const ir::Node& n : m.graph.nodes)
    if (n.op == "conv2d" || n.op == "linear") plan[n.name] = p;
  auto report = StoreLowPrecision(m, plan);
  ASSERT_TRUE(report.has_value()) << report.error().String();
  EXPECT_LT(report->bytes_after, report->bytes_before / (p == ir::Precision::kFp16 ? 1.9 : 6.0));
  // The same rounding applied to the fp32 reference.
  for (const auto& [name, prec] : plan) {
    at::Tensor& w = reference.tensors.at(reference.graph.FindNode(name)->params.at("weight"));
    if (p == ir::Precision::kFp16) {
      w = w.to(torch::kHalf).to(torch::kFloat);
    } else {
      at::Tensor flat = w.reshape({w.size(0), -1});
      at::Tensor scale = (flat.abs().amax(1, true) / 7.0).clamp_min(1e-12);
      w = ((flat / scale).round().clamp(-7, 7) * scale).reshape(w.sizes());
    }
  }
  // Save and load: the small weights survive the file and the summary counts logical params.
  auto bytes = model::SerializeHmc(m);
  ASSERT_TRUE(bytes.has_value()) << bytes.error().String();
  auto loaded = model::ParseHmc(*bytes);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().String();
  auto s_ref = model::SummarizeGraph(reference.graph);
  auto s_small = model::SummarizeGraph(loaded->graph);
  ASSERT_TRUE(s_ref.has_value() && s_small.has_value());
  EXPECT_EQ(s_small->total_params, s_ref->total_params);
  EXPECT_LT(s_small->tensor_bytes, s_ref->tensor_bytes);
  const auto x = torch::randn({3, 1, 28, 28});
  EXPECT_LT(MaxAbsDiff(RunEval(*loaded, x), RunEval(reference, x)), tolerance);
}

TEST(LowPrecisionStoreTest, Fp16ModelComputesWithRoundedWeights) {
  CheckStoredModel(ir::Precision::kFp16, 1e-4);
}

TEST(LowPrecisionStoreTest, Int4ModelComputesWithDequantizedCodes) {
  CheckStoredModel(ir::Precision::kInt4, 1e-4);
}

TEST(LowPrecisionStoreTest, RejectsNodesThatAreNotFp32ConvOrLinear) {
  model::Model m = ZooModel("resnet8");
  EXPECT_FALSE(StoreLowPrecision(m, {{"bn1", ir::Precision::kInt4}}).has_value());
  EXPECT_FALSE(StoreLowPrecision(m, {{"conv1", ir::Precision::kInt8}}).has_value());
  EXPECT_FALSE(StoreLowPrecision(m, {{"nope", ir::Precision::kInt4}}).has_value());
}

TEST(LowPrecisionStoreTest, PackedWeightWithWrongShapeIsRejectedByValidation) {
  model::Model m = ZooModel("resnet8");
  ASSERT_TRUE(StoreLowPrecision(m, {{"conv1", ir::Precision::kInt4}}).has_value());
  ir::Node* n = m.graph.FindNode("conv1");
  n->attrs.Set("weight_shape", std::vector<int64_t>{16, 2, 3, 3});  // claims twice the codes
  auto st = ir::Validate(m.graph);
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().String().find("conv1"), std::string::npos) << st.error().String();
  n->attrs.Erase("weight_shape");
  EXPECT_FALSE(ir::Validate(m.graph).has_value());
}

TEST(PrecisionAllocatorTest, BudgetIsMetWithFirstAndLastKeptAndInsensitiveLayersFirst) {
  model::Model m = ZooModel("resnet8");
  ASSERT_TRUE(RunFusion(m, {}).has_value());
  std::vector<LayerSensitivity> s;
  std::vector<std::string> nodes;
  for (const ir::Node& n : m.graph.nodes)
    if (n.op == "conv2d" || n.op == "linear") nodes.push_back(n.name);
  ASSERT_GE(nodes.size(), 5u);
  // Synthetic sensitivities: layer3.0.conv2 (the largest) is very sensitive, the rest are not.
  for (const std::string& name : nodes) {
    const int64_t params = m.tensors.at(m.graph.FindNode(name)->params.at("weight")).numel();
    const bool touchy = name == "layer3.0.conv2";
    s.push_back({name, params, 1e-6, touchy ? 10.0 : 1e-3});
  }
  AllocationOptions o;
  auto all8 = AllocatePrecision(m, s, o);  // no budget: everything eligible is int8
  ASSERT_TRUE(all8.has_value()) << all8.error().String();
  EXPECT_EQ(all8->precision.at(nodes.front()), ir::Precision::kFp32);
  EXPECT_EQ(all8->precision.at(nodes.back()), ir::Precision::kFp32);
  for (size_t i = 1; i + 1 < nodes.size(); ++i)
    EXPECT_EQ(all8->precision.at(nodes[i]), ir::Precision::kInt8) << nodes[i];

  // A budget the other int4 layers can meet without touching the sensitive one.
  o.weight_budget_bytes = all8->weight_bytes - 12000;
  auto mixed = AllocatePrecision(m, s, o);
  ASSERT_TRUE(mixed.has_value());
  EXPECT_TRUE(mixed->budget_met);
  EXPECT_LE(mixed->weight_bytes, o.weight_budget_bytes);
  EXPECT_EQ(mixed->precision.at("layer3.0.conv2"), ir::Precision::kInt8);
  EXPECT_EQ(mixed->precision.at(nodes.front()), ir::Precision::kFp32);

  // An impossible budget: everything eligible goes int4 and the allocation says it is not met.
  o.weight_budget_bytes = 1;
  auto tight = AllocatePrecision(m, s, o);
  ASSERT_TRUE(tight.has_value());
  EXPECT_FALSE(tight->budget_met);
  EXPECT_EQ(tight->precision.at("layer3.0.conv2"), ir::Precision::kInt4);
}

TEST(PrecisionAllocatorTest, FisherSensitivityMatchesHandComputation) {
  // One linear layer: S(b) = 1/2 * sum g^2 * dw(b)^2 with g from autograd on the same batch.
  ir::GraphBuilder b("fc");
  auto x = b.Input("input", {-1, 6});
  b.Output(b.Linear("fc", x, 6, 3, true));
  auto g = b.Finish();
  ASSERT_TRUE(g.has_value()) << g.error().String();
  model::Model m{*g, {}, {}};
  for (const auto& [name, info] : m.graph.params) m.tensors[name] = torch::zeros(info.shape);
  m = testing::RandomizeTensors(std::move(m), 5);
  const at::Tensor input = torch::randn({8, 6});
  const at::Tensor labels = torch::randint(0, 3, {8}, torch::kLong);
  auto s = MeasureSensitivity(m, {{input, labels}});
  ASSERT_TRUE(s.has_value()) << s.error().String();
  ASSERT_EQ(s->size(), 1u);

  at::Tensor w = m.tensors.at("fc.weight").clone().requires_grad_(true);
  at::Tensor loss = torch::nn::functional::cross_entropy(
      torch::nn::functional::linear(input, w, m.tensors.at("fc.bias")), labels);
  loss.backward();
  auto expect = [&](double qmax) {
    at::Tensor wd = w.detach();
    at::Tensor scale = wd.abs().amax(1, true) / qmax;
    at::Tensor err = wd - (wd / scale).round().clamp(-qmax, qmax) * scale;
    return 0.5 * (w.grad().square() * err.square()).sum().item<double>();
  };
  EXPECT_NEAR((*s)[0].int8, expect(127), 1e-9 + 1e-6 * expect(127));
  EXPECT_NEAR((*s)[0].int4, expect(7), 1e-9 + 1e-6 * expect(7));
  EXPECT_GT((*s)[0].int4, (*s)[0].int8);
}

}  // namespace
}  // namespace hadmc::compress
