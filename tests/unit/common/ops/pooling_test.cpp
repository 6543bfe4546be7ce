#include "op_test_util.h"
#include <c10/core/InferenceMode.h>

#include <limits>

namespace hadmc::ops_test {
namespace {

TEST(MaxPool2dOpTest, MatchesTorchMaxPool2d) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  struct Case {
    Ints kernel, stride, padding, dilation;
    bool ceil;
    Ints x;
  };
  const Case cases[] = {
      {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false, {3, 13, 13, 13}},  // ResNet stem
      {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true, {1, 7, 14, 14}},    // ceil adds a window
      {{2, 3}, {1, 2}, {1, 0}, {2, 1}, false, {3, 7, 9, 11}},    // non-square, dilation
      {{3, 2}, {2, 2}, {0, 1}, {1, 1}, true, {1, 127, 8, 7}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(ir::ShapeString(c.kernel) + " ceil=" + std::to_string(c.ceil));
    torch::Tensor x = torch::randn(c.x);
    torch::nn::MaxPool2d m(torch::nn::MaxPool2dOptions(c.kernel)
                               .stride(c.stride)
                               .padding(c.padding)
                               .dilation(c.dilation)
                               .ceil_mode(c.ceil));
    OneNode t = MakeOneNode("max_pool2d", {x}, {},
                            Attrs({{"kernel", c.kernel},
                                   {"stride", c.stride},
                                   {"padding", c.padding},
                                   {"dilation", c.dilation},
                                   {"ceil_mode", int64_t{c.ceil}}}));
    EXPECT_TRUE(Close(RunKernel(t), m(x)));
  }
  // Stride defaults to the kernel.
  torch::Tensor x = torch::randn({1, 7, 9, 8});
  EXPECT_TRUE(Close(RunKernel(MakeOneNode("max_pool2d", {x}, {}, Attrs({{"kernel", Ints{3, 2}}}))),
                    torch::max_pool2d(x, {3, 2}, {3, 2})));
}

// Outside training the kernel may take oneDNN's pooling (pooling.cpp); it must give ATen's
// result, NaN included, and leave the autograd path to ATen when the input needs a gradient.
TEST(MaxPool2dOpTest, InferencePathKeepsNanAndGradients) {
  torch::manual_seed(3);
  const ir::Attributes attrs =
      Attrs({{"kernel", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"padding", Ints{1, 1}}});
  {
    c10::InferenceMode inference;
    torch::Tensor x = torch::randn({64, 16, 14, 14});
    EXPECT_TRUE(Close(RunKernel(MakeOneNode("max_pool2d", {x}, {}, attrs)),
                      torch::max_pool2d(x, {3, 3}, {2, 2}, {1, 1})));
    x[5][3][3][3] = std::numeric_limits<float>::quiet_NaN();
    const torch::Tensor y = RunKernel(MakeOneNode("max_pool2d", {x}, {}, attrs));
    EXPECT_TRUE(y[5][3].isnan().any().item<bool>());
    EXPECT_EQ(y.isnan().sum().item<int64_t>(), 4);  // the four windows holding (3, 3)
  }
  // Eval mode with autograd on (a frozen layer inside a trained graph): the gradient flows.
  torch::Tensor x = torch::randn({2, 3, 8, 8}, torch::requires_grad());
  OneNode t = MakeOneNode("max_pool2d", {x}, {}, attrs);
  torch::Tensor y = RunKernel(t);
  ASSERT_TRUE(y.requires_grad());
  y.sum().backward();
  torch::Tensor xr = x.detach().clone().requires_grad_();
  torch::max_pool2d(xr, {3, 3}, {2, 2}, {1, 1}).sum().backward();
  EXPECT_TRUE(Close(x.grad(), xr.grad()));
}

TEST(AvgPool2dOpTest, MatchesTorchAvgPool2d) {
  torch::manual_seed(1);
  torch::NoGradGuard no_grad;
  struct Case {
    Ints kernel, stride, padding;
    bool ceil, include_pad;
    Ints x;
  };
  const Case cases[] = {
      {{2, 2}, {2, 2}, {0, 0}, false, true, {3, 13, 8, 8}},
      {{3, 3}, {2, 2}, {1, 1}, false, false, {3, 7, 13, 13}},
      {{3, 5}, {2, 3}, {1, 2}, true, true, {1, 13, 10, 11}},
      {{3, 3}, {2, 2}, {1, 1}, true, false, {1, 7, 14, 14}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(ir::ShapeString(c.kernel) + " ceil=" + std::to_string(c.ceil) +
                 " include_pad=" + std::to_string(c.include_pad));
    torch::Tensor x = torch::randn(c.x);
    torch::nn::AvgPool2d m(torch::nn::AvgPool2dOptions(c.kernel)
                               .stride(c.stride)
                               .padding(c.padding)
                               .ceil_mode(c.ceil)
                               .count_include_pad(c.include_pad));
    OneNode t = MakeOneNode("avg_pool2d", {x}, {},
                            Attrs({{"kernel", c.kernel},
                                   {"stride", c.stride},
                                   {"padding", c.padding},
                                   {"ceil_mode", int64_t{c.ceil}},
                                   {"count_include_pad", int64_t{c.include_pad}}}));
    EXPECT_TRUE(Close(RunKernel(t), m(x)));
  }
}

TEST(AdaptiveAvgPool2dOpTest, MatchesTorch) {
  torch::manual_seed(2);
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::randn({3, 13, 13, 7});
  for (const Ints& size : {Ints{1, 1}, Ints{3, 5}, Ints{13, 7}, Ints{20, 9}}) {
    SCOPED_TRACE(ir::ShapeString(size));
    OneNode t = MakeOneNode("adaptive_avg_pool2d", {x}, {}, Attrs({{"output_size", size}}));
    EXPECT_TRUE(Close(RunKernel(t), torch::nn::AdaptiveAvgPool2d(size)(x)));
    auto s = Infer(t, {{-1, 13, -1, -1}});
    ASSERT_TRUE(s) << s.error().String();
    EXPECT_EQ(*s, (ir::Shape{-1, 13, size[0], size[1]}));
  }
}

TEST(PoolingOpsTest, ShapesAndErrors) {
  OneNode t =
      MakeOneNode("max_pool2d", {torch::zeros({1})}, {},
                  Attrs({{"kernel", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"padding", Ints{1, 1}}}));
  auto s = Infer(t, {{-1, 64, 112, -1}});
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{-1, 64, 56, -1}));
  EXPECT_EQ(t.def().channel_relation(t.node(), {}), ir::ChannelRelation::kPassThrough);
  EXPECT_EQ(t.def().macs(t.node(), {{1, 64, 112, 112}}, *s, {}), 0);

  auto error_of = [](const std::string& op, ir::Attributes a, ir::Shape x) {
    OneNode t = MakeOneNode(op, {torch::zeros({1})}, {}, std::move(a));
    auto r = Infer(t, {std::move(x)});
    return r ? std::string("no error: ") + ir::ShapeString(*r) : r.error().message();
  };
  std::string e = error_of("max_pool2d", {}, {1, 7, 8, 8});
  EXPECT_NE(e.find("missing attribute 'kernel'"), std::string::npos) << e;
  e = error_of("avg_pool2d", Attrs({{"kernel", Ints{3, 3}}, {"padding", Ints{2, 1}}}),
               {1, 7, 8, 8});
  EXPECT_NE(e.find("'padding' [2,1] must be at most half of the kernel [3,3]"), std::string::npos)
      << e;
  e = error_of("max_pool2d", Attrs({{"kernel", Ints{5, 2}}}), {1, 7, 4, 8});
  EXPECT_NE(e.find("height: window of 5 (kernel 5, dilation 1) does not fit the padded input of "
                   "4"),
            std::string::npos)
      << e;
  e = error_of("max_pool2d", Attrs({{"kernel", Ints{2, 2}}, {"ceil_mode", int64_t{2}}}),
               {1, 7, 4, 8});
  EXPECT_NE(e.find("'ceil_mode' must be 0 or 1, got 2"), std::string::npos) << e;
  e = error_of("avg_pool2d", Attrs({{"kernel", Ints{2}}}), {1, 7, 4, 8});
  EXPECT_NE(e.find("'kernel' must have 2 values [h,w], got 1"), std::string::npos) << e;
  e = error_of("max_pool2d", Attrs({{"kernel", Ints{2, 2}}}), {7, 4, 8});
  EXPECT_NE(e.find("input must be 4-D [N,C,H,W], got [7,4,8] (rank 3)"), std::string::npos) << e;
  e = error_of("adaptive_avg_pool2d", Attrs({{"output_size", Ints{0, 1}}}), {1, 7, 4, 8});
  EXPECT_NE(e.find("'output_size' must be >= 1, got [0,1]"), std::string::npos) << e;
}

}  // namespace
}  // namespace hadmc::ops_test
