#include "hadmc/store/manifest.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "hadmc/crypto/sha256.h"
#include "hadmc/store/assemble.h"
#include "hadmc/store/manifest_diff.h"
#include "hadmc/store/model_layout.h"
#include "store_test_util.h"

namespace hadmc::store {
namespace {

using testing::FakeModel;
using testing::MakeSafetensors;

constexpr uint64_t kBlock = 64 * 1024;

Manifest Split(const std::string& file, uint64_t version = 1, uint64_t parent = 0) {
  auto s = SplitModel(file, {"resnet-test", version, parent, kBlock, "2024-01-01T00:00:00Z"});
  EXPECT_TRUE(s) << s.error().String();
  return s->manifest;
}

TEST(ModelLayoutTest, TensorsTileTheFile) {
  const std::string file = MakeSafetensors(FakeModel(), "int8");
  auto layout = ParseModelLayout(file);
  ASSERT_TRUE(layout) << layout.error().String();
  ASSERT_EQ(layout->tensors.size(), 5u);
  EXPECT_EQ(layout->tensors.front().begin, layout->header_size);
  EXPECT_EQ(layout->tensors.back().end, file.size());
  EXPECT_EQ(layout->graph_sha256.size(), 64u);
  for (const auto& t : layout->tensors) EXPECT_EQ(t.quant, t.name == "fc.weight" ? "int8" : "");
}

TEST(ModelLayoutTest, RejectsTruncatedAndTrailingBytes) {
  const std::string file = MakeSafetensors(FakeModel());
  EXPECT_FALSE(ParseModelLayout(file.substr(0, file.size() - 1)));
  EXPECT_FALSE(ParseModelLayout(file + "x"));
  EXPECT_FALSE(ParseModelLayout("short"));
  std::string bad_len = file;
  bad_len[7] = '\x7f';
  EXPECT_FALSE(ParseModelLayout(bad_len));
}

TEST(SplitModelTest, BlocksNeverStraddleTensorsAndReassembleExactly) {
  const std::string file = MakeSafetensors(FakeModel());
  auto split = SplitModel(file, {"resnet-test", 1, 0, kBlock, ""});
  ASSERT_TRUE(split) << split.error().String();
  const Manifest& m = split->manifest;
  std::map<std::string, std::string> blocks(split->blocks.begin(), split->blocks.end());
  uint64_t at = 0;
  for (const auto& b : m.header_blocks) at += b.size;
  for (const auto& t : m.tensors) {
    uint64_t sum = 0;
    for (const auto& b : t.blocks) {
      EXPECT_LE(b.size, kBlock);
      sum += b.size;
    }
    EXPECT_EQ(sum, t.size) << t.name;  // a tensor's blocks cover it exactly
  }
  EXPECT_EQ(m.tensors[0].name, "body.bias");  // file order = sorted names
  EXPECT_EQ(m.tensors[1].blocks.size(), (1'200'000 + kBlock - 1) / kBlock);
  auto rebuilt = AssembleModel(m, [&](const BlockRef& r) -> Result<std::string> {
    return std::string(blocks.at(r.id));
  });
  ASSERT_TRUE(rebuilt) << rebuilt.error().String();
  EXPECT_TRUE(*rebuilt == file);
}

TEST(ManifestTest, SignedJsonRoundTripsAndVerifies) {
  auto key = crypto::SigningKey::Generate();
  Manifest m = Split(MakeSafetensors(FakeModel()));
  ASSERT_TRUE(SignManifest(m, *key));
  const std::string text = ManifestToJson(m, 2);
  auto back = ParseVerifiedManifest(text, {key->Public()});
  ASSERT_TRUE(back) << back.error().String();
  EXPECT_EQ(back->file_sha256, m.file_sha256);
  EXPECT_EQ(CanonicalManifestBytes(*back), CanonicalManifestBytes(m));
  auto other = crypto::SigningKey::Generate();
  EXPECT_FALSE(ParseVerifiedManifest(text, {other->Public()}));
}

TEST(ManifestTest, TamperedManifestIsDetected) {
  auto key = crypto::SigningKey::Generate();
  Manifest m = Split(MakeSafetensors(FakeModel()));
  ASSERT_TRUE(SignManifest(m, *key));
  nlohmann::json j = nlohmann::json::parse(ManifestToJson(m));
  auto tamper = [&](auto&& edit) {
    nlohmann::json t = j;
    edit(t);
    auto r = ParseVerifiedManifest(t.dump(), {key->Public()});
    EXPECT_FALSE(r);
    return r ? Error() : r.error();
  };
  EXPECT_TRUE(tamper([](auto& t) { t["version"] = 2; }).Is(Errc::kCorrupt));
  EXPECT_TRUE(tamper([](auto& t) { t["model"] = "other"; }).Is(Errc::kCorrupt));
  // Swapping a block id for another valid id keeps the structure but breaks the signature.
  const std::string fake_id = crypto::Sha256Hex("evil");
  EXPECT_TRUE(
      tamper([&](auto& t) { t["tensors"][1]["blocks"][0]["id"] = fake_id; }).Is(Errc::kCorrupt));
  EXPECT_TRUE(tamper([](auto& t) { t["signature"]["value"] = std::string(128, '0'); })
                  .Is(Errc::kCorrupt));
  EXPECT_TRUE(tamper([](auto& t) { t.erase("signature"); }).Is(Errc::kCorrupt));
  // Structural damage is a parse error before any signature check.
  EXPECT_TRUE(tamper([](auto& t) { t["tensors"][1]["blocks"][0]["id"] = "../../etc/passwd"; })
                  .Is(Errc::kParse));
  EXPECT_TRUE(tamper([](auto& t) { t["tensors"][1]["size"] = 5; }).Is(Errc::kParse));
  EXPECT_FALSE(ManifestFromJson("{not json"));
}

TEST(ManifestTest, TamperedBlockIsDetectedOnAssembly) {
  const std::string file = MakeSafetensors(FakeModel());
  auto split = SplitModel(file, {"m", 1, 0, kBlock, ""});
  std::map<std::string, std::string> blocks(split->blocks.begin(), split->blocks.end());
  const std::string victim = split->manifest.tensors[1].blocks[3].id;
  blocks[victim][100] ^= 0x01;
  auto r = AssembleModel(split->manifest, [&](const BlockRef& ref) -> Result<std::string> {
    return blocks.at(ref.id);
  });
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().Is(Errc::kCorrupt));
  EXPECT_NE(r.error().message().find(victim), std::string::npos);
}

TEST(ManifestDiffTest, HeadOnlyChangeFetchesOnlyTheHead) {
  const std::string v1 = MakeSafetensors(FakeModel(7));
  const std::string v2 = MakeSafetensors(FakeModel(99));  // only fc.* differ
  const Manifest m1 = Split(v1), m2 = Split(v2, 2, 1);
  const BlockDiff d = ManifestDiff(m1, m2);
  // fc.weight + fc.bias bytes; the header is byte-identical (same shapes, same offsets).
  EXPECT_EQ(d.fetch_bytes, 12'000u + 40u);
  EXPECT_EQ(d.fetch.size(), 2u);
  EXPECT_EQ(d.reused_bytes + d.fetch_bytes, ManifestDataBytes(m2));
  const BlockDiff same = ManifestDiff(m1, m1);
  EXPECT_EQ(same.fetch_bytes, 0u);
  const BlockDiff from_nothing = MissingBlocks(m2, [](const std::string&) { return false; });
  EXPECT_EQ(from_nothing.fetch_bytes, ManifestDataBytes(m2));
}

TEST(SplitModelTest, RejectsBadArguments) {
  const std::string file = MakeSafetensors(FakeModel());
  EXPECT_FALSE(SplitModel(file, {"../evil", 1, 0, kBlock, ""}));
  EXPECT_FALSE(SplitModel(file, {"m", 1, 0, 0, ""}));
  EXPECT_FALSE(SplitModel(file, {"m", 0, 0, kBlock, ""}));
}

}  // namespace
}  // namespace hadmc::store
