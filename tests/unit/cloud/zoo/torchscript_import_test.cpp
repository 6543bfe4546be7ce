#include "hadmc/zoo/torchscript_import.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "hadmc/exec/executor.h"
#include "hadmc/zoo/zoo.h"
#include "torchvision_fixture.h"

namespace hadmc::zoo {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Imports <name>.pt, runs the fixture input through the executor and compares with PyTorch.
void ExpectParity(const std::string& dir, const std::string& name, const std::string& arch,
                  const ImportOptions& options) {
  SCOPED_TRACE(name);
  auto m = ImportTorchScript(dir + "/" + name + ".pt", arch, options);
  ASSERT_TRUE(m) << m.error().String();
  const at::Tensor x = testing::ReadNpyTensor(dir + "/" + name + "_input.npy");
  const at::Tensor want = testing::ReadNpyTensor(dir + "/" + name + "_output.npy");
  auto ex = exec::Executor::Create(*m);
  ASSERT_TRUE(ex) << ex.error().String();
  auto got = ex->Run(x, exec::Mode::kInference);
  ASSERT_TRUE(got) << got.error().String();
  ASSERT_EQ(got->sizes(), want.sizes());
  ASSERT_GT(want.abs().max().item<double>(), 0.01) << "degenerate reference output";
  const double diff = (*got - want).abs().max().item<double>();
  EXPECT_LE(diff, 1e-4) << "max abs diff vs PyTorch";
  std::ostringstream s;
  s << std::scientific << diff;
  ::testing::Test::RecordProperty(name + "_max_abs_diff", s.str());
}

TEST(TorchScriptImportTest, ResNet18MatchesPyTorch) {
  HADMC_TORCHVISION_FIXTURE(dir);
  ImportOptions o;
  o.input_size = 64;
  ExpectParity(dir, "resnet18", "resnet18", o);
}

TEST(TorchScriptImportTest, MobileNetV2MatchesPyTorch) {
  HADMC_TORCHVISION_FIXTURE(dir);
  ImportOptions o;
  o.input_size = 64;
  ExpectParity(dir, "mobilenet_v2", "mobilenet_v2", o);
}

// A 1-channel ResNet-18 with a 3x3 conv1 and no max-pool: in_channels and the small-input stem
// come from the weights.
TEST(TorchScriptImportTest, InfersSmallInputStemAndChannels) {
  HADMC_TORCHVISION_FIXTURE(dir);
  ImportOptions o;
  o.input_size = 28;
  auto m = ImportTorchScript(dir + "/resnet18_small.pt", "resnet18", o);
  ASSERT_TRUE(m) << m.error().String();
  EXPECT_EQ(m->metadata.at("small_input"), "true");
  EXPECT_EQ(m->metadata.at("in_channels"), "1");
  EXPECT_EQ(m->metadata.at("num_classes"), "10");
  EXPECT_EQ(m->metadata.at("image_size"), "28");
  EXPECT_EQ(m->metadata.at("source"), "torchscript:" + dir + "/resnet18_small.pt");
  EXPECT_EQ(m->graph.inputs.at(0).shape, (ir::Shape{-1, 1, 28, 28}));
  ExpectParity(dir, "resnet18_small", "resnet18", o);
}

TEST(TorchScriptImportTest, DynamicInputSize) {
  HADMC_TORCHVISION_FIXTURE(dir);
  ImportOptions o;
  o.input_size = 0;
  auto m = ImportTorchScript(dir + "/resnet18.pt", "resnet18", o);
  ASSERT_TRUE(m) << m.error().String();
  EXPECT_EQ(m->graph.inputs.at(0).shape, (ir::Shape{-1, 3, -1, -1}));
  auto ex = exec::Executor::Create(*m);
  ASSERT_TRUE(ex) << ex.error().String();
  auto y = ex->Run(at::randn({1, 3, 40, 48}), exec::Mode::kInference);
  ASSERT_TRUE(y) << y.error().String();
  EXPECT_EQ(y->sizes().vec(), (std::vector<int64_t>{1, 10}));
}

TEST(TorchScriptImportTest, ListsMissingUnexpectedAndMisshapedNames) {
  HADMC_TORCHVISION_FIXTURE(dir);
  auto m = ImportTorchScript(dir + "/bad_resnet18.pt", "resnet18", {});
  ASSERT_FALSE(m);
  EXPECT_TRUE(m.error().Is(Errc::kShapeMismatch));
  const std::string& msg = m.error().message();
  EXPECT_THAT(msg, HasSubstr("num_classes=? (no last linear weight)"));
  EXPECT_THAT(msg, HasSubstr("missing (2): fc.bias, fc.weight"));
  // 25 aux linears + head: 52 names, sorted, the first 20 shown.
  EXPECT_THAT(msg, HasSubstr("unexpected (52): aux.0.bias, aux.0.weight, aux.1.bias"));
  EXPECT_THAT(msg, HasSubstr(", and 32 more"));
  EXPECT_THAT(
      msg, HasSubstr("mis-shaped (1): layer1.0.conv1.weight [32,64,3,3] (expected [64,64,3,3])"));
}

TEST(TorchScriptImportTest, MissingFileAndNonTorchScriptFiles) {
  auto missing = ImportTorchScript("/nonexistent/model.pt", "resnet18", {});
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().Is(Errc::kNotFound));
  EXPECT_THAT(missing.error().message(), HasSubstr("/nonexistent/model.pt"));

  const std::string garbage =
      (std::filesystem::temp_directory_path() / "hadmc_import_test_garbage.pt").string();
  std::ofstream(garbage) << "this is not a zip archive";
  auto bad = ImportTorchScript(garbage, "resnet18", {});
  std::filesystem::remove(garbage);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().Is(Errc::kParse));
  EXPECT_THAT(bad.error().message(), HasSubstr("is not a TorchScript module"));
}

TEST(TorchScriptImportTest, StateDictFromTorchSaveIsNotTorchScript) {
  HADMC_TORCHVISION_FIXTURE(dir);
  auto m = ImportTorchScript(dir + "/state_dict.pt", "resnet18", {});
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message(), HasSubstr("is not a TorchScript module"));
}

TEST(TorchScriptImportTest, UnknownArch) {
  auto m = ImportStateDict({}, "alexnet", {});
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message(), HasSubstr("known: mobilenet_v2"));
}

// The matching without TorchScript: a zoo model's own tensors import back, BN counters are
// skipped, num_classes and in_channels come from the weights.
TEST(ImportStateDictTest, RoundTripsAZooModel) {
  ArchOptions o;
  o.in_channels = 2;
  o.num_classes = 7;
  o.image_size = 32;
  o.small_input = true;
  auto built = BuildModel("resnet8", o);
  ASSERT_TRUE(built);
  model::TensorMap tensors = built->tensors;
  tensors["bn1.num_batches_tracked"] = at::zeros({}, at::kLong);
  tensors["fc.weight"] = tensors["fc.weight"].to(at::kDouble);  // converted to float32
  ImportOptions io;
  io.input_size = 32;
  auto m = ImportStateDict(tensors, "resnet8", io);
  ASSERT_TRUE(m) << m.error().String();
  EXPECT_EQ(m->metadata.at("num_classes"), "7");
  EXPECT_EQ(m->metadata.at("in_channels"), "2");
  EXPECT_EQ(m->tensors.size(), built->tensors.size());
  for (const auto& [name, t] : built->tensors)
    EXPECT_TRUE(at::equal(m->tensors.at(name), t)) << name;
}

TEST(ImportStateDictTest, ReportsEveryMismatchKind) {
  auto built = BuildModel("resnet8", {});
  ASSERT_TRUE(built);
  model::TensorMap tensors = built->tensors;
  tensors.erase("layer2.0.bn2.running_var");
  tensors["layer2.0.conv2.weight"] = at::zeros({32, 16, 3, 3});
  tensors["extra.weight"] = at::zeros({1});
  tensors["layer3.0.bn1.bias"] = at::zeros({64}, at::kInt);
  auto m = ImportStateDict(tensors, "resnet8", {});
  ASSERT_FALSE(m);
  const std::string& msg = m.error().message();
  EXPECT_THAT(msg, HasSubstr("missing (1): layer2.0.bn2.running_var"));
  EXPECT_THAT(msg, HasSubstr("unexpected (1): extra.weight"));
  EXPECT_THAT(
      msg, HasSubstr("mis-shaped (1): layer2.0.conv2.weight [32,16,3,3] (expected [32,32,3,3])"));
  EXPECT_THAT(msg, HasSubstr("not floating point (1): layer3.0.bn1.bias (Int)"));
  EXPECT_THAT(msg, Not(HasSubstr("and ")));
}

}  // namespace
}  // namespace hadmc::zoo
