#include "hadmc/compress/pipeline.h"

#include <ATen/ATen.h>

#include <chrono>
#include <filesystem>
#include <ostream>

#include "hadmc/common/log.h"
#include "hadmc/compress/pass_registry.h"
#include "hadmc/compress/precision_allocator.h"
#include "hadmc/compress/qat.h"
#include "hadmc/compress/quantize_int8.h"
#include "hadmc/compress/store_low_precision.h"
#include "hadmc/data/normalization.h"
#include "hadmc/exec/executor.h"
#include "hadmc/hal/int8_backend.h"
#include "hadmc/hal/threads.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/model/model_summary.h"
#include "hadmc/train/evaluate.h"
#include "hadmc/train/input_transform.h"
#include "hadmc/train/model_metadata.h"
#include "hadmc/train/trainer.h"

namespace hadmc::compress {
namespace {

struct Preprocess {
  data::Normalization norm;
  train::BatchTransform transform;
  at::Tensor operator()(const at::Tensor& images_u8) const {
    at::Tensor x = data::NormalizeImages(images_u8, norm);
    return transform ? transform(x) : x;
  }
};

// `count` training samples (seeded, without replacement) as normalized batches of `batch`.
std::vector<std::pair<at::Tensor, at::Tensor>> SampleBatches(const data::Dataset& d,
                                                             const Preprocess& prep, int64_t count,
                                                             int64_t batch, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor order = at::randperm(d.size(), gen).narrow(0, 0, std::min(count, d.size()));
  std::vector<std::pair<at::Tensor, at::Tensor>> out;
  for (int64_t i = 0; i < order.size(0); i += batch) {
    at::Tensor idx = order.narrow(0, i, std::min(batch, order.size(0) - i));
    out.push_back({prep(d.images.index_select(0, idx)), d.labels.index_select(0, idx)});
  }
  return out;
}

// Accuracy, parameters, MACs and file size; latency is measured by MeasureLatencyPair.
Result<ModelFacts> MeasureFacts(const model::Model& m, const std::string& path,
                                const data::Dataset& test, const Preprocess& prep) {
  ModelFacts f;
  auto ex = exec::Executor::Create(m);
  if (!ex) return MakeError(ex.error());
  auto eval = train::Evaluate(*ex, test, {512, prep.norm, prep.transform});
  if (!eval) return MakeError(eval.error().WithContext("evaluating " + path));
  f.accuracy = eval->accuracy;
  auto summary = model::SummarizeGraph(m.graph);
  if (!summary) return MakeError(summary.error());
  f.params = summary->total_params;
  f.macs = summary->total_macs;
  std::error_code ec;
  f.file_bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  return f;
}

// Latency of the original and the compressed model at batch 1 and 32, at 1 thread and at all
// threads, their runs interleaved so that both see the same machine (the ratio is what counts
// on a shared machine); batch1/batch32 get the measured-fastest thread count of each model.
Status MeasureLatencyPair(const model::Model& before_m, const model::Model& after_m,
                          const LatencyOptions& lat, ModelFacts& before, ModelFacts& after,
                          std::ostream* progress) {
  const int all = hal::AvailableCpus();
  std::vector<int> threads = {1};
  if (all > 1) threads.push_back(all);
  before.measured.clear();
  after.measured.clear();
  for (int64_t batch : {1, 32}) {
    std::vector<Latency> b, a;
    for (int t : threads) {
      if (progress)
        *progress << "  timing both models at batch " << batch << ", " << t << " thread(s)...\n";
      auto l = MeasureLatencyInterleaved({&before_m, &after_m}, batch, t, lat);
      if (!l) return MakeError(l.error().WithContext("latency"));
      b.push_back((*l)[0]);
      a.push_back((*l)[1]);
    }
    before.measured.insert(before.measured.end(), b.begin(), b.end());
    after.measured.insert(after.measured.end(), a.begin(), a.end());
    (batch == 1 ? before.batch1 : before.batch32) = BestOf(b);
    (batch == 1 ? after.batch1 : after.batch32) = BestOf(a);
  }
  return {};
}

// Options for a fine-tuning run inside the pipeline (after pruning, or QAT); `tag` names its
// checkpoint directory and log in the work directory.
train::TrainOptions FinetuneOptions(const CompressRecipe& r, const Preprocess& prep,
                                    const CompressInputs& in, int64_t epochs, double lr,
                                    const std::string& tag) {
  train::TrainOptions to;
  to.epochs = epochs;
  to.lr = lr;
  to.warmup_epochs = 0;
  to.batch_size = r.batch_size;
  to.augment = r.augment ? data::AugmentOptions{2, true} : data::AugmentOptions{};
  to.normalization = prep.norm;
  to.seed = r.seed;
  to.checkpoint_dir = in.work_dir.empty() ? "" : in.work_dir + "/" + tag + ".ckpt";
  to.log_path = in.work_dir.empty() ? "" : in.work_dir + "/" + tag + ".jsonl";
  to.progress_stream = in.progress;
  to.ast = r.ast;
  return to;
}

}  // namespace

Result<CompressReport> Compress(const model::Model& base, const std::string& base_path,
                                const CompressRecipe& r, const CompressInputs& in) {
  const auto start = std::chrono::steady_clock::now();
  std::ostream* out = in.progress;
  CompressReport report;
  report.recipe = r;
  if (!in.train || !in.test) return MakeError(Errc::kInvalidArgument, "compress needs train and test data");
  auto norm = train::NormalizationFromMetadata(base.metadata);
  if (!norm) return MakeError(norm.error());
  if (!*norm)
    return MakeError(Errc::kInvalidArgument,
                     "the model records no normalization (train it with `hadmc train`)");
  auto transform = train::MakeInputTransform(base.graph, *in.train);
  if (!transform) return MakeError(transform.error());
  const Preprocess prep{**norm, *transform};
  hal::Int8Backend backend;
  if (r.bits == 8) {
    auto configured = hal::ConfigureInt8Backend();
    if (!configured) return MakeError(configured.error());
    backend = *configured;
    report.int8_engine = backend.engine + (backend.reduce_range ? ", 7-bit weights" : ", 8-bit weights") +
                         " (" + backend.reason + ")";
  }

  if (in.known_before) {
    report.before = *in.known_before;
  } else {
    if (out) *out << "measuring the original model...\n";
    auto before = MeasureFacts(base, base_path, *in.test, prep);
    if (!before) return MakeError(before.error());
    report.before = *before;
  }

  model::Model work = model::Clone(base);
  if (r.prune_ratio > 0) {
    if (out) *out << "pruning " << r.prune_ratio * 100 << "% of channels ("
                  << (r.importance == Importance::kTaylor ? "Taylor" : "L1") << ")...\n";
    PruneOptions po;
    po.ratio = r.prune_ratio;
    po.importance = r.importance;
    po.global = r.global;
    po.round_to = r.round_to;
    const auto calib = SampleBatches(*in.train, prep, r.calib_batches * 64, 64, r.seed);
    auto pruned = PruneChannels(work, po, calib);
    if (!pruned) return MakeError(pruned.error().WithContext("pruning"));
    report.pruning = *pruned;
  }
  if (r.finetune_epochs > 0) {
    if (out) *out << "fine-tuning " << r.finetune_epochs << " epochs"
                  << (r.distill ? " with distillation from the original" : "") << "...\n";
    train::TrainOptions to =
        FinetuneOptions(r, prep, in, r.finetune_epochs, r.finetune_lr, "finetune");
    if (r.distill) {
      auto step = MakeDistillStep(base, work.graph, r.distillation);
      if (!step) return MakeError(step.error());
      to.make_step = *step;
    }
    auto trained = train::Train(work, *in.train, data::Dataset{}, to);
    if (!trained) return MakeError(trained.error().WithContext("fine-tuning"));
    for (const auto& e : trained->history) report.finetune.push_back(train::EpochRecordToJson(e));
  }
  if (r.fuse) {
    auto runs = RunFusion(work, r.disabled_passes);
    if (!runs) return MakeError(runs.error());
  }
  if (r.bits == 16 || r.bits == 4) {
    // Every conv/linear weight stored small; with int4, HAD-MC keeps the first and last in fp32.
    std::map<std::string, ir::Precision> plan;
    std::vector<std::string> weight_nodes;
    for (const ir::Node& n : work.graph.nodes)
      if (n.op == "conv2d" || n.op == "linear") weight_nodes.push_back(n.name);
    for (const std::string& name : weight_nodes) {
      const bool edge = name == weight_nodes.front() || name == weight_nodes.back();
      if (r.bits == 4 && r.keep_first_last && edge) continue;
      plan[name] = r.bits == 16 ? ir::Precision::kFp16 : ir::Precision::kInt4;
    }
    if (out) *out << "storing " << plan.size() << " weight nodes in " << (r.bits == 16 ? "fp16" : "int4")
                  << " (fp32 compute)...\n";
    auto low = StoreLowPrecision(work, plan);
    if (!low) return MakeError(low.error());
    report.fp16_nodes = low->fp16_nodes;
    report.int4_nodes = low->int4_nodes;
  }
  std::set<std::string> int8_nodes;  // empty: every eligible node
  if (r.bits == 8 && r.mixed_budget_kb > 0) {
    if (out) *out << "allocating int8/int4 per layer (Fisher sensitivity) for "
                  << r.mixed_budget_kb << " KiB of weights...\n";
    const auto calib = SampleBatches(*in.train, prep, r.calib_batches * 64, 64, r.seed + 2);
    auto sensitivity = MeasureSensitivity(work, calib);
    if (!sensitivity) return MakeError(sensitivity.error());
    AllocationOptions ao;
    ao.weight_budget_bytes = r.mixed_budget_kb * 1024;
    ao.keep_first_last = r.keep_first_last;
    auto alloc = AllocatePrecision(work, *sensitivity, ao);
    if (!alloc) return MakeError(alloc.error());
    report.allocation = AllocationToJson(*alloc);
    std::map<std::string, ir::Precision> int4_plan;
    for (const auto& [name, p] : alloc->precision) {
      if (p == ir::Precision::kInt4) int4_plan[name] = p;
      if (p == ir::Precision::kInt8) int8_nodes.insert(name);
    }
    for (const std::string& name : Int8Candidates(work.graph))
      if (const ir::Node* n = work.graph.FindNode(name); n && n->op == "add") int8_nodes.insert(name);
    auto low = StoreLowPrecision(work, int4_plan);
    if (!low) return MakeError(low.error());
    report.int4_nodes = low->int4_nodes;
  }
  if (r.bits == 8) {
    QuantizeOptions qo;
    qo.observer = r.observer;
    qo.keep_first_last = r.keep_first_last;
    qo.reduce_range = backend.reduce_range;
    qo.int8_nodes = int8_nodes;
    std::vector<at::Tensor> calib;
    for (auto& [x, y] : SampleBatches(*in.train, prep, r.quant_calib_samples, 64, r.seed + 1))
      calib.push_back(x);
    if (r.qat_epochs > 0) {
      // QAT: fake quantization where the conversion will quantize (found by converting a copy),
      // fine-tuned with straight-through gradients; then the real conversion below.
      if (out) *out << "quantization-aware training, " << r.qat_epochs << " epochs...\n";
      model::Model probe = model::Clone(work);
      auto probed = QuantizeInt8(probe, qo, calib);
      if (!probed) return MakeError(probed.error().WithContext("QAT probe"));
      auto qat = PrepareQat(work, probe, backend.reduce_range ? 63 : 127);
      if (!qat) return MakeError(qat.error());
      train::TrainOptions to = FinetuneOptions(r, prep, in, r.qat_epochs, r.qat_lr, "qat");
      auto trained = train::Train(work, *in.train, data::Dataset{}, to);
      if (!trained) return MakeError(trained.error().WithContext("QAT"));
      for (const auto& e : trained->history) report.qat.push_back(train::EpochRecordToJson(e));
      HADMC_TRY(FinishQat(work));
    }
    if (out) *out << "quantizing to int8 (" << ObserverKindName(r.observer) << " calibration on "
                  << r.quant_calib_samples << " training images)...\n";
    auto q = QuantizeInt8(work, qo, calib);
    if (!q) return MakeError(q.error().WithContext("quantization"));
    report.int8_nodes = q->int8_nodes;
    report.fp32_nodes = q->fp32_nodes;
  }
  work.metadata["compressed_from"] = base_path;
  work.metadata["compress_recipe"] = RecipeToJson(r).dump();
  HADMC_TRY_CTX(model::SaveHmc(work, in.out_path), "writing " + in.out_path);
  if (out) *out << "measuring the compressed model...\n";
  auto after = MeasureFacts(work, in.out_path, *in.test, prep);
  if (!after) return MakeError(after.error());
  report.after = *after;
  HADMC_TRY(MeasureLatencyPair(base, work, r.latency, report.before, report.after, out));
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace hadmc::compress
