#include "hadmc/store/block_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "hadmc/crypto/sha256.h"
#include "store_test_util.h"

namespace hadmc::store {
namespace {

class BlockStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = BlockStore::Open(dir_ / "store");
    ASSERT_TRUE(s) << s.error().String();
    store_.emplace(std::move(*s));
  }
  testing::ScratchDir dir_;
  std::optional<BlockStore> store_;
};

TEST_F(BlockStoreTest, PutGetLayout) {
  const std::string bytes = testing::RandomBytes(1000, 3);
  const std::string id = crypto::Sha256Hex(bytes);
  ASSERT_TRUE(store_->Put(id, bytes));
  EXPECT_TRUE(store_->Contains(id));
  EXPECT_EQ(store_->PathFor(id), dir_ / "store/objects/" + id.substr(0, 2) + "/" + id.substr(2));
  EXPECT_TRUE(std::filesystem::exists(store_->PathFor(id)));
  auto got = store_->Get(id);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, bytes);
  EXPECT_TRUE(store_->Put(id, bytes));  // idempotent
  auto ids = store_->List();
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, std::vector<std::string>{id});
}

TEST_F(BlockStoreTest, RejectsBadIdsAndMismatchedBytes) {
  const std::string id = crypto::Sha256Hex("abc");
  EXPECT_TRUE(store_->Put(id, "abd").error().Is(Errc::kCorrupt));
  for (const std::string& bad : {std::string("../../etc/passwd"), id.substr(1), std::string(),
                                id.substr(0, 63) + "G", "/" + id.substr(1)}) {
    EXPECT_TRUE(store_->Put(bad, "abc").error().Is(Errc::kInvalidArgument)) << bad;
    EXPECT_TRUE(store_->Get(bad).error().Is(Errc::kInvalidArgument)) << bad;
    EXPECT_FALSE(store_->Contains(bad));
  }
  EXPECT_TRUE(store_->Get(id).error().Is(Errc::kNotFound));
}

TEST_F(BlockStoreTest, CorruptBlockOnDiskIsDetectedAndRemoved) {
  auto id = store_->PutBytes("hello block");
  ASSERT_TRUE(id);
  const std::string path = store_->PathFor(*id);
  ::chmod(path.c_str(), 0644);
  std::ofstream(path, std::ios::binary) << "hellO block";
  auto got = store_->Get(*id);
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().Is(Errc::kCorrupt));
  EXPECT_FALSE(store_->Contains(*id));  // removed so that it can be fetched again
  EXPECT_TRUE(store_->Put(*id, "hello block"));
  EXPECT_TRUE(store_->Get(*id));
}

TEST_F(BlockStoreTest, ConcurrentWritersOfTheSameBlock) {
  const std::string bytes = testing::RandomBytes(300'000, 5);
  const std::string id = crypto::Sha256Hex(bytes);
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int i = 0; i < 8; ++i)
    writers.emplace_back([&] {
      auto other = BlockStore::Open(store_->root());  // as separate processes would
      for (int k = 0; k < 5; ++k)
        if (!other->Put(id, bytes)) ++failures;
    });
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures, 0);
  auto got = store_->Get(id);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, bytes);
  // No temporary files left behind.
  size_t files = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir_ / "store/objects"))
    files += f.is_regular_file();
  EXPECT_EQ(files, 1u);
}

TEST_F(BlockStoreTest, GcKeepsReferencedAndRecentBlocks) {
  auto keep = store_->PutBytes("keep me");
  auto drop = store_->PutBytes("drop me");
  ASSERT_TRUE(keep && drop);
  auto recent = store_->Gc({*keep}, std::chrono::hours(1));
  ASSERT_TRUE(recent);
  EXPECT_EQ(recent->removed, 0u);
  EXPECT_EQ(recent->skipped_recent, 1u);
  auto now = store_->Gc({*keep}, std::chrono::seconds(-1));
  ASSERT_TRUE(now);
  EXPECT_EQ(now->kept, 1u);
  EXPECT_EQ(now->removed, 1u);
  EXPECT_EQ(now->removed_bytes, 7u);
  EXPECT_TRUE(store_->Contains(*keep));
  EXPECT_FALSE(store_->Contains(*drop));
}

}  // namespace
}  // namespace hadmc::store
