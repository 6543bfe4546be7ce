#include "hadmc/search/evaluator.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "search_test_util.h"
#include "hadmc/compress/pass_registry.h"
#include "hadmc/data/normalization.h"
#include "hadmc/train/model_metadata.h"

namespace hadmc::search {
namespace {

using namespace testing_util;  // NOLINT

int CountPrecision(const ir::Graph& g, ir::Precision p) {
  int n = 0;
  for (const ir::Node& node : g.nodes) n += node.precision == p;
  return n;
}

// Weight bytes of the fused base's conv/linear nodes (fp32).
double WeightBytes(const model::Model& base) {
  model::Model fused = model::Clone(base);
  EXPECT_TRUE(compress::RunFusion(fused));
  double bytes = 0;
  for (const ir::Node& n : fused.graph.nodes)
    if (n.op == "conv2d" || n.op == "linear")
      bytes += static_cast<double>(fused.tensors.at(n.params.at("weight")).nbytes());
  return bytes;
}

TEST(PolicyEvaluatorTest, BaseObjectivesAreFiniteAndCached) {
  const Fixture f = Make();
  PolicyEvaluator ev = MakeEvaluator(f);
  auto b = ev.EvaluateBase();
  ASSERT_TRUE(b) << b.error().String();
  EXPECT_GE(b->objectives.accuracy, 0.0);
  EXPECT_LE(b->objectives.accuracy, 1.0);
  EXPECT_EQ(b->proxy_accuracy, b->objectives.accuracy);
  EXPECT_TRUE(std::isfinite(b->objectives.latency_ms));
  EXPECT_GT(b->objectives.latency_ms, 0.0);
  EXPECT_DOUBLE_EQ(b->objectives.energy_mj, b->objectives.latency_ms * f.profile.tdp_w);
  EXPECT_FALSE(b->energy_measured);
  EXPECT_TRUE(b->latency_estimated) << "an empty LUT: roofline";
  EXPECT_GT(b->lut_roofline, 0);
  EXPECT_EQ(b->lut_exact + b->lut_neighbour, 0);
  model::Model fused = model::Clone(f.base);
  ASSERT_TRUE(compress::RunFusion(fused));
  double bytes = 0;
  for (const auto& [name, t] : fused.tensors) bytes += static_cast<double>(t.nbytes());
  EXPECT_DOUBLE_EQ(b->objectives.size_bytes, bytes);
  ASSERT_EQ(b->per_layer.size(), f.space.layers.size());
  EXPECT_EQ(b->per_layer[0]["precision"], "fp32");
  EXPECT_EQ(b->per_layer[0]["kept_channels"], f.space.layers[0].out_channels);
  EXPECT_FALSE(b->cached);

  auto again = ev.EvaluateBase();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->cached);
  EXPECT_EQ(again->objectives.latency_ms, b->objectives.latency_ms);
  EXPECT_EQ(ev.cache_hits(), 1);
  EXPECT_EQ(ev.evaluations(), 1);
}

TEST(PolicyEvaluatorTest, PruningHalfOfEveryGroupLowersSizeAndLatency) {
  const Fixture f = Make();
  PolicyEvaluator ev = MakeEvaluator(f);
  auto base = ev.EvaluateBase();
  ASSERT_TRUE(base) << base.error().String();
  const CompressionPolicy p = Uniform(f.space, 0.5, 32);
  auto e = ev.Evaluate(p);
  ASSERT_TRUE(e) << e.error().String();
  EXPECT_LT(e->objectives.size_bytes, 0.5 * base->objectives.size_bytes);
  EXPECT_LT(e->objectives.latency_ms, base->objectives.latency_ms);
  EXPECT_LT(e->objectives.energy_mj, base->objectives.energy_mj);
  EXPECT_GE(e->objectives.accuracy, 0.0);
  EXPECT_LE(e->objectives.accuracy, 1.0);
  EXPECT_EQ(e->policy_hash, PolicyHash(p));
  auto kept = KeptPerGroup(f.space, p, f.profile);
  ASSERT_TRUE(kept);
  for (size_t i = 0; i < f.space.layers.size(); ++i) {
    const SearchLayer& l = f.space.layers[i];
    EXPECT_EQ(e->per_layer[i]["kept_channels"], l.group >= 0 ? (*kept)[l.group] : l.out_channels)
        << l.node;
    EXPECT_EQ(e->per_layer[i]["precision"], "fp32");
  }
  std::cout << "one Evaluate (resnet8 " << kImage << " px, 50% pruned): " << e->seconds * 1e3
            << " ms\n";
}

TEST(PolicyEvaluatorTest, TheSamePolicyTwiceIsServedFromTheCache) {
  const Fixture f = Make();
  PolicyEvaluator ev = MakeEvaluator(f);
  const CompressionPolicy p = Uniform(f.space, 0.3, 32);
  auto first = ev.Evaluate(p);
  ASSERT_TRUE(first) << first.error().String();
  auto second = ev.Evaluate(p);
  ASSERT_TRUE(second) << second.error().String();
  EXPECT_FALSE(first->cached);
  EXPECT_TRUE(second->cached);
  EXPECT_EQ(second->policy_hash, first->policy_hash);
  EXPECT_EQ(second->objectives.accuracy, first->objectives.accuracy);
  EXPECT_EQ(second->objectives.latency_ms, first->objectives.latency_ms);
  EXPECT_EQ(second->objectives.size_bytes, first->objectives.size_bytes);
  EXPECT_EQ(second->per_layer, first->per_layer);
  EXPECT_EQ(ev.cache_hits(), 1);
  EXPECT_EQ(ev.evaluations(), 1);
  // A different distillation setting is a different policy.
  CompressionPolicy other = p;
  other.alpha = 0.5;
  auto third = ev.Evaluate(other);
  ASSERT_TRUE(third);
  EXPECT_FALSE(third->cached);
  EXPECT_EQ(ev.evaluations(), 2);
}

TEST(PolicyEvaluatorTest, AnAll8BitPolicyRunsOnInt8Kernels) {
  const Fixture f = Make();
  PolicyEvaluator ev = MakeEvaluator(f);
  const CompressionPolicy p = Uniform(f.space, 0.0, 8);
  auto m = ev.Apply(p, false);
  ASSERT_TRUE(m) << m.error().String();
  for (const SearchLayer& l : f.space.layers) {
    const ir::Node* n = m->graph.FindNode(l.node);
    ASSERT_NE(n, nullptr) << l.node;
    EXPECT_EQ(n->precision, ir::Precision::kInt8) << l.node << ": first and last too";
  }
  EXPECT_GT(CountPrecision(m->graph, ir::Precision::kInt8), static_cast<int>(f.space.layers.size()))
      << "the residual adds run in int8 too";
  EXPECT_GT(compress::testing::CountOps(m->graph, "quantize"), 0);
  const torch::Tensor y = compress::testing::RunEval(*m, torch::randn({3, 1, kImage, kImage}));
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{3, 10}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());

  auto e = ev.Evaluate(p);
  ASSERT_TRUE(e) << e.error().String();
  for (const auto& l : e->per_layer) EXPECT_EQ(l["precision"], "int8") << l["node"];
  auto base = ev.EvaluateBase();
  ASSERT_TRUE(base);
  EXPECT_LT(e->objectives.size_bytes, 0.4 * base->objectives.size_bytes);
}

TEST(PolicyEvaluatorTest, Fp16AndInt4StorageShrinkWeightsButComputeInFp32OnX86) {
  const Fixture f = Make();
  PolicyEvaluator ev = MakeEvaluator(f);
  auto fp32 = ev.EvaluateBase();
  auto fp16 = ev.Evaluate(Uniform(f.space, 0.0, 16));
  auto int4 = ev.Evaluate(Uniform(f.space, 0.0, 4));
  ASSERT_TRUE(fp32 && fp16 && int4)
      << (fp16 ? (int4 ? "" : int4.error().String()) : fp16.error().String());
  const double w = WeightBytes(f.base);
  EXPECT_DOUBLE_EQ(fp16->objectives.size_bytes, fp32->objectives.size_bytes - w / 2)
      << "fp16 halves exactly the conv/linear weights";
  EXPECT_LT(int4->objectives.size_bytes, fp32->objectives.size_bytes - w * 3 / 4 + w / 16)
      << "int4: an eighth of the weights plus per-channel scales";
  // x86_cpu has no fp16/int4 kernels: the executor dequantizes at load, so the kernels are fp32's.
  EXPECT_DOUBLE_EQ(fp16->objectives.latency_ms, fp32->objectives.latency_ms);
  EXPECT_DOUBLE_EQ(int4->objectives.latency_ms, fp32->objectives.latency_ms);
  EXPECT_EQ(fp16->per_layer[1]["precision"], "fp16");
  EXPECT_EQ(int4->per_layer[1]["precision"], "int4");
  // fp16 storage is exact enough that the proxy accuracy barely moves.
  EXPECT_NEAR(fp16->objectives.accuracy, fp32->objectives.accuracy, 0.02);
}

TEST(PolicyEvaluatorTest, ApplyKeepsThePerGroupChannelsTheActionWallCounts) {
  const Fixture f = Make();
  PolicyEvaluator ev = MakeEvaluator(f);
  CompressionPolicy p = Uniform(f.space, 0.0, 32);
  // Different ratios per deciding layer (followers get their group's ratio), mixed widths.
  std::map<int64_t, double> ratio_of_group;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const SearchLayer& l = f.space.layers[i];
    if (l.group >= 0 && l.decides_group) ratio_of_group[l.group] = kPruneRatios[(i * 3) % 9];
    if (l.group >= 0) p.layers[i].prune_ratio = ratio_of_group.at(l.group);
    p.layers[i].bits = i % 2 ? 8 : 32;
  }
  auto kept = KeptPerGroup(f.space, p, f.profile);
  ASSERT_TRUE(kept) << kept.error().String();
  auto m = ev.Apply(p, false);
  ASSERT_TRUE(m) << m.error().String();
  bool pruned = false;
  for (const SearchLayer& l : f.space.layers) {
    const ir::Node* n = m->graph.FindNode(l.node);
    ASSERT_NE(n, nullptr);
    const int64_t out = m->graph.params.at(n->params.at("weight")).shape.at(0);
    EXPECT_EQ(out, l.group >= 0 ? (*kept)[l.group] : l.out_channels) << l.node;
    pruned |= out < l.out_channels;
  }
  EXPECT_TRUE(pruned);
  EXPECT_EQ(m->metadata.at("search_policy"), ToJson(p).dump());
  const torch::Tensor y = compress::testing::RunEval(*m, torch::randn({2, 1, kImage, kImage}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 10}));
  EXPECT_EQ(ev.evaluations(), 0) << "Apply is not an evaluation";
}

TEST(PolicyEvaluatorTest, RecalibrationSetsRunningStatisticsToTheBatchStatistics) {
  model::Model m = compress::testing::ZooModel("resnet8", kImage);
  const torch::Tensor x = torch::randn({64, 1, kImage, kImage}) * 2 + 0.5;
  const torch::Tensor before = m.tensors.at("bn1.running_mean").clone();
  // The input of bn1 is conv1's output.
  const ir::Node* bn = m.graph.FindNode("bn1");
  ASSERT_NE(bn, nullptr);
  auto ex = exec::Executor::Create(m);
  ASSERT_TRUE(ex);
  std::map<std::string, at::Tensor> taps;
  ASSERT_TRUE(ex->RunWithTaps({x}, exec::Mode::kInference, {bn->inputs[0]}, &taps));
  const torch::Tensor act = taps.at(bn->inputs[0]);

  ASSERT_TRUE(RecalibrateBatchNorm(m, {x}));
  const torch::Tensor mean = m.tensors.at("bn1.running_mean");
  const torch::Tensor var = m.tensors.at("bn1.running_var");
  EXPECT_GT(compress::testing::MaxAbsDiff(mean, before), 1e-3) << "the statistics must change";
  EXPECT_LT(compress::testing::MaxAbsDiff(mean, act.mean({0, 2, 3})), 1e-4);
  EXPECT_LT(compress::testing::MaxAbsDiff(var, act.var({0, 2, 3}, /*unbiased=*/true)), 1e-3);

  // Two halves: the average of their statistics (equal halves: the mean is exact).
  ASSERT_TRUE(RecalibrateBatchNorm(m, {x.narrow(0, 0, 32), x.narrow(0, 32, 32)}));
  EXPECT_LT(compress::testing::MaxAbsDiff(m.tensors.at("bn1.running_mean"), act.mean({0, 2, 3})),
            1e-4);
  EXPECT_FALSE(RecalibrateBatchNorm(m, {}));
}

TEST(PolicyEvaluatorTest, PrunedModelsAreRecalibratedBeforeFusion) {
  const Fixture f = Make();
  PolicyEvaluator ev = MakeEvaluator(f);
  const CompressionPolicy p = Uniform(f.space, 0.5, 32);
  auto m = ev.Apply(p, false);
  ASSERT_TRUE(m) << m.error().String();
  // The same channels removed and fused WITHOUT recalibration: the folded biases differ.
  auto kept = KeptPerGroup(f.space, p, f.profile);
  ASSERT_TRUE(kept);
  std::vector<std::vector<int64_t>> keep;
  for (size_t g = 0; g < f.space.groups.size(); ++g) {
    const int64_t c = f.space.groups[g].channels;
    torch::Tensor idx = (*kept)[g] < c ? std::get<0>(torch::sort(std::get<1>(
                                             torch::topk(f.space.channel_scores[g], (*kept)[g]))))
                                       : torch::arange(c);
    keep.emplace_back(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel());
  }
  model::Model plain = model::Clone(f.base);
  ASSERT_TRUE(compress::RemoveChannels(plain, f.space.groups, keep));
  ASSERT_TRUE(compress::RunFusion(plain));
  const ir::Node* conv = m->graph.FindNode(f.space.layers[0].node);
  ASSERT_NE(conv, nullptr);
  const std::string weight = conv->params.at("weight"), bias = conv->params.at("bias");
  ASSERT_EQ(m->tensors.at(weight).sizes(), plain.tensors.at(weight).sizes());
  EXPECT_GT(compress::testing::MaxAbsDiff(m->tensors.at(bias), plain.tensors.at(bias)), 1e-4);
}

TEST(PolicyEvaluatorTest, FinetuneDistillsTheCompressedModelOnTheCalibrationSplit) {
  const Fixture f = Make();
  EvaluatorOptions o = Options(f);
  o.finetune = true;
  o.finetune_options.epochs = 1;
  o.finetune_options.batch_size = 64;
  o.finetune_options.lr = 0.02;
  o.finetune_options.warmup_epochs = 0;
  o.finetune_options.val_fraction = 0;
  o.finetune_options.augment = {};
  auto ev = PolicyEvaluator::Create(f.base, f.space, f.data, o);
  ASSERT_TRUE(ev) << ev.error().String();
  const CompressionPolicy p = Uniform(f.space, 0.5, 32);
  auto tuned = ev->Apply(p, true);
  auto plain = ev->Apply(p, false);
  ASSERT_TRUE(tuned && plain) << (tuned ? plain.error().String() : tuned.error().String());
  const std::string w = tuned->graph.FindNode(f.space.layers[1].node)->params.at("weight");
  ASSERT_EQ(tuned->tensors.at(w).sizes(), plain->tensors.at(w).sizes());
  EXPECT_GT(compress::testing::MaxAbsDiff(tuned->tensors.at(w), plain->tensors.at(w)), 1e-6);
  auto e = ev->Evaluate(p);  // options.finetune: the evaluation fine-tunes too
  ASSERT_TRUE(e) << e.error().String();
  EXPECT_GE(e->objectives.accuracy, 0.0);
  EXPECT_LE(e->objectives.accuracy, 1.0);
}

TEST(PolicyEvaluatorTest, CreateRefusesBadInputsWithReasons) {
  const Fixture f = Make();
  const auto message = [](const Result<PolicyEvaluator>& r) {
    return r ? std::string("(created)") : r.error().String();
  };
  auto empty = PolicyEvaluator::Create(f.base, f.space, data::Dataset{}, Options(f));
  ASSERT_FALSE(empty);
  EXPECT_NE(message(empty).find("empty"), std::string::npos) << message(empty);

  EvaluatorOptions big = Options(f);
  big.proxy_samples = f.data.size();
  auto too_big = PolicyEvaluator::Create(f.base, f.space, f.data, big);
  ASSERT_FALSE(too_big);
  EXPECT_NE(message(too_big).find("proxy_samples"), std::string::npos) << message(too_big);

  model::Model tiny = train::testing::TinyModel(1);
  auto tiny_space =
      BuildSearchSpace(tiny, {{torch::randn({8, 1, 8, 8}), torch::randint(0, 4, {8})}});
  ASSERT_TRUE(tiny_space) << tiny_space.error().String();
  auto other = PolicyEvaluator::Create(f.base, *tiny_space, f.data, Options(f));
  ASSERT_FALSE(other);
  EXPECT_NE(message(other).find("another model"), std::string::npos) << message(other);

  model::Model no_norm = model::Clone(f.base);
  no_norm.metadata.erase("normalization");
  auto unnormalized = PolicyEvaluator::Create(no_norm, f.space, f.data, Options(f));
  ASSERT_FALSE(unnormalized);
  EXPECT_NE(message(unnormalized).find("normalization"), std::string::npos)
      << message(unnormalized);

  // A policy of the wrong length or outside the action space is refused at Evaluate.
  PolicyEvaluator ev = MakeEvaluator(f);
  CompressionPolicy short_policy = Uniform(f.space, 0.0, 32);
  short_policy.layers.pop_back();
  EXPECT_FALSE(ev.Evaluate(short_policy));
  CompressionPolicy odd = Uniform(f.space, 0.0, 32);
  odd.layers[0].bits = 6;
  auto refused = ev.Evaluate(odd);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().String().find("bits"), std::string::npos) << refused.error().String();
}

}  // namespace
}  // namespace hadmc::search
