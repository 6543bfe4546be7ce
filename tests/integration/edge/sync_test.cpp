// The edge sync against the real cloud server on loopback (real TLS, mTLS device certificate):
// first sync, nothing to do when unchanged, incremental sync of only the changed blocks,
// resume of a cut-off block with a Range request, a bad partial refetched, retention, and a
// manifest signed by an unknown key refused.
#include <gtest/gtest.h>

#include <filesystem>

#include "../server/cloud_server_fixture.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/edge/syncer.h"
#include "hadmc/store/manifest_diff.h"

namespace hadmc::edge {
namespace {

using hadmc::testing::FakeModel;
using hadmc::testing::MakeSafetensors;
namespace fs = std::filesystem;

class EdgeSyncTest : public server::testing::CloudServerTest {
 protected:
  // Publishes `file` as the next version of "resnet" and rolls it out to all of "stable".
  uint64_t Publish(const std::string& file) { return PublishToStable(file); }

  SyncConfig Config(const std::string& name = "edge") {
    SyncConfig c;
    c.server_url = "https://127.0.0.1:" + std::to_string(server_->device_port());
    c.model = "resnet";
    c.tls = {state_.CaCert(), state_.DeviceCert("edge-1"), state_.DeviceKey("edge-1"),
             std::chrono::seconds(10)};
    auto key = crypto::SigningKey::Load(state_.SigningKey());
    EXPECT_TRUE(key) << key.error().String();
    c.pinned_keys = {key->Public()};
    c.state_dir = dir_ / name;
    c.concurrency = 3;
    return c;
  }
};

TEST_F(EdgeSyncTest, FirstSyncThenNothingThenOnlyTheChangedBlocks) {
  const std::string v1_file = MakeSafetensors(FakeModel(7));
  ASSERT_EQ(Publish(v1_file), 1u);
  auto syncer = Syncer::Open(Config());
  ASSERT_TRUE(syncer) << syncer.error().String();

  auto first = (*syncer)->SyncOnce();
  ASSERT_TRUE(first) << first.error().String();
  EXPECT_TRUE(first->changed);
  EXPECT_EQ(first->version, 1u);
  EXPECT_EQ(first->blocks_present, 0);
  EXPECT_GT(first->blocks_fetched, 10);  // 1.2 MB in 64 KiB blocks
  auto bytes = (*syncer)->Assemble(first->manifest);
  ASSERT_TRUE(bytes) << bytes.error().String();
  EXPECT_EQ(*bytes, v1_file);

  auto again = (*syncer)->SyncOnce();  // ETag: 304, nothing transferred
  ASSERT_TRUE(again) << again.error().String();
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->version, 1u);
  EXPECT_EQ(again->blocks_fetched, 0);

  // v2 changes only the classifier head: only its blocks (and the header) travel.
  const std::string v2_file = MakeSafetensors(FakeModel(99));
  ASSERT_EQ(Publish(v2_file), 2u);
  auto second = (*syncer)->SyncOnce();
  ASSERT_TRUE(second) << second.error().String();
  EXPECT_TRUE(second->changed);
  EXPECT_EQ(second->version, 2u);
  const store::BlockDiff diff = store::ManifestDiff(first->manifest, second->manifest);
  EXPECT_EQ(second->blocks_fetched, static_cast<int>(diff.fetch.size()));
  EXPECT_LE(second->blocks_fetched, 3);
  EXPECT_GT(second->blocks_present, 10);
  EXPECT_EQ(second->bytes_fetched, diff.fetch_bytes);
  auto v2 = (*syncer)->Assemble(second->manifest);
  ASSERT_TRUE(v2) << v2.error().String();
  EXPECT_EQ(*v2, v2_file);
  auto latest = (*syncer)->LatestComplete();
  ASSERT_TRUE(latest && *latest);
  EXPECT_EQ((*latest)->version, 2u);
}

TEST_F(EdgeSyncTest, ARestartedSyncerResumesAPartialBlockAndRefetchesABadOne) {
  const std::string file = MakeSafetensors(FakeModel(7));
  ASSERT_EQ(Publish(file), 1u);
  // Learn the manifest with a throwaway syncer, then plant partials in a fresh state dir.
  auto probe = Syncer::Open(Config("probe"));
  ASSERT_TRUE(probe);
  auto m = (*probe)->SyncOnce();
  ASSERT_TRUE(m) << m.error().String();
  const auto blocks = store::FileBlocks(m->manifest);
  std::vector<store::BlockRef> full;  // distinct 64 KiB blocks of body.weight
  for (const auto& b : blocks)
    if (b.size == 64u * 1024 && (full.empty() || full.back().id != b.id)) full.push_back(b);
  ASSERT_GE(full.size(), 2u);
  const store::BlockRef good = full[0], bad = full[1];
  auto good_bytes = (*probe)->blocks().Get(good.id);
  ASSERT_TRUE(good_bytes);

  SyncConfig c = Config("resume");
  fs::create_directories(fs::path(c.state_dir) / "partial");
  // The first 40,000 bytes of one block, as a killed fetch would leave them...
  ASSERT_TRUE(WriteFileAtomically((fs::path(c.state_dir) / "partial" / good.id).string(),
                                  good_bytes->substr(0, 40'000)));
  // ...and garbage in place of another's first half.
  ASSERT_TRUE(WriteFileAtomically((fs::path(c.state_dir) / "partial" / bad.id).string(),
                                  std::string(30'000, 'x')));
  auto syncer = Syncer::Open(c);
  ASSERT_TRUE(syncer);
  auto r = (*syncer)->SyncOnce();
  ASSERT_TRUE(r) << r.error().String();
  // Everything except the 40,000 resumed bytes travelled; the bad partial cost its 30,000 bytes
  // once more (resumed, failed verification, fetched whole).
  EXPECT_EQ(r->bytes_fetched, store::ManifestDataBytes(m->manifest) - 40'000 + (bad.size - 30'000));
  auto bytes = (*syncer)->Assemble(r->manifest);
  ASSERT_TRUE(bytes) << bytes.error().String();
  EXPECT_EQ(*bytes, file);
  EXPECT_TRUE(fs::is_empty(fs::path(c.state_dir) / "partial"));
}

TEST_F(EdgeSyncTest, KeepsOnlyTheNewestVersionsBlocks) {
  SyncConfig c = Config();
  c.retain_versions = 1;
  auto syncer = Syncer::Open(c);
  ASSERT_TRUE(syncer);
  ASSERT_EQ(Publish(MakeSafetensors(FakeModel(7))), 1u);
  auto v1 = (*syncer)->SyncOnce();
  ASSERT_TRUE(v1) << v1.error().String();
  ASSERT_EQ(Publish(MakeSafetensors(FakeModel(99))), 2u);
  auto v2 = (*syncer)->SyncOnce();
  ASSERT_TRUE(v2) << v2.error().String();
  auto versions = (*syncer)->journal().List();
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ(versions->front().version, 2u);
  // v1's head blocks are gone; every v2 block is there.
  for (const auto& b : store::ManifestDiff(v2->manifest, v1->manifest).fetch)
    EXPECT_FALSE((*syncer)->blocks().Contains(b.id)) << b.id;
  for (const auto& b : store::FileBlocks(v2->manifest))
    EXPECT_TRUE((*syncer)->blocks().Contains(b.id)) << b.id;
  EXPECT_FALSE((*syncer)->CompleteVersion(1).has_value());
}

TEST_F(EdgeSyncTest, RefusesAManifestSignedByAnotherKey) {
  ASSERT_EQ(Publish(MakeSafetensors(FakeModel(7))), 1u);
  SyncConfig c = Config();
  auto other = crypto::SigningKey::Generate();
  ASSERT_TRUE(other);
  c.pinned_keys = {other->Public()};
  auto syncer = Syncer::Open(c);
  ASSERT_TRUE(syncer);
  auto r = (*syncer)->SyncOnce();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("refused"), std::string::npos) << r.error().String();
  auto latest = (*syncer)->LatestComplete();
  ASSERT_TRUE(latest);
  EXPECT_FALSE(latest->has_value());  // nothing unverified was recorded as complete
  EXPECT_EQ((*syncer)->blocks().List()->size(), 0u);
}

TEST_F(EdgeSyncTest, ConfigErrorsAreClear) {
  SyncConfig c = Config();
  c.pinned_keys.clear();
  EXPECT_FALSE(Syncer::Open(c));
  c = Config();
  c.model = "../etc";
  EXPECT_FALSE(Syncer::Open(c));
  c = Config();
  c.concurrency = 0;
  EXPECT_FALSE(Syncer::Open(c));
}

}  // namespace
}  // namespace hadmc::edge
