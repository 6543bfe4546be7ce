#include "hadmc/search/search_setup.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <ostream>

#include "hadmc/common/atomic_file.h"
#include "hadmc/compress/latency.h"
#include "hadmc/data/normalization.h"
#include "hadmc/exec/executor.h"
#include "hadmc/hal/detect.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/train/evaluate.h"
#include "hadmc/train/input_transform.h"
#include "hadmc/train/model_metadata.h"

namespace hadmc::search {
namespace {

Result<hal::LatencyLut> ReadLut(const std::string& path) {
  std::ifstream in(path);
  if (!in) return MakeError(Errc::kNotFound, "cannot open LUT file " + path);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return MakeError(Errc::kParse, path + ": not JSON");
  auto lut = hal::LutFromJson(j);
  if (!lut) return MakeError(lut.error().WithContext(path));
  return lut;
}

}  // namespace

Result<hal::HardwareProfile> LoadSearchTarget(const std::string& target,
                                              const hal::DeviceInfo& here, bool* local) {
  const std::string name = target.empty() ? here.profile : target;
  if (name.empty())
    return MakeError(Errc::kNotFound,
                     "this machine has no shipped hardware profile; name a target (hadmc hal list)");
  auto p = std::filesystem::exists(name) ? hal::LoadProfile(name) : hal::FindProfile(name);
  if (!p) return MakeError(p.error().WithContext("target"));
  *local = !here.profile.empty() && p->name == here.profile;
  return *local ? hal::ScaledToCores(*p, here.cpu_cores) : *p;
}

Result<std::unique_ptr<SearchSetup>> PrepareSearch(const model::Model& base,
                                                   const data::Dataset& train,
                                                   const SearchSetupOptions& o) {
  auto s = std::make_unique<SearchSetup>();
  s->base = model::Clone(base);
  std::ostream* out = o.progress;
  if (train.size() == 0) return MakeError(Errc::kInvalidArgument, "search: no training data");
  auto norm = train::NormalizationFromMetadata(base.metadata);
  if (!norm) return MakeError(norm.error());
  if (!*norm)
    return MakeError(Errc::kInvalidArgument,
                     "the model records no normalization (train it with `hadmc train`)");
  auto transform = train::MakeInputTransform(base.graph, train);
  if (!transform) return MakeError(transform.error());

  const hal::DeviceInfo here = hal::Detect();
  auto profile = LoadSearchTarget(o.target, here, &s->local);
  if (!profile) return MakeError(profile.error());
  s->profile = *profile;

  // The space: conv/linear layers with Taylor sensitivities on 512 training images.
  if (out) *out << "building the search space...\n";
  compress::CalibrationSet calib;
  {
    at::Generator gen = at::detail::createCPUGenerator(o.seed);
    at::Tensor order = at::randperm(train.size(), gen);
    const int64_t n = std::min<int64_t>(512, train.size());
    for (int64_t i = 0; i < n; i += 64) {
      at::Tensor idx = order.narrow(0, i, std::min<int64_t>(64, n - i));
      at::Tensor x = data::NormalizeImages(train.images.index_select(0, idx), **norm);
      calib.push_back({*transform ? (*transform)(x) : x, train.labels.index_select(0, idx)});
    }
  }
  auto space = BuildSearchSpace(base, calib);
  if (!space) return MakeError(space.error());
  s->space = std::move(*space);

  EvaluatorOptions eo;
  eo.profile = s->profile;
  eo.batch = o.batch;
  eo.recalibration_samples = o.recal_samples;
  eo.proxy_samples = o.proxy_samples;
  eo.seed = o.seed;
  eo.finetune_options.epochs = o.finetune_epochs;
  eo.finetune_options.lr = o.finetune_lr;
  eo.finetune_options.warmup_epochs = 0;
  eo.finetune_options.seed = o.seed;
  eo.finetune_options.progress_stream = out;

  // The LUT: a file; or kernels timed here when the target is this machine; else the roofline.
  s->lut_source = "roofline estimates only (no LUT)";
  if (!o.lut_path.empty()) {
    auto lut = ReadLut(o.lut_path);
    if (!lut) return MakeError(lut.error());
    if (out && lut->device_class() != s->profile.name)
      *out << "warning: the LUT is of class '" << lut->device_class() << "', the target '"
           << s->profile.name << "'\n";
    s->lut = *lut;
    s->lut_source = "LUT file " + o.lut_path + ", " + std::to_string(lut->rows().size()) + " rows";
  } else if (s->local && o.measure_lut) {
    if (out) *out << "timing kernels on this machine for the " << s->profile.name << " LUT...\n";
    auto probe = PolicyEvaluator::Create(base, s->space, train, eo);
    if (!probe) return MakeError(probe.error());
    LocalLutOptions lo;
    lo.batch = o.batch;
    lo.progress = out;
    auto lut = MeasureLocalLut(*probe, s->profile.name, lo);
    if (!lut) return MakeError(lut.error());
    s->lut = *lut;
    if (!o.lut_out.empty())
      HADMC_TRY(WriteFileAtomically(o.lut_out, hal::ToJson(*lut).dump(1) + "\n"));
    s->lut_source = "kernels timed on this machine, " + std::to_string(lut->rows().size()) + " rows";
  } else if (out) {
    *out << "warning: no LUT for " << s->profile.name
         << ": every latency is a roofline estimate (give a LUT from `hadmc lut export "
         << s->profile.name << "`)\n";
  }
  eo.lut = s->lut;
  s->evaluator_options = eo;
  s->train = train;
  auto evaluator = PolicyEvaluator::Create(base, s->space, train, eo);
  if (!evaluator) return MakeError(evaluator.error());
  s->evaluator = std::make_unique<PolicyEvaluator>(std::move(*evaluator));
  auto predictor = PolicyPredictor::Create(base, s->space, s->profile, s->lut, o.batch);
  if (!predictor) return MakeError(predictor.error());
  s->predictor = std::make_unique<PolicyPredictor>(std::move(*predictor));
  auto base_eval = s->evaluator->EvaluateBase();
  if (!base_eval) return MakeError(base_eval.error().WithContext("evaluating the base"));
  s->base_evaluation = *base_eval;

  // Constraints.
  s->constraints.max_latency_ms = o.latency_ms;
  if (o.latency_fraction > 0) {
    double reference = base_eval->objectives.latency_ms;
    std::string how = "its LUT prediction";
    if (s->local) {
      compress::LatencyOptions lo;
      lo.runs = 100;
      auto l = compress::MeasureLatency(base, o.batch, 1, lo);
      if (!l) return MakeError(l.error());
      s->base_measured_ms = l->median_ms;
      reference = l->median_ms;
      how = "measured here, batch " + std::to_string(o.batch) + ", 1 thread";
    }
    s->constraints.max_latency_ms = o.latency_fraction * reference;
    if (out)
      *out << "latency budget " << s->constraints.max_latency_ms << " ms = " << o.latency_fraction
           << " x the base's " << reference << " ms (" << how << ")\n";
  }
  s->constraints.max_size_bytes = o.size_kb * 1024;
  if (o.max_accuracy_drop >= 0)
    s->constraints.min_accuracy = base_eval->objectives.accuracy - o.max_accuracy_drop / 100;
  return s;
}

Result<SearchEnvironment> MakeEnvironment(const SearchSetup& s, EnvironmentOptions options) {
  options.constraints = s.constraints;
  return SearchEnvironment::Create(s.space, s.predictor.get(), s.profile, options);
}

Result<FinalCheck> CheckPolicy(SearchSetup& s, const CompressionPolicy& p, bool finetune,
                               const data::Dataset& test, int64_t batch,
                               const std::string& model_out, const std::string& base_path) {
  FinalCheck f;
  auto norm = train::NormalizationFromMetadata(s.base.metadata);
  if (!norm || !*norm) return MakeError(Errc::kInvalidArgument, "the base records no normalization");
  auto transform = train::MakeInputTransform(s.base.graph, test);
  if (!transform) return MakeError(transform.error());
  auto built = s.evaluator->Apply(p, finetune);
  if (!built) return MakeError(built.error());
  auto predicted = s.evaluator->Evaluate(p);
  if (!predicted) return MakeError(predicted.error());
  f.predicted_latency_ms = predicted->objectives.latency_ms;
  f.budget_ms = s.constraints.max_latency_ms;
  std::error_code ec;
  if (!base_path.empty())
    f.base_file_bytes = static_cast<int64_t>(std::filesystem::file_size(base_path, ec));
  if (!model_out.empty()) {
    built->metadata["compressed_from"] = base_path;
    HADMC_TRY_CTX(model::SaveHmc(*built, model_out), "writing " + model_out);
    f.best_file_bytes = static_cast<int64_t>(std::filesystem::file_size(model_out, ec));
  }
  const auto accuracy = [&](const model::Model& m) -> Result<double> {
    auto ex = exec::Executor::Create(m);
    if (!ex) return MakeError(ex.error());
    auto r = train::Evaluate(*ex, test, {512, **norm, *transform});
    if (!r) return MakeError(r.error());
    return r->accuracy;
  };
  auto base_acc = accuracy(s.base);
  if (!base_acc) return MakeError(base_acc.error());
  auto best_acc = accuracy(*built);
  if (!best_acc) return MakeError(best_acc.error());
  f.base_test_accuracy = *base_acc;
  f.best_test_accuracy = *best_acc;
  if (s.local) {
    compress::LatencyOptions lo;
    lo.runs = 100;
    auto l = compress::MeasureLatencyInterleaved({&s.base, &*built}, batch, 1, lo);
    if (!l) return MakeError(l.error());
    f.done = true;
    f.base_latency_ms = (*l)[0].median_ms;
    f.best_latency_ms = (*l)[1].median_ms;
    f.meets_budget = f.budget_ms <= 0 || f.best_latency_ms <= f.budget_ms;
  }
  return f;
}

}  // namespace hadmc::search
