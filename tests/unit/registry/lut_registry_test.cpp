// The registry's latency LUT: the merge rule (median of the last 8 reports, measured beats
// estimated, runs summed), end-to-end rows, imports and profiling jobs.
#include <gtest/gtest.h>

#include "../store/store_test_util.h"
#include "hadmc/registry/registry.h"
#include "../hal/test_kernel_keys.h"

namespace hadmc::registry {
namespace {

hal::KernelKey Key(int64_t channels) { return testing::TestConvKey(channels, channels); }

LatencyReport Report(const hal::KernelKey& key, double median, double p90, int64_t runs) {
  LatencyReport r;
  r.model = "resnet8";
  r.version = 2;
  r.kernels.push_back({.key = key, .median_ms = median, .p90_ms = p90, .runs = runs});
  return r;
}

class LutRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = OpenSqliteRegistry(dir_ / "registry.db");
    ASSERT_TRUE(r) << r.error().String();
    reg_ = std::move(*r);
    ASSERT_TRUE(reg_->RegisterDevice("edge-1", "jetson_orin"));
    ASSERT_TRUE(reg_->RegisterDevice("edge-2", "jetson_orin"));
    ASSERT_TRUE(reg_->RegisterDevice("x86-1", "x86_cpu"));
  }
  const hal::LutEntry* Row(const DeviceLut& lut, const hal::KernelKey& k) {
    for (const auto& e : lut.rows)
      if (e.key == k) return &e;
    return nullptr;
  }
  hadmc::testing::ScratchDir dir_;
  std::unique_ptr<Registry> reg_;
};

TEST_F(LutRegistryTest, EntryIsTheMedianOfTheLastEightReportsPerClass) {
  // Ten reports 1..10 ms: the entry is the median of the last eight (3..10) = 6.5.
  for (int i = 1; i <= 10; ++i) {
    auto n =
        reg_->RecordLatencyReport(i % 2 ? "edge-1" : "edge-2", Report(Key(64), i, i + 1.0, 50));
    ASSERT_TRUE(n) << n.error().String();
    EXPECT_EQ(*n, 1);
  }
  auto lut = reg_->Lut("jetson_orin");
  ASSERT_TRUE(lut) << lut.error().String();
  ASSERT_EQ(lut->rows.size(), 1u);
  const hal::LutEntry& e = lut->rows[0];
  EXPECT_EQ(e.key, Key(64));
  EXPECT_DOUBLE_EQ(e.median_ms, 6.5);
  EXPECT_DOUBLE_EQ(e.p90_ms, 7.5);
  EXPECT_EQ(e.count, 500);  // every report's runs, not only the window's
  EXPECT_EQ(e.source, "measured");
  EXPECT_FALSE(e.updated_at.empty());
  // An outlier moves the median by one report, not to the outlier.
  ASSERT_TRUE(reg_->RecordLatencyReport("edge-1", Report(Key(64), 1000, 1000, 50)));
  EXPECT_DOUBLE_EQ(Row(*reg_->Lut("jetson_orin"), Key(64))->median_ms, 7.5);
  // Another class sees none of it.
  EXPECT_TRUE(reg_->Lut("x86_cpu")->rows.empty());
}

TEST_F(LutRegistryTest, ImportedEstimatesNeverOverwriteMeasurements) {
  ASSERT_TRUE(reg_->RecordLatencyReport("edge-1", Report(Key(64), 2.0, 2.5, 50)));
  const hal::LutEntry estimate64{.key = Key(64),
                                 .median_ms = 9,
                                 .p90_ms = 9,
                                 .count = 1,
                                 .source = "estimated",
                                 .updated_at = ""};
  const hal::LutEntry estimate32{.key = Key(32),
                                 .median_ms = 1,
                                 .p90_ms = 1.5,
                                 .count = 0,
                                 .source = "estimated",
                                 .updated_at = "2024-05-01T00:00:00Z"};
  auto n = reg_->ImportLut("jetson_orin", {estimate64, estimate32});
  ASSERT_TRUE(n) << n.error().String();
  EXPECT_EQ(*n, 2);
  auto lut = reg_->Lut("jetson_orin");
  ASSERT_EQ(lut->rows.size(), 2u);
  EXPECT_DOUBLE_EQ(Row(*lut, Key(64))->median_ms, 2.0);
  EXPECT_EQ(Row(*lut, Key(64))->source, "measured");
  EXPECT_EQ(Row(*lut, Key(64))->count, 50);
  EXPECT_EQ(Row(*lut, Key(32))->source, "estimated");
  EXPECT_EQ(Row(*lut, Key(32))->updated_at, "2024-05-01T00:00:00Z");
  // The first measurement of a key replaces its estimate.
  ASSERT_TRUE(reg_->RecordLatencyReport("edge-2", Report(Key(32), 0.4, 0.5, 20)));
  lut = reg_->Lut("jetson_orin");
  EXPECT_DOUBLE_EQ(Row(*lut, Key(32))->median_ms, 0.4);
  EXPECT_EQ(Row(*lut, Key(32))->source, "measured");
  EXPECT_EQ(Row(*lut, Key(32))->count, 20);
}

TEST_F(LutRegistryTest, EndToEndRowsMergePerModelVersionAndBatch) {
  LatencyReport r = Report(Key(64), 1, 1, 10);
  r.e2e = E2eTiming{.median_ms = 3.0,
                    .p90_ms = 4.0,
                    .runs = 50,
                    .joules_per_inference = 0.02,
                    .energy_measured = false,
                    .energy_source = "tdp-estimate"};
  auto n = reg_->RecordLatencyReport("edge-1", r);
  ASSERT_TRUE(n) << n.error().String();
  EXPECT_EQ(*n, 2);
  r.e2e->median_ms = 5.0;
  r.e2e->p90_ms = 6.0;
  r.e2e->joules_per_inference.reset();
  ASSERT_TRUE(reg_->RecordLatencyReport("edge-2", r));
  r.batch = 8;
  ASSERT_TRUE(reg_->RecordLatencyReport("edge-2", r));
  auto lut = reg_->Lut("jetson_orin");
  ASSERT_EQ(lut->e2e.size(), 2u);
  const E2eLatencyRow& b1 = lut->e2e[0];
  EXPECT_EQ(b1.model, "resnet8");
  EXPECT_EQ(b1.version, 2u);
  EXPECT_EQ(b1.batch, 1);
  EXPECT_DOUBLE_EQ(b1.median_ms, 4.0);
  EXPECT_DOUBLE_EQ(b1.p90_ms, 5.0);
  EXPECT_EQ(b1.count, 100);
  ASSERT_TRUE(b1.joules_per_inference);
  EXPECT_DOUBLE_EQ(*b1.joules_per_inference, 0.02);
  EXPECT_EQ(b1.energy_source, "tdp-estimate");
  EXPECT_EQ(lut->e2e[1].batch, 8);
  EXPECT_FALSE(lut->e2e[1].joules_per_inference);
}

TEST_F(LutRegistryTest, DevicesWithoutAClassCannotReport) {
  auto unknown = reg_->RecordLatencyReport("nobody", Report(Key(64), 1, 1, 1));
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(unknown.error().Is(Errc::kNotFound)) << unknown.error().String();
  ASSERT_TRUE(reg_->RegisterDevice("bare", ""));
  auto bare = reg_->RecordLatencyReport("bare", Report(Key(64), 1, 1, 1));
  ASSERT_FALSE(bare);
  EXPECT_TRUE(bare.error().Is(Errc::kInvalidArgument)) << bare.error().String();
  // The class a heartbeat detected is used when none was registered.
  Heartbeat h;
  h.device_id = "bare";
  h.state = "serving";
  h.health = "ok";
  h.device_class = "mlu370";
  ASSERT_TRUE(reg_->RecordHeartbeat(h));
  ASSERT_TRUE(reg_->RecordLatencyReport("bare", Report(Key(64), 1, 1, 1)));
  EXPECT_EQ(reg_->Lut("mlu370")->rows.size(), 1u);
}

TEST_F(LutRegistryTest, ProfilingJobsArePendingUntilAnswered) {
  EXPECT_FALSE(reg_->AddProfileJob("jetson_orin", {}, 50));
  EXPECT_FALSE(reg_->AddProfileJob("jetson_orin", {Key(8)}, 0));
  auto job = reg_->AddProfileJob("jetson_orin", {Key(8), Key(16)}, 30);
  ASSERT_TRUE(job) << job.error().String();
  auto other = reg_->AddProfileJob("x86_cpu", {Key(8)}, 30);
  ASSERT_TRUE(other);

  auto pending = reg_->PendingProfileJobs("edge-1");
  ASSERT_TRUE(pending) << pending.error().String();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, job->id);
  EXPECT_EQ((*pending)[0].kernels, (std::vector<hal::KernelKey>{Key(8), Key(16)}));
  EXPECT_EQ((*pending)[0].runs, 30);

  // Answering another class's job is refused, and nothing of the report is kept.
  LatencyReport wrong = Report(Key(8), 0.1, 0.2, 30);
  wrong.job = other->id;
  auto refused = reg_->RecordLatencyReport("edge-1", wrong);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().Is(Errc::kNotFound)) << refused.error().String();
  EXPECT_TRUE(reg_->Lut("jetson_orin")->rows.empty());

  LatencyReport answer = Report(Key(8), 0.1, 0.2, 30);
  answer.kernels.push_back({.key = Key(16), .median_ms = 0.3, .p90_ms = 0.4, .runs = 30});
  answer.job = job->id;
  ASSERT_TRUE(reg_->RecordLatencyReport("edge-1", answer));
  EXPECT_TRUE(reg_->PendingProfileJobs("edge-1")->empty());
  EXPECT_EQ(reg_->PendingProfileJobs("edge-2")->size(), 1u);
  auto jobs = reg_->ListProfileJobs("jetson_orin");
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].answered, 1);
  EXPECT_EQ(reg_->Lut("jetson_orin")->rows.size(), 2u);
}

}  // namespace
}  // namespace hadmc::registry
