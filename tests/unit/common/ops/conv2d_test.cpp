#include <c10/core/InferenceMode.h>

#include "op_test_util.h"

namespace hadmc::ops_test {
namespace {

struct ConvCase {
  int64_t in, out, kh, kw;
  Ints stride, padding, dilation;
  int64_t groups;
  bool bias;
  int64_t batch, h, w;
};

// Odd channel counts, non-square kernels, stride, padding, dilation, groups and depthwise.
const ConvCase kCases[] = {
    {7, 13, 3, 3, {1, 1}, {1, 1}, {1, 1}, 1, true, 1, 9, 11},
    {13, 7, 3, 5, {2, 2}, {1, 2}, {1, 1}, 1, true, 3, 10, 13},
    {127, 13, 1, 1, {1, 1}, {0, 0}, {1, 1}, 1, false, 3, 5, 7},
    {7, 13, 3, 3, {1, 2}, {2, 2}, {2, 2}, 1, true, 3, 11, 9},
    {12, 18, 3, 3, {2, 1}, {1, 1}, {1, 1}, 3, true, 3, 9, 8},
    {13, 13, 3, 3, {2, 2}, {1, 1}, {1, 1}, 13, false, 3, 13, 13},  // depthwise
    {7, 14, 5, 3, {1, 1}, {2, 1}, {1, 1}, 7, true, 1, 7, 7},       // depthwise x2 multiplier
};

ir::Attributes ConvAttrs(const ConvCase& c, const std::string& activation = "none") {
  return Attrs({{"stride", c.stride},
                {"padding", c.padding},
                {"dilation", c.dilation},
                {"groups", c.groups},
                {"activation", activation}});
}

torch::nn::Conv2d TorchConv(const ConvCase& c) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(c.in, c.out, {c.kh, c.kw})
                               .stride(c.stride)
                               .padding(c.padding)
                               .dilation(c.dilation)
                               .groups(c.groups)
                               .bias(c.bias));
}

// The node uses the module's own weights, so both compute from the same tensors.
OneNode ConvNode(const ConvCase& c, torch::nn::Conv2d& m, const std::string& activation = "none") {
  std::map<std::string, torch::Tensor> params{{"weight", m->weight}};
  if (c.bias) params["bias"] = m->bias;
  torch::Tensor x = torch::randn({c.batch, c.in, c.h, c.w});
  return MakeOneNode("conv2d", {x}, params, ConvAttrs(c, activation));
}

TEST(Conv2dOpTest, MatchesTorchConv2dOnOddShapes) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  for (const auto& c : kCases) {
    SCOPED_TRACE("in=" + std::to_string(c.in) + " out=" + std::to_string(c.out) +
                 " groups=" + std::to_string(c.groups));
    auto m = TorchConv(c);
    OneNode t = ConvNode(c, m);
    EXPECT_TRUE(Close(RunKernel(t), m->forward(t.inputs[0])));
  }
}

TEST(Conv2dOpTest, FusedActivationsMatchTorch) {
  torch::manual_seed(1);
  const ConvCase& c = kCases[1];
  auto m = TorchConv(c);
  for (bool inference : {true, false}) {
    SCOPED_TRACE(inference ? "inference mode (relu in place)" : "grad mode");
    std::optional<c10::InferenceMode> guard;
    if (inference) guard.emplace();
    OneNode relu = ConvNode(c, m, "relu");
    torch::Tensor ref = m->forward(relu.inputs[0]);
    EXPECT_TRUE(Close(RunKernel(relu), torch::relu(ref)));
    OneNode relu6 = ConvNode(c, m, "relu6");
    ref = m->forward(relu6.inputs[0]) * 8;  // scaled weights reach above 6
    relu6.params["weight"] = m->weight * 8;
    if (c.bias) relu6.params["bias"] = m->bias * 8;
    EXPECT_TRUE(Close(RunKernel(relu6), torch::clamp(ref, 0, 6)));
    EXPECT_GT(ref.max().item<float>(), 6.0f);
  }
}

TEST(Conv2dOpTest, GradientsMatchTorchInTraining) {
  torch::manual_seed(2);
  for (const ConvCase& c : {kCases[1], kCases[4], kCases[5]}) {
    for (const std::string& act : std::vector<std::string>{"none", "relu"}) {
      SCOPED_TRACE("groups=" + std::to_string(c.groups) + " activation=" + act);
      auto m = TorchConv(c);
      OneNode t = ConvNode(c, m, act);
      torch::Tensor x_ref = t.inputs[0].clone().requires_grad_(true);
      t.inputs[0].requires_grad_(true);
      torch::Tensor y = RunKernel(t, /*training=*/true);
      torch::Tensor upstream = torch::randn(y.sizes());
      (y * upstream).sum().backward();
      torch::Tensor x_grad = t.inputs[0].grad().clone();
      torch::Tensor w_grad = m->weight.grad().clone();
      m->zero_grad();
      torch::Tensor y_ref = m->forward(x_ref);
      if (act == "relu") y_ref = torch::relu(y_ref);
      EXPECT_TRUE(Close(y, y_ref));
      (y_ref * upstream).sum().backward();
      EXPECT_TRUE(Close(x_grad, x_ref.grad()));
      EXPECT_TRUE(Close(w_grad, m->weight.grad()));
    }
  }
}

TEST(Conv2dOpTest, EvalWithAutogradKeepsPreActivation) {
  // Not training, but gradients are wanted (e.g. Taylor importance): the fused relu must not
  // overwrite the conv output that autograd saved.
  torch::manual_seed(3);
  const ConvCase& c = kCases[0];
  auto m = TorchConv(c);
  OneNode t = ConvNode(c, m, "relu");
  torch::Tensor y = RunKernel(t, /*training=*/false);
  ASSERT_TRUE(y.requires_grad());
  y.sum().backward();
  torch::Tensor expected_grad = m->weight.grad().clone();
  m->zero_grad();
  torch::relu(m->forward(t.inputs[0])).sum().backward();
  EXPECT_TRUE(Close(expected_grad, m->weight.grad()));
}

TEST(Conv2dOpTest, ShapeInferencePropagatesUnknownDims) {
  const ConvCase& c = kCases[1];  // 13 -> 7, kernel 3x5, stride 2, padding [1,2]
  auto m = TorchConv(c);
  OneNode t = ConvNode(c, m);
  auto s = Infer(t, {{-1, 13, 10, 13}});
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{-1, 7, 5, 7}));
  s = Infer(t, {{-1, 13, -1, 13}});
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{-1, 7, -1, 7}));
  s = Infer(t, {{2, -1, 10, 13}});
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{2, 7, 5, 7}));
}

OneNode BareConv(ir::Shape x, ir::Shape w, ir::Attributes attrs = {}) {
  OneNode t = MakeOneNode("conv2d", {torch::zeros({1})}, {{"weight", torch::zeros(w)}}, attrs);
  t.graph.inputs[0].shape = std::move(x);
  return t;
}

TEST(Conv2dOpTest, ShapeErrorsNameTheNumbers) {
  std::string e = InferError(BareConv({1, 16, 8, 8}, {4, 8, 3, 3}));
  EXPECT_NE(e.find("input has 16 channels but weight expects 8 (in_channels/groups=8, groups=1)"),
            std::string::npos)
      << e;
  e = InferError(BareConv({1, 12, 8, 8}, {6, 3, 3, 3}, Attrs({{"groups", int64_t{3}}})));
  EXPECT_NE(e.find("input has 12 channels but weight expects 9 (in_channels/groups=3, groups=3)"),
            std::string::npos)
      << e;
  e = InferError(BareConv({1, 8, 8}, {4, 8, 3, 3}));
  EXPECT_NE(e.find("rank 3"), std::string::npos) << e;
  EXPECT_NE(e.find("[1,8,8]"), std::string::npos) << e;
  e = InferError(BareConv({1, 8, 8, 8}, {4, 8, 3}));
  EXPECT_NE(e.find("weight must be 4-D"), std::string::npos) << e;
  e = InferError(BareConv({1, 8, 2, 8}, {4, 8, 5, 3}, Attrs({{"padding", Ints{1, 1}}})));
  EXPECT_NE(e.find("height: window of 5"), std::string::npos) << e;
  EXPECT_NE(e.find("padded input of 4"), std::string::npos) << e;
  e = InferError(BareConv({1, 8, 9, 9}, {6, 2, 3, 3}, Attrs({{"groups", int64_t{4}}})));
  EXPECT_NE(e.find("out_channels 6"), std::string::npos) << e;
  EXPECT_NE(e.find("groups=4"), std::string::npos) << e;
  OneNode bias = BareConv({1, 8, 9, 9}, {6, 8, 3, 3});
  bias.graph.params["n.bias"] = {{5}, ir::DType::kF32};
  bias.node().params["bias"] = "n.bias";
  e = InferError(bias);
  EXPECT_NE(e.find("bias has shape [5], expected [6]"), std::string::npos) << e;
}

TEST(Conv2dOpTest, AttributeErrors) {
  const ir::Shape x{1, 8, 9, 9}, w{4, 8, 3, 3};
  auto error_of = [&](ir::Attributes a) {
    std::string e = InferError(BareConv(x, w, a));
    OneNode t = BareConv(x, w, a);
    auto k = t.def().bind_kernel(t.node());  // binding rejects the same attributes
    EXPECT_FALSE(k);
    return e;
  };
  std::string e = error_of(Attrs({{"stride", int64_t{2}}}));
  EXPECT_NE(e.find("'stride' is a int, expected int list"), std::string::npos) << e;
  e = error_of(Attrs({{"stride", Ints{2, 2, 2}}}));
  EXPECT_NE(e.find("'stride' must have 2 values [h,w], got 3"), std::string::npos) << e;
  e = error_of(Attrs({{"stride", Ints{0, 1}}}));
  EXPECT_NE(e.find("'stride' must be >= 1, got [0,1]"), std::string::npos) << e;
  e = error_of(Attrs({{"padding", Ints{-1, 0}}}));
  EXPECT_NE(e.find("'padding' must be >= 0"), std::string::npos) << e;
  e = error_of(Attrs({{"groups", int64_t{0}}}));
  EXPECT_NE(e.find("'groups' must be >= 1, got 0"), std::string::npos) << e;
  e = error_of(Attrs({{"activation", std::string("gelu")}}));
  EXPECT_NE(e.find("'activation' is 'gelu'"), std::string::npos) << e;
  e = error_of(Attrs({{"groups", 2.0}}));
  EXPECT_NE(e.find("'groups' is a float"), std::string::npos) << e;
}

TEST(Conv2dOpTest, MacsPerSample) {
  // Dense 7 -> 13, 3x3, padding 1 on 9x11: output 9x11.
  EXPECT_EQ(Macs(BareConv({3, 7, 9, 11}, {13, 7, 3, 3}, Attrs({{"padding", Ints{1, 1}}}))),
            9 * 11 * 13 * 7 * 3 * 3);
  // Depthwise 13 channels, 3x3, stride 2, padding 1 on 13x13: output 7x7, one input per output.
  EXPECT_EQ(Macs(BareConv(
                {1, 13, 13, 13}, {13, 1, 3, 3},
                Attrs({{"groups", int64_t{13}}, {"stride", Ints{2, 2}}, {"padding", Ints{1, 1}}}))),
            7 * 7 * 13 * 1 * 3 * 3);
  // Grouped 12 -> 18 in 3 groups, 1x3 kernel on 5x7: output 5x5.
  EXPECT_EQ(Macs(BareConv({-1, 12, 5, 7}, {18, 4, 1, 3}, Attrs({{"groups", int64_t{3}}}))),
            5 * 5 * 18 * 4 * 1 * 3);
  // Unknown spatial size: unknown cost.
  EXPECT_EQ(Macs(BareConv({1, 7, -1, 11}, {13, 7, 3, 3})), -1);
}

TEST(Conv2dOpTest, ChannelRelation) {
  auto relation = [](ir::Shape w, int64_t groups) {
    OneNode t = BareConv({1, w[1] * groups, 8, 8}, w, Attrs({{"groups", groups}}));
    return t.def().channel_relation(t.node(), t.ParamShapes());
  };
  EXPECT_EQ(relation({13, 7, 3, 3}, 1), ir::ChannelRelation::kProducer);
  EXPECT_EQ(relation({13, 1, 3, 3}, 13), ir::ChannelRelation::kDepthwise);
  EXPECT_EQ(relation({12, 4, 3, 3}, 3), ir::ChannelRelation::kGrouped);
  EXPECT_EQ(relation({14, 1, 3, 3}, 7), ir::ChannelRelation::kGrouped);  // channel multiplier 2
  EXPECT_EQ(relation({1, 1, 3, 3}, 1), ir::ChannelRelation::kProducer);  // 1 -> 1 is dense
}

}  // namespace
}  // namespace hadmc::ops_test
