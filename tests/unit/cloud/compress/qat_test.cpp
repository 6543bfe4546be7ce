// Quantization-aware training: fake quantization placed where the int8 conversion quantizes,
// straight-through gradients, and a clean removal before the real conversion.
#include <gtest/gtest.h>

#include "tiny_base.h"
#include "compress_test_util.h"
#include "hadmc/compress/pass_registry.h"
#include "hadmc/compress/pipeline.h"
#include "hadmc/compress/qat.h"
#include "hadmc/compress/quantize_int8.h"
#include "hadmc/hal/int8_backend.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/train/trainer.h"

namespace hadmc::compress {
namespace {

using testing::CountOps;
using testing::RunEval;

class QatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = hal::ConfigureInt8Backend();
    if (!b) GTEST_SKIP() << b.error().String();
    backend_ = *b;
    fused_ = testing::ZooModel("resnet8");
    ASSERT_TRUE(RunFusion(fused_, {}).has_value());
    calib_ = torch::randn({32, 1, 28, 28});
    options_.observer = ObserverKind::kMinMax;
    options_.reduce_range = backend_.reduce_range;
    probe_ = model::Clone(fused_);
    auto q = QuantizeInt8(probe_, options_, {calib_});
    ASSERT_TRUE(q.has_value()) << q.error().String();
    int8_nodes_ = q->int8_nodes;
  }
  int64_t Qmax() const { return backend_.reduce_range ? 63 : 127; }

  hal::Int8Backend backend_;
  QuantizeOptions options_;
  model::Model fused_, probe_;
  torch::Tensor calib_;
  std::vector<std::string> int8_nodes_;
};

TEST_F(QatTest, SimulatesTheInt8ModelAndRemovesCleanly) {
  model::Model qat = model::Clone(fused_);
  auto report = PrepareQat(qat, probe_, Qmax());
  ASSERT_TRUE(report.has_value()) << report.error().String();
  int weight_int8 = 0;
  for (const std::string& name : int8_nodes_)
    weight_int8 += fused_.graph.FindNode(name)->op != "add";
  EXPECT_EQ(report->weight_nodes, weight_int8);
  EXPECT_EQ(CountOps(qat.graph, "fake_quantize"), report->activation_nodes);
  EXPECT_GE(report->activation_nodes, static_cast<int>(int8_nodes_.size()));

  // The fake-quantized fp32 model is much closer to the real int8 model than the fp32 one is.
  const auto x = calib_.narrow(0, 0, 8);
  const auto real = RunEval(probe_, x);
  const double err_fp32 = (RunEval(fused_, x) - real).abs().mean().item<double>();
  const double err_qat = (RunEval(qat, x) - real).abs().mean().item<double>();
  std::cerr << "mean |fp32 - int8| " << err_fp32 << ", mean |qat - int8| " << err_qat << "\n";
  EXPECT_LT(err_qat, 0.5 * err_fp32) << "fp32 " << err_fp32 << ", qat " << err_qat;

  ASSERT_TRUE(FinishQat(qat).has_value());
  EXPECT_EQ(CountOps(qat.graph, "fake_quantize"), 0);
  // The same nodes (the order may differ after re-sorting), values and parameters.
  ASSERT_EQ(qat.graph.nodes.size(), fused_.graph.nodes.size());
  for (const ir::Node& n : fused_.graph.nodes) {
    const ir::Node* back = qat.graph.FindNode(n.name);
    ASSERT_NE(back, nullptr) << n.name;
    EXPECT_TRUE(*back == n) << n.name;
  }
  EXPECT_EQ(qat.graph.outputs, fused_.graph.outputs);
  EXPECT_EQ(qat.graph.params.size(), fused_.graph.params.size());
}

TEST_F(QatTest, GradientsFlowStraightThrough) {
  model::Model qat = model::Clone(fused_);
  ASSERT_TRUE(PrepareQat(qat, probe_, Qmax()).has_value());
  auto ex = exec::Executor::Create(qat.graph, qat.tensors);
  ASSERT_TRUE(ex.has_value()) << ex.error().String();
  ex->EnableGrad(true);
  auto logits = ex->Run(calib_, exec::Mode::kTrain);
  ASSERT_TRUE(logits.has_value()) << logits.error().String();
  torch::nn::functional::cross_entropy(*logits, torch::randint(0, 10, {32}, torch::kLong)).backward();
  int with_grad = 0;
  for (const std::string& name : int8_nodes_) {
    const ir::Node* n = qat.graph.FindNode(name);
    if (n->op == "add") continue;
    const at::Tensor& w = qat.tensors.at(n->params.at("weight"));
    ASSERT_TRUE(w.grad().defined()) << name;
    EXPECT_TRUE(torch::isfinite(w.grad()).all().item<bool>()) << name;
    with_grad += w.grad().abs().sum().item<double>() > 0;
  }
  EXPECT_GT(with_grad, 0);
  ex->EnableGrad(false);
}

TEST_F(QatTest, RejectsABadQmax) {
  model::Model qat = model::Clone(fused_);
  EXPECT_FALSE(PrepareQat(qat, probe_, 0).has_value());
  EXPECT_FALSE(PrepareQat(qat, probe_, 200).has_value());
}

TEST(CompressQatTest, PipelineWithQatEpochs) {
  if (!hal::ConfigureInt8Backend()) GTEST_SKIP() << "no int8 engine";
  train::testing::TempDir dir;
  const testing::TinyBase tiny = testing::TrainTinyBase(dir, 3);
  const data::Dataset &train_set = tiny.train, &test_set = tiny.test;
  const model::Model& base = tiny.model;
  const std::string& base_path = tiny.path;
  CompressRecipe r;
  r.bits = 8;
  r.qat_epochs = 1;
  r.batch_size = 32;
  r.keep_first_last = false;
  r.quant_calib_samples = 64;
  CompressInputs in{&train_set, &test_set, dir.File("small.hmc"), dir.path().string(), nullptr};
  auto report = Compress(base, base_path, r, in);
  ASSERT_TRUE(report.has_value()) << report.error().String();
  EXPECT_EQ(report->qat.size(), 1u);
  EXPECT_GT(report->after.accuracy, 0.8);
  auto written = model::LoadHmc(dir.File("small.hmc"));
  ASSERT_TRUE(written.has_value()) << written.error().String();
  EXPECT_EQ(CountOps(written->graph, "fake_quantize"), 0);
  r.bits = 32;
  EXPECT_FALSE(RecipeFromJson(RecipeToJson(r)).has_value());  // QAT without int8 is an error
}

}  // namespace
}  // namespace hadmc::compress
