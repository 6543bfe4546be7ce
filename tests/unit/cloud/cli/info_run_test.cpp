// `hadmc info` and `hadmc run`, end to end through the built binary (skipped when it is absent,
// e.g. when only the test targets were built). Each start of the binary loads LibTorch (~1 s), so
// the cases here are few; the file-format rejections are tested at the library level.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../../common/model/model_test_util.h"
#include "hadmc/exec/executor.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/model/npy.h"
#include "test_paths.h"

namespace hadmc::model {
namespace {

using ::testing::HasSubstr;

class InfoRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(HADMC_CLI_PATH, X_OK) != 0)
      GTEST_SKIP() << HADMC_CLI_PATH << " is not built (ninja hadmc)";
    model_ = testing::TinyCnn();
    ASSERT_TRUE(SaveHmc(model_, dir_ / "tiny.hmc"));
  }
  testing::CommandResult Hadmc(const std::string& args) {
    return testing::RunCommand(std::string(HADMC_CLI_PATH) + " --threads 1 " + args);
  }
  void WriteInput(const std::string& name, const at::Tensor& x) {
    const at::Tensor c = x.contiguous();
    ASSERT_TRUE(WriteNpy(dir_ / name, c.sizes().vec(), c.data_ptr<float>(), c.numel()));
  }

  testing::ScratchDir dir_;
  Model model_;
};

TEST_F(InfoRunTest, InfoPrintsGraphMetadataAndPerNodeTable) {
  auto r = Hadmc("info " + dir_ / "tiny.hmc");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("graph     tiny_cnn (6 nodes)"));
  EXPECT_THAT(r.output, HasSubstr("input     x [-1,3,8,8]"));
  EXPECT_THAT(r.output, HasSubstr("output    fc [-1,10]"));
  EXPECT_THAT(r.output, HasSubstr("arch"));
  EXPECT_THAT(r.output, HasSubstr("13,824"));
  EXPECT_THAT(r.output, HasSubstr("params: 322"));
}

TEST_F(InfoRunTest, InfoJson) {
  auto r = Hadmc("info --json " + dir_ / "tiny.hmc");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j.at("totals").at("params"), 322);
  EXPECT_EQ(j.at("metadata").at("dataset"), "synthetic");
  EXPECT_EQ(j.at("file_bytes"), std::filesystem::file_size(dir_ / "tiny.hmc"));
}

TEST_F(InfoRunTest, RunMatchesTheExecutorInChunks) {
  torch::manual_seed(5);
  const at::Tensor x = torch::randn({5, 3, 8, 8});
  WriteInput("x.npy", x);
  auto r = Hadmc("run " + dir_ / "tiny.hmc" + " --input " + dir_ / "x.npy" + " --output " +
                 dir_ / "y.npy" + " --batch-size 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("on 5 samples"));
  EXPECT_THAT(r.output, HasSubstr(" ms"));
  auto y = ReadNpy(dir_ / "y.npy");
  ASSERT_TRUE(y) << y.error().String();
  ASSERT_EQ(y->shape, (ir::Shape{5, 10}));
  auto ex = exec::Executor::Create(model_);
  ASSERT_TRUE(ex);
  auto want = ex->Run(x, exec::Mode::kInference);
  ASSERT_TRUE(want);
  const at::Tensor got = torch::from_blob(y->values.data(), {5, 10}).clone();
  EXPECT_TRUE(torch::allclose(got, *want, 1e-5, 1e-5));
}

TEST_F(InfoRunTest, RunExplainsAShapeMismatch) {
  WriteInput("wrong.npy", torch::zeros({3, 8, 8}));  // one sample, no batch dimension
  auto r =
      Hadmc("run " + dir_ / "tiny.hmc" + " -i " + dir_ / "wrong.npy" + " -o " + dir_ / "y.npy");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("has shape [3,8,8] but input 'x'"));
  EXPECT_THAT(r.output, HasSubstr("expects [-1,3,8,8]"));
  EXPECT_THAT(r.output, HasSubstr("add a batch dimension"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "y.npy"));
}

}  // namespace
}  // namespace hadmc::model
