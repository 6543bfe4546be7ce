#include "hadmc/search/policy.h"

#include <gtest/gtest.h>

namespace hadmc::search {
namespace {

CompressionPolicy Sample() {
  CompressionPolicy p;
  p.layers = {{0.0, 32}, {0.3, 8}, {0.9, 4}, {0.5, 16}};
  p.temperature = 2.0;
  p.alpha = 0.9;
  return p;
}

TEST(PolicyTest, JsonRoundTripAndStableHash) {
  const CompressionPolicy p = Sample();
  auto back = PolicyFromJson(ToJson(p));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(ToJson(*back), ToJson(p));
  EXPECT_EQ(PolicyHash(*back), PolicyHash(p));
  EXPECT_EQ(PolicyHash(p).size(), 64u);
  // The same policy written with its keys in another order hashes the same.
  auto reordered = PolicyFromJson(nlohmann::json::parse(
      R"({"alpha": 0.9, "temperature": 2, "layers": [{"bits": 32, "prune": 0},
          {"bits": 8, "prune": 0.3}, {"bits": 4, "prune": 0.9}, {"bits": 16, "prune": 0.5}]})"));
  ASSERT_TRUE(reordered) << reordered.error().message();
  EXPECT_EQ(PolicyHash(*reordered), PolicyHash(p));
}

TEST(PolicyTest, AnyChangeChangesTheHash) {
  const std::string h = PolicyHash(Sample());
  CompressionPolicy p = Sample();
  p.layers[1].bits = 16;
  EXPECT_NE(PolicyHash(p), h);
  p = Sample();
  p.layers[2].prune_ratio = 0.8;
  EXPECT_NE(PolicyHash(p), h);
  p = Sample();
  p.temperature = 4.0;
  EXPECT_NE(PolicyHash(p), h);
  p = Sample();
  p.layers.pop_back();
  EXPECT_NE(PolicyHash(p), h);
}

TEST(PolicyTest, ValuesOutsideTheActionSpaceAreErrorsNamingTheField) {
  auto bad = PolicyFromJson({{"layers", {{{"prune", 0.35}, {"bits", 8}}}}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("layers[0].prune"), std::string::npos)
      << bad.error().message();
  bad = PolicyFromJson({{"layers", {{{"prune", 0.3}, {"bits", 6}}}}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("layers[0].bits must be one of 4, 8, 16, 32"),
            std::string::npos)
      << bad.error().message();
  bad = PolicyFromJson({{"layers", nlohmann::json::array()}, {"alpha", 0.1}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("alpha"), std::string::npos);
  bad = PolicyFromJson({{"layers", nlohmann::json::array()}, {"beta", 1}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("unknown key 'beta'"), std::string::npos);
  EXPECT_FALSE(PolicyFromJson({{"temperature", 4}}));
  EXPECT_TRUE(PolicyFromJson({{"layers", nlohmann::json::array()}}));
}

}  // namespace
}  // namespace hadmc::search
