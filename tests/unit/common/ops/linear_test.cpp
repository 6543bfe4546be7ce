#include "op_test_util.h"

namespace hadmc::ops_test {
namespace {

OneNode LinearNode(torch::nn::Linear& m, torch::Tensor x, const std::string& activation = "none") {
  std::map<std::string, torch::Tensor> params{{"weight", m->weight}};
  if (m->bias.defined()) params["bias"] = m->bias;
  return MakeOneNode("linear", {std::move(x)}, params, Attrs({{"activation", activation}}));
}

TEST(LinearOpTest, MatchesTorchLinear) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  struct Case {
    int64_t in, out;
    bool bias;
    std::vector<int64_t> x;
  };
  for (const Case& c : {Case{127, 13, true, {3, 127}}, Case{7, 127, false, {1, 7}},
                        Case{13, 7, true, {3, 5, 13}}, Case{13, 1, true, {2, 3, 4, 13}}}) {
    SCOPED_TRACE(ir::ShapeString(c.x) + " -> " + std::to_string(c.out));
    torch::nn::Linear m(torch::nn::LinearOptions(c.in, c.out).bias(c.bias));
    OneNode t = LinearNode(m, torch::randn(c.x));
    EXPECT_TRUE(Close(RunKernel(t), m->forward(t.inputs[0])));
  }
}

TEST(LinearOpTest, FusedActivations) {
  torch::manual_seed(1);
  torch::NoGradGuard no_grad;
  torch::nn::Linear m(13, 7);
  torch::Tensor x = torch::randn({3, 13}) * 10;
  EXPECT_TRUE(Close(RunKernel(LinearNode(m, x, "relu")), torch::relu(m->forward(x))));
  EXPECT_TRUE(Close(RunKernel(LinearNode(m, x, "relu6")), torch::clamp(m->forward(x), 0, 6)));
}

TEST(LinearOpTest, GradientsMatchTorchInTraining) {
  torch::manual_seed(2);
  torch::nn::Linear m(13, 7);
  torch::Tensor x = torch::randn({3, 13});
  OneNode t = LinearNode(m, x.clone().requires_grad_(true), "relu");
  torch::Tensor y = RunKernel(t, /*training=*/true);
  torch::Tensor upstream = torch::randn(y.sizes());
  (y * upstream).sum().backward();
  torch::Tensor w_grad = m->weight.grad().clone(), b_grad = m->bias.grad().clone();
  m->zero_grad();
  torch::Tensor x_ref = x.clone().requires_grad_(true);
  (torch::relu(m->forward(x_ref)) * upstream).sum().backward();
  EXPECT_TRUE(Close(w_grad, m->weight.grad()));
  EXPECT_TRUE(Close(b_grad, m->bias.grad()));
  EXPECT_TRUE(Close(t.inputs[0].grad(), x_ref.grad()));
}

OneNode BareLinear(ir::Shape x, ir::Shape w) {
  OneNode t = MakeOneNode("linear", {torch::zeros({1})}, {{"weight", torch::zeros(w)}});
  t.graph.inputs[0].shape = std::move(x);
  return t;
}

TEST(LinearOpTest, ShapesAndErrors) {
  auto s = Infer(BareLinear({-1, 127}, {13, 127}));
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{-1, 13}));
  s = Infer(BareLinear({-1, 5, -1}, {13, 127}));  // unknown features: trust the weight
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{-1, 5, 13}));
  std::string e = InferError(BareLinear({3, 128}, {13, 127}));
  EXPECT_NE(e.find("input has 128 features"), std::string::npos) << e;
  EXPECT_NE(e.find("weight expects 127"), std::string::npos) << e;
  e = InferError(BareLinear({127}, {13, 127}));
  EXPECT_NE(e.find("rank >= 2, got [127] (rank 1)"), std::string::npos) << e;
  e = InferError(BareLinear({3, 127}, {13, 127, 1}));
  EXPECT_NE(e.find("weight must be 2-D"), std::string::npos) << e;
}

TEST(LinearOpTest, MacsAndChannelRelation) {
  OneNode t = BareLinear({-1, 127}, {13, 127});
  EXPECT_EQ(Macs(t), 13 * 127);
  EXPECT_EQ(Macs(BareLinear({3, 5, 7}, {13, 7})), 5 * 13 * 7);
  EXPECT_EQ(t.def().channel_relation(t.node(), t.ParamShapes()), ir::ChannelRelation::kProducer);
}

}  // namespace
}  // namespace hadmc::ops_test
