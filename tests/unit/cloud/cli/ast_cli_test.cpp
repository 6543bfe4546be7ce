// `hadmc train --ast` and `hadmc experiment ast` through the built binary (skipped when it or
// Debian's dataset-fashion-mnist is absent): the flags' wiring, their errors, and the files a
// run writes. The step and controller themselves are tested in tests/unit/cloud/train.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../../common/model/model_test_util.h"
#include "hadmc/data/idx_reader.h"
#include "test_paths.h"

namespace hadmc::cli {
namespace {

using ::testing::HasSubstr;

class AstCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(HADMC_CLI_PATH, X_OK) != 0)
      GTEST_SKIP() << HADMC_CLI_PATH << " is not built (ninja hadmc)";
  }
  static bool HaveFashionMnist() {
    return std::filesystem::exists(std::string(data::kFashionMnistDir) +
                                   "/train-images-idx3-ubyte.gz");
  }
  model::testing::CommandResult Hadmc(const std::string& args) {
    return model::testing::RunCommand(std::string(HADMC_CLI_PATH) + " --threads 1 " + args);
  }
  model::testing::ScratchDir dir_;
};

TEST_F(AstCliTest, TuningFlagsWithoutAstAndBadRecipesAreErrors) {
  auto r = Hadmc("train --arch resnet8 --data fashion-mnist --out " + dir_ / "m.hmc" +
                 " --ast-target 0.2");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--ast-target tunes adaptive sparse training, which is off"));
  r = Hadmc("train --arch resnet8 --data fashion-mnist --out " + dir_ / "m.hmc" +
            " --ast --ast-target 1.5");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--ast-target must be in (0, 1]"));
  std::ofstream(dir_ / "r.yaml") << "ast: true\nast_target: 0.2\nepochs: 3\n";
  r = Hadmc("train --arch resnet8 --data fashion-mnist --out " + dir_ / "m.hmc" + " --recipe " +
            dir_ / "r.yaml");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("unknown key 'epochs'"));
  std::ofstream(dir_ / "c.json") << R"({"prune": 0.3, "ast_kp": -1})";
  r = Hadmc("compress " + dir_ / "none.hmc" + " --out " + dir_ / "c.hmc" + " --recipe " +
            dir_ / "c.json");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("ast_kp must be >= 0"));
}

TEST_F(AstCliTest, TrainWithAstFromARecipeWritesLogAndResults) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  std::ofstream(dir_ / "r.yaml") << "ast: true\nast_target: 0.25\n";
  auto r = Hadmc("train --arch resnet8 --data fashion-mnist --epochs 2 --train-samples 1024 "
                 "--test-samples 256 --batch-size 64 --out " + dir_ / "m.hmc" + " --recipe " +
                 dir_ / "r.yaml" + " --ast-warmup-epochs 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("wrote " + dir_ / "m.hmc.results.json"));
  std::ifstream in(dir_ / "m.hmc.results.json");
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j.at("history").size(), 2u);
  const auto& warm = j.at("history")[0];
  const auto& ast = j.at("history")[1];
  EXPECT_EQ(warm.at("ast_active"), false);
  EXPECT_EQ(warm.at("backpropagated"), warm.at("samples"));
  EXPECT_EQ(ast.at("ast_active"), true);
  EXPECT_EQ(ast.at("target_rate"), 0.25);
  EXPECT_LT(ast.at("backpropagated").get<int64_t>(), ast.at("samples").get<int64_t>() / 2);
  EXPECT_EQ(j.at("options").at("ast").at("ast_warmup_epochs"), 1);
  EXPECT_TRUE(j.at("test_acc").is_number());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "m.hmc.jsonl"));
}

TEST_F(AstCliTest, ExperimentAstWritesTheTableAndPlots) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  auto r = Hadmc("experiment ast --arch resnet8 --data fashion-mnist --epochs 1 --train-samples "
                 "768 --test-samples 256 --batch-size 64 --targets 0.4 --out-dir " +
                 dir_ / "exp");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("| full | - | 1.000 |"));
  EXPECT_THAT(r.output, HasSubstr("| ast-0.4 | 0.40 |"));
  for (const char* f : {"ast.md", "ast.json", "accuracy_vs_rate.svg", "activation.svg",
                        "threshold.svg", "full.hmc", "ast-0.4.jsonl"})
    EXPECT_TRUE(std::filesystem::exists(dir_ / (std::string("exp/") + f))) << f;
  auto help = Hadmc("experiment ast --help");
  EXPECT_THAT(help.output, HasSubstr("--ast-kp"));
  EXPECT_THAT(help.output, ::testing::Not(HasSubstr("--ast-target")));
}

}  // namespace
}  // namespace hadmc::cli
