#include "hadmc/registry/registry.h"

#include <gtest/gtest.h>

#include <thread>

#include "../store/store_test_util.h"
#include "hadmc/db/sqlite.h"
#include "hadmc/registry/rollout_policy.h"
#include "../../../cloud/registry/schema.h"  // the migrations, for the upgrade test

namespace hadmc::registry {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = OpenSqliteRegistry(dir_ / "registry.db");
    ASSERT_TRUE(r) << r.error().String();
    reg_ = std::move(*r);
  }
  VersionRecord Version(uint64_t v) {
    return {"resnet8", v, v - 1, "{\"v\":" + std::to_string(v) + "}", "sha", 100 * v, "g",
            "2024-01-01T00:00:00Z"};
  }
  testing::ScratchDir dir_;
  std::unique_ptr<Registry> reg_;
};

TEST_F(RegistryTest, VersionsAreImmutable) {
  EXPECT_EQ(*reg_->LatestVersion("resnet8"), 0u);
  ASSERT_TRUE(reg_->AddVersion(Version(1)));
  ASSERT_TRUE(reg_->AddVersion(Version(2)));
  auto again = reg_->AddVersion(Version(2));
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().Is(Errc::kAlreadyExists)) << again.error().String();
  EXPECT_EQ(*reg_->LatestVersion("resnet8"), 2u);
  auto v = reg_->GetVersion("resnet8", 1);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->manifest_json, "{\"v\":1}");
  EXPECT_TRUE(reg_->GetVersion("resnet8", 9).error().Is(Errc::kNotFound));
  auto list = reg_->ListVersions("resnet8");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].version, 2u);
  auto models = reg_->ListModels();
  ASSERT_EQ(models->size(), 1u);
  EXPECT_EQ((*models)[0].latest_version, 2u);
  // Not even raw SQL can change a published version.
  auto db = db::Database::Open(dir_ / "registry.db");
  ASSERT_TRUE(db);
  EXPECT_FALSE((*db)->Exec("UPDATE versions SET manifest = 'x'"));
  EXPECT_FALSE((*db)->Exec("DELETE FROM versions"));
}

TEST_F(RegistryTest, MigrationsAreRecordedAndIdempotent) {
  reg_.reset();
  auto again = OpenSqliteRegistry(dir_ / "registry.db");
  ASSERT_TRUE(again) << again.error().String();
  auto db = db::Database::Open(dir_ / "registry.db");
  EXPECT_EQ(*(*db)->SchemaVersion(), static_cast<int64_t>(SchemaMigrations().size()));
}

TEST_F(RegistryTest, ADatabaseOfTheFirstSchemaIsUpgradedInPlace) {
  const std::string path = dir_ / "old.db";
  {
    auto db = db::Database::Open(path);
    ASSERT_TRUE(db) << db.error().String();
    ASSERT_TRUE((*db)->Migrate({SchemaMigrations()[0]}));
    ASSERT_TRUE((*db)->Exec("INSERT INTO devices(id, device_class, version) VALUES ('old-1', 'x86_cpu', 3)"));
  }
  auto reg = OpenSqliteRegistry(path);
  ASSERT_TRUE(reg) << reg.error().String();
  auto d = (*reg)->GetDevice("old-1");
  ASSERT_TRUE(d) << d.error().String();
  EXPECT_EQ(d->last.version, 3u);
  EXPECT_EQ(d->last.free_disk_bytes, -1);  // not reported yet
  EXPECT_EQ(d->last.device_class, "");
}

TEST_F(RegistryTest, RolloutsNeedAPublishedVersion) {
  EXPECT_TRUE(reg_->AddRollout({"resnet8", "stable", 1, 100, ""}).error().Is(Errc::kNotFound));
  ASSERT_TRUE(reg_->AddVersion(Version(1)));
  EXPECT_FALSE(reg_->AddRollout({"resnet8", "stable", 1, 101, ""}));
  auto r1 = reg_->AddRollout({"resnet8", "stable", 1, 100, ""});
  ASSERT_TRUE(r1) << r1.error().String();
  ASSERT_TRUE(reg_->AddVersion(Version(2)));
  auto r2 = reg_->AddRollout({"resnet8", "stable", 2, 10, "edge-*"});
  ASSERT_TRUE(r2);
  auto got = reg_->GetRollout(r2->id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->version, 2u);
  EXPECT_EQ(got->device_filter, "edge-*");
  auto list = reg_->ListRollouts("resnet8", "stable");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, r2->id);  // newest first
}

registry::Heartbeat Hb(const std::string& id, const std::string& model, uint64_t version,
                       const std::string& state, const std::string& health, double p50,
                       double p99, int64_t errors, const std::string& message) {
  registry::Heartbeat h;
  h.device_id = id;
  h.model = model;
  h.version = version;
  h.state = state;
  h.health = health;
  h.p50_ms = p50;
  h.p99_ms = p99;
  h.errors = errors;
  h.message = message;
  return h;
}

TEST_F(RegistryTest, HeartbeatsUpdateDevicesAndFleet) {
  ASSERT_TRUE(reg_->RegisterDevice("edge-1", "jetson_orin"));
  ASSERT_TRUE(reg_->RegisterDevice("edge-2", "x86_cpu"));
  ASSERT_TRUE(reg_->RecordHeartbeat(Hb("edge-1", "resnet8", 2, "serving", "ok", 1.5, 3.0, 0, "")));
  ASSERT_TRUE(reg_->RecordHeartbeat(Hb("edge-3", "resnet8", 1, "serving", "degraded", 2, 9, 4, "x")));
  auto d = reg_->GetDevice("edge-1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->device_class, "jetson_orin");
  EXPECT_EQ(d->last.version, 2u);
  EXPECT_FALSE(d->last_seen.empty());
  EXPECT_TRUE(reg_->GetDevice("nope").error().Is(Errc::kNotFound));
  auto f = reg_->Fleet();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->devices, 3);
  EXPECT_EQ(f->reporting, 2);
  EXPECT_EQ(f->by_version.at("resnet8@2"), 1);
  EXPECT_EQ(f->by_health.at("degraded"), 1);
  auto list = reg_->ListDevices(2, 1);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "edge-2");
  // What an edge daemon reports about itself round-trips; unreported fields say so (-1).
  EXPECT_EQ(d->last.free_disk_bytes, -1);
  registry::Heartbeat h = Hb("edge-2", "resnet8", 2, "idle", "ok", 1, 2, 0, "");
  h.uptime_s = 3600;
  h.inferences = 12345;
  h.free_disk_bytes = 5'000'000'000;
  h.free_memory_bytes = 1'000'000'000;
  h.device_class = "x86_cpu";
  ASSERT_TRUE(reg_->RecordHeartbeat(h));
  auto e2 = reg_->GetDevice("edge-2");
  ASSERT_TRUE(e2);
  EXPECT_EQ(e2->last.uptime_s, 3600);
  EXPECT_EQ(e2->last.inferences, 12345);
  EXPECT_EQ(e2->last.free_disk_bytes, 5'000'000'000);
  EXPECT_EQ(e2->last.free_memory_bytes, 1'000'000'000);
  EXPECT_EQ(e2->last.device_class, "x86_cpu");
}

TEST_F(RegistryTest, AdminTokensByHash) {
  ASSERT_TRUE(reg_->AddAdminToken("ops", std::string(64, 'a')));
  EXPECT_EQ(*reg_->FindAdminToken(std::string(64, 'a')), "ops");
  EXPECT_FALSE(reg_->FindAdminToken(std::string(64, 'b')));
}

TEST_F(RegistryTest, ConcurrentHeartbeats) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i)
        EXPECT_TRUE(reg_->RecordHeartbeat(
            Hb("edge-" + std::to_string(t), "m", 1, "serving", "ok", 1, 2, 0, "")));
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(reg_->Fleet()->devices, 4);
}

TEST(RolloutPolicyTest, BucketsAreStableAndPercentagesNest) {
  EXPECT_EQ(RolloutBucket("m", 2, "edge-1"), RolloutBucket("m", 2, "edge-1"));
  RolloutRecord ten, fifty;
  ten.model = fifty.model = "m";
  ten.version = fifty.version = 2;
  ten.percent = 10;
  fifty.percent = 50;
  int in_ten = 0, in_fifty = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = "edge-" + std::to_string(i);
    const bool a = RolloutCovers(ten, id), b = RolloutCovers(fifty, id);
    in_ten += a;
    in_fifty += b;
    EXPECT_TRUE(!a || b) << id << " is in 10% but not in 50%";
  }
  EXPECT_NEAR(in_ten, 200, 60);
  EXPECT_NEAR(in_fifty, 1000, 100);
}

TEST(RolloutPolicyTest, NewestCoveringRolloutWins) {
  RolloutRecord all, canary, rollback;
  all.model = canary.model = rollback.model = "m";
  all.version = 1;
  all.percent = 100;
  canary.version = 2;
  canary.percent = 100;
  canary.device_filter = "lab-*";
  rollback.version = 1;
  rollback.percent = 0;
  EXPECT_EQ(ChooseRollout({canary, all}, "lab-7")->version, 2u);
  EXPECT_EQ(ChooseRollout({canary, all}, "edge-7")->version, 1u);
  EXPECT_EQ(ChooseRollout({rollback, canary, all}, "lab-7")->version, 2u);  // 0% covers nobody
  EXPECT_FALSE(ChooseRollout({canary}, "edge-7"));
}

}  // namespace
}  // namespace hadmc::registry
