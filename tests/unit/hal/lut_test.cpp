// Kernel keys, the kernels of a graph (MACs and bytes by hand), and the LUT: exact rows, the
// staircase neighbour, the roofline fallback and the file format.
#include "hadmc/hal/lut.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hadmc/hal/roofline.h"
#include "hadmc/ir/builder.h"
#include "test_kernel_keys.h"

namespace hadmc::hal {
namespace {

KernelKey Conv(int64_t in, int64_t out, int64_t hw = 28) { return testing::TestConvKey(in, out, hw); }

LutEntry Row(const KernelKey& k, double ms) {
  return {.key = k,
          .median_ms = ms,
          .p90_ms = ms * 1.2,
          .count = 50,
          .source = "measured",
          .updated_at = "2026-01-01T00:00:00Z"};
}

KernelInstance Instance(const KernelKey& k) {
  KernelInstance i;
  i.key = k;
  i.macs = 1'000'000;
  i.bytes = 100'000;
  return i;
}

TEST(KernelKeyTest, TextRoundTrips) {
  KernelKey k = Conv(64, 128);
  k.stride = 2;
  k.precision = ir::Precision::kInt8;
  EXPECT_EQ(k.ToString(), "conv2d_relu|1x64x28x28|o128|k3x3|s2|p1|g1|int8");
  auto back = KernelKey::Parse(k.ToString());
  ASSERT_TRUE(back) << back.error().String();
  EXPECT_EQ(*back, k);
  // Every precision is spelled as the IR spells it.
  for (auto p :
       {ir::Precision::kFp32, ir::Precision::kFp16, ir::Precision::kInt8, ir::Precision::kInt4}) {
    k.precision = p;
    const std::string s = k.ToString();
    EXPECT_EQ(s.substr(s.rfind('|') + 1), ir::PrecisionName(p));
    EXPECT_EQ(*KernelKey::Parse(s), k);
  }
  const KernelKey linear{.kind = "linear",
                         .input = {4, 512},
                         .out_channels = 10,
                         .kernel_h = 0,
                         .kernel_w = 0,
                         .stride = 1,
                         .padding = 0,
                         .groups = 1,
                         .precision = ir::Precision::kFp32};
  EXPECT_EQ(linear.ToString(), "linear|4x512|o10|k0x0|s1|p0|g1|fp32");
  EXPECT_EQ(*KernelKey::Parse(linear.ToString()), linear);
  EXPECT_TRUE(Conv(8, 8) < Conv(8, 16) || Conv(8, 16) < Conv(8, 8));
  EXPECT_FALSE(Conv(8, 8) < Conv(8, 8));
}

TEST(KernelKeyTest, ParseIsStrictAndSaysWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "8 fields"},
      {"conv3x3:64", "8 fields"},
      {"conv2d|1x64x28x28|o128|k3x3|s2|p1|g1", "8 fields"},
      {"conv2d|1x64x28x28|o128|k3x3|s2|p1|g1|int8|x", "8 fields"},
      {"Conv2d|1x64x28x28|o128|k3x3|s2|p1|g1|int8", "kind"},
      {"conv-2d|1x64x28x28|o128|k3x3|s2|p1|g1|int8", "kind"},
      {"conv2d||o128|k3x3|s2|p1|g1|int8", "input shape"},
      {"conv2d|1x-64x28x28|o128|k3x3|s2|p1|g1|int8", "input shape"},
      {"conv2d|1x064x28x28|o128|k3x3|s2|p1|g1|int8", "input shape"},
      {"conv2d|1x64x28x28|128|k3x3|s2|p1|g1|int8", "out channels"},
      {"conv2d|1x64x28x28|o+128|k3x3|s2|p1|g1|int8", "out channels"},
      {"conv2d|1x64x28x28|o128|k3|s2|p1|g1|int8", "kernel"},
      {"conv2d|1x64x28x28|o128|k3x3|s0|p1|g1|int8", "stride"},
      {"conv2d|1x64x28x28|o128|k3x3|s2|pp|g1|int8", "padding"},
      {"conv2d|1x64x28x28|o128|k3x3|s2|p1|g0|int8", "groups"},
      {"conv2d|1x64x28x28|o128|k3x3|s2|p1|g1|INT8", "precision"},
      {"conv2d|1x64x28x28|o99999999999999999|k3x3|s2|p1|g1|int8", "out channels"},
  };
  for (const auto& [text, what] : bad) {
    auto k = KernelKey::Parse(text);
    ASSERT_FALSE(k) << text;
    EXPECT_TRUE(k.error().Is(Errc::kParse)) << k.error().String();
    EXPECT_NE(k.error().message().find(what), std::string::npos)
        << text << " -> " << k.error().message();
  }
}

// input [N,3,8,8] -> conv 3->16 k3 p1 + bias, fused relu -> flatten -> linear 1024->10 (+relu).
ir::Graph SmallGraph() {
  ir::GraphBuilder b("small");
  auto x = b.Input("x", {-1, 3, 8, 8});
  auto c = b.Conv2d(
      "c1", x, 3, 16, 3,
      {.stride = 1, .padding = 1, .dilation = 1, .groups = 1, .bias = true, .activation = "relu"});
  auto f = b.Flatten("flat", c);
  auto l = b.Linear("fc", f, 1024, 10);
  b.graph().nodes.back().attrs.Set("activation", std::string("relu"));
  b.Output(l);
  auto g = b.Finish();
  EXPECT_TRUE(g) << g.error().String();
  return g ? *g : ir::Graph{};
}

TEST(KernelsOfTest, FusedKernelsWithMacsAndBytesByHand) {
  auto kernels = KernelsOf(SmallGraph(), 2);
  ASSERT_TRUE(kernels) << kernels.error().String();
  ASSERT_EQ(kernels->size(), 3u);
  const KernelInstance& conv = (*kernels)[0];
  EXPECT_EQ(conv.node, "c1");
  EXPECT_EQ(conv.key.ToString(), "conv2d_relu|2x3x8x8|o16|k3x3|s1|p1|g1|fp32");
  EXPECT_EQ(conv.output, (ir::Shape{2, 16, 8, 8}));
  EXPECT_EQ(conv.macs, 2 * 8 * 8 * 16 * 3 * 3 * 3);  // per output pixel and channel: 3x3x3
  // fp32: input 2*3*64, weight 16*27, bias 16, output 2*16*64 elements, 4 bytes each.
  EXPECT_EQ(conv.bytes, 4 * (2 * 3 * 64 + 16 * 27 + 16 + 2 * 16 * 64));
  const KernelInstance& flat = (*kernels)[1];
  EXPECT_EQ(flat.key.ToString(), "flatten|2x16x8x8|o1024|k0x0|s1|p0|g1|fp32");
  EXPECT_EQ(flat.macs, 0);
  EXPECT_EQ(flat.bytes, 4 * 2 * (1024 + 1024));
  const KernelInstance& fc = (*kernels)[2];
  EXPECT_EQ(fc.key.ToString(), "linear_relu|2x1024|o10|k0x0|s1|p0|g1|fp32");
  EXPECT_EQ(fc.macs, 2 * 1024 * 10);
  EXPECT_EQ(fc.bytes, 4 * (2 * 1024 + 10 * 1024 + 10 + 2 * 10));

  auto fixed = KernelsOf(SmallGraph(), std::vector<ir::Shape>{{1, 3, 8, 8}});
  ASSERT_TRUE(fixed) << fixed.error().String();
  EXPECT_EQ((*fixed)[0].macs, conv.macs / 2);
  EXPECT_FALSE(KernelsOf(SmallGraph(), 0));
  EXPECT_FALSE(KernelsOf(SmallGraph(), std::vector<ir::Shape>{{1, 4, 8, 8}}));  // 4 != 3 channels
}

TEST(KernelsOfTest, Int8KernelsMoveOneBytePerActivation) {
  // x -> quantize -> int8 conv (I8 weight, per-channel scales, fp32 bias) -> dequantize, as the
  // quantize pass builds it.
  ir::GraphBuilder b("int8");
  auto x = b.Input("x", {-1, 3, 8, 8});
  ir::Attributes q;
  q.Set("scale", 0.05);
  q.Set("zero_point", int64_t{128});
  auto xq = b.Op("quantize", "x.quantize", {x}, q);
  auto c = b.Conv2d(
      "c1", xq, 3, 16, 3,
      {.stride = 1, .padding = 1, .dilation = 1, .groups = 1, .bias = true, .activation = "relu"});
  auto y = b.Op("dequantize", "c1.dequantize", {c});
  b.Output(y);
  ir::Graph& g = b.graph();
  for (ir::Node& n : g.nodes)
    if (n.name != "c1.dequantize") n.precision = ir::Precision::kInt8;
  g.params["c1.weight"].dtype = ir::DType::kI8;
  g.params["c1.weight_scale"] = {{16}, ir::DType::kF32};
  g.FindNode("c1")->params["weight_scale"] = "c1.weight_scale";
  g.FindNode("c1")->attrs.Set("out_scale", 0.1);
  g.FindNode("c1")->attrs.Set("out_zero_point", int64_t{0});
  auto kernels = KernelsOf(g, 1);
  ASSERT_TRUE(kernels) << kernels.error().String();
  ASSERT_EQ(kernels->size(), 3u);
  EXPECT_EQ((*kernels)[0].key.ToString(), "quantize|1x3x8x8|o3|k0x0|s1|p0|g1|int8");
  EXPECT_EQ((*kernels)[0].bytes, 3 * 64 * 4 + 3 * 64);
  EXPECT_EQ((*kernels)[1].key.ToString(), "conv2d_relu|1x3x8x8|o16|k3x3|s1|p1|g1|int8");
  // quint8 input and output, I8 weight, fp32 bias and scales.
  EXPECT_EQ((*kernels)[1].bytes, 3 * 64 + 16 * 27 + 16 * 4 + 16 * 4 + 16 * 64);
  EXPECT_EQ((*kernels)[2].key.precision, ir::Precision::kFp32);
  EXPECT_EQ((*kernels)[2].bytes, 16 * 64 + 16 * 64 * 4);
}

TEST(KernelsOfTest, PoolsTakeTheirWindowAndStride) {
  ir::GraphBuilder b("pool");
  auto x = b.Input("x", {-1, 8, 16, 16});
  b.Output(b.MaxPool("pool", x, 3, 2, 1));
  auto g = b.Finish();
  ASSERT_TRUE(g) << g.error().String();
  auto kernels = KernelsOf(*g, 1);
  ASSERT_TRUE(kernels) << kernels.error().String();
  EXPECT_EQ((*kernels)[0].key.ToString(), "max_pool2d|1x8x16x16|o8|k3x3|s2|p1|g1|fp32");
}

TEST(LatencyLutTest, ExactRowsAreUsedAsMeasured) {
  LatencyLut lut("x86_cpu", {Row(Conv(64, 64), 2.0), Row(Conv(64, 128), 3.5)});
  ASSERT_NE(lut.Find(Conv(64, 128)), nullptr);
  EXPECT_EQ(lut.Find(Conv(64, 96)), nullptr);
  auto p = lut.Predict(Instance(Conv(64, 128)), nullptr);
  EXPECT_EQ(p.how, "exact");
  EXPECT_DOUBLE_EQ(p.ms, 3.5);
  EXPECT_EQ(p.from_key, Conv(64, 128).ToString());
}

TEST(LatencyLutTest, NeighbourWithinAChannelStepPredictsItsTimeExactly) {
  LatencyLut lut("x86_cpu", {Row(Conv(64, 64), 2.0)});
  // 57..64 channels all round up to 64 (step 8): the same time, not a line through 2.0.
  for (int64_t c : {57, 60, 63}) {
    auto p = lut.Predict(Instance(Conv(c, c)), nullptr);
    EXPECT_EQ(p.how, "neighbour") << c;
    EXPECT_DOUBLE_EQ(p.ms, 2.0) << c;
    EXPECT_EQ(p.from_key, Conv(64, 64).ToString());
  }
  // One channel over the step: the next stair, scaled by MACs on the stepped counts.
  EXPECT_DOUBLE_EQ(lut.Predict(Instance(Conv(64, 65)), nullptr).ms, 2.0 * 72 / 64);
  EXPECT_DOUBLE_EQ(lut.Predict(Instance(Conv(65, 65)), nullptr).ms, 2.0 * 72 * 72 / (64 * 64));
  EXPECT_DOUBLE_EQ(lut.Predict(Instance(Conv(128, 128)), nullptr).ms, 8.0);
  // Spatial size and batch scale too.
  EXPECT_DOUBLE_EQ(lut.Predict(Instance(Conv(64, 64, 56)), nullptr).ms, 8.0);

  // A profile's step: with 16, 65..80 channels are one stair.
  HardwareProfile wide;
  wide.channel_step = 16;
  wide.peak_tops = {{"fp32", 1.0}};
  wide.memory_bandwidth_gbs = 10;
  EXPECT_DOUBLE_EQ(lut.Predict(Instance(Conv(64, 72)), &wide).ms, 2.0 * 80 / 64);
  EXPECT_DOUBLE_EQ(lut.Predict(Instance(Conv(64, 80)), &wide).ms, 2.0 * 80 / 64);
}

TEST(LatencyLutTest, TheNearestComparableRowIsTheNeighbour) {
  LatencyLut lut("x86_cpu", {Row(Conv(32, 32), 1.0), Row(Conv(128, 128), 10.0)});
  auto near_big = lut.Predict(Instance(Conv(120, 120)), nullptr);
  EXPECT_EQ(near_big.from_key, Conv(128, 128).ToString());
  // Between the two stairs: a line in (stepped) MACs between their times, not through zero.
  EXPECT_DOUBLE_EQ(near_big.ms, 1.0 + 9.0 * (120.0 * 120 - 32 * 32) / (128.0 * 128 - 32 * 32));
  EXPECT_EQ(lut.Predict(Instance(Conv(40, 40)), nullptr).from_key, Conv(32, 32).ToString());
  // Beyond them: the same line extended (it rises and its fixed cost is >= 0).
  const double slope = 9.0 / (128.0 * 128 - 32 * 32), fixed = 1.0 - slope * 32 * 32;
  EXPECT_DOUBLE_EQ(lut.Predict(Instance(Conv(256, 256)), nullptr).ms, fixed + slope * 256 * 256);
  EXPECT_DOUBLE_EQ(lut.Predict(Instance(Conv(16, 16)), nullptr).ms, fixed + slope * 16 * 16);

  // Another stride, window, precision or groups class is not comparable.
  KernelKey strided = Conv(64, 64);
  strided.stride = 2;
  KernelKey int8 = Conv(64, 64);
  int8.precision = ir::Precision::kInt8;
  KernelKey depthwise = Conv(64, 64);
  depthwise.groups = 64;
  KernelKey one_by_one = Conv(64, 64);
  one_by_one.kernel_h = one_by_one.kernel_w = 1;
  for (const KernelKey& k : {strided, int8, depthwise, one_by_one}) {
    auto p = lut.Predict(Instance(k), nullptr);
    EXPECT_EQ(p.how, "none") << k.ToString();
    EXPECT_EQ(p.ms, 0) << k.ToString();
  }
}

TEST(LatencyLutTest, DepthwiseAndElementwiseKernelsScaleByTheirOwnWork) {
  KernelKey dw = Conv(64, 64);
  dw.groups = 64;
  KernelKey add{.kind = "add_relu",
                .input = {1, 64, 28, 28},
                .out_channels = 64,
                .kernel_h = 0,
                .kernel_w = 0,
                .stride = 1,
                .padding = 0,
                .groups = 1,
                .precision = ir::Precision::kFp32};
  LatencyLut lut("x86_cpu", {Row(dw, 0.4), Row(add, 0.1)});
  KernelKey dw128 = dw;
  dw128.input[1] = dw128.out_channels = dw128.groups = 128;
  auto p = lut.Predict(Instance(dw128), nullptr);
  EXPECT_EQ(p.how, "neighbour");
  EXPECT_DOUBLE_EQ(p.ms, 0.8);  // one input channel per output channel: linear in channels
  KernelKey add96 = add;
  add96.input[1] = add96.out_channels = 96;
  EXPECT_DOUBLE_EQ(lut.Predict(Instance(add96), nullptr).ms, 0.15);  // elements, not MACs
}

TEST(LatencyLutTest, WithoutANeighbourTheRooflineIsUsedWhenAProfileIsGiven) {
  HardwareProfile p;
  p.name = "test";
  p.peak_tops = {{"fp32", 1.0}};
  p.memory_bandwidth_gbs = 10;
  p.compute_efficiency = 0.5;
  p.memory_efficiency = 0.5;
  p.kernel_overhead_us = 5;
  LatencyLut lut("x86_cpu", {Row(Conv(64, 64), 2.0)});
  KernelKey strided = Conv(64, 64);
  strided.stride = 2;
  const KernelInstance k = Instance(strided);
  auto pred = lut.Predict(k, &p);
  EXPECT_EQ(pred.how, "roofline");
  EXPECT_TRUE(pred.from_key.empty());
  EXPECT_DOUBLE_EQ(pred.ms, Roofline(k, p).ms);
  EXPECT_GT(pred.ms, 0);

  auto graph = lut.PredictGraph({Instance(Conv(64, 64)), Instance(Conv(60, 60)), k}, &p);
  EXPECT_EQ(graph.exact, 1);
  EXPECT_EQ(graph.neighbour, 1);
  EXPECT_EQ(graph.roofline, 1);
  EXPECT_EQ(graph.none, 0);
  ASSERT_EQ(graph.kernels.size(), 3u);
  EXPECT_DOUBLE_EQ(graph.ms, 2.0 + 2.0 + Roofline(k, p).ms);
  EXPECT_EQ(lut.PredictGraph({k}, nullptr).none, 1);
}

TEST(LatencyLutTest, FileFormatRoundTripsAndIsValidated) {
  LatencyLut lut("jetson_orin", {Row(Conv(64, 64), 2.0), Row(Conv(8, 16), 0.25)});
  const nlohmann::json j = ToJson(lut);
  EXPECT_EQ(j["device_class"], "jetson_orin");
  ASSERT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["rows"][0]["key"], Conv(64, 64).ToString());
  auto back = LutFromJson(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back) << back.error().String();
  EXPECT_EQ(back->device_class(), "jetson_orin");
  ASSERT_EQ(back->rows().size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back->rows()[i].key, lut.rows()[i].key);
    EXPECT_EQ(back->rows()[i].median_ms, lut.rows()[i].median_ms);
    EXPECT_EQ(back->rows()[i].p90_ms, lut.rows()[i].p90_ms);
    EXPECT_EQ(back->rows()[i].count, lut.rows()[i].count);
    EXPECT_EQ(back->rows()[i].source, lut.rows()[i].source);
    EXPECT_EQ(back->rows()[i].updated_at, lut.rows()[i].updated_at);
  }
  EXPECT_DOUBLE_EQ(back->Predict(Instance(Conv(64, 64)), nullptr).ms, 2.0);

  auto broken = [&](auto edit) {
    nlohmann::json bad = j;
    edit(bad);
    auto r = LutFromJson(bad);
    return r ? std::string("accepted") : r.error().message();
  };
  EXPECT_NE(broken([](auto& b) { b["rows"][1]["key"] = "conv"; }).find("rows[1]"),
            std::string::npos);
  EXPECT_NE(broken([](auto& b) { b["rows"][0]["median_ms"] = -1; }).find("median_ms"),
            std::string::npos);
  EXPECT_NE(broken([](auto& b) { b["rows"][0]["p90_ms"] = 1.0; }).find("p90_ms"),
            std::string::npos);
  EXPECT_NE(broken([](auto& b) { b["rows"][0]["source"] = "guessed"; }).find("source"),
            std::string::npos);
  EXPECT_NE(broken([](auto& b) { b["rows"][0]["count"] = 1.5; }).find("count"), std::string::npos);
  EXPECT_NE(broken([](auto& b) { b["rows"][0]["extra"] = 1; }).find("extra"), std::string::npos);
  EXPECT_NE(broken([](auto& b) { b["rows"][1] = b["rows"][0]; }).find("repeats"),
            std::string::npos);
  EXPECT_NE(broken([](auto& b) { b["device_class"] = ""; }).find("device_class"),
            std::string::npos);
  EXPECT_NE(broken([](auto& b) { b.erase("rows"); }).find("rows"), std::string::npos);
}

}  // namespace
}  // namespace hadmc::hal
