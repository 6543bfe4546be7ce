#include "hadmc/search/search_space.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include "../compress/compress_test_util.h"
#include "hadmc/hal/profile.h"
#include "test_paths.h"

namespace hadmc::search {
namespace {

compress::CalibrationSet Calib() {
  return {{torch::randn({16, 1, 28, 28}), torch::randint(0, 10, {16})}};
}

TEST(SearchSpaceTest, Resnet8LayersFollowTheGraphAndShareResidualGroups) {
  const model::Model m = compress::testing::ZooModel("resnet8");
  auto s = BuildSearchSpace(m, Calib());
  ASSERT_TRUE(s) << s.error().message();
  int64_t convs = 0, linears = 0;
  for (const ir::Node& n : m.graph.nodes) {
    convs += n.op == "conv2d";
    linears += n.op == "linear";
  }
  ASSERT_EQ(static_cast<int64_t>(s->layers.size()), convs + linears);
  EXPECT_EQ(s->layers.front().kind, "conv2d");
  EXPECT_EQ(s->layers.back().kind, "linear");
  EXPECT_TRUE(s->layers.front().first_or_last && s->layers.back().first_or_last);
  EXPECT_EQ(s->layers.front().in_channels, 1);
  EXPECT_EQ(s->layers.front().out_hw, 28 * 28);
  EXPECT_EQ(s->layers.back().out_hw, 1);
  EXPECT_EQ(s->layers.back().group, -1) << "the logits are not prunable";

  // A residual add ties several convs' outputs into one group: only the first decides it.
  std::map<int64_t, int> producers, deciders;
  double top = 0;
  int64_t macs = 0;
  for (const SearchLayer& l : s->layers) {
    EXPECT_EQ(l.index, &l - &s->layers[0]);
    macs += l.macs;
    if (l.group < 0) continue;
    ++producers[l.group];
    deciders[l.group] += l.decides_group;
    top = std::max(top, l.sensitivity);
    EXPECT_GE(l.sensitivity, 0.0);
  }
  EXPECT_DOUBLE_EQ(top, 1.0);
  EXPECT_LE(macs, s->total_macs);
  bool shared = false;
  for (const auto& [g, n] : producers) {
    EXPECT_EQ(deciders[g], 1) << "group " << g;
    shared = shared || n > 1;
  }
  EXPECT_TRUE(shared) << "resnet8's residual stages tie conv outputs together";
}

TEST(SearchSpaceTest, FeaturesHaveTheDeclaredSizeAndRange) {
  const model::Model m = compress::testing::ZooModel("resnet8");
  auto s = BuildSearchSpace(m, Calib());
  ASSERT_TRUE(s) << s.error().message();
  for (size_t i = 0; i < s->layers.size(); ++i) {
    const std::vector<float> f = LayerFeatures(*s, static_cast<int64_t>(i));
    ASSERT_EQ(static_cast<int64_t>(f.size()), kLayerFeatures);
    for (float v : f) {
      EXPECT_GE(v, 0.0f);
      EXPECT_LE(v, 1.0f);
    }
  }
  EXPECT_FLOAT_EQ(LayerFeatures(*s, 0)[0], 0.0f);
  EXPECT_FLOAT_EQ(LayerFeatures(*s, static_cast<int64_t>(s->layers.size()) - 1)[0], 1.0f);

  auto orin = hal::FindProfile("jetson_orin", std::string(HADMC_SOURCE_DIR) + "/configs/hal");
  auto cpu = hal::FindProfile("x86_cpu", std::string(HADMC_SOURCE_DIR) + "/configs/hal");
  ASSERT_TRUE(orin && cpu);
  const auto a = HardwareFeatures(*orin), b = HardwareFeatures(*cpu);
  ASSERT_EQ(static_cast<int64_t>(a.size()), kHardwareFeatures);
  EXPECT_GT(a[0], b[0]) << "Orin's int8 peak is far above a 2-core CPU's";
  EXPECT_EQ(a[5], 1.0f);  // tensor cores
  EXPECT_EQ(b[5], 0.0f);
}

}  // namespace
}  // namespace hadmc::search
