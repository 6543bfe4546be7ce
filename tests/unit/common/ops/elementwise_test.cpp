#include "op_test_util.h"

namespace hadmc::ops_test {
namespace {

TEST(BinaryOpsTest, AddAndMulBroadcastLikeTorch) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  const std::vector<std::pair<Ints, Ints>> shapes = {
      {{3, 13, 5, 7}, {3, 13, 5, 7}},                             // residual add
      {{3, 13, 5, 7}, {3, 13, 1, 1}},                             // squeeze-excitation scale
      {{3, 13, 1, 1}, {3, 13, 5, 7}}, {{1, 7, 5, 3}, {7, 1, 1}},  // lower rank
      {{3, 1, 5}, {1, 127, 1}},                                   // both sides broadcast
  };
  for (const auto& [a, b] : shapes) {
    SCOPED_TRACE(ir::ShapeString(a) + " with " + ir::ShapeString(b));
    torch::Tensor x = torch::randn(a), y = torch::randn(b);
    EXPECT_TRUE(Close(RunKernel(MakeOneNode("add", {x, y})), x + y));
    EXPECT_TRUE(Close(RunKernel(MakeOneNode("mul", {x, y})), x * y));
  }
}

TEST(BinaryOpsTest, AddWithFusedRelu) {
  torch::manual_seed(1);
  torch::Tensor x = torch::randn({3, 7, 4, 4}), y = torch::randn({3, 7, 4, 4});
  ir::Attributes relu = Attrs({{"activation", std::string("relu")}});
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(Close(RunKernel(MakeOneNode("add", {x, y}, {}, relu)), torch::relu(x + y)));
  }
  // Training: gradient flows through the fused relu to both inputs.
  torch::Tensor xg = x.clone().requires_grad_(true), yg = y.clone().requires_grad_(true);
  RunKernel(MakeOneNode("add", {xg, yg}, {}, relu), /*training=*/true).sum().backward();
  torch::Tensor mask = (x + y > 0).to(torch::kFloat);
  EXPECT_TRUE(Close(xg.grad(), mask));
  EXPECT_TRUE(Close(yg.grad(), mask));

  std::string e =
      InferError(MakeOneNode("add", {x, y}, {}, Attrs({{"activation", std::string("relu6")}})));
  EXPECT_NE(e.find("'activation' is 'relu6', expected one of: none, relu"), std::string::npos) << e;
  e = InferError(MakeOneNode("mul", {x}));
  EXPECT_NE(e.find("takes 2 inputs, got 1"), std::string::npos) << e;
}

TEST(BinaryOpsTest, BroadcastShapesWithUnknownDims) {
  OneNode t = MakeOneNode("mul", {torch::zeros({1}), torch::zeros({1})});
  auto check = [&](ir::Shape a, ir::Shape b, ir::Shape want) {
    auto s = Infer(t, {a, b});
    ASSERT_TRUE(s) << s.error().String();
    EXPECT_EQ(*s, want) << ir::ShapeString(a) << " with " << ir::ShapeString(b);
  };
  check({-1, 13, 5, 7}, {-1, 13, 1, 1}, {-1, 13, 5, 7});
  check({-1, 13, 5, 7}, {1, 13, 1, 1}, {-1, 13, 5, 7});
  check({1, 13}, {-1, 13}, {-1, 13});
  check({5, 13}, {-1, 13}, {5, 13});
  check({13, 1, 1}, {-1, 13, 5, 7}, {-1, 13, 5, 7});
  auto e = Infer(t, {{3, 13, 5, 7}, {3, 7, 1, 1}});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("cannot broadcast [3,13,5,7] with [3,7,1,1]: dim 1"),
            std::string::npos)
      << e.error().message();
  EXPECT_NE(e.error().message().find("is 13 vs 7"), std::string::npos);
  EXPECT_EQ(t.def().channel_relation(t.node(), {}), ir::ChannelRelation::kJoin);
}

TEST(ConcatOpTest, MatchesTorchCat) {
  torch::manual_seed(2);
  torch::NoGradGuard no_grad;
  torch::Tensor a = torch::randn({3, 7, 5, 5}), b = torch::randn({3, 13, 5, 5}),
                c = torch::randn({3, 127, 5, 5});
  OneNode t = MakeOneNode("concat", {a, b, c});
  torch::Tensor y = RunKernel(t);
  EXPECT_TRUE(Close(y, torch::cat({a, b, c}, 1)));
  EXPECT_EQ(y.size(1), 147);
  EXPECT_EQ(t.def().channel_relation(t.node(), {}), ir::ChannelRelation::kConcat);
  torch::Tensor d = torch::randn({3, 7, 5, 2});
  EXPECT_TRUE(Close(RunKernel(MakeOneNode("concat", {a, d}, {}, Attrs({{"axis", int64_t{-1}}}))),
                    torch::cat({a, d}, 3)));
  EXPECT_TRUE(Close(RunKernel(MakeOneNode("concat", {a})), a));
}

TEST(ConcatOpTest, ShapesAndErrors) {
  OneNode t = MakeOneNode("concat", {torch::zeros({1}), torch::zeros({1})});
  auto s = Infer(t, {{-1, 7, 5, 5}, {-1, 13, 5, 5}});
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{-1, 20, 5, 5}));
  s = Infer(t, {{-1, 7, -1, 5}, {2, -1, 4, 5}});
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{2, -1, 4, 5}));
  auto e = Infer(t, {{1, 7, 5, 5}, {1, 13, 4, 5}});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("input 1 [1,13,4,5] has 4 in dim 2 but the inputs before it "
                                     "have 5 (only the concat axis 1 may differ)"),
            std::string::npos)
      << e.error().message();
  e = Infer(t, {{1, 7, 5, 5}, {1, 13, 5}});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("has rank 3 but input 0 [1,7,5,5] has rank 4"),
            std::string::npos)
      << e.error().message();
  e = Infer(t, {});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("takes 1 or more inputs, got 0"), std::string::npos);
  t.node().attrs.Set("axis", int64_t{4});
  e = Infer(t, {{1, 7, 5, 5}, {1, 13, 5, 5}});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("'axis' is 4, out of range [-4, 3]"), std::string::npos);
}

}  // namespace
}  // namespace hadmc::ops_test
