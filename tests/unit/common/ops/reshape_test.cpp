#include "op_test_util.h"

namespace hadmc::ops_test {
namespace {

namespace F = torch::nn::functional;

TEST(FlattenOpTest, MatchesTorchFlatten) {
  torch::manual_seed(0);
  torch::Tensor x = torch::randn({3, 13, 5, 7});
  OneNode t = MakeOneNode("flatten", {x});
  EXPECT_TRUE(Close(RunKernel(t), torch::nn::Flatten()(x)));
  EXPECT_EQ(t.def().channel_relation(t.node(), {}), ir::ChannelRelation::kFlatten);
  EXPECT_TRUE(Close(RunKernel(MakeOneNode("flatten", {x}, {}, Attrs({{"start_dim", int64_t{2}}}))),
                    torch::flatten(x, 2)));
  EXPECT_TRUE(Close(RunKernel(MakeOneNode("flatten", {x}, {}, Attrs({{"start_dim", int64_t{-2}}}))),
                    torch::flatten(x, 2)));
}

TEST(FlattenOpTest, ShapesAndErrors) {
  OneNode t = MakeOneNode("flatten", {torch::zeros({1})});
  auto s = Infer(t, {{-1, 13, 5, 7}});
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{-1, 455}));
  s = Infer(t, {{-1, 13, -1, 7}});
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{-1, -1}));
  s = Infer(t, {{-1, 13}});
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{-1, 13}));
  t.node().attrs.Set("start_dim", int64_t{4});
  auto e = Infer(t, {{1, 13, 5, 7}});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("'start_dim' is 4, out of range [-4, 3]"), std::string::npos)
      << e.error().message();
}

TEST(UpsampleOpTest, MatchesTorchInterpolate) {
  torch::manual_seed(1);
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::randn({3, 7, 5, 3});
  struct Case {
    ir::Attributes attrs;
    F::InterpolateFuncOptions torch_options;
  };
  const std::vector<Case> cases = {
      {Attrs({{"scale", std::vector<double>{2.0, 2.0}}}),
       F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest)},
      {Attrs({{"scale", Ints{2, 3}}}),  // int list spelling
       F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 3}).mode(torch::kNearest)},
      {Attrs({{"scale", std::vector<double>{1.5, 2.5}}}),
       F::InterpolateFuncOptions()
           .scale_factor(std::vector<double>{1.5, 2.5})
           .mode(torch::kNearest)
           .recompute_scale_factor(false)},
      {Attrs({{"size", Ints{9, 7}}}),
       F::InterpolateFuncOptions().size(Ints{9, 7}).mode(torch::kNearest)},
      {Attrs({{"size", Ints{9, 7}}, {"mode", std::string("bilinear")}}),
       F::InterpolateFuncOptions().size(Ints{9, 7}).mode(torch::kBilinear).align_corners(false)},
      {Attrs({{"size", Ints{11, 4}},
              {"mode", std::string("bilinear")},
              {"align_corners", int64_t{1}}}),
       F::InterpolateFuncOptions().size(Ints{11, 4}).mode(torch::kBilinear).align_corners(true)},
      {Attrs({{"scale", std::vector<double>{2.5, 1.5}}, {"mode", std::string("bilinear")}}),
       F::InterpolateFuncOptions()
           .scale_factor(std::vector<double>{2.5, 1.5})
           .mode(torch::kBilinear)
           .align_corners(false)
           .recompute_scale_factor(false)},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    OneNode t = MakeOneNode("upsample", {x}, {}, cases[i].attrs);
    EXPECT_TRUE(Close(RunKernel(t), F::interpolate(x, cases[i].torch_options)));
  }
}

TEST(UpsampleOpTest, ShapesAndErrors) {
  OneNode t = MakeOneNode("upsample", {torch::zeros({1})}, {},
                          Attrs({{"scale", std::vector<double>{1.5, 2.0}}}));
  auto s = Infer(t, {{-1, 13, 5, -1}});
  ASSERT_TRUE(s) << s.error().String();
  EXPECT_EQ(*s, (ir::Shape{-1, 13, 7, -1}));
  EXPECT_EQ(t.def().channel_relation(t.node(), {}), ir::ChannelRelation::kPassThrough);

  auto error_of = [](ir::Attributes a) {
    OneNode t = MakeOneNode("upsample", {torch::zeros({1})}, {}, std::move(a));
    auto r = Infer(t, {{1, 7, 5, 3}});
    return r ? std::string("no error: ") + ir::ShapeString(*r) : r.error().message();
  };
  std::string e = error_of({});
  EXPECT_NE(e.find("exactly one of the attributes 'scale' [sh,sw] and 'size' [h,w], got neither"),
            std::string::npos)
      << e;
  e = error_of(Attrs({{"scale", std::vector<double>{2, 2}}, {"size", Ints{4, 4}}}));
  EXPECT_NE(e.find("got both"), std::string::npos) << e;
  e = error_of(Attrs({{"scale", std::vector<double>{2}}}));
  EXPECT_NE(e.find("'scale' must have 2 values [h,w], got 1"), std::string::npos) << e;
  e = error_of(Attrs({{"scale", std::vector<double>{0.1, 2}}}));
  EXPECT_NE(e.find("height: input 5 scaled by 0.1"), std::string::npos) << e;
  e = error_of(Attrs({{"scale", std::vector<double>{-1, 2}}}));
  EXPECT_NE(e.find("'scale' must be > 0"), std::string::npos) << e;
  e = error_of(Attrs({{"size", Ints{4, 4}}, {"mode", std::string("bicubic")}}));
  EXPECT_NE(e.find("'mode' is 'bicubic', expected one of: nearest, bilinear"), std::string::npos)
      << e;
  e = error_of(Attrs({{"size", Ints{4, 4}}, {"align_corners", int64_t{1}}}));
  EXPECT_NE(e.find("'align_corners' = 1 needs mode 'bilinear'"), std::string::npos) << e;
  e = error_of(Attrs({{"size", std::string("4x4")}}));
  EXPECT_NE(e.find("'size' is a string, expected int list"), std::string::npos) << e;
}

}  // namespace
}  // namespace hadmc::ops_test
