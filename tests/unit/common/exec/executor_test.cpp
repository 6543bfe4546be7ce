#include <gtest/gtest.h>
#include <torch/torch.h>

#include "hadmc/exec/executor.h"
#include "hadmc/ir/builder.h"

namespace hadmc::exec {
namespace {

// A residual block with a depthwise conv and a concat: conv → bn → relu → dwconv (+ skip) →
// concat(skip) → pool → flatten → linear.
model::Model BlockModel(int64_t in_ch = 7, int64_t mid = 13) {
  ir::GraphBuilder b("block");
  auto x = b.Input("input", {-1, in_ch, -1, -1});
  auto c1 = b.Conv2d("conv1", x, in_ch, mid, 3, {.padding = 1});
  auto bn = b.BatchNorm("bn1", c1, mid);
  auto r = b.Op("relu", "relu1", {bn});
  auto dw = b.Conv2d("dw", r, mid, mid, 3, {.padding = 1, .groups = mid, .bias = true});
  auto add = b.Op("add", "add", {dw, r});
  auto cat = b.Op("concat", "cat", {add, r});
  auto pool = b.AdaptiveAvgPool("pool", cat, 1, 1);
  auto flat = b.Flatten("flat", pool);
  auto fc = b.Linear("fc", flat, 2 * mid, 5);
  b.Output(fc);
  auto g = b.Finish();
  EXPECT_TRUE(g) << g.error().String();
  model::Model m{*g, {}, {}};
  torch::manual_seed(3);
  for (const auto& [name, info] : m.graph.params) {
    if (name.find("running_var") != std::string::npos)
      m.tensors[name] = torch::rand(info.shape) + 0.5;
    else
      m.tensors[name] = torch::randn(info.shape) * 0.3;
  }
  return m;
}

// The same network written directly with LibTorch functions.
torch::Tensor Reference(const model::TensorMap& t, const torch::Tensor& x, bool training) {
  namespace F = torch::nn::functional;
  auto c1 = F::conv2d(x, t.at("conv1.weight"), F::Conv2dFuncOptions().padding(1));
  auto bn = torch::batch_norm(c1, t.at("bn1.weight"), t.at("bn1.bias"), t.at("bn1.running_mean"),
                              t.at("bn1.running_var"), training, 0.1, 1e-5, false);
  auto r = torch::relu(bn);
  auto dw = F::conv2d(r, t.at("dw.weight"),
                      F::Conv2dFuncOptions().bias(t.at("dw.bias")).padding(1).groups(13));
  auto cat = torch::cat({dw + r, r}, 1);
  auto flat = torch::adaptive_avg_pool2d(cat, {1, 1}).flatten(1);
  return torch::linear(flat, t.at("fc.weight"), t.at("fc.bias"));
}

TEST(Executor, InferenceMatchesDirectLibTorch) {
  auto m = BlockModel();
  auto ex = Executor::Create(m);
  ASSERT_TRUE(ex) << ex.error().String();
  auto x = torch::randn({3, 7, 11, 9});
  auto y = ex->Run(x, Mode::kInference);
  ASSERT_TRUE(y) << y.error().String();
  torch::NoGradGuard no_grad;
  auto ref = Reference(m.tensors, x, false);
  EXPECT_LE((*y - ref).abs().max().item<float>(), 1e-5);
  auto y_eval = ex->Run(x, Mode::kEval);
  ASSERT_TRUE(y_eval);
  EXPECT_TRUE(torch::equal(*y, *y_eval));
}

TEST(Executor, TrainingUpdatesRunningStatsAndGradientsMatch) {
  auto m = BlockModel();
  auto ref_tensors = model::Clone(m).tensors;
  auto ex = Executor::Create(m);
  ASSERT_TRUE(ex);
  ex->EnableGrad(true);
  for (auto& [name, t] : ref_tensors)
    if (name.find("running") == std::string::npos) t.requires_grad_(true);

  auto x = torch::randn({4, 7, 6, 6});
  auto y = ex->Run(x, Mode::kTrain);
  ASSERT_TRUE(y);
  y->pow(2).sum().backward();
  Reference(ref_tensors, x, true).pow(2).sum().backward();

  // BN running stats moved, identically in both.
  EXPECT_TRUE(torch::allclose(m.tensors.at("bn1.running_mean"), ref_tensors.at("bn1.running_mean")));
  EXPECT_GT(m.tensors.at("bn1.running_mean").abs().sum().item<float>(), 0.f);
  for (const auto& name : ex->TrainableParameterNames()) {
    const auto& g = m.tensors.at(name).grad();
    ASSERT_TRUE(g.defined()) << name;
    EXPECT_TRUE(torch::allclose(g, ref_tensors.at(name).grad(), 1e-4, 1e-5)) << name;
  }
  EXPECT_FALSE(m.tensors.at("bn1.running_var").requires_grad());
}

TEST(Executor, TrainableParametersExcludeBuffers) {
  auto ex = Executor::Create(BlockModel());
  ASSERT_TRUE(ex);
  auto names = ex->TrainableParameterNames();
  EXPECT_EQ(names.size(), 7u);  // conv1.w, bn1.w, bn1.b, dw.w, dw.b, fc.w, fc.b
  for (const auto& n : names) EXPECT_EQ(n.find("running"), std::string::npos) << n;
}

TEST(Executor, TapsReturnIntermediates) {
  auto ex = Executor::Create(BlockModel());
  ASSERT_TRUE(ex);
  std::map<std::string, at::Tensor> tapped;
  auto out = ex->RunWithTaps({torch::randn({2, 7, 5, 5})}, Mode::kInference, {"relu1", "cat"},
                             &tapped);
  ASSERT_TRUE(out);
  ASSERT_EQ(tapped.size(), 2u);
  EXPECT_EQ(tapped.at("relu1").sizes().vec(), (std::vector<int64_t>{2, 13, 5, 5}));
  EXPECT_EQ(tapped.at("cat").sizes().vec(), (std::vector<int64_t>{2, 26, 5, 5}));
  EXPECT_GE(tapped.at("relu1").min().item<float>(), 0.f);
  auto bad = ex->RunWithTaps({torch::randn({2, 7, 5, 5})}, Mode::kInference, {"nope"}, &tapped);
  ASSERT_FALSE(bad);
}

TEST(Executor, InputShapeErrorsAreClear) {
  auto ex = Executor::Create(BlockModel());
  ASSERT_TRUE(ex);
  auto y = ex->Run(torch::randn({2, 6, 5, 5}), Mode::kInference);
  ASSERT_FALSE(y);
  EXPECT_NE(y.error().message().find("input 'input'"), std::string::npos) << y.error().message();
  EXPECT_NE(y.error().message().find("[2,6,5,5]"), std::string::npos) << y.error().message();
  auto two = ex->Run({torch::randn({1, 7, 5, 5}), torch::randn({1})}, Mode::kInference);
  ASSERT_FALSE(two);
}

TEST(Executor, KernelFailureNamesTheNode) {
  // Input too small for a 3x3 kernel without padding: the kernel throws, the executor reports it.
  ir::GraphBuilder b("tiny");
  auto x = b.Input("input", {-1, 3, -1, -1});
  b.Output(b.Conv2d("conv", x, 3, 4, 3));
  auto g = b.Finish();
  ASSERT_TRUE(g) << g.error().String();
  model::Model m{*g, {{"conv.weight", torch::randn({4, 3, 3, 3})}}, {}};
  auto ex = Executor::Create(m);
  ASSERT_TRUE(ex);
  auto y = ex->Run(torch::randn({1, 3, 2, 2}), Mode::kInference);
  ASSERT_FALSE(y);
  EXPECT_NE(y.error().message().find("node 'conv'"), std::string::npos) << y.error().message();
}

TEST(Executor, CreateRejectsMissingOrMisshapedTensors) {
  auto m = BlockModel();
  auto missing = m;
  missing.tensors.erase("fc.bias");
  auto r = Executor::Create(missing);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("fc.bias"), std::string::npos);
  auto wrong = m;
  wrong.tensors["fc.weight"] = torch::randn({5, 25});
  r = Executor::Create(wrong);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("fc.weight"), std::string::npos);
}

// A bf16 cast copy computes what the fp32 graph does to bf16's precision, does not move when
// the source changes, follows it after CopyTensorsFrom, and refuses a graph with an fp16 node.
TEST(Executor, CastCopyFollowsItsSourceWhenCopiedAgain) {
  auto m = BlockModel();
  auto ex = Executor::Create(m);
  ASSERT_TRUE(ex);
  auto bf16 = ex->CastCopy(at::kBFloat16);
  ASSERT_TRUE(bf16) << bf16.error().String();
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({4, 7, 6, 6});
  auto close_to_fp32 = [&](const torch::Tensor& y) {
    const torch::Tensor want = *ex->Run(x, Mode::kInference);
    return (y.to(torch::kFloat) - want).abs().max().item<double>() <=
           0.03 * want.abs().max().item<double>();
  };
  const torch::Tensor before = *bf16->Run(x.to(at::kBFloat16), Mode::kInference);
  EXPECT_EQ(before.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(close_to_fp32(before));

  {
    torch::NoGradGuard no_grad;
    m.tensors.at("conv1.weight").mul_(-2.0);  // shared with ex, as an optimizer step would be
  }
  EXPECT_TRUE(torch::equal(*bf16->Run(x.to(at::kBFloat16), Mode::kInference), before));
  EXPECT_FALSE(close_to_fp32(before));
  ASSERT_TRUE(bf16->CopyTensorsFrom(*ex));
  EXPECT_TRUE(close_to_fp32(*bf16->Run(x.to(at::kBFloat16), Mode::kInference)));
  EXPECT_EQ(m.tensors.at("conv1.weight").scalar_type(), at::kFloat);  // the source is not cast

  auto half = m;
  half.graph.nodes[0].precision = ir::Precision::kFp16;
  half.tensors["conv1.weight"] = half.tensors["conv1.weight"].to(at::kHalf);
  half.graph.params["conv1.weight"].dtype = ir::DType::kF16;
  auto half_ex = Executor::Create(half);
  ASSERT_TRUE(half_ex) << half_ex.error().String();
  auto refused = half_ex->CastCopy(at::kBFloat16);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("conv1"), std::string::npos) << refused.error().message();
}

}  // namespace
}  // namespace hadmc::exec
