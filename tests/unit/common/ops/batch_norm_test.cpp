#include "op_test_util.h"

namespace hadmc::ops_test {
namespace {

// A BN node sharing the module's parameters and buffers, so running-stat updates made by the
// kernel are visible in the module and vice versa.
template <typename Module>
OneNode BatchNormNode(Module& m, torch::Tensor x, ir::Attributes attrs = {}) {
  return MakeOneNode("batch_norm", {std::move(x)},
                     {{"weight", m->weight},
                      {"bias", m->bias},
                      {"running_mean", m->running_mean},
                      {"running_var", m->running_var}},
                     std::move(attrs));
}

// Random affine parameters and running statistics (not the 1/0 defaults, which hide mistakes).
template <typename Module>
void Randomize(Module& m) {
  torch::NoGradGuard no_grad;
  m->weight.uniform_(0.5, 1.5);
  m->bias.normal_();
  m->running_mean.normal_();
  m->running_var.uniform_(0.5, 2.0);
}

TEST(BatchNormOpTest, Eval2dMatchesTorch) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  for (int64_t c : {7, 13, 127}) {
    torch::nn::BatchNorm2d m(torch::nn::BatchNorm2dOptions(c).eps(1e-3));
    Randomize(m);
    m->eval();
    OneNode t = BatchNormNode(m, torch::randn({3, c, 5, 7}), Attrs({{"eps", 1e-3}}));
    EXPECT_TRUE(Close(RunKernel(t, /*training=*/false), m->forward(t.inputs[0])));
  }
}

TEST(BatchNormOpTest, Train2dMatchesTorchAndUpdatesRunningStats) {
  torch::manual_seed(1);
  torch::nn::BatchNorm2d m(torch::nn::BatchNorm2dOptions(13).momentum(0.3));
  torch::nn::BatchNorm2d ref(torch::nn::BatchNorm2dOptions(13).momentum(0.3));
  Randomize(m);
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : m->named_parameters()) ref->named_parameters()[p.key()].copy_(p.value());
    for (const auto& b : m->named_buffers()) ref->named_buffers()[b.key()].copy_(b.value());
  }
  ref->train();
  torch::Tensor x = torch::randn({3, 13, 5, 7}) * 2 + 1;
  OneNode t = BatchNormNode(m, x.clone().requires_grad_(true), Attrs({{"momentum", 0.3}}));
  torch::Tensor y = RunKernel(t, /*training=*/true);
  torch::Tensor x_ref = x.clone().requires_grad_(true);
  torch::Tensor y_ref = ref->forward(x_ref);
  EXPECT_TRUE(Close(y, y_ref));
  EXPECT_TRUE(Close(m->running_mean, ref->running_mean));
  EXPECT_TRUE(Close(m->running_var, ref->running_var));

  // Backward through batch statistics.
  torch::Tensor upstream = torch::randn(y.sizes());
  (y * upstream).sum().backward();
  (y_ref * upstream).sum().backward();
  EXPECT_TRUE(Close(t.inputs[0].grad(), x_ref.grad()));
  EXPECT_TRUE(Close(m->weight.grad(), ref->weight.grad()));
  EXPECT_TRUE(Close(m->bias.grad(), ref->bias.grad()));
}

TEST(BatchNormOpTest, TwoDimInputMatchesBatchNorm1d) {
  torch::manual_seed(2);
  torch::nn::BatchNorm1d m(7), ref(7);
  Randomize(m);
  {
    torch::NoGradGuard no_grad;
    ref->running_mean.copy_(m->running_mean);
    ref->running_var.copy_(m->running_var);
    ref->weight.copy_(m->weight);
    ref->bias.copy_(m->bias);
  }
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::randn({3, 7});
  OneNode t = BatchNormNode(m, x);
  ref->train();
  EXPECT_TRUE(Close(RunKernel(t, /*training=*/true), ref->forward(x)));
  EXPECT_TRUE(Close(m->running_var, ref->running_var));
  ref->eval();
  EXPECT_TRUE(Close(RunKernel(t, /*training=*/false), ref->forward(x)));
}

TEST(BatchNormOpTest, EvalDoesNotTouchRunningStats) {
  torch::manual_seed(3);
  torch::nn::BatchNorm2d m(13);
  Randomize(m);
  torch::Tensor mean = m->running_mean.clone();
  torch::NoGradGuard no_grad;
  RunKernel(BatchNormNode(m, torch::randn({1, 13, 3, 3})), /*training=*/false);
  EXPECT_TRUE(torch::equal(mean, m->running_mean));
}

OneNode BareBatchNorm(ir::Shape x, std::map<std::string, int64_t> sizes,
                      ir::Attributes attrs = {}) {
  std::map<std::string, torch::Tensor> params;
  for (const char* slot : {"weight", "bias", "running_mean", "running_var"})
    params[slot] = torch::zeros({sizes.count(slot) ? sizes[slot] : 13});
  OneNode t = MakeOneNode("batch_norm", {torch::zeros({1})}, params, std::move(attrs));
  t.graph.inputs[0].shape = std::move(x);
  return t;
}

TEST(BatchNormOpTest, ShapesAndErrors) {
  auto s = Infer(BareBatchNorm({-1, 13, 5, 7}, {}));
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{-1, 13, 5, 7}));
  std::string e = InferError(BareBatchNorm({1, 12, 5, 7}, {}));
  EXPECT_NE(e.find("weight has shape [13], expected [12] (input channels)"), std::string::npos)
      << e;
  e = InferError(BareBatchNorm({1, -1, 5, 7}, {{"running_var", 12}}));
  EXPECT_NE(e.find("running_var has shape [12], expected [13] (weight shape)"), std::string::npos)
      << e;
  e = InferError(BareBatchNorm({13}, {}));
  EXPECT_NE(e.find("rank >= 2"), std::string::npos) << e;
  e = InferError(BareBatchNorm({1, 13}, {}, Attrs({{"eps", 0.0}})));
  EXPECT_NE(e.find("'eps' must be > 0"), std::string::npos) << e;
  e = InferError(BareBatchNorm({1, 13}, {}, Attrs({{"momentum", 1.5}})));
  EXPECT_NE(e.find("'momentum' must be in [0, 1]"), std::string::npos) << e;
  e = InferError(BareBatchNorm({1, 13}, {}, Attrs({{"eps", std::string("small")}})));
  EXPECT_NE(e.find("'eps' is a string, expected float"), std::string::npos) << e;
}

TEST(BatchNormOpTest, SlotsAndRelation) {
  const ir::OpDef* def = ir::FindOp("batch_norm");
  ASSERT_NE(def, nullptr);
  ASSERT_EQ(def->params.size(), 4u);
  EXPECT_TRUE(def->params[0].trainable && def->params[1].trainable);
  EXPECT_FALSE(def->params[2].trainable || def->params[3].trainable);
  OneNode t = BareBatchNorm({1, 13, 5, 7}, {});
  EXPECT_EQ(def->channel_relation(t.node(), t.ParamShapes()), ir::ChannelRelation::kPassThrough);
  EXPECT_EQ(Macs(t), 13 * 5 * 7);
}

}  // namespace
}  // namespace hadmc::ops_test
