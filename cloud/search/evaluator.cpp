#include "hadmc/search/evaluator.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "hadmc/compress/distill.h"
#include "hadmc/compress/pass_registry.h"
#include "hadmc/compress/prune_channels.h"
#include "hadmc/compress/quantize_int8.h"
#include "hadmc/compress/store_low_precision.h"
#include "hadmc/data/normalization.h"
#include "hadmc/exec/executor.h"
#include "hadmc/hal/int8_backend.h"
#include "hadmc/hal/kernels.h"
#include "hadmc/train/evaluate.h"
#include "hadmc/train/input_transform.h"
#include "hadmc/train/model_metadata.h"
#include "hadmc/train/trainer.h"

namespace hadmc::search {
namespace {

// Enough for stable int8 activation ranges (the compress pipeline's default is the same order).
constexpr int64_t kQuantCalibSamples = 256;
constexpr int64_t kQuantCalibBatch = 64;
// Recalibration runs in batches of at most this many images (one batch at the default 512).
constexpr int64_t kRecalibrationBatch = 512;
constexpr int64_t kEvalBatch = 512;

struct Preprocess {
  data::Normalization norm;
  train::BatchTransform transform;
  at::Tensor operator()(const at::Tensor& images_u8) const {
    at::Tensor x = data::NormalizeImages(images_u8, norm);
    return transform ? transform(x) : x;
  }
};

// `count` samples of `d` (seeded, without replacement), preprocessed, in batches of `batch`.
std::vector<at::Tensor> SampleInputs(const data::Dataset& d, const Preprocess& prep, int64_t count,
                                     int64_t batch, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor order = at::randperm(d.size(), gen).narrow(0, 0, std::min(count, d.size()));
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < order.size(0); i += batch)
    out.push_back(
        prep(d.images.index_select(0, order.narrow(0, i, std::min(batch, order.size(0) - i)))));
  return out;
}

// The space must describe `g`: every layer present with its output width, every group's tensor
// slices in range.
Status CheckSpaceMatches(const ir::Graph& g, const SearchSpace& space) {
  for (const SearchLayer& l : space.layers) {
    const ir::Node* n = g.FindNode(l.node);
    if (!n || (n->op != "conv2d" && n->op != "linear") || !n->params.count("weight"))
      return MakeError(Errc::kInvalidArgument, "the search space's layer '" + l.node +
                                                   "' is not a conv2d/linear node of the base "
                                                   "model (a space built from another model?)");
    const ir::Shape& w = g.params.at(n->params.at("weight")).shape;
    if (w.empty() || w[0] != l.out_channels)
      return MakeError(Errc::kInvalidArgument,
                       "the search space's layer '" + l.node + "' has " +
                           std::to_string(l.out_channels) + " output channels, the base model " +
                           (w.empty() ? std::string("none") : std::to_string(w[0])));
  }
  for (const compress::DependencyGroup& group : space.groups)
    for (const compress::ChannelSlice& s : group.slices) {
      auto it = g.params.find(s.param);
      if (it == g.params.end() || static_cast<int64_t>(it->second.shape.size()) <= s.dim ||
          it->second.shape[s.dim] < s.offset + group.channels * s.stride)
        return MakeError(Errc::kInvalidArgument, "the search space's channel group on '" + s.param +
                                                     "' does not fit the base model");
    }
  if (space.channel_scores.size() != space.groups.size())
    return MakeError(Errc::kInvalidArgument,
                     "the search space has " + std::to_string(space.channel_scores.size()) +
                         " channel scores for " + std::to_string(space.groups.size()) + " groups");
  return {};
}

// Kept channel indices per group: the top `kept[g]` by channel score (ascending indices), all
// channels where nothing is pruned.
Result<std::vector<std::vector<int64_t>>> KeepLists(const SearchSpace& space,
                                                    const std::vector<int64_t>& kept) {
  std::vector<std::vector<int64_t>> keep(space.groups.size());
  for (size_t g = 0; g < space.groups.size(); ++g) {
    const int64_t channels = space.groups[g].channels;
    if (kept[g] >= channels || !space.groups[g].prunable()) {
      keep[g].resize(static_cast<size_t>(channels));
      for (int64_t c = 0; c < channels; ++c) keep[g][static_cast<size_t>(c)] = c;
      continue;
    }
    const at::Tensor& scores = space.channel_scores[g];
    if (!scores.defined() || scores.numel() != channels)
      return MakeError(Errc::kInvalidArgument,
                       "group " + std::to_string(g) + " is pruned but has no channel scores");
    at::Tensor top = std::get<1>(at::topk(scores.to(at::kDouble), kept[g]));
    at::Tensor sorted = std::get<0>(at::sort(top)).contiguous();
    keep[g].assign(sorted.data_ptr<int64_t>(), sorted.data_ptr<int64_t>() + sorted.numel());
  }
  return keep;
}

// Bytes of the stored tensors (int8 codes, fp16 halves, int4 packed two per byte, their scales).
double StoredBytes(const model::Model& m) {
  double bytes = 0;
  for (const auto& [name, info] : m.graph.params)
    bytes += static_cast<double>(m.tensors.at(name).nbytes());
  return bytes;
}

// The graph as `profile`'s device executes it: fp16/int4 weight storage it has no kernels for is
// dequantized at load and computed in fp32 (exec/low_precision.h), so those kernels read fp32
// weights — their key precision and their bytes are fp32's.
ir::Graph AsExecutedOn(ir::Graph g, const hal::HardwareProfile& profile) {
  const auto supported = [&](ir::Precision p) {
    return std::find(profile.precisions.begin(), profile.precisions.end(), ir::PrecisionName(p)) !=
           profile.precisions.end();
  };
  for (ir::Node& n : g.nodes) {
    if (n.precision != ir::Precision::kFp16 && n.precision != ir::Precision::kInt4) continue;
    if (supported(n.precision) || !n.params.count("weight")) continue;
    ir::ParamInfo& w = g.params.at(n.params.at("weight"));
    if (n.precision == ir::Precision::kInt4)
      w.shape = n.attrs.GetInts("weight_shape", w.shape).value_or(w.shape);
    w.dtype = ir::DType::kF32;
    n.attrs.Erase("weight_shape");
    n.params.erase("weight_scale");
    n.precision = ir::Precision::kFp32;
  }
  return g;
}

nlohmann::json PerLayer(const SearchSpace& space, const CompressionPolicy& p,
                        const std::vector<int64_t>& kept, const ir::Graph& g) {
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < space.layers.size(); ++i) {
    const SearchLayer& l = space.layers[i];
    const ir::Node* n = g.FindNode(l.node);
    layers.push_back({{"node", l.node},
                      {"prune_ratio", p.layers[i].prune_ratio},
                      {"kept_channels", l.group >= 0 ? kept[l.group] : l.out_channels},
                      {"bits", p.layers[i].bits},
                      {"precision", n ? ir::PrecisionName(n->precision) : "missing"}});
  }
  return layers;
}

CompressionPolicy BasePolicy(const SearchSpace& space) {
  CompressionPolicy p;
  p.layers.assign(space.layers.size(), LayerDecision{0.0, 32});
  return p;
}

}  // namespace

Status RecalibrateBatchNorm(model::Model& m, const std::vector<at::Tensor>& batches) {
  if (batches.empty())
    return MakeError(Errc::kInvalidArgument, "batch-norm recalibration: no data");
  at::NoGradGuard no_grad;
  for (size_t k = 0; k < batches.size(); ++k) {
    // running = (1 - momentum) * running + momentum * batch: momentum 1 / (k + 1) makes the
    // running statistics the average over the batches seen so far (exactly batch 0's at k = 0).
    ir::Graph g = m.graph;
    for (ir::Node& n : g.nodes)
      if (n.op == "batch_norm") n.attrs.Set("momentum", 1.0 / static_cast<double>(k + 1));
    // The executor shares m's tensor handles: batch norm updates the running statistics in
    // place, so the update lands in m.tensors.
    auto ex = exec::Executor::Create(std::move(g), m.tensors);
    if (!ex) return MakeError(ex.error().WithContext("batch-norm recalibration"));
    auto out = ex->Run(batches[k], exec::Mode::kTrain);
    if (!out) return MakeError(out.error().WithContext("batch-norm recalibration"));
  }
  return {};
}

struct PolicyEvaluator::Impl {
  model::Model base;
  SearchSpace space;
  EvaluatorOptions options;
  Preprocess prep;
  data::Dataset calib_split, proxy_split;
  std::vector<at::Tensor> recalibration_batches;
  std::vector<at::Tensor> quant_calib;
  Result<hal::Int8Backend> backend;
  std::map<std::string, Evaluation> cache;
  std::optional<Evaluation> base_evaluation;
  int64_t cache_hits = 0, evaluations = 0;

  // Steps 2-6 of the header: prune, recalibrate, fine-tune, fuse, set precisions.
  Result<model::Model> Build(const CompressionPolicy& p, bool finetune,
                             std::vector<int64_t>* kept_out) const;
  // Accuracy on the proxy split, LUT latency, stored size, energy.
  Result<Evaluation> Measure(const model::Model& work) const;
};

Result<model::Model> PolicyEvaluator::Impl::Build(const CompressionPolicy& p, bool finetune,
                                                  std::vector<int64_t>* kept_out) const {
  auto valid = PolicyFromJson(ToJson(p));  // ratios and widths from the action space
  if (!valid) return MakeError(valid.error());
  auto kept = KeptPerGroup(space, p, options.profile);
  if (!kept) return MakeError(kept.error());
  if (kept_out) *kept_out = *kept;
  auto keep = KeepLists(space, *kept);
  if (!keep) return MakeError(keep.error());

  model::Model work = model::Clone(base);
  bool pruned = false;
  for (size_t g = 0; g < space.groups.size(); ++g)
    pruned |= static_cast<int64_t>((*keep)[g].size()) < space.groups[g].channels;
  if (pruned) {
    HADMC_TRY_CTX(compress::RemoveChannels(work, space.groups, *keep), "pruning");
    HADMC_TRY(RecalibrateBatchNorm(work, recalibration_batches));
  }
  if (finetune) {
    train::TrainOptions to = options.finetune_options;
    to.normalization = prep.norm;
    compress::DistillOptions d;
    d.alpha = p.alpha;
    d.temperature = p.temperature;
    auto step = compress::MakeDistillStep(base, work.graph, d);
    if (!step) return MakeError(step.error().WithContext("fine-tune"));
    to.make_step = *step;
    auto trained = train::Train(work, calib_split, data::Dataset{}, to);
    if (!trained) return MakeError(trained.error().WithContext("fine-tune"));
  }
  auto fused = compress::RunFusion(work);
  if (!fused) return MakeError(fused.error().WithContext("fusion"));

  auto plan = PlanPrecisions(work.graph, space, p);
  if (!plan) return MakeError(plan.error());
  const auto low = plan->low_precision_nodes();
  if (!low.empty()) {
    auto stored = compress::StoreLowPrecision(work, low);
    if (!stored) return MakeError(stored.error().WithContext("fp16/int4 storage"));
  }
  const auto int8 = plan->int8_nodes();
  if (!int8.empty()) {
    if (!backend) return MakeError(backend.error().WithContext("int8 layers"));
    compress::QuantizeOptions qo;
    qo.int8_nodes = int8;
    qo.keep_first_last = false;  // the policy decides the first and last layers too
    qo.reduce_range = backend->reduce_range;
    auto q = compress::QuantizeInt8(work, qo, quant_calib);
    if (!q) return MakeError(q.error().WithContext("int8 quantization"));
  }
  work.metadata["search_policy"] = ToJson(p).dump();
  return work;
}

Result<Evaluation> PolicyEvaluator::Impl::Measure(const model::Model& work) const {
  Evaluation e;
  auto ex = exec::Executor::Create(work);
  if (!ex) return MakeError(ex.error());
  auto acc = train::Evaluate(*ex, proxy_split, {kEvalBatch, prep.norm, prep.transform});
  if (!acc) return MakeError(acc.error().WithContext("proxy accuracy"));
  e.proxy_accuracy = e.objectives.accuracy = acc->accuracy;

  auto kernels = hal::KernelsOf(AsExecutedOn(work.graph, options.profile), options.batch);
  if (!kernels) return MakeError(kernels.error().WithContext("latency"));
  for (hal::KernelInstance& k : *kernels) {
    const std::string name = ir::PrecisionName(k.key.precision);
    if (std::find(options.profile.precisions.begin(), options.profile.precisions.end(), name) ==
        options.profile.precisions.end())
      k.key.precision = ir::Precision::kFp32;
  }
  const auto predicted = options.lut.PredictGraph(*kernels, &options.profile);
  e.objectives.latency_ms = predicted.ms;
  e.lut_exact = predicted.exact;
  e.lut_neighbour = predicted.neighbour;
  e.lut_roofline = predicted.roofline;
  e.latency_estimated = predicted.roofline > 0;

  e.objectives.size_bytes = StoredBytes(work);
  e.objectives.energy_mj = e.objectives.latency_ms * options.profile.tdp_w;  // ms x W = mJ
  e.energy_measured = false;
  return e;
}

PolicyEvaluator::PolicyEvaluator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PolicyEvaluator::PolicyEvaluator(PolicyEvaluator&&) noexcept = default;
PolicyEvaluator& PolicyEvaluator::operator=(PolicyEvaluator&&) noexcept = default;
PolicyEvaluator::~PolicyEvaluator() = default;

Result<PolicyEvaluator> PolicyEvaluator::Create(const model::Model& base, SearchSpace space,
                                                const data::Dataset& train,
                                                EvaluatorOptions options) {
  const auto invalid = [](const std::string& m) {
    return MakeError(Errc::kInvalidArgument, "policy evaluator: " + m);
  };
  if (train.size() == 0) return invalid("the training data is empty");
  HADMC_TRY_CTX(data::ValidateDataset(train), "policy evaluator");
  if (options.proxy_samples < 1 || options.proxy_samples >= train.size())
    return invalid("proxy_samples (" + std::to_string(options.proxy_samples) + ") must be in [1, " +
                   std::to_string(train.size()) + "), the training set's size");
  if (options.recalibration_samples < 1) return invalid("recalibration_samples must be >= 1");
  if (options.batch < 1) return invalid("batch must be >= 1");
  HADMC_TRY_CTX(CheckSpaceMatches(base.graph, space), "policy evaluator");
  auto norm = train::NormalizationFromMetadata(base.metadata);
  if (!norm) return MakeError(norm.error().WithContext("policy evaluator"));
  if (!*norm)
    return invalid("the base model records no normalization (train it with `hadmc train`)");
  auto transform = train::MakeInputTransform(base.graph, train);
  if (!transform) return MakeError(transform.error().WithContext("policy evaluator"));

  auto impl = std::make_unique<Impl>();
  impl->prep = Preprocess{**norm, *transform};
  // Stratified by label, so the proxy has every class in proportion; the split depends only on
  // the labels, the fraction and the seed.
  const double fraction =
      static_cast<double>(options.proxy_samples) / static_cast<double>(train.size());
  auto split = data::StratifiedSplit(train, fraction, options.seed);
  if (!split) return MakeError(split.error().WithContext("policy evaluator"));
  auto calib = data::SelectSamples(train, split->train);
  auto proxy = data::SelectSamples(train, split->test);
  if (!calib || !proxy) return invalid("selecting the proxy and calibration samples failed");
  if (proxy->size() == 0) return invalid("the proxy split is empty (too few samples per class)");
  impl->calib_split = std::move(*calib);
  impl->proxy_split = std::move(*proxy);
  try {
    impl->recalibration_batches =
        SampleInputs(impl->calib_split, impl->prep, options.recalibration_samples,
                     kRecalibrationBatch, options.seed + 1);
    for (at::Tensor& x : SampleInputs(impl->calib_split, impl->prep, kQuantCalibSamples,
                                      kQuantCalibBatch, options.seed + 2))
      impl->quant_calib.push_back(std::move(x));
  } catch (const std::exception& e) {
    return invalid(std::string("preparing calibration inputs: ") + e.what());
  }
  // Process-wide and needed before any int8 model is bound; kept as an error for policies
  // that choose 8 bits on a LibTorch without quantized engines.
  impl->backend = hal::ConfigureInt8Backend();
  impl->base = model::Clone(base);
  impl->space = std::move(space);
  impl->options = std::move(options);
  return PolicyEvaluator(std::move(impl));
}

// The base is fused (exact) and kept in fp32; it is NOT batch-norm recalibrated — it keeps the
// statistics it was trained with, which a policy that prunes nothing keeps too.
Result<Evaluation> PolicyEvaluator::EvaluateBase() {
  Impl& s = *impl_;
  if (s.base_evaluation) {
    ++s.cache_hits;
    Evaluation e = *s.base_evaluation;
    e.cached = true;
    return e;
  }
  const auto start = std::chrono::steady_clock::now();
  model::Model work = model::Clone(s.base);
  auto fused = compress::RunFusion(work);
  if (!fused) return MakeError(fused.error().WithContext("base model: fusion"));
  auto e = s.Measure(work);
  if (!e) return MakeError(e.error().WithContext("base model"));
  const CompressionPolicy p = BasePolicy(s.space);
  std::vector<int64_t> kept;
  for (const auto& g : s.space.groups) kept.push_back(g.channels);
  e->policy_hash = PolicyHash(p);
  e->per_layer = PerLayer(s.space, p, kept, work.graph);
  e->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++s.evaluations;
  s.base_evaluation = *e;
  return e;
}

Result<Evaluation> PolicyEvaluator::Evaluate(const CompressionPolicy& p) {
  Impl& s = *impl_;
  const std::string hash = PolicyHash(p);
  if (auto it = s.cache.find(hash); it != s.cache.end()) {
    ++s.cache_hits;
    Evaluation e = it->second;
    e.cached = true;
    return e;
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<int64_t> kept;
  auto work = s.Build(p, s.options.finetune, &kept);
  if (!work) return MakeError(work.error().WithContext("evaluating policy " + hash.substr(0, 12)));
  auto e = s.Measure(*work);
  if (!e) return MakeError(e.error().WithContext("evaluating policy " + hash.substr(0, 12)));
  e->policy_hash = hash;
  e->per_layer = PerLayer(s.space, p, kept, work->graph);
  e->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++s.evaluations;
  s.cache[hash] = *e;
  return e;
}

Result<model::Model> PolicyEvaluator::Apply(const CompressionPolicy& p, bool finetune) {
  return impl_->Build(p, finetune, nullptr);
}

const SearchSpace& PolicyEvaluator::space() const { return impl_->space; }
int64_t PolicyEvaluator::cache_hits() const { return impl_->cache_hits; }
int64_t PolicyEvaluator::evaluations() const { return impl_->evaluations; }

}  // namespace hadmc::search
