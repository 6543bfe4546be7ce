#include <gtest/gtest.h>

#include "compress_test_util.h"
#include "hadmc/compress/pass_registry.h"
#include "hadmc/ir/builder.h"

namespace hadmc::compress {
namespace {

using testing::CountOps;
using testing::MaxAbsDiff;
using testing::RunEval;

// conv(7ch, stride 2)+bn+relu -> depthwise conv+bn+relu6 -> conv(13ch, bias)+bn -> add+relu with
// a 1x1 projection -> identity -> flatten -> linear+bn -> linear.
model::Model TinyGraph() {
  ir::GraphBuilder b("tiny");
  auto x = b.Input("input", {-1, 3, 9, 9});
  ir::ConvOptions s2;
  s2.stride = 2;
  s2.padding = 1;
  auto y = b.Conv2d("c1", x, 3, 7, 3, s2);
  y = b.Op("relu", "r1", {b.BatchNorm("bn1", y, 7)});
  ir::ConvOptions dw;
  dw.padding = 1;
  dw.groups = 7;
  y = b.Conv2d("dw", y, 7, 7, 3, dw);
  y = b.Op("relu6", "r2", {b.BatchNorm("bn2", y, 7)});
  ir::ConvOptions biased;
  biased.bias = true;
  auto z = b.BatchNorm("bn3", b.Conv2d("c3", y, 7, 13, 1, biased), 13);
  auto proj = b.Conv2d("proj", y, 7, 13, 1);
  y = b.Op("relu", "r3", {b.Op("add", "add", {z, proj})});
  y = b.Op("identity", "id", {y});
  y = b.Flatten("flat", b.AdaptiveAvgPool("pool", y, 2, 2));
  y = b.BatchNorm("bn4", b.Linear("fc1", y, 52, 11), 11);
  b.Output(b.Linear("fc2", y, 11, 5));
  auto g = b.Finish();
  EXPECT_TRUE(g.has_value()) << g.error().String();
  model::Model m{*g, {}, {}};
  for (const auto& [name, info] : m.graph.params) m.tensors[name] = torch::zeros(info.shape);
  return testing::RandomizeTensors(std::move(m), 7);
}

TEST(FusionTest, TinyGraphMatchesUnfusedAndCountsOps) {
  model::Model m = TinyGraph();
  const auto x = torch::randn({4, 3, 9, 9});
  const auto before = RunEval(m, x);
  auto runs = RunFusion(m);
  ASSERT_TRUE(runs.has_value()) << runs.error().String();
  std::map<std::string, int> by_pass;
  for (const auto& r : *runs) by_pass[r.name] = r.rewrites;
  EXPECT_EQ(by_pass["remove_identity"], 1);
  EXPECT_EQ(by_pass["fuse_conv_batchnorm"], 3);
  EXPECT_EQ(by_pass["fuse_linear_batchnorm"], 1);
  EXPECT_EQ(by_pass["fuse_activation"], 3);  // r1, r2 (relu6) into convs, r3 into add
  for (const char* op : {"batch_norm", "relu", "relu6", "identity"})
    EXPECT_EQ(CountOps(m.graph, op), 0) << op;
  EXPECT_EQ(m.graph.FindNode("dw")->attrs.GetString("activation").value(), "relu6");
  EXPECT_EQ(m.graph.FindNode("add")->attrs.GetString("activation").value(), "relu");
  EXPECT_EQ(m.graph.outputs, std::vector<std::string>{"fc2"});
  EXPECT_LE(MaxAbsDiff(RunEval(m, x), before), 1e-5);
  // No BN tensors are left behind.
  for (const auto& [name, t] : m.tensors) EXPECT_EQ(name.find("bn"), std::string::npos) << name;
}

TEST(FusionTest, ConvBatchNormFoldFormula) {
  // One output channel, hand-checked: W' = W*g/sqrt(v+eps), b' = (b-mu)*g/sqrt(v+eps)+beta.
  ir::GraphBuilder b("one");
  auto x = b.Input("input", {-1, 1, 1, 1});
  ir::ConvOptions o;
  o.bias = true;
  b.Output(b.BatchNorm("bn", b.Conv2d("c", x, 1, 1, 1, o), 1, /*eps=*/1e-5));
  auto g = b.Finish();
  ASSERT_TRUE(g.has_value()) << g.error().String();
  model::Model m{*g, {}, {}};
  m.tensors["c.weight"] = torch::full({1, 1, 1, 1}, 2.0);
  m.tensors["c.bias"] = torch::full({1}, 1.0);
  m.tensors["bn.weight"] = torch::full({1}, 3.0);
  m.tensors["bn.bias"] = torch::full({1}, 0.5);
  m.tensors["bn.running_mean"] = torch::full({1}, 0.25);
  m.tensors["bn.running_var"] = torch::full({1}, 4.0);
  ASSERT_TRUE(RunFusion(m).has_value());
  const double inv_std = 1.0 / std::sqrt(4.0 + 1e-5);
  EXPECT_FLOAT_EQ(m.tensors.at("c.weight").item<float>(), 2.0 * 3.0 * inv_std);
  EXPECT_FLOAT_EQ(m.tensors.at("c.bias").item<float>(), (1.0 - 0.25) * 3.0 * inv_std + 0.5);
  EXPECT_EQ(m.graph.outputs, std::vector<std::string>{"bn"});  // output name kept
}

TEST(FusionTest, BatchNormWithTwoReadersOfTheConvIsLeftAlone) {
  ir::GraphBuilder b("shared");
  auto x = b.Input("input", {-1, 2, 4, 4});
  auto c = b.Conv2d("c", x, 2, 3, 1);
  b.Output(b.Op("add", "add", {b.BatchNorm("bn", c, 3), c}));
  auto g = b.Finish();
  ASSERT_TRUE(g.has_value()) << g.error().String();
  model::Model m{*g, {}, {}};
  for (const auto& [name, info] : m.graph.params) m.tensors[name] = torch::ones(info.shape);
  auto runs = RunFusion(m);
  ASSERT_TRUE(runs.has_value());
  EXPECT_EQ(CountOps(m.graph, "batch_norm"), 1);
}

TEST(FusionTest, UnknownDisabledPassIsAnError) {
  model::Model m = TinyGraph();
  auto runs = RunFusion(m, {"fuse_everything"});
  ASSERT_FALSE(runs.has_value());
  EXPECT_NE(runs.error().message().find("fuse_everything"), std::string::npos);
}

TEST(FusionTest, DisabledPassIsSkipped) {
  model::Model m = TinyGraph();
  ASSERT_TRUE(RunFusion(m, {"fuse_activation"}).has_value());
  EXPECT_EQ(CountOps(m.graph, "relu"), 1 + 1);  // r1 and r3 stay
  EXPECT_EQ(CountOps(m.graph, "batch_norm"), 0);
}

class ZooFusionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooFusionTest, NoBatchNormLeftAndSameOutputs) {
  model::Model m = testing::ZooModel(GetParam(), 32);
  const auto x = torch::randn({2, m.graph.inputs[0].shape[1], 32, 32});
  const auto before = RunEval(m, x);
  auto runs = RunFusion(m);
  ASSERT_TRUE(runs.has_value()) << runs.error().String();
  EXPECT_EQ(CountOps(m.graph, "batch_norm"), 0);
  EXPECT_EQ(CountOps(m.graph, "relu") + CountOps(m.graph, "relu6"), 0);
  // Relative to the output scale: deep nets amplify rounding, the fold itself is exact.
  const float scale = std::max(1.0f, before.abs().max().item<float>());
  EXPECT_LE(MaxAbsDiff(RunEval(m, x), before) / scale, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Archs, ZooFusionTest,
                         ::testing::Values("resnet8", "resnet18", "mobilenet_v2", "vgg11_bn"));

}  // namespace
}  // namespace hadmc::compress
