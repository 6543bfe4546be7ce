// The edge sync against the real cloud server on loopback (real TLS, mTLS device certificate):
// first sync, nothing to do when unchanged, incremental sync of only the changed blocks (counted
// by the server), resume of a cut-off block with a Range request, a bad partial refetched,
// retention, a manifest signed by an unknown key refused, a block corrupted by a tampered server
// refused (and fetched again, or the sync failed), and the server's rate limits with their
// Retry-After reaching the syncer.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "../server/cloud_server_fixture.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/crypto/sha256.h"
#include "hadmc/edge/syncer.h"
#include "hadmc/store/manifest_diff.h"
#include "tampering_server.h"

namespace hadmc::edge {
namespace {

using hadmc::edge::testing::TamperingServer;
using hadmc::testing::FakeModel;
using hadmc::testing::MakeSafetensors;
namespace fs = std::filesystem;

const std::string kBlockRoute = R"(route="/v1/blocks/{sha256}")";

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

  // The manifest the server assigns edge-1 now, and its distinct blocks in fetch order.
  store::Manifest ServerManifest() {
    auto r = Device("edge-1")->Request("GET", "/v1/models/resnet/manifest");
    EXPECT_TRUE(r && r->status == 200);
    auto m = store::ManifestFromJson(r ? r->body : "");
    EXPECT_TRUE(m) << m.error().String();
    return m ? *m : store::Manifest{};
  }
  static std::vector<store::BlockRef> Distinct(const store::Manifest& m) {
    return store::MissingBlocks(m, [](const std::string&) { return false; }).fetch;
  }

  // A server that forwards to the real one and corrupts `block_id`'s bytes `times` times.
  std::unique_ptr<TamperingServer> Tamper(const std::string& block_id, int times) {
    TamperingServer::Options o;
    o.upstream_url = "https://127.0.0.1:" + std::to_string(server_->device_port());
    o.upstream_tls = Config().tls;
    o.cert_file = state_.ServerCert();  // the real server's certificate, from the pinned CA
    o.key_file = state_.ServerKey();
    o.block_id = block_id;
    o.corrupt_times = times;
    auto t = TamperingServer::Start(o);
    EXPECT_TRUE(t) << t.error().String();
    return t ? std::move(*t) : nullptr;
  }

  // Every file in the block store hashes to its name (read raw: BlockStore::Get would verify and
  // delete a bad one, hiding it), and nothing is left in partial/.
  static void ExpectOnlyVerifiedBlocks(const Syncer& s, const std::string& state_dir) {
    auto ids = s.blocks().List();
    ASSERT_TRUE(ids) << ids.error().String();
    for (const std::string& id : *ids) {
      auto bytes = ReadFile(s.blocks().PathFor(id));
      ASSERT_TRUE(bytes) << bytes.error().String();
      EXPECT_EQ(crypto::Sha256Hex(*bytes), id);
    }
    EXPECT_TRUE(fs::is_empty(fs::path(state_dir) / "partial"));
  }

  double BlocksServed() { return Metric("hadmc_blocks_served_total"); }
  double BlockAnswers(int status) {
    return Metric(R"(hadmc_http_requests_total{listener="device",)" + kBlockRoute +
                  ",status=\"" + std::to_string(status) + "\"}");
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

  // The server counts what it sent, independently of the syncer's own count.
  EXPECT_EQ(BlocksServed(), first->blocks_fetched);
  EXPECT_EQ(Metric("hadmc_block_bytes_served_total"), static_cast<double>(first->bytes_fetched));

  auto again = (*syncer)->SyncOnce();  // ETag: 304, nothing transferred
  ASSERT_TRUE(again) << again.error().String();
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->version, 1u);
  EXPECT_EQ(again->blocks_fetched, 0);
  EXPECT_EQ(BlocksServed(), first->blocks_fetched);

  // v2 changes only the classifier head: only its blocks (and the header) travel.
  const std::string v2_file = MakeSafetensors(FakeModel(99));
  ASSERT_EQ(Publish(v2_file), 2u);
  const double served_before = BlocksServed();
  const double bytes_before = Metric("hadmc_block_bytes_served_total");
  const double answers_before = BlockAnswers(200) + BlockAnswers(206);
  auto second = (*syncer)->SyncOnce();
  ASSERT_TRUE(second) << second.error().String();
  EXPECT_TRUE(second->changed);
  EXPECT_EQ(second->version, 2u);
  const store::BlockDiff diff = store::ManifestDiff(first->manifest, second->manifest);
  ASSERT_GT(diff.fetch.size(), 0u);
  // On the server: exactly the diff's blocks were answered, with exactly the diff's bytes.
  EXPECT_EQ(BlocksServed() - served_before, static_cast<double>(diff.fetch.size()));
  EXPECT_EQ(BlockAnswers(200) + BlockAnswers(206) - answers_before,
            static_cast<double>(diff.fetch.size()));
  EXPECT_EQ(Metric("hadmc_block_bytes_served_total") - bytes_before,
            static_cast<double>(diff.fetch_bytes));
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

TEST_F(EdgeSyncTest, ABlockCorruptedByATamperedServerIsRefusedAndFetchedAgain) {
  const std::string file = MakeSafetensors(FakeModel(7));
  ASSERT_EQ(Publish(file), 1u);
  const auto blocks = Distinct(ServerManifest());
  ASSERT_GE(blocks.size(), 3u);
  const store::BlockRef target = blocks[blocks.size() / 2];
  auto tamper = Tamper(target.id, /*times=*/1);
  ASSERT_TRUE(tamper);
  SyncConfig c = Config("tampered-once");
  c.server_url = tamper->url();
  auto syncer = Syncer::Open(c);
  ASSERT_TRUE(syncer) << syncer.error().String();

  auto r = (*syncer)->SyncOnce();
  ASSERT_TRUE(r) << r.error().String();
  EXPECT_EQ(tamper->Requests(target.id), 2);  // the flipped copy, then the good one
  EXPECT_EQ(tamper->BlockRequests(), static_cast<int>(blocks.size()) + 1);
  EXPECT_EQ(r->blocks_fetched, static_cast<int>(blocks.size()));
  EXPECT_EQ(r->bytes_fetched, store::ManifestDataBytes(r->manifest) + target.size);
  // The stored copy is the verified one, and nothing unverified is anywhere in the store.
  auto stored = ReadFile((*syncer)->blocks().PathFor(target.id));
  ASSERT_TRUE(stored) << stored.error().String();
  EXPECT_EQ(crypto::Sha256Hex(*stored), target.id);
  ExpectOnlyVerifiedBlocks(**syncer, c.state_dir);
  auto bytes = (*syncer)->Assemble(r->manifest);
  ASSERT_TRUE(bytes) << bytes.error().String();
  EXPECT_EQ(*bytes, file);
}

TEST_F(EdgeSyncTest, ABlockAlwaysCorruptedFailsTheSyncAndKeepsTheVerifiedOnes) {
  const std::string file = MakeSafetensors(FakeModel(7));
  ASSERT_EQ(Publish(file), 1u);
  const auto blocks = Distinct(ServerManifest());
  ASSERT_GE(blocks.size(), 3u);
  // The last block in fetch order, one connection: every other block is fetched before it.
  const store::BlockRef target = blocks.back();
  auto tamper = Tamper(target.id, /*times=*/-1);
  ASSERT_TRUE(tamper);
  SyncConfig c = Config("tampered-always");
  c.server_url = tamper->url();
  c.concurrency = 1;
  {
    auto syncer = Syncer::Open(c);
    ASSERT_TRUE(syncer) << syncer.error().String();
    auto r = (*syncer)->SyncOnce();
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().Is(Errc::kCorrupt)) << r.error().String();
    const std::string& msg = r.error().message();
    EXPECT_NE(msg.find("block " + target.id.substr(0, 12)), std::string::npos) << msg;
    EXPECT_NE(msg.find("SHA256 mismatch"), std::string::npos) << msg;
    EXPECT_EQ(tamper->Requests(target.id), 2);  // refetched once, then given up

    for (const auto& b : blocks)
      EXPECT_EQ((*syncer)->blocks().Contains(b.id), b.id != target.id) << b.id;
    ExpectOnlyVerifiedBlocks(**syncer, c.state_dir);
    auto recorded = (*syncer)->journal().Get(1);
    ASSERT_TRUE(recorded && *recorded);
    EXPECT_FALSE((*recorded)->complete);
    auto latest = (*syncer)->LatestComplete();
    ASSERT_TRUE(latest) << latest.error().String();
    EXPECT_FALSE(latest->has_value());
  }
  // Against the honest server the kept blocks are not fetched again: only the refused one is.
  c.server_url = Config().server_url;
  auto honest = Syncer::Open(c);
  ASSERT_TRUE(honest) << honest.error().String();
  auto r = (*honest)->SyncOnce();
  ASSERT_TRUE(r) << r.error().String();
  EXPECT_EQ(r->blocks_fetched, 1);
  EXPECT_EQ(r->blocks_present, static_cast<int>(blocks.size()) - 1);
  auto bytes = (*honest)->Assemble(r->manifest);
  ASSERT_TRUE(bytes) << bytes.error().String();
  EXPECT_EQ(*bytes, file);
}

TEST_F(EdgeSyncTest, ARateLimitedServerTellsTheSyncerWhenToComeBack) {
  ASSERT_EQ(Publish(MakeSafetensors(FakeModel(7))), 1u);
  server::DeviceApiLimits limits;
  limits.rate_limit_per_s = 1;  // one manifest poll a second, no burst
  limits.rate_limit_burst = 1;
  RestartWith(limits);
  auto syncer = Syncer::Open(Config());
  ASSERT_TRUE(syncer) << syncer.error().String();
  auto first = (*syncer)->SyncOnce();
  ASSERT_TRUE(first) << first.error().String();
  EXPECT_EQ((*syncer)->retry_after_s(), 0);

  auto refused = (*syncer)->SyncOnce();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("HTTP 429, retry after 1 s"), std::string::npos)
      << refused.error().String();
  EXPECT_EQ((*syncer)->retry_after_s(), 1);

  std::this_thread::sleep_for(std::chrono::seconds((*syncer)->retry_after_s()));
  auto later = (*syncer)->SyncOnce();
  ASSERT_TRUE(later) << later.error().String();
  EXPECT_EQ(later->version, 1u);
  EXPECT_EQ((*syncer)->retry_after_s(), 0);
}

TEST_F(EdgeSyncTest, ABlockRateLimitStopsTheSyncWithTheHintAndKeepsWhatArrived) {
  ASSERT_EQ(Publish(MakeSafetensors(FakeModel(7))), 1u);
  server::DeviceApiLimits limits;
  limits.block_rate_limit_per_s = 0.2;  // a token every 5 s after a burst of 3
  limits.block_rate_limit_burst = 3;
  RestartWith(limits);
  SyncConfig c = Config();
  auto syncer = Syncer::Open(c);
  ASSERT_TRUE(syncer) << syncer.error().String();
  auto r = (*syncer)->SyncOnce();
  ASSERT_FALSE(r);
  const int hint = (*syncer)->retry_after_s();
  EXPECT_GE(hint, 1);
  EXPECT_LE(hint, 5);
  EXPECT_NE(r.error().message().find("HTTP 429, retry after " + std::to_string(hint) + " s"),
            std::string::npos)
      << r.error().String();
  EXPECT_EQ((*syncer)->blocks().List()->size(), 3u);  // the burst's blocks, verified and kept
  ExpectOnlyVerifiedBlocks(**syncer, c.state_dir);
  EXPECT_GE(Metric(R"(hadmc_load_refusals_total{listener="device",reason="rate_limited"})"), 1);
  auto recorded = (*syncer)->journal().Get(1);
  ASSERT_TRUE(recorded && *recorded);
  EXPECT_FALSE((*recorded)->complete);
}

TEST_F(EdgeSyncTest, DefaultLimitsNeverRefuseAFullSyncOfHundredsOfBlocks) {
  // 4 KiB blocks: the 1.2 MB model is ~300 blocks, fetched over 4 connections as fast as
  // loopback allows, then polled a few more times, all under the default device limits.
  auto admin = Admin();
  auto key = crypto::SigningKey::Load(state_.SigningKey());
  ASSERT_TRUE(admin && key);
  auto pub = server::PublishRemote(*admin, token_, MakeSafetensors(FakeModel(7)), "resnet", 4096,
                                   *key);
  ASSERT_TRUE(pub) << pub.error().String();
  auto roll = admin->Request("POST", "/v1/rollouts",
                             R"({"model":"resnet","channel":"stable","version":1,"percent":100})",
                             Auth());
  ASSERT_TRUE(roll && roll->status == 201);
  SyncConfig c = Config();
  c.concurrency = 4;
  auto syncer = Syncer::Open(c);
  ASSERT_TRUE(syncer) << syncer.error().String();
  auto r = (*syncer)->SyncOnce();
  ASSERT_TRUE(r) << r.error().String();
  EXPECT_GE(r->blocks_fetched, 200);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*syncer)->SyncOnce()) << i;
  EXPECT_EQ(Metric(R"(hadmc_load_refusals_total{listener="device",reason="rate_limited"})"), 0);
  EXPECT_EQ(BlocksServed(), r->blocks_fetched);
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
