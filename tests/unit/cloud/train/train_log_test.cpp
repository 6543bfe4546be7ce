#include "hadmc/train/train_log.h"

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "train_test_util.h"

namespace hadmc::train {
namespace {

const char* const kRequiredKeys[] = {"epoch", "complete", "lr", "steps", "samples",
                                     "backpropagated", "train_loss", "train_acc", "val_loss",
                                     "val_acc", "best", "epoch_seconds", "images_per_second"};

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

EpochRecord Record(int64_t epoch, bool with_val) {
  EpochRecord r;
  r.epoch = epoch;
  r.lr = 0.1 / epoch;
  r.steps = 10;
  r.samples = 320;
  r.backpropagated = 320;
  r.train_loss = 1.0 / epoch;
  r.train_acc = 0.5 + 0.1 * epoch;
  if (with_val) {
    r.val_loss = 0.9 / epoch;
    r.val_acc = 0.6;
  }
  r.epoch_seconds = 1.5;
  r.images_per_second = 213.3;
  return r;
}

TEST(TrainLogTest, EachLineIsOneEpochObjectWithTheSchema) {
  testing::TempDir dir;
  const std::string path = dir.File("run.jsonl");
  auto log = TrainLog::Open(path, {});
  ASSERT_TRUE(log) << log.error().message();
  EpochRecord with_extra = Record(3, true);
  with_extra.extra = {{"activation_rate", 0.4}};
  for (const EpochRecord& r : {Record(1, true), Record(2, false), with_extra})
    ASSERT_TRUE((*log)->Append(r));
  const auto lines = Lines(path);
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto j = nlohmann::json::parse(lines[i]);
    for (const char* key : kRequiredKeys) EXPECT_TRUE(j.contains(key)) << key << " in line " << i;
    EXPECT_EQ(j["epoch"], static_cast<int64_t>(i + 1));
    auto back = EpochRecordFromJson(j);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->val_acc.has_value(), i != 1);
  }
  EXPECT_TRUE(nlohmann::json::parse(lines[1])["val_acc"].is_null());
  EXPECT_EQ(nlohmann::json::parse(lines[2])["activation_rate"], 0.4);
  EXPECT_EQ(EpochRecordFromJson(nlohmann::json::parse(lines[2]))->extra["activation_rate"], 0.4);
}

TEST(TrainLogTest, OpenRewritesTheLogFromTheResumedHistory) {
  testing::TempDir dir;
  const std::string path = dir.File("run.jsonl");
  {
    std::ofstream junk(path);
    junk << "{\"epoch\": 1}\n{\"epoch\": 2}\n{\"epoch\": 3, \"trunc";  // a killed run's log
  }
  auto log = TrainLog::Open(path, {Record(1, true)});
  ASSERT_TRUE(log);
  ASSERT_TRUE((*log)->Append(Record(2, true)));
  const auto lines = Lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["train_loss"], 1.0);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["epoch"], 2);
}

TEST(TrainLogTest, MissingKeysAreParseErrors) {
  auto r = EpochRecordFromJson({{"epoch", 1}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().Is(Errc::kParse));
}

}  // namespace
}  // namespace hadmc::train
