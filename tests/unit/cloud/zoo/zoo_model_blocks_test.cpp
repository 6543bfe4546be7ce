// A real zoo model through the block store: SaveHmc -> SplitModel -> BlockStore -> AssembleModel
// gives the same bytes, and a head-only change costs only the head's blocks.
#include <gtest/gtest.h>

#include "../../common/model/model_test_util.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/store/assemble.h"
#include "hadmc/store/block_store.h"
#include "hadmc/store/manifest_diff.h"
#include "hadmc/zoo/zoo.h"

namespace hadmc {
namespace {

TEST(ZooModelBlocksTest, Resnet8ReassemblesByteForByteAndHeadChangeIsSmall) {
  model::testing::ScratchDir dir;
  auto m = zoo::BuildModel("resnet8", {});
  ASSERT_TRUE(m) << m.error().String();
  ASSERT_TRUE(model::SaveHmc(*m, dir / "v1.hmc"));
  (*m).tensors["fc.weight"] = (*m).tensors["fc.weight"] * 0.5;
  ASSERT_TRUE(model::SaveHmc(*m, dir / "v2.hmc"));
  auto v1 = ReadFile(dir / "v1.hmc"), v2 = ReadFile(dir / "v2.hmc");
  ASSERT_TRUE(v1 && v2);

  auto store = store::BlockStore::Open(dir / "store");
  auto s1 = store::SplitModel(*v1, {"resnet8", 1, 0, 64 * 1024, ""});
  auto s2 = store::SplitModel(*v2, {"resnet8", 2, 1, 64 * 1024, ""});
  ASSERT_TRUE(s1 && s2) << (s1 ? s2.error().String() : s1.error().String());
  for (const auto& [id, bytes] : s1->blocks) ASSERT_TRUE(store->Put(id, bytes));
  auto rebuilt = store::AssembleModel(s1->manifest, [&](const store::BlockRef& b) {
    return store->Get(b.id);
  });
  ASSERT_TRUE(rebuilt) << rebuilt.error().String();
  EXPECT_TRUE(*rebuilt == *v1);
  ASSERT_TRUE(model::LoadHmc(dir / "v1.hmc"));

  const auto diff = store::ManifestDiff(s1->manifest, s2->manifest);
  uint64_t fc_bytes = 0;
  for (const auto& t : s2->manifest.tensors)
    if (t.name == "fc.weight") fc_bytes = t.size;
  EXPECT_GT(fc_bytes, 0u);
  EXPECT_EQ(diff.fetch_bytes, fc_bytes);  // header and every other tensor unchanged
}

}  // namespace
}  // namespace hadmc
