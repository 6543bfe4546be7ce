#include "hadmc/hal/kernel_bench.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>

#include "hadmc/compress/quantize_int8.h"
#include "hadmc/hal/int8_backend.h"
#include "test_kernel_keys.h"
#include "hadmc/ir/builder.h"
#include "hadmc/model/model.h"

namespace hadmc::hal {
namespace {

// conv-relu -> conv -> add-relu (residual) -> max pool -> flatten -> linear: the kernel kinds
// of the zoo's residual nets, small enough to time in a test.
model::Model Net() {
  ir::GraphBuilder b("net");
  const std::string x = b.Input("input", {-1, 3, 16, 16});
  ir::ConvOptions relu;
  relu.padding = 1;
  relu.bias = true;
  relu.activation = "relu";
  ir::ConvOptions plain = relu;
  plain.activation = "none";
  const std::string c1 = b.Conv2d("conv1", x, 3, 8, 3, relu);
  const std::string c2 = b.Conv2d("conv2", c1, 8, 8, 3, plain);
  ir::Attributes add;
  add.Set("activation", std::string("relu"));
  const std::string sum = b.Op("add", "add", {c1, c2}, add);
  const std::string pool = b.MaxPool("pool", sum, 2, 2);
  b.Output(b.Linear("fc", b.Flatten("flatten", pool), 8 * 8 * 8, 10));
  auto g = b.Finish();
  EXPECT_TRUE(g) << g.error().String();
  model::Model m{*g, {}, {}};
  torch::manual_seed(3);
  for (const auto& [name, info] : m.graph.params) m.tensors[name] = torch::randn(info.shape) * 0.1;
  return m;
}

BenchOptions Quick(int runs = 12) {
  BenchOptions o;
  o.warmup = 2;
  o.runs = runs;
  return o;
}

void ExpectEveryKernelTimed(const model::Model& m, const BenchOptions& o) {
  auto kernels = KernelsOf(m.graph, o.batch);
  ASSERT_TRUE(kernels) << kernels.error().String();
  auto measured = ProfileModelKernels(m, o);
  ASSERT_TRUE(measured) << measured.error().String();
  ASSERT_EQ(measured->size(), kernels->size());
  for (size_t i = 0; i < kernels->size(); ++i) {
    const KernelMeasurement& k = (*measured)[i];
    EXPECT_EQ(k.kernel.key, (*kernels)[i].key) << i;
    EXPECT_EQ(k.kernel.node, (*kernels)[i].node);
    EXPECT_EQ(k.timing.runs, o.runs) << k.kernel.node;
    EXPECT_GT(k.timing.min_ms, 0) << k.kernel.node;
    EXPECT_LE(k.timing.min_ms, k.timing.median_ms) << k.kernel.node;
    EXPECT_LE(k.timing.median_ms, k.timing.p90_ms) << k.kernel.node;
  }
}

TEST(SummarizeTest, NearestRankMedianAndP90) {
  const Timing t = Summarize({5, 1, 4, 2, 3, 10, 9, 8, 7, 6});
  EXPECT_EQ(t.runs, 10);
  EXPECT_DOUBLE_EQ(t.median_ms, 5);  // the ceil(0.5 * 10) = 5th smallest
  EXPECT_DOUBLE_EQ(t.p90_ms, 9);     // the 9th
  EXPECT_DOUBLE_EQ(t.min_ms, 1);
  const Timing odd = Summarize({3, 1, 2});
  EXPECT_DOUBLE_EQ(odd.median_ms, 2);
  EXPECT_DOUBLE_EQ(odd.p90_ms, 3);
  const Timing one = Summarize({0.25});
  EXPECT_DOUBLE_EQ(one.median_ms, 0.25);
  EXPECT_DOUBLE_EQ(one.p90_ms, 0.25);
  EXPECT_EQ(Summarize({}).runs, 0);
}

TEST(KernelBenchTest, EveryKernelOfAnFp32ModelIsTimed) { ExpectEveryKernelTimed(Net(), Quick()); }

TEST(KernelBenchTest, IsolatedTimingTimesEveryKernelToo) {
  BenchOptions o = Quick();
  o.timing = KernelTiming::kIsolated;
  ExpectEveryKernelTimed(Net(), o);
}

TEST(KernelBenchTest, RepeatedKeysMergeIntoTheirMeanWithAllTheirRuns) {
  auto measured = [](const std::string& node, int64_t channels, double median, double p90) {
    KernelMeasurement k;
    k.kernel.node = node;
    k.kernel.key = testing::TestKey("relu", {1, channels, 4, 4}, channels, 0, 0);
    k.timing = {.median_ms = median, .p90_ms = p90, .min_ms = median / 2, .runs = 10};
    return k;
  };
  const auto merged = MergeRepeatedKeys({measured("a", 8, 1.0, 1.5), measured("b", 16, 5.0, 6.0),
                                         measured("c", 8, 2.0, 2.2), measured("d", 8, 6.0, 7.0)});
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].kernel.node, "a");  // first occurrence's order
  EXPECT_DOUBLE_EQ(merged[0].timing.median_ms, 3.0);  // (1 + 2 + 6) / 3: the sum is kept
  EXPECT_DOUBLE_EQ(merged[0].timing.p90_ms, 7.0);
  EXPECT_DOUBLE_EQ(merged[0].timing.min_ms, 0.5);
  EXPECT_EQ(merged[0].timing.runs, 30);
  EXPECT_EQ(merged[1].kernel.node, "b");
  EXPECT_DOUBLE_EQ(merged[1].timing.median_ms, 5.0);
  EXPECT_EQ(merged[1].timing.runs, 10);
}

TEST(KernelBenchTest, EveryKernelOfAnInt8ModelIsTimedOnItsInt8Kernel) {
  auto backend = ConfigureInt8Backend();
  if (!backend) GTEST_SKIP() << backend.error().String();
  model::Model m = Net();
  compress::QuantizeOptions q;
  q.keep_first_last = false;
  q.reduce_range = backend->reduce_range;
  auto report = compress::QuantizeInt8(m, q, {torch::rand({4, 3, 16, 16})});
  ASSERT_TRUE(report) << report.error().String();
  auto kernels = KernelsOf(m.graph, 1);
  ASSERT_TRUE(kernels) << kernels.error().String();
  int int8 = 0;
  for (const KernelInstance& k : *kernels) int8 += k.key.precision == ir::Precision::kInt8;
  EXPECT_GE(int8, 4) << "conv1, conv2, add, fc and the boundary quantize";
  ExpectEveryKernelTimed(m, Quick());
}

TEST(KernelBenchTest, EndToEndAndTheThreadCountIsRestored) {
  const int before = at::get_num_threads();
  BenchOptions o = Quick();
  o.threads = before == 1 ? 2 : 1;
  auto t = ProfileEndToEnd(Net(), o);
  ASSERT_TRUE(t) << t.error().String();
  EXPECT_EQ(t->runs, o.runs);
  EXPECT_GT(t->median_ms, 0);
  EXPECT_LE(t->median_ms, t->p90_ms);
  EXPECT_EQ(at::get_num_threads(), before);
}

TEST(KernelBenchTest, TheDutyCyclePausesBetweenKernels) {
  const model::Model m = Net();
  BenchOptions o = Quick(20);
  o.max_duty_cycle = 0.25;
  const auto t0 = std::chrono::steady_clock::now();
  auto measured = ProfileModelKernels(m, o);
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(measured) << measured.error().String();
  // Each kernel kept the core busy at least runs x its fastest run, then paused 3x as long.
  double busy_ms = 0;
  for (const KernelMeasurement& k : *measured) busy_ms += k.timing.min_ms * k.timing.runs;
  EXPECT_GE(wall_ms, 4 * busy_ms) << "busy at least " << busy_ms << " ms";
}

TEST(KernelBenchTest, KeepGoingStopsTheProfile) {
  BenchOptions o = Quick();
  int asked = 0;
  o.keep_going = [&asked] { return ++asked < 3; };
  auto measured = ProfileModelKernels(Net(), o);
  ASSERT_FALSE(measured);
  EXPECT_TRUE(IsCancelled(measured.error())) << measured.error().String();
  o.keep_going = [] { return false; };
  auto e2e = ProfileEndToEnd(Net(), o);
  ASSERT_FALSE(e2e);
  EXPECT_TRUE(IsCancelled(e2e.error())) << e2e.error().String();
  EXPECT_FALSE(IsCancelled(Error(Errc::kInternal, "x")));
}

KernelKey Key(const std::string& text) {
  auto k = KernelKey::Parse(text);
  EXPECT_TRUE(k) << k.error().String();
  return k ? *k : KernelKey{};
}

void ExpectSynthetic(const std::string& text) {
  const KernelKey key = Key(text);
  auto m = ProfileSyntheticKernel(key, Quick());
  ASSERT_TRUE(m) << m.error().String();
  EXPECT_EQ(m->kernel.key, key) << m->kernel.key.ToString();
  EXPECT_EQ(m->timing.runs, 12);
  EXPECT_GT(m->timing.median_ms, 0);
  EXPECT_LE(m->timing.median_ms, m->timing.p90_ms);
}

TEST(KernelBenchTest, SyntheticKernelsAtFp32) {
  ExpectSynthetic("conv2d_relu|1x8x16x16|o16|k3x3|s1|p1|g1|fp32");
  ExpectSynthetic("conv2d|1x8x16x16|o8|k3x3|s2|p1|g8|fp32");  // depthwise
  ExpectSynthetic("linear_relu|1x64|o10|k0x0|s1|p0|g1|fp32");
  ExpectSynthetic("add_relu|1x8x16x16|o8|k0x0|s1|p0|g1|fp32");
  ExpectSynthetic("max_pool2d|1x8x16x16|o8|k2x2|s2|p0|g1|fp32");
  ExpectSynthetic("relu|1x8x16x16|o8|k0x0|s1|p0|g1|fp32");
  ExpectSynthetic("conv2d|1x8x16x16|o16|k3x3|s1|p1|g1|fp16");
  ExpectSynthetic("conv2d|1x8x16x16|o16|k3x3|s1|p1|g1|int4");
}

TEST(KernelBenchTest, SyntheticKernelsAtInt8) {
  auto backend = ConfigureInt8Backend();
  if (!backend) GTEST_SKIP() << backend.error().String();
  ExpectSynthetic("conv2d_relu|1x8x16x16|o16|k3x3|s1|p1|g1|int8");
  ExpectSynthetic("conv2d_relu6|1x8x15x15|o13|k3x3|s2|p1|g1|int8");
  ExpectSynthetic("linear|1x64|o10|k0x0|s1|p0|g1|int8");
  ExpectSynthetic("add_relu|1x8x16x16|o8|k0x0|s1|p0|g1|int8");
  ExpectSynthetic("max_pool2d|1x8x16x16|o8|k2x2|s2|p0|g1|int8");
  ExpectSynthetic("quantize|1x8x16x16|o8|k0x0|s1|p0|g1|int8");
  ExpectSynthetic("dequantize|1x8x16x16|o8|k0x0|s1|p0|g1|fp32");
}

TEST(KernelBenchTest, SyntheticKernelsThatCannotBeBuiltSayWhy) {
  auto concat = ProfileSyntheticKernel(Key("concat|1x8x16x16|o16|k0x0|s1|p0|g1|fp32"), Quick());
  ASSERT_FALSE(concat);
  EXPECT_TRUE(concat.error().Is(Errc::kUnsupported)) << concat.error().String();
  auto bn8 = ProfileSyntheticKernel(Key("batch_norm|1x8x16x16|o8|k0x0|s1|p0|g1|int8"), Quick());
  ASSERT_FALSE(bn8);
  EXPECT_TRUE(bn8.error().Is(Errc::kUnsupported)) << bn8.error().String();
  // A relu cannot have 99 output channels on an 8-channel input.
  auto odd = ProfileSyntheticKernel(Key("relu|1x8x16x16|o99|k0x0|s1|p0|g1|fp32"), Quick());
  ASSERT_FALSE(odd);
  EXPECT_TRUE(odd.error().Is(Errc::kInvalidArgument)) << odd.error().String();
  EXPECT_NE(odd.error().message().find("o8"), std::string::npos) << odd.error().message();
  auto huge = ProfileSyntheticKernel(Key("conv2d|1x8x16x16|o65536|k64x64|s1|p0|g1|fp32"), Quick());
  ASSERT_FALSE(huge);
  EXPECT_TRUE(huge.error().Is(Errc::kInvalidArgument)) << huge.error().String();
}

}  // namespace
}  // namespace hadmc::hal
