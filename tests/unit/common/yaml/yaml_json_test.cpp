#include "hadmc/common/yaml_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

namespace hadmc {
namespace {

TEST(YamlJsonTest, ScalarsSequencesAndMappings) {
  auto j = ParseYamlAsJson(R"(# a compression recipe
prune: 0.5
bits: 8
distill: yes
observer: percentile
quoted: "8"
hex: 0x10
nothing: ~
disable_passes: [fuse_activation, remove_identity]
features:
  - layer4.1.relu_1
nested: {a: 1, b: [true, false]}
big: -.inf
)");
  ASSERT_TRUE(j.has_value()) << j.error().String();
  EXPECT_EQ((*j)["prune"], 0.5);
  EXPECT_EQ((*j)["bits"], 8);
  EXPECT_TRUE((*j)["bits"].is_number_integer());
  EXPECT_EQ((*j)["distill"], true);
  EXPECT_EQ((*j)["observer"], "percentile");
  EXPECT_EQ((*j)["quoted"], "8");  // quoted scalars stay strings
  EXPECT_EQ((*j)["hex"], 16);
  EXPECT_TRUE((*j)["nothing"].is_null());
  EXPECT_EQ((*j)["disable_passes"], (nlohmann::json{"fuse_activation", "remove_identity"}));
  EXPECT_EQ((*j)["features"][0], "layer4.1.relu_1");
  EXPECT_EQ((*j)["nested"]["b"][1], false);
  EXPECT_TRUE(std::isinf((*j)["big"].get<double>()));
}

TEST(YamlJsonTest, JsonIsYaml) {
  auto j = ParseYamlAsJson(R"({"prune": 0.3, "bits": 8, "features": ["a", "b"]})");
  ASSERT_TRUE(j.has_value()) << j.error().String();
  EXPECT_EQ(*j, nlohmann::json::parse(R"({"prune": 0.3, "bits": 8, "features": ["a", "b"]})"));
}

TEST(YamlJsonTest, ErrorsNameTheLine) {
  auto bad = ParseYamlAsJson("prune: 0.5\nbits: [8\n", "r.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("r.yaml"), std::string::npos) << bad.error().String();
  EXPECT_NE(bad.error().message().find("line"), std::string::npos) << bad.error().String();
  auto dup = ParseYamlAsJson("bits: 8\nbits: 4\n");
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message().find("duplicate key 'bits'"), std::string::npos);
}

TEST(YamlJsonTest, ReadsFilesByExtension) {
  const std::string dir = ::testing::TempDir();
  const std::string yaml = dir + "/recipe_test.yaml", json = dir + "/recipe_test.json";
  std::ofstream(yaml) << "prune: 0.25\n";
  std::ofstream(json) << "{\"prune\": 0.25}";
  auto a = ReadJsonOrYamlFile(yaml);
  auto b = ReadJsonOrYamlFile(json);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(*a, *b);
  std::ofstream(json) << "prune: 0.25\n";  // not JSON: a .json file is parsed strictly
  EXPECT_FALSE(ReadJsonOrYamlFile(json).has_value());
  EXPECT_FALSE(ReadJsonOrYamlFile(dir + "/missing.yaml").has_value());
  std::remove(yaml.c_str());
  std::remove(json.c_str());
}

}  // namespace
}  // namespace hadmc
