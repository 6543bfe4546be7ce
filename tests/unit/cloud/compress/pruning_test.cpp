#include <gtest/gtest.h>

#include "compress_test_util.h"
#include "hadmc/compress/dependency_groups.h"
#include "hadmc/compress/prune_channels.h"
#include "hadmc/ir/builder.h"

namespace hadmc::compress {
namespace {

using testing::MaxAbsDiff;
using testing::RunEval;

// x -> a: conv(5)+bn+relu ; b: conv(3)+relu -> concat(8) -> depthwise conv(8)+bn -> relu
//   -> c: conv(6) -> add with a 1x1 projection of the concat (6) -> flatten (3x3) -> linear(4).
model::Model ConcatGraph() {
  ir::GraphBuilder b("concat");
  auto x = b.Input("input", {-1, 2, 3, 3});
  ir::ConvOptions p1;
  p1.padding = 1;
  auto a = b.Op("relu", "ra", {b.BatchNorm("bna", b.Conv2d("a", x, 2, 5, 3, p1), 5)});
  ir::ConvOptions biased;
  biased.bias = true;
  auto bb = b.Op("relu", "rb", {b.Conv2d("b", x, 2, 3, 1, biased)});
  ir::Attributes axis;
  axis.Set("axis", int64_t{1});
  auto cat = b.Op("concat", "cat", {a, bb}, axis);
  ir::ConvOptions dw;
  dw.groups = 8;
  dw.padding = 1;
  auto d = b.Op("relu", "rd", {b.BatchNorm("bnd", b.Conv2d("dw", cat, 8, 8, 3, dw), 8)});
  auto c = b.Conv2d("c", d, 8, 6, 1, biased);
  auto proj = b.Conv2d("proj", cat, 8, 6, 1);
  auto sum = b.Op("add", "add", {c, proj});
  b.Output(b.Linear("fc", b.Flatten("flat", sum), 54, 4));
  auto g = b.Finish();
  EXPECT_TRUE(g.has_value()) << g.error().String();
  model::Model m{*g, {}, {}};
  for (const auto& [name, info] : m.graph.params) m.tensors[name] = torch::zeros(info.shape);
  return testing::RandomizeTensors(std::move(m), 3);
}

const DependencyGroup* GroupOf(const std::vector<DependencyGroup>& groups, const std::string& node) {
  for (const auto& g : groups)
    for (const auto& p : g.producers)
      if (p == node) return &g;
  return nullptr;
}

TEST(DependencyGroupsTest, ConcatDepthwiseAddAndFlatten) {
  auto groups = ComputeDependencyGroups(ConcatGraph().graph);
  ASSERT_TRUE(groups.has_value()) << groups.error().String();
  const DependencyGroup* a = GroupOf(*groups, "a");
  const DependencyGroup* b = GroupOf(*groups, "b");
  const DependencyGroup* c = GroupOf(*groups, "c");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->channels, 5);
  EXPECT_EQ(b->channels, 3);
  EXPECT_EQ(c, GroupOf(*groups, "proj"));  // tied by the add
  EXPECT_EQ(a, GroupOf(*groups, "dw"));   // depthwise passes channels through
  EXPECT_TRUE(a->prunable() && b->prunable() && c->prunable());
  // b's channels sit at offset 5 of the depthwise weight and of c's and proj's input.
  bool found = false;
  for (const ChannelSlice& s : b->slices)
    if (s.param == "c.weight" && s.dim == 1) found = s.offset == 5 && s.stride == 1;
  EXPECT_TRUE(found);
  // c's channels reach the linear through flatten: 9 features per channel.
  found = false;
  for (const ChannelSlice& s : c->slices)
    if (s.param == "fc.weight") found = s.dim == 1 && s.offset == 0 && s.stride == 9;
  EXPECT_TRUE(found);
  const DependencyGroup* fc = GroupOf(*groups, "fc");
  ASSERT_TRUE(fc);
  EXPECT_FALSE(fc->prunable());  // graph output
}

// Channels whose every weight and bias (in every slice of their group) is zero contribute
// nothing: both importances must score exactly them zero, and removing them must leave the
// outputs unchanged.
void KillChannel(model::Model& m, const std::vector<DependencyGroup>& groups,
                 const std::string& producer, int64_t c) {
  torch::NoGradGuard no_grad;
  const DependencyGroup* g = GroupOf(groups, producer);
  ASSERT_TRUE(g);
  for (const ChannelSlice& s : g->slices) {
    if (s.param.find("running_") != std::string::npos) continue;
    m.tensors.at(s.param).narrow(s.dim, s.offset + c * s.stride, s.stride).zero_();
  }
}

class DeadChannelTest : public ::testing::TestWithParam<Importance> {};

TEST_P(DeadChannelTest, RemovingDeadChannelsKeepsOutputs) {
  model::Model m = ConcatGraph();
  auto groups = ComputeDependencyGroups(m.graph);
  ASSERT_TRUE(groups.has_value());
  KillChannel(m, *groups, "a", 1);
  KillChannel(m, *groups, "a", 3);
  KillChannel(m, *groups, "b", 2);
  KillChannel(m, *groups, "c", 4);
  const auto x = torch::randn({3, 2, 3, 3});
  const auto before = RunEval(m, x);
  CalibrationSet calib = {{torch::randn({8, 2, 3, 3}), torch::randint(0, 4, {8})}};
  auto scores = ScoreChannels(m, *groups, GetParam(), calib);
  ASSERT_TRUE(scores.has_value()) << scores.error().String();
  std::vector<std::vector<int64_t>> keep(groups->size());
  for (size_t g = 0; g < groups->size(); ++g) {
    const auto& grp = (*groups)[g];
    for (int64_t c = 0; c < grp.channels; ++c)
      if (!grp.prunable() || (*scores)[g][c].item<double>() > 0) keep[g].push_back(c);
  }
  ASSERT_TRUE(RemoveChannels(m, *groups, keep).has_value());
  EXPECT_EQ(m.tensors.at("a.weight").size(0), 3);
  EXPECT_EQ(m.tensors.at("b.weight").size(0), 2);
  EXPECT_EQ(m.tensors.at("dw.weight").size(0), 5);
  EXPECT_EQ(m.graph.FindNode("dw")->attrs.GetInt("groups").value(), 5);
  EXPECT_EQ(m.tensors.at("c.weight").sizes().vec(), (std::vector<int64_t>{5, 5, 1, 1}));
  EXPECT_EQ(m.tensors.at("fc.weight").sizes().vec(), (std::vector<int64_t>{4, 45}));
  EXPECT_LE(MaxAbsDiff(RunEval(m, x), before), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Importances, DeadChannelTest,
                         ::testing::Values(Importance::kTaylor, Importance::kL1));

TEST(PruneChannelsTest, TaylorNeedsCalibrationData) {
  model::Model m = ConcatGraph();
  PruneOptions o;
  auto r = PruneChannels(m, o, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("calibration"), std::string::npos);
}

TEST(PruneChannelsTest, RejectsRatioOutOfRange) {
  model::Model m = ConcatGraph();
  PruneOptions o;
  o.ratio = 1.0;
  o.importance = Importance::kL1;
  EXPECT_FALSE(PruneChannels(m, o, {}).has_value());
}

class ZooPruneTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooPruneTest, HalfTheChannelsRoundedToEightStillRuns) {
  model::Model m = testing::ZooModel(GetParam(), 32);
  const int64_t in_ch = m.graph.inputs[0].shape[1];
  PruneOptions o;
  o.ratio = 0.5;
  o.round_to = 8;
  o.importance = Importance::kL1;
  auto report = PruneChannels(m, o, {});
  ASSERT_TRUE(report.has_value()) << report.error().String();
  EXPECT_LT(report->params_after, report->params_before * 0.4);
  for (const auto& g : report->groups) {
    EXPECT_LT(g.after, g.before) << g.name;
    EXPECT_EQ(g.after % 8, 0) << g.name;
  }
  const auto y = RunEval(m, torch::randn({2, in_ch, 32, 32}));
  EXPECT_EQ(y.sizes().vec(), (std::vector<int64_t>{2, 10}));
}

INSTANTIATE_TEST_SUITE_P(Archs, ZooPruneTest,
                         ::testing::Values("resnet8", "resnet18", "mobilenet_v2", "vgg11_bn"));

TEST(PruneChannelsTest, ResNet8GroupsFollowTheResiduals) {
  model::Model m = testing::ZooModel("resnet8");
  auto groups = ComputeDependencyGroups(m.graph);
  ASSERT_TRUE(groups.has_value());
  int prunable = 0;
  for (const auto& g : *groups) prunable += g.prunable();
  EXPECT_EQ(prunable, 6);  // stem+layer1 residual, 3 inner convs, 2 downsampled residuals
  EXPECT_EQ(GroupOf(*groups, "conv1"), GroupOf(*groups, "layer1.0.conv2"));
  EXPECT_EQ(GroupOf(*groups, "layer2.0.conv2"), GroupOf(*groups, "layer2.0.downsample.0"));
}

TEST(PruneChannelsTest, GlobalModeRespectsTheCapAndTheRatio) {
  model::Model m = testing::ZooModel("resnet8");
  CalibrationSet calib = {{torch::randn({16, 1, 28, 28}), torch::randint(0, 10, {16})}};
  PruneOptions o;
  o.ratio = 0.5;
  o.global = true;
  o.max_group_ratio = 0.75;
  auto report = PruneChannels(m, o, calib);
  ASSERT_TRUE(report.has_value()) << report.error().String();
  int64_t before = 0, after = 0;
  for (const auto& g : report->groups) {
    EXPECT_GE(g.after, g.before / 4) << g.name;
    before += g.before;
    after += g.after;
  }
  EXPECT_NEAR(static_cast<double>(after) / before, 0.5, 0.02);
}

}  // namespace
}  // namespace hadmc::compress
