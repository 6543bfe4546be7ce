// Adaptive sparse training: the controller, the selection, the step's gradients and the log.
#include "hadmc/train/ast.h"

#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "hadmc/exec/executor.h"
#include "hadmc/train/optimizer.h"
#include "hadmc/train/trainer.h"
#include "train_test_util.h"

namespace hadmc::train {
namespace {

// A score stream like training's: log-normal per-sample scores whose scale shrinks ten-fold and
// jumps from batch to batch; the step divides by a running mean, as AstStep does.
double RunSyntheticStream(const AstOptions& o, int64_t steps, uint64_t seed,
                          std::vector<double>* rates = nullptr) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> sample(0.0, 1.2);
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  ThresholdController c(o);
  double scale = 0, sum_late = 0;
  int64_t late = 0;
  for (int64_t t = 0; t < steps; ++t) {
    const double level = 3.0 * std::exp(-t / 300.0) + 0.3;
    const double j = jitter(rng);
    std::vector<double> s(256);
    for (double& v : s) v = sample(rng) * level * j;
    double mean = 0;
    for (double v : s) mean += v / s.size();
    scale = scale > 0 ? (1 - kSignificanceScaleSmoothing) * scale + kSignificanceScaleSmoothing * mean
                      : mean;
    at::Tensor scores = torch::tensor(s, torch::kDouble) / scale;
    if (!c.started()) {
      auto k = static_cast<int64_t>(std::lround((1 - o.target_rate) * 256));
      c.Start(std::get<0>(scores.kthvalue(k)).item<double>());
    }
    const int64_t active = SelectActive(scores, c.threshold(), MinActive(o, 256)).size(0);
    const double rate = active / 256.0;
    if (rates) rates->push_back(rate);
    c.Update(rate);
    if (t >= steps / 2) {
      sum_late += rate;
      ++late;
    }
  }
  return sum_late / late;
}

TEST(AstControllerTest, ConvergesToTheTargetOnAShrinkingScoreStream) {
  for (double target : {0.1, 0.3, 0.5}) {
    AstOptions o;
    o.target_rate = target;
    EXPECT_NEAR(RunSyntheticStream(o, 2000, 7), target, 0.01) << "target " << target;
  }
}

TEST(AstControllerTest, WithoutTheIntegralTermTheRateDriftsOffTarget) {
  // The proportional term alone cannot follow a moving score distribution: this is what ki buys.
  AstOptions o;
  o.ki = 0;
  o.kp = 0.2;
  std::vector<double> rates;
  const double late = RunSyntheticStream(o, 2000, 7, &rates);
  AstOptions pi;
  EXPECT_GT(std::abs(late - o.target_rate), std::abs(RunSyntheticStream(pi, 2000, 7) - o.target_rate));
}

TEST(AstControllerTest, AntiWindupLetsTheThresholdLeaveItsBoundAtOnce) {
  AstOptions o;
  o.target_rate = 0.3;
  ThresholdController c(o, /*lower=*/0.0, /*upper=*/5.0);
  c.Start(1.0);
  for (int i = 0; i < 500; ++i) c.Update(1.0);  // everything active: pinned at the upper bound
  EXPECT_DOUBLE_EQ(c.threshold(), 5.0);
  const double integral = c.integral();
  EXPECT_LT(integral, 500 * 0.7);  // stopped integrating once pinned
  int steps = 0;
  while (c.threshold() >= 5.0 && steps < 100) {
    c.Update(0.0);
    ++steps;
  }
  EXPECT_LE(steps, 10) << "a wound-up integral would hold the threshold at the bound for long";
}

TEST(AstControllerTest, GainWarmupScalesTheCorrection) {
  AstOptions o;
  ThresholdController full(o), none(o);
  full.Start(1.0);
  none.Start(1.0);
  full.Update(0.9, 1.0);
  none.Update(0.9, 0.0);
  EXPECT_GT(full.threshold(), 1.0);
  EXPECT_DOUBLE_EQ(none.threshold(), 1.0);
}

TEST(AstControllerTest, SaveAndLoadRoundTrip) {
  AstOptions o;
  ThresholdController a(o), b(o);
  a.Start(0.7);
  for (double r : {0.5, 0.4, 0.2}) a.Update(r);
  ASSERT_TRUE(b.Load(a.Save()));
  EXPECT_DOUBLE_EQ(a.Update(0.3), b.Update(0.3));
  EXPECT_FALSE(b.Load(nlohmann::json{{"started", true}}));
}

TEST(AstSelectTest, ThresholdAndTopKFloor) {
  const at::Tensor s = torch::tensor({0.1, 2.0, 0.5, 3.0, 0.2, 1.5, 0.05, 0.3, 0.4, 0.6});
  EXPECT_TRUE(SelectActive(s, 1.0, 2).equal(torch::tensor({1, 3, 5}, torch::kLong)));
  // Nothing above 10: the floor takes the two most significant, in ascending position order.
  EXPECT_TRUE(SelectActive(s, 10.0, 2).equal(torch::tensor({1, 3}, torch::kLong)));
  EXPECT_EQ(SelectActive(s, 10.0, 50).size(0), 10);
  AstOptions o;
  o.min_active_fraction = 0.05;
  EXPECT_EQ(MinActive(o, 10), 2);  // never fewer than two (batch norm needs a batch)
  EXPECT_EQ(MinActive(o, 1), 1);
  o.min_active_fraction = 0.3;
  EXPECT_EQ(MinActive(o, 100), 30);
  EXPECT_EQ(MinActive(o, 101), 31);
}

TEST(AstSelectTest, ActiveCountIsRoundedUpWithTheNextMostSignificant) {
  const at::Tensor s = torch::tensor({0.1, 2.0, 0.5, 3.0, 0.2, 1.5, 0.05, 0.3, 0.4, 0.6});
  // Three above 1.0, rounded up to 4: the fourth is the next highest score (0.6 at 9).
  EXPECT_TRUE(SelectActive(s, 1.0, 2, 4).equal(torch::tensor({1, 3, 5, 9}, torch::kLong)));
  // Already a multiple: unchanged.
  EXPECT_TRUE(SelectActive(s, 1.0, 2, 3).equal(torch::tensor({1, 3, 5}, torch::kLong)));
  // Never more than the batch.
  EXPECT_EQ(SelectActive(s, 1.0, 2, 8).size(0), 8);
  EXPECT_EQ(SelectActive(s, 1.0, 2, 16).size(0), 10);
  // The floor is rounded too.
  EXPECT_TRUE(SelectActive(s, 10.0, 1, 2).equal(torch::tensor({1, 3}, torch::kLong)));
  AstOptions o;
  o.active_multiple = 0;
  EXPECT_FALSE(ValidateAstOptions(o));
  EXPECT_FALSE(AstOptionsFromJson({{"ast_active_multiple", 2.5}}));
  auto j = AstOptionsFromJson({{"ast_active_multiple", 16}, {"ast_loss", "batch"}});
  ASSERT_TRUE(j);
  EXPECT_EQ(j->active_multiple, 16);
  EXPECT_EQ(AstOptionsToJson(*j).at("ast_loss"), "batch");
  EXPECT_FALSE(AstOptionsFromJson({{"ast_loss", "sum"}}));
  EXPECT_EQ(j->loss, AstOptions::Loss::kBatch);
}

TEST(AstSelectTest, SignificanceIsLossPlusWeightedEntropy) {
  const at::Tensor logits = torch::tensor({{2.0, 0.0, 0.0}, {0.0, 0.0, 0.0}});
  const at::Tensor labels = torch::tensor({0, 2}, torch::kLong);
  const at::Tensor s = Significance(logits, labels, 0.5);
  const double z = std::exp(2.0) + 2;
  const double p0 = std::exp(2.0) / z, p1 = 1 / z;
  const double ce0 = -std::log(p0), h0 = -(p0 * std::log(p0) + 2 * p1 * std::log(p1));
  EXPECT_NEAR(s[0].item<double>(), ce0 + 0.5 * h0, 1e-5);
  EXPECT_NEAR(s[1].item<double>(), std::log(3.0) + 0.5 * std::log(3.0), 1e-5);
}

TEST(AstOptionsTest, RecipeKeysRoundTripAndErrorsNameTheKey) {
  AstOptions o;
  o.enabled = true;
  o.target_rate = 0.2;
  o.warmup_epochs = 2;
  auto back = AstOptionsFromJson(AstOptionsToJson(o));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(AstOptionsToJson(*back), AstOptionsToJson(o));
  auto bad = AstOptionsFromJson({{"ast_target", 1.5}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("ast_target"), std::string::npos) << bad.error().message();
  bad = AstOptionsFromJson({{"ast_kp", "high"}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("ast_kp"), std::string::npos);
  bad = AstOptionsFromJson({{"ast_warmup_epochs", 1.5}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("whole number"), std::string::npos);
  o.min_active_fraction = -0.1;
  auto invalid = ValidateAstOptions(o);
  ASSERT_FALSE(invalid);
  EXPECT_NE(invalid.error().message().find("--ast-min-active"), std::string::npos);
}

// Checks the step against a hand computation on a tiny model: the active samples are the top
// (1 - target) share by significance of an inference-mode forward, and the update equals one
// SGD step on the mean cross-entropy of a train-mode forward over those samples only.
TEST(AstStepTest, OnlyTheActiveSamplesContributeGradients) {
  model::Model m = testing::TinyModel(5);
  const data::Dataset d = testing::QuadrantDataset(4, 9);  // 16 samples
  data::Batch batch;
  batch.images = (d.images.to(torch::kFloat) / 255.0 - 0.25) / 0.3;
  batch.labels = d.labels;
  batch.indices = torch::arange(16, torch::kLong);
  const int64_t n = 16;
  AstOptions ast;
  ast.enabled = true;
  ast.target_rate = 0.25;  // first batch: the threshold is the 12th smallest score -> 4 active
  ast.active_multiple = 1;  // exactly those 4

  // The expected active set and update, computed by hand on a copy.
  model::Model ref = model::Clone(m);
  auto ref_exec = exec::Executor::Create(ref);
  ASSERT_TRUE(ref_exec);
  at::Tensor scores = Significance(*ref_exec->Run(batch.images, exec::Mode::kInference),
                                   batch.labels, ast.entropy_weight);
  const at::Tensor expected_active = std::get<0>(std::get<1>(scores.topk(4)).sort());
  ref_exec->EnableGrad(true);
  const double lr = 0.5;
  auto ref_opt = MakeOptimizer(*ref_exec, {"sgd", lr, 0.0, false, 0.0});
  ASSERT_TRUE(ref_opt);
  at::Tensor sub_logits = *ref_exec->Run(batch.images.index_select(0, expected_active),
                                         exec::Mode::kTrain);
  at::Tensor loss = torch::nn::functional::cross_entropy(
      sub_logits, batch.labels.index_select(0, expected_active));
  (*ref_opt)->zero_grad();
  loss.backward();
  (*ref_opt)->step();

  // The same through the AST step.
  auto exec = exec::Executor::Create(m);
  ASSERT_TRUE(exec);
  exec->EnableGrad(true);
  auto opt = MakeOptimizer(*exec, {"sgd", lr, 0.0, false, 0.0});
  ASSERT_TRUE(opt);
  TrainOptions options;
  options.epochs = 1;
  const TrainStepContext context{*exec, **opt, options};
  auto step = MakeAstStep(MakeCrossEntropyStep(context), context, ast);
  step->BeginEpoch(0);
  auto r = step->Run(batch);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->samples, n);
  EXPECT_EQ(r->scored, n);
  EXPECT_EQ(r->backpropagated, 4);

  std::string diff;
  EXPECT_TRUE(testing::SameTensors(m.tensors, ref.tensors, &diff)) << diff;
  // And a full-batch update would have been different (the test can fail).
  model::Model full = model::Clone(testing::TinyModel(5));
  auto full_exec = exec::Executor::Create(full);
  full_exec->EnableGrad(true);
  auto full_opt = MakeOptimizer(*full_exec, {"sgd", lr, 0.0, false, 0.0});
  const TrainStepContext full_context{*full_exec, **full_opt, options};
  ASSERT_TRUE(MakeCrossEntropyStep(full_context)->Run(batch));
  EXPECT_FALSE(testing::SameTensors(full.tensors, ref.tensors, &diff));
}

TEST(AstStepTest, BatchLossIsTheWholeBatchsMeanWithTheInactiveTermsAtZero) {
  const data::Dataset d = testing::QuadrantDataset(4, 9);  // 16 samples
  data::Batch batch;
  batch.images = (d.images.to(torch::kFloat) / 255.0 - 0.25) / 0.3;
  batch.labels = d.labels;
  AstOptions ast;
  ast.enabled = true;
  ast.target_rate = 0.25;
  ast.active_multiple = 1;
  ast.loss = AstOptions::Loss::kBatch;
  const double lr = 0.5;
  TrainOptions options;
  options.epochs = 1;

  auto run_ast = [&](model::Model& m) {
    auto exec = exec::Executor::Create(m);
    exec->EnableGrad(true);
    auto opt = MakeOptimizer(*exec, {"sgd", lr, 0.0, false, 0.0});
    const TrainStepContext context{*exec, **opt, options};
    auto step = MakeAstStep(MakeCrossEntropyStep(context), context, ast);
    step->BeginEpoch(0);
    auto r = step->Run(batch);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->backpropagated, 4);
  };
  // By hand: the 4 most significant, their summed loss over 16 (= the mean loss of 16 with 12
  // terms at zero).
  model::Model ref = testing::TinyModel(5);
  auto ref_exec = exec::Executor::Create(ref);
  ref_exec->EnableGrad(true);
  const at::Tensor scores = Significance(*ref_exec->Run(batch.images, exec::Mode::kInference),
                                         batch.labels, ast.entropy_weight);
  const at::Tensor active = std::get<0>(std::get<1>(scores.topk(4)).sort());
  auto ref_opt = MakeOptimizer(*ref_exec, {"sgd", lr, 0.0, false, 0.0});
  at::Tensor per_sample = torch::nn::functional::cross_entropy(
      *ref_exec->Run(batch.images.index_select(0, active), exec::Mode::kTrain),
      batch.labels.index_select(0, active),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  (*ref_opt)->zero_grad();
  (per_sample.sum() / 16.0).backward();
  (*ref_opt)->step();

  model::Model m = testing::TinyModel(5);
  run_ast(m);
  std::string diff;
  EXPECT_TRUE(testing::SameTensors(m.tensors, ref.tensors, &diff, 1e-6)) << diff;
  // The default (mean over the active samples) takes a 4x larger step: the test can fail.
  ast.loss = AstOptions::Loss::kActive;
  model::Model other = testing::TinyModel(5);
  run_ast(other);
  EXPECT_FALSE(testing::SameTensors(other.tensors, ref.tensors, &diff, 1e-6));
}

TEST(AstStepTest, WarmupEpochsTrainOnEverySample) {
  model::Model m = testing::TinyModel(5);
  const data::Dataset d = testing::QuadrantDataset(4, 9);
  data::Batch batch;
  batch.images = d.images.to(torch::kFloat) / 255.0;
  batch.labels = d.labels;
  auto exec = exec::Executor::Create(m);
  exec->EnableGrad(true);
  auto opt = MakeOptimizer(*exec, {"sgd", 0.1, 0.0, false, 0.0});
  TrainOptions options;
  options.epochs = 3;
  AstOptions ast;
  ast.enabled = true;
  ast.warmup_epochs = 1;
  const TrainStepContext context{*exec, **opt, options};
  auto step = MakeAstStep(MakeCrossEntropyStep(context), context, ast);
  step->BeginEpoch(0);
  auto r = step->Run(batch);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->backpropagated, 16);
  EXPECT_EQ(r->scored, 0);
  EXPECT_EQ(step->EpochStats().at("ast_active"), false);
  step->BeginEpoch(1);
  r = step->Run(batch);
  ASSERT_TRUE(r);
  EXPECT_LT(r->backpropagated, 16);
  EXPECT_EQ(r->scored, 16);
  EXPECT_EQ(step->EpochStats().at("ast_active"), true);
}

// The JSONL log of an AST run: every documented key with its type, on every line.
TEST(AstTrainTest, JsonlRecordsTheCostAndTheController) {
  testing::TempDir dir;
  model::Model m = testing::TinyModel(3);
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 16;
  o.lr = 0.1;
  o.seed = 4;
  o.val_fraction = 0.25;
  o.augment = {1, false};
  o.normalization = {{0.25f}, {0.3f}};
  o.threads = 1;
  o.log_path = dir.File("ast.jsonl");
  o.ast.enabled = true;
  o.ast.target_rate = 0.5;
  o.ast.warmup_epochs = 1;
  auto r = Train(m, testing::QuadrantDataset(40, 1), testing::QuadrantDataset(10, 2), o);
  ASSERT_TRUE(r) << r.error().message();

  std::ifstream in(o.log_path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    const auto j = nlohmann::json::parse(line);
    for (const char* key : {"epoch", "steps", "samples", "backpropagated", "scored"})
      EXPECT_TRUE(j.at(key).is_number_integer()) << key;
    for (const char* key : {"train_seconds", "step_ms", "est_gflops", "energy_j",
                            "activation_rate", "target_rate", "epoch_seconds"})
      EXPECT_TRUE(j.at(key).is_number()) << key << " in " << line;
    EXPECT_TRUE(j.at("energy_measured").is_boolean());
    EXPECT_TRUE(j.at("energy_source").is_string());
    EXPECT_GT(j.at("train_seconds").get<double>(), 0);
    EXPECT_GT(j.at("est_gflops").get<double>(), 0);
    const bool active = j.at("ast_active").get<bool>();
    EXPECT_EQ(active, lines > 1);
    if (active) {
      EXPECT_TRUE(j.at("threshold").is_number());
      EXPECT_TRUE(j.at("trace").is_array() && !j.at("trace").empty());
      EXPECT_EQ(j.at("scored"), j.at("samples"));
      EXPECT_LT(j.at("backpropagated").get<int64_t>(), j.at("samples").get<int64_t>());
    } else {
      EXPECT_TRUE(j.at("threshold").is_null());
      EXPECT_EQ(j.at("backpropagated"), j.at("samples"));
    }
  }
  EXPECT_EQ(lines, 3);
  // A forward counts 1, a backward 2: an AST epoch costs less than the warm-up epoch.
  EXPECT_LT(r->history[2].est_gflops, r->history[0].est_gflops);
  const nlohmann::json results = TrainResultToJson(*r);
  EXPECT_EQ(results.at("history").size(), 3u);
  EXPECT_TRUE(results.at("test_acc").is_number());
  EXPECT_EQ(results.at("backpropagated").get<int64_t>(),
            r->history[0].backpropagated + r->history[1].backpropagated +
                r->history[2].backpropagated);
}

TEST(AstTrainTest, ResumedAstRunEndsWithTheUninterruptedRunsWeights) {
  testing::TempDir dir;
  auto options = [&](const std::string& name) {
    TrainOptions o;
    o.epochs = 3;
    o.batch_size = 16;
    o.seed = 4;
    o.val_fraction = 0.25;
    o.augment = {1, false};
    o.normalization = {{0.25f}, {0.3f}};
    o.threads = 1;
    o.select_best = false;
    o.checkpoint_dir = dir.File(name);
    o.ast.enabled = true;
    return o;
  };
  const data::Dataset train = testing::QuadrantDataset(40, 1);
  model::Model whole = testing::TinyModel(3);
  ASSERT_TRUE(Train(whole, train, {}, options("whole")));

  model::Model split = testing::TinyModel(3);
  TrainOptions first = options("split");
  first.epochs = 3;
  first.on_epoch_end = [](const EpochRecord& r) { return r.epoch < 2; };
  ASSERT_TRUE(Train(split, train, {}, first));
  TrainOptions second = options("split");
  second.resume = true;
  auto r = Train(split, train, {}, second);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->resumed);
  std::string diff;
  EXPECT_TRUE(testing::SameTensors(whole.tensors, split.tensors, &diff)) << diff;
}


// --ast-train-batch: the active samples of successive batches wait until there are train_batch
// of them, then train as one batch. Here each half-batch of 8 gives its top 4 (the threshold is
// above every score, so the top-k floor of 50% picks them), and the second half-batch trains
// the 8 gathered samples in one SGD step, checked against that step by hand.
TEST(AstStepTest, GatheredActiveSamplesTrainAsOneBatchOfTrainBatch) {
  const data::Dataset d = testing::QuadrantDataset(4, 9);  // 16 samples
  const at::Tensor images = (d.images.to(torch::kFloat) / 255.0 - 0.25) / 0.3;
  data::Batch first, second;
  first.images = images.narrow(0, 0, 8);
  first.labels = d.labels.narrow(0, 0, 8);
  second.images = images.narrow(0, 8, 8);
  second.labels = d.labels.narrow(0, 8, 8);
  AstOptions ast;
  ast.enabled = true;
  ast.target_rate = 0.01;  // the first threshold is the highest score: nothing passes it
  ast.min_active_fraction = 0.5;
  ast.train_batch = 8;
  const double lr = 0.5;
  TrainOptions options;
  options.epochs = 1;

  // By hand: each half's top 4 by significance under the initial weights, one SGD step on the
  // mean cross-entropy of the 8.
  model::Model ref = testing::TinyModel(5);
  auto ref_exec = exec::Executor::Create(ref);
  ASSERT_TRUE(ref_exec);
  auto top4 = [&](const data::Batch& b) {
    const at::Tensor s = Significance(*ref_exec->Run(b.images, exec::Mode::kInference), b.labels,
                                      ast.entropy_weight);
    return std::get<0>(std::get<1>(s.topk(4)).sort());
  };
  const at::Tensor a1 = top4(first), a2 = top4(second);
  ref_exec->EnableGrad(true);
  auto ref_opt = MakeOptimizer(*ref_exec, {"sgd", lr, 0.0, false, 0.0});
  ASSERT_TRUE(ref_opt);
  const at::Tensor x = torch::cat({first.images.index_select(0, a1), second.images.index_select(0, a2)});
  const at::Tensor y = torch::cat({first.labels.index_select(0, a1), second.labels.index_select(0, a2)});
  (*ref_opt)->zero_grad();
  torch::nn::functional::cross_entropy(*ref_exec->Run(x, exec::Mode::kTrain), y).backward();
  (*ref_opt)->step();

  // Both losses give that step: with the batch loss each sample weighs 1 / (its batch's size, 8),
  // so the 8 gathered samples' summed loss over 8 is their mean (the sum over the 16 scored, the
  // first version, would have been half of it).
  for (const auto loss : {AstOptions::Loss::kActive, AstOptions::Loss::kBatch}) {
    SCOPED_TRACE(LossName(loss));
    ast.loss = loss;
    model::Model m = testing::TinyModel(5);
    const model::Model initial = model::Clone(m);
    auto exec = exec::Executor::Create(m);
    ASSERT_TRUE(exec);
    exec->EnableGrad(true);
    auto opt = MakeOptimizer(*exec, {"sgd", lr, 0.0, false, 0.0});
    ASSERT_TRUE(opt);
    const TrainStepContext context{*exec, **opt, options};
    auto step = MakeAstStep(MakeCrossEntropyStep(context), context, ast);
    step->BeginEpoch(0);
    auto r1 = step->Run(first);
    ASSERT_TRUE(r1) << r1.error().message();
    EXPECT_EQ(r1->scored, 8);
    EXPECT_EQ(r1->backpropagated, 0);  // 4 gathered, fewer than 8: nothing trained yet
    std::string diff;
    EXPECT_TRUE(testing::SameTensors(m.tensors, initial.tensors, &diff)) << diff;
    auto r2 = step->Run(second);
    ASSERT_TRUE(r2) << r2.error().message();
    EXPECT_EQ(r2->backpropagated, 8);
    EXPECT_TRUE(testing::SameTensors(m.tensors, ref.tensors, &diff, 1e-6)) << diff;
    EXPECT_FALSE(testing::SameTensors(m.tensors, initial.tensors, &diff));
    EXPECT_DOUBLE_EQ(step->EpochStats().at("activation_rate").get<double>(), 0.5);
  }
}

TEST(AstOptionsTest, TrainBatchIsParsedAndChecked) {
  auto j = AstOptionsFromJson({{"ast_train_batch", 128}});
  ASSERT_TRUE(j) << j.error().message();
  EXPECT_EQ(j->train_batch, 128);
  EXPECT_EQ(AstOptionsToJson(*j).at("ast_train_batch"), 128);
  EXPECT_FALSE(AstOptionsFromJson({{"ast_train_batch", 1.5}}));
  auto negative = AstOptionsFromJson({{"ast_train_batch", -1}});
  ASSERT_FALSE(negative);
  EXPECT_NE(negative.error().message().find("ast_train_batch"), std::string::npos);
}

// bf16 scoring ranks as fp32 scoring does on this tiny model, step after step while the weights
// move (lr 0.5): the scoring copy is cast again after every training step. Training itself
// stays fp32, so the two runs end with the same weights.
TEST(AstStepTest, Bf16ScoringFollowsTheTrainedWeights) {
  AstOptions ast;
  ast.enabled = true;
  ast.target_rate = 0.25;
  ast.active_multiple = 1;
  TrainOptions options;
  options.epochs = 1;
  std::vector<data::Batch> batches;
  for (uint64_t seed : {9, 10, 11, 12, 13, 14}) {
    const data::Dataset d = testing::QuadrantDataset(4, seed);
    data::Batch b;
    b.images = (d.images.to(torch::kFloat) / 255.0 - 0.25) / 0.3;
    b.labels = d.labels;
    batches.push_back(b);
  }
  auto run = [&](model::Model& m, AstOptions::ScorePrecision precision) {
    ast.score_precision = precision;
    auto exec = exec::Executor::Create(m);
    exec->EnableGrad(true);
    auto opt = MakeOptimizer(*exec, {"sgd", 0.5, 0.0, false, 0.0});
    const TrainStepContext context{*exec, **opt, options};
    auto step = MakeAstStep(MakeCrossEntropyStep(context), context, ast);
    step->BeginEpoch(0);
    std::vector<int64_t> active;
    for (const auto& b : batches) {
      auto r = step->Run(b);
      EXPECT_TRUE(r) << r.error().message();
      if (r) active.push_back(r->backpropagated);
    }
    return active;
  };
  model::Model fp32 = testing::TinyModel(5), bf16 = testing::TinyModel(5);
  const auto fp32_active = run(fp32, AstOptions::ScorePrecision::kFp32);
  const auto bf16_active = run(bf16, AstOptions::ScorePrecision::kBf16);
  EXPECT_EQ(bf16_active, fp32_active);
  std::string diff;
  EXPECT_TRUE(testing::SameTensors(bf16.tensors, fp32.tensors, &diff, 1e-6)) << diff;
  EXPECT_FALSE(testing::SameTensors(bf16.tensors, testing::TinyModel(5).tensors, &diff));
}

TEST(AstOptionsTest, ScorePrecisionIsParsedAndChecked) {
  auto j = AstOptionsFromJson({{"ast_score_precision", "bf16"}});
  ASSERT_TRUE(j) << j.error().message();
  EXPECT_EQ(j->score_precision, AstOptions::ScorePrecision::kBf16);
  EXPECT_EQ(AstOptionsToJson(*j).at("ast_score_precision"), "bf16");
  EXPECT_EQ(AstOptionsToJson(AstOptions{}).at("ast_score_precision"), "fp32");
  auto bad = AstOptionsFromJson({{"ast_score_precision", "fp8"}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("ast_score_precision"), std::string::npos);
}

}  // namespace
}  // namespace hadmc::train
