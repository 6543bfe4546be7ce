#include "op_test_util.h"

namespace hadmc::ops_test {
namespace {

TEST(ActivationOpsTest, MatchTorchModules) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  // Wide range so relu6 and hardswish hit both of their bends. LibTorch 1.13 has no
  // torch::nn::Hardswish module: its definition, x * relu6(x + 3) / 6, is the reference.
  torch::Tensor x = torch::randn({3, 13, 5, 7}) * 5;
  struct Case {
    const char* op;
    torch::Tensor expected;
  };
  const Case cases[] = {
      {"relu", torch::nn::ReLU()(x)},
      {"relu6", torch::nn::ReLU6()(x)},
      {"silu", torch::nn::SiLU()(x)},
      {"sigmoid", torch::nn::Sigmoid()(x)},
      {"hardswish", x * torch::clamp(x + 3, 0, 6) / 6},
      {"identity", torch::nn::Identity()(x)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    OneNode t = MakeOneNode(c.op, {x});
    EXPECT_TRUE(Close(RunKernel(t), c.expected));
    EXPECT_EQ(t.def().channel_relation(t.node(), {}), ir::ChannelRelation::kPassThrough);
    EXPECT_EQ(Macs(t), 0);
  }
  EXPECT_LT(x.min().item<float>(), -3.0f);
  EXPECT_GT(x.max().item<float>(), 6.0f);
}

TEST(ActivationOpsTest, UnaryShapesKeepUnknownDims) {
  OneNode t = MakeOneNode("silu", {torch::zeros({1})});
  auto s = Infer(t, {{-1, 7, -1, 5}});
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{-1, 7, -1, 5}));
  auto e = Infer(t, {{1, -3}});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("invalid dimension -3"), std::string::npos);
}

TEST(ActivationOpsTest, GradientFlowsThroughRelu6AndHardswish) {
  torch::manual_seed(1);
  torch::Tensor x = (torch::randn({3, 7}) * 5).requires_grad_(true);
  for (const char* op : {"relu6", "hardswish", "silu"}) {
    SCOPED_TRACE(op);
    x.mutable_grad() = torch::Tensor();
    OneNode t = MakeOneNode(op, {x});
    RunKernel(t, /*training=*/true).sum().backward();
    torch::Tensor x_ref = x.detach().clone().requires_grad_(true);
    torch::Tensor y_ref = std::string(op) == "relu6" ? torch::nn::ReLU6()(x_ref)
                          : std::string(op) == "hardswish"
                              ? x_ref * torch::clamp(x_ref + 3, 0, 6) / 6
                              : torch::nn::SiLU()(x_ref);
    y_ref.sum().backward();
    EXPECT_TRUE(Close(x.grad(), x_ref.grad()));
  }
}

TEST(SoftmaxOpTest, MatchesTorchAndValidatesDim) {
  torch::manual_seed(2);
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::randn({3, 13, 5});
  for (int64_t dim : {1, -1, 0, 2}) {
    SCOPED_TRACE(dim);
    OneNode t = MakeOneNode("softmax", {x}, {}, Attrs({{"dim", dim}}));
    EXPECT_TRUE(Close(RunKernel(t), torch::nn::Softmax(dim)(x)));
  }
  OneNode def = MakeOneNode("softmax", {torch::randn({3, 13})});
  EXPECT_TRUE(Close(RunKernel(def), torch::softmax(def.inputs[0], 1)));  // default dim 1
  EXPECT_EQ(def.def().channel_relation(def.node(), {}), ir::ChannelRelation::kOpaque);
  std::string e = InferError(MakeOneNode("softmax", {x}, {}, Attrs({{"dim", int64_t{3}}})));
  EXPECT_NE(e.find("'dim' is 3, out of range [-3, 2] for rank 3"), std::string::npos) << e;
  e = InferError(MakeOneNode("softmax", {x}, {}, Attrs({{"dim", Ints{1}}})));
  EXPECT_NE(e.find("'dim' is a int list, expected int"), std::string::npos) << e;
}

}  // namespace
}  // namespace hadmc::ops_test
