#include "hadmc/hal/roofline.h"

#include <gtest/gtest.h>

namespace hadmc::hal {
namespace {

// Round numbers so the expected times can be worked out by hand: effective compute
// 1 TOPS x 0.5 = 5e11 ops/s (int8: 2e12 ops/s), effective bandwidth 100 GB/s x 0.5 = 5e10 B/s,
// 10 us per kernel.
HardwareProfile Device() {
  HardwareProfile p;
  p.name = "test";
  p.peak_tops = {{"fp32", 1.0}, {"int8", 4.0}};
  p.precisions = {"fp32", "int8"};
  p.memory_bandwidth_gbs = 100;
  p.compute_efficiency = 0.5;
  p.memory_efficiency = 0.5;
  p.kernel_overhead_us = 10;
  return p;
}

KernelInstance Kernel(int64_t macs, int64_t bytes, ir::Precision precision = ir::Precision::kFp32) {
  KernelInstance k;
  k.key.kind = "conv2d_relu";
  k.key.precision = precision;
  k.macs = macs;
  k.bytes = bytes;
  return k;
}

TEST(RooflineTest, ComputeBoundKernel) {
  // 1e9 MACs = 2e9 ops / 5e11 = 4 ms; 1 MB / 5e10 = 0.02 ms.
  const RooflineEstimate e = Roofline(Kernel(1'000'000'000, 1'000'000), Device());
  EXPECT_DOUBLE_EQ(e.compute_ms, 4.0);
  EXPECT_DOUBLE_EQ(e.memory_ms, 0.02);
  EXPECT_TRUE(e.compute_bound);
  EXPECT_DOUBLE_EQ(e.ms, 4.01);
  EXPECT_EQ(e.precision_used, "fp32");
}

TEST(RooflineTest, MemoryBoundKernel) {
  // 1e6 MACs = 0.004 ms; 100 MB / 5e10 = 2 ms.
  const RooflineEstimate e = Roofline(Kernel(1'000'000, 100'000'000), Device());
  EXPECT_DOUBLE_EQ(e.compute_ms, 0.004);
  EXPECT_DOUBLE_EQ(e.memory_ms, 2.0);
  EXPECT_FALSE(e.compute_bound);
  EXPECT_DOUBLE_EQ(e.ms, 2.01);
}

TEST(RooflineTest, PrecisionPicksThePeak) {
  // int8 at 4 TOPS: 2e9 / 2e12 = 1 ms.
  const RooflineEstimate int8 = Roofline(Kernel(1'000'000'000, 0, ir::Precision::kInt8), Device());
  EXPECT_EQ(int8.precision_used, "int8");
  EXPECT_DOUBLE_EQ(int8.compute_ms, 1.0);
  // int4 is not listed: it runs at the widest listed precision, fp32 (dequantized).
  const RooflineEstimate int4 = Roofline(Kernel(1'000'000'000, 0, ir::Precision::kInt4), Device());
  EXPECT_EQ(int4.precision_used, "fp32");
  EXPECT_DOUBLE_EQ(int4.compute_ms, 4.0);
  // A device without fp32 (an Ascend 310) runs fp32 kernels at its fp16 rate.
  HardwareProfile npu = Device();
  npu.peak_tops = {{"fp16", 2.0}, {"int8", 4.0}};
  npu.precisions = {"fp16", "int8"};
  const RooflineEstimate fp32 = Roofline(Kernel(1'000'000'000, 0), npu);
  EXPECT_EQ(fp32.precision_used, "fp16");
  EXPECT_DOUBLE_EQ(fp32.compute_ms, 2.0);
}

TEST(RooflineTest, EmptyKernelCostsItsOverheadAndGraphsSum) {
  const RooflineEstimate flatten = Roofline(Kernel(0, 0), Device());
  EXPECT_DOUBLE_EQ(flatten.ms, 0.01);
  EXPECT_FALSE(flatten.compute_bound);
  const std::vector<KernelInstance> graph = {Kernel(1'000'000'000, 1'000'000),
                                             Kernel(1'000'000, 100'000'000), Kernel(0, 0)};
  EXPECT_NEAR(RooflineGraphMs(graph, Device()), 4.01 + 2.01 + 0.01, 1e-12);
  EXPECT_EQ(RooflineGraphMs({}, Device()), 0);
}

}  // namespace
}  // namespace hadmc::hal
