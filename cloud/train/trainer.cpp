#include "hadmc/train/trainer.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <chrono>

#include "hadmc/common/log.h"
#include "hadmc/data/data_loader.h"
#include "hadmc/exec/executor.h"
#include "hadmc/hal/detect.h"
#include "hadmc/hal/energy.h"
#include "hadmc/hal/threads.h"
#include "hadmc/model/model_summary.h"
#include "hadmc/train/ast.h"
#include "hadmc/train/checkpoint.h"
#include "hadmc/train/input_transform.h"
#include "hadmc/train/lr_schedule.h"
#include "hadmc/train/model_metadata.h"
#include "hadmc/train/optimizer.h"
#include "hadmc/train/progress.h"
#include "hadmc/train/train_step.h"

namespace hadmc::train {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double Ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

// Running sums of one epoch's training; serialized into a mid-epoch checkpoint.
struct EpochTotals {
  double loss_sum = 0;
  int64_t correct = 0;
  int64_t samples = 0;
  int64_t backpropagated = 0;
  int64_t scored = 0;
  int64_t steps = 0;
  double lr = 0;
  double train_seconds = 0;  // of earlier sessions, for a resumed partial epoch
  double energy_j = 0;       // likewise

  void Add(const StepResult& r) {
    loss_sum += r.loss_sum;
    correct += r.correct;
    samples += r.samples;
    backpropagated += r.backpropagated;
    scored += r.scored;
    ++steps;
  }
  nlohmann::json ToJson() const {
    return {{"loss_sum", loss_sum}, {"correct", correct},     {"samples", samples},
            {"backpropagated", backpropagated}, {"scored", scored}, {"steps", steps},
            {"lr", lr}, {"train_seconds", train_seconds}, {"energy_j", energy_j}};
  }
  static EpochTotals FromJson(const nlohmann::json& j) {
    EpochTotals t;
    t.loss_sum = j.value("loss_sum", 0.0);
    t.correct = j.value("correct", int64_t{0});
    t.samples = j.value("samples", int64_t{0});
    t.backpropagated = j.value("backpropagated", int64_t{0});
    t.scored = j.value("scored", int64_t{0});
    t.energy_j = j.value("energy_j", 0.0);
    t.steps = j.value("steps", int64_t{0});
    t.lr = j.value("lr", 0.0);
    t.train_seconds = j.value("train_seconds", 0.0);
    return t;
  }
};

// Copies `src` into the tensors of `dst` in place, so the executor and optimizer that share
// them see the new values.
Status CopyTensorsInto(model::TensorMap& dst, const model::TensorMap& src, const std::string& what) {
  if (dst.size() != src.size())
    return MakeError(Errc::kShapeMismatch, what + " has " + std::to_string(src.size()) +
                                               " tensors, the model " + std::to_string(dst.size()));
  at::NoGradGuard no_grad;
  for (auto& [name, t] : dst) {
    auto it = src.find(name);
    if (it == src.end()) return MakeError(Errc::kNotFound, what + " lacks tensor '" + name + "'");
    if (!it->second.sizes().equals(t.sizes()) || it->second.scalar_type() != t.scalar_type())
      return MakeError(Errc::kShapeMismatch, what + ": tensor '" + name + "' differs in shape or "
                                             "dtype from the model's");
    t.detach().copy_(it->second);
  }
  return {};
}

Status CheckModelFitsData(const ir::Graph& graph, const data::Dataset& train,
                          const data::Dataset& test) {
  if (train.size() == 0) return MakeError(Errc::kInvalidArgument, "the training set is empty");
  if (test.size() > 0 && test.class_names != train.class_names)
    return MakeError(Errc::kInvalidArgument, "the test split's classes differ from the train split's");
  if (graph.outputs.size() != 1)
    return MakeError(Errc::kUnsupported, "the model must have exactly one output (the logits)");
  auto shapes = ir::InferShapes(graph);
  if (!shapes) return tl::unexpected(shapes.error());
  const ir::Shape& out = shapes->at(graph.outputs[0]);
  if (out.size() != 2 || (out[1] > 0 && out[1] != train.num_classes()))
    return MakeError(Errc::kShapeMismatch, "the model outputs " + ir::ShapeString(out) +
                                               " but the dataset has " +
                                               std::to_string(train.num_classes()) + " classes");
  return {};
}

class TrainingRun {
 public:
  TrainingRun(model::Model& model, const data::Dataset& test, const TrainOptions& o)
      : model_(model), test_(test), o_(o), progress_(o.progress_stream, o.progress_is_tty) {}

  Status Prepare(const data::Dataset& train);
  Status RestoreOrReset();
  Status Loop();
  Result<TrainResult> Finish();

 private:
  Status RestoreCheckpoint();
  Status RunEpoch(int64_t epoch);
  Status RunBatches(int64_t epoch, EpochTotals& t, int64_t& done, Clock::time_point epoch_start);
  Status EndPartialEpoch(int64_t epoch, int64_t next_batch, EpochTotals& t);
  Status EndEpoch(int64_t epoch, EpochTotals& t, double loop_seconds);
  EpochRecord MakeRecord(int64_t epoch, const EpochTotals& t, bool complete) const;
  Status Validate(EpochRecord& r);
  void UpdateBest(EpochRecord& r, bool counts_for_patience);
  Status Checkpoint();
  bool ShouldStop();
  void ShowProgress(int64_t epoch, int64_t done, const EpochTotals& t, int64_t session_samples,
                    Clock::time_point epoch_start);

  model::Model& model_;
  const data::Dataset& test_;
  TrainOptions o_;  // normalization resolved in Prepare
  data::Dataset train_set_, val_set_;
  BatchTransform transform_;
  std::optional<exec::Executor> exec_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<data::DataLoader> loader_;
  LrSchedule schedule_;
  std::unique_ptr<TrainStep> step_;
  std::optional<CheckpointStore> store_;
  std::unique_ptr<TrainLog> log_;
  CheckpointState state_;
  std::optional<model::Model> best_;
  bool best_changed_ = false;
  bool resumed_ = false;
  std::optional<StopReason> stop_;
  ProgressReporter progress_;
  int64_t macs_per_sample_ = 0;  // 0: unknown
  // The detected device's profile, for the TDP x time estimate where no energy meter is readable.
  std::optional<hal::HardwareProfile> energy_profile_;
  hal::EnergyReading last_energy_;  // of the latest training loop

  Clock::time_point session_start_ = Clock::now();
  double prior_seconds_ = 0;  // train_seconds of earlier sessions
  double session_loop_seconds_ = 0;
  int64_t session_samples_ = 0;
  int64_t session_batches_ = 0;
  double session_epoch_seconds_ = 0;
  int64_t session_epochs_ = 0;
};

Status TrainingRun::Prepare(const data::Dataset& train) {
  HADMC_TRY(ValidateTrainOptions(o_));
  HADMC_TRY_CTX(data::ValidateDataset(train), "training set");
  if (test_.size() > 0) HADMC_TRY_CTX(data::ValidateDataset(test_), "test set");
  HADMC_TRY(CheckModelFitsData(model_.graph, train, test_));
  if (o_.threads > 0) hal::ConfigureThreads(o_.threads);

  if (o_.val_fraction > 0) {
    auto split = data::StratifiedSplit(train, o_.val_fraction, o_.seed);
    if (!split) return tl::unexpected(split.error().WithContext("validation hold-out"));
    auto t = data::SelectSamples(train, split->train);
    auto v = data::SelectSamples(train, split->test);
    if (!t || !v) return MakeError(Errc::kInternal, "selecting the validation hold-out");
    train_set_ = std::move(*t);
    val_set_ = std::move(*v);
  } else {
    train_set_ = train;
  }
  if (o_.normalization.empty()) {
    auto norm = data::ComputeNormalization(train_set_);
    if (!norm) return tl::unexpected(norm.error());
    o_.normalization = std::move(*norm);
  }
  auto transform = MakeInputTransform(model_.graph, train);
  if (!transform) return tl::unexpected(transform.error());
  transform_ = std::move(*transform);

  auto ex = exec::Executor::Create(model_);
  if (!ex) return tl::unexpected(ex.error());
  exec_.emplace(std::move(*ex));
  exec_->EnableGrad(true);
  auto opt = MakeOptimizer(*exec_, {o_.optimizer, o_.lr, o_.momentum, o_.nesterov, o_.weight_decay});
  if (!opt) return tl::unexpected(opt.error());
  optimizer_ = std::move(*opt);

  data::DataLoaderOptions lo;
  lo.batch_size = o_.batch_size;
  lo.seed = o_.seed;
  lo.augment = o_.augment;
  lo.normalization = o_.normalization;
  lo.batch_transform = transform_;
  auto loader = data::DataLoader::Create(train_set_, lo);
  if (!loader) return tl::unexpected(loader.error());
  loader_ = std::move(*loader);
  schedule_ = MakeLrSchedule(o_.lr, o_.warmup_epochs, loader_->BatchesPerEpoch(), o_.epochs);

  const TrainStepContext context{*exec_, *optimizer_, o_};
  if (o_.make_step) {
    auto step = o_.make_step(context);
    if (!step) return tl::unexpected(step.error());
    step_ = std::move(*step);
  } else {
    step_ = MakeCrossEntropyStep(context);
  }
  if (o_.ast.enabled) step_ = MakeAstStep(std::move(step_), context, o_.ast);
  if (auto summary = model::SummarizeGraph(model_.graph); summary && summary->total_macs > 0)
    macs_per_sample_ = summary->total_macs;
  const hal::DeviceInfo device = hal::Detect();
  if (auto profile = hal::FindProfile(device.profile))
    energy_profile_ = hal::ScaledToCores(*profile, device.cpu_cores);
  Log().info("training on {} samples, validating on {}, {} batches of {} per epoch, {} threads",
             train_set_.size(), val_set_.size(), loader_->BatchesPerEpoch(), o_.batch_size,
             at::get_num_threads());
  return {};
}

Status TrainingRun::RestoreOrReset() {
  state_.options = TrainOptionsToJson(o_);
  if (!o_.checkpoint_dir.empty()) HADMC_TRY(RestoreCheckpoint());
  // The log is independent of checkpoints (a run without them still logs its epochs).
  if (!o_.log_path.empty()) {
    auto log = TrainLog::Open(o_.log_path, state_.history);
    if (!log) return tl::unexpected(log.error());
    log_ = std::move(*log);
  }
  return {};
}

Status TrainingRun::RestoreCheckpoint() {
  store_.emplace(o_.checkpoint_dir);
  if (o_.resume) {
    auto loaded = store_->LoadLatest(*optimizer_);
    if (!loaded) return tl::unexpected(loaded.error().WithContext("resuming"));
    if (*loaded) {
      LoadedCheckpoint& ck = **loaded;
      const auto differing = ResumeIncompatibleOptions(ck.state.options, state_.options);
      if (!differing.empty()) {
        std::string names;
        for (const auto& n : differing) names += (names.empty() ? "" : ", ") + n;
        return MakeError(Errc::kInvalidArgument,
                         "the checkpoint in " + o_.checkpoint_dir + " was made with different " +
                             names + "; resume with the same options, or start afresh");
      }
      if (ck.state.options.value("epochs", o_.epochs) != o_.epochs)
        Log().warn("resuming with {} epochs instead of {}: the cosine schedule changes, so the "
                   "result differs from an uninterrupted run", o_.epochs,
                   ck.state.options.value("epochs", int64_t{0}));
      HADMC_TRY_CTX(CopyTensorsInto(model_.tensors, ck.model.tensors, ck.json_path), "resuming");
      HADMC_TRY_CTX(step_->LoadState(ck.state.step_state), "resuming the training step");
      best_ = std::move(ck.best);
      const nlohmann::json options = state_.options;
      state_ = std::move(ck.state);
      state_.options = options;
      prior_seconds_ = state_.train_seconds;
      resumed_ = true;
      Log().info("resuming from {}: epoch {}, batch {}, step {}", ck.json_path, state_.epoch + 1,
                 state_.next_batch, state_.step);
    } else {
      Log().warn("no checkpoint in {}; starting from scratch", o_.checkpoint_dir);
    }
  }
  if (!resumed_) HADMC_TRY(store_->Reset());
  return {};
}

bool TrainingRun::ShouldStop() {
  if (o_.stop_requested && o_.stop_requested->load()) {
    stop_ = StopReason::kRequested;
  } else if (o_.max_minutes > 0 && Since(session_start_) > o_.max_minutes * 60.0) {
    stop_ = StopReason::kMaxMinutes;
  }
  return stop_.has_value();
}

void TrainingRun::ShowProgress(int64_t epoch, int64_t done, const EpochTotals& t,
                               int64_t epoch_samples, Clock::time_point epoch_start) {
  const int64_t per_epoch = loader_->BatchesPerEpoch();
  const double rate = Ratio(static_cast<double>(session_batches_),
                            session_loop_seconds_ + Since(epoch_start));
  const int64_t remaining = (o_.epochs - epoch - 1) * per_epoch + (per_epoch - done);
  ProgressSnapshot s;
  s.epoch = epoch + 1;
  s.epochs = o_.epochs;
  s.batch = done;
  s.batches = per_epoch;
  s.loss = Ratio(t.loss_sum, static_cast<double>(t.samples));
  s.accuracy = Ratio(static_cast<double>(t.correct), static_cast<double>(t.samples));
  s.images_per_second = Ratio(static_cast<double>(epoch_samples), Since(epoch_start));
  s.eta_seconds = rate > 0 ? remaining / rate : -1;
  progress_.Update(s);
}

Status TrainingRun::RunEpoch(int64_t epoch) {
  const bool continuing = epoch == state_.epoch && state_.next_batch > 0;
  const int64_t first = continuing ? state_.next_batch : 0;
  EpochTotals t = continuing ? EpochTotals::FromJson(state_.epoch_progress) : EpochTotals{};
  const auto epoch_start = Clock::now();
  HADMC_TRY(loader_->StartEpoch(epoch, first));
  step_->BeginEpoch(epoch);
  int64_t done = first;
  Status looped;
  // MeasureEnergy reads RAPL or INA3221 around the loop, else estimates TDP x time.
  last_energy_ = hal::MeasureEnergy(
      [&] {
        try {
          looped = RunBatches(epoch, t, done, epoch_start);
        } catch (const std::exception& e) {
          looped = MakeError(Errc::kInternal, std::string("training: ") + e.what());
        }
      },
      energy_profile_.value_or(hal::HardwareProfile{}));
  HADMC_TRY(looped);
  const double loop_seconds = Since(epoch_start);
  session_loop_seconds_ += loop_seconds;
  t.train_seconds += loop_seconds;
  t.energy_j += last_energy_.joules;
  progress_.Clear();
  if (done < loader_->BatchesPerEpoch()) return EndPartialEpoch(epoch, done, t);
  return EndEpoch(epoch, t, loop_seconds);
}

Status TrainingRun::RunBatches(int64_t epoch, EpochTotals& t, int64_t& done,
                               Clock::time_point epoch_start) {
  int64_t epoch_samples = 0;
  while (true) {
    auto batch = loader_->Next();
    if (!batch) return tl::unexpected(batch.error().WithContext("epoch " + std::to_string(epoch + 1)));
    if (!*batch) break;
    t.lr = schedule_.At(state_.step);
    SetLearningRate(*optimizer_, t.lr);
    auto r = step_->Run(**batch);
    if (!r)
      return tl::unexpected(r.error().WithContext("epoch " + std::to_string(epoch + 1) +
                                                  ", batch " + std::to_string((*batch)->index + 1)));
    t.Add(*r);
    ++state_.step;
    done = (*batch)->index + 1;
    epoch_samples += r->samples;
    session_samples_ += r->samples;
    ++session_batches_;
    ShowProgress(epoch, done, t, epoch_samples, epoch_start);
    if (ShouldStop()) break;
  }
  return {};
}

EpochRecord TrainingRun::MakeRecord(int64_t epoch, const EpochTotals& t, bool complete) const {
  EpochRecord r;
  r.epoch = epoch + 1;
  r.complete = complete;
  r.lr = t.lr;
  r.steps = t.steps;
  r.samples = t.samples;
  r.backpropagated = t.backpropagated;
  r.train_loss = Ratio(t.loss_sum, static_cast<double>(t.samples));
  r.train_acc = Ratio(static_cast<double>(t.correct), static_cast<double>(t.samples));
  r.images_per_second = Ratio(static_cast<double>(t.samples), t.train_seconds);
  r.epoch_seconds = t.train_seconds;
  r.scored = t.scored;
  r.train_seconds = t.train_seconds;
  r.step_ms = Ratio(1000.0 * t.train_seconds, static_cast<double>(t.steps));
  r.est_gflops = 2e-9 * static_cast<double>(macs_per_sample_) *
                 static_cast<double>(t.scored + 3 * t.backpropagated);
  // An estimate needs the device's profile; a meter does not.
  if (last_energy_.measured || energy_profile_) {
    r.energy_j = t.energy_j;
    r.energy_measured = last_energy_.measured;
    r.energy_source = last_energy_.measured ? last_energy_.source
                                            : "tdp-estimate:" + energy_profile_->name;
  }
  r.extra = step_->EpochStats();
  return r;
}

Status TrainingRun::Validate(EpochRecord& r) {
  if (val_set_.size() == 0) return {};
  const auto start = Clock::now();
  auto v = Evaluate(*exec_, val_set_, {o_.eval_batch_size, o_.normalization, transform_});
  if (!v) return tl::unexpected(v.error().WithContext("validation"));
  r.val_loss = v->loss;
  r.val_acc = v->accuracy;
  r.epoch_seconds += Since(start);
  return {};
}

void TrainingRun::UpdateBest(EpochRecord& r, bool counts_for_patience) {
  if (!r.val_acc) return;
  if (!state_.best_val_accuracy || *r.val_acc > *state_.best_val_accuracy) {
    state_.best_val_accuracy = r.val_acc;
    state_.best_epoch = r.epoch;
    state_.epochs_without_improvement = 0;
    best_ = model::Clone(model_);
    best_changed_ = true;
    r.best = true;
  } else if (counts_for_patience) {
    ++state_.epochs_without_improvement;
  }
}

Status TrainingRun::Checkpoint() {
  if (!store_) return {};
  state_.train_seconds = prior_seconds_ + Since(session_start_);
  state_.step_state = step_->SaveState();
  HADMC_TRY_CTX(store_->Save(model_, *optimizer_, best_changed_ ? &*best_ : nullptr, state_),
                "writing checkpoint to " + store_->dir());
  best_changed_ = false;
  return {};
}

// A stop inside an epoch: validate what there is (under a time budget it may be the best model
// yet), checkpoint the position so a resumed run continues at the next batch.
Status TrainingRun::EndPartialEpoch(int64_t epoch, int64_t next_batch, EpochTotals& t) {
  EpochRecord r = MakeRecord(epoch, t, /*complete=*/false);
  HADMC_TRY(Validate(r));
  UpdateBest(r, /*counts_for_patience=*/false);
  state_.epoch = epoch;
  state_.next_batch = next_batch;
  state_.epoch_progress = t.ToJson();
  HADMC_TRY(Checkpoint());
  if (log_) HADMC_TRY(log_->Append(r));
  Log().info("stopped in epoch {} after batch {}/{} ({}){}", epoch + 1, next_batch,
             loader_->BatchesPerEpoch(), StopReasonName(*stop_),
             r.val_acc ? fmt::format(": val acc {:.2f}%", 100.0 * *r.val_acc) : "");
  return {};
}

Status TrainingRun::EndEpoch(int64_t epoch, EpochTotals& t, double loop_seconds) {
  EpochRecord r = MakeRecord(epoch, t, /*complete=*/true);
  HADMC_TRY(Validate(r));
  UpdateBest(r, /*counts_for_patience=*/true);
  state_.history.push_back(r);
  state_.epoch = epoch + 1;
  state_.next_batch = 0;
  state_.epoch_progress = nlohmann::json::object();
  session_epoch_seconds_ += loop_seconds + (r.epoch_seconds - t.train_seconds);
  ++session_epochs_;
  HADMC_TRY(Checkpoint());
  if (log_) HADMC_TRY(log_->Append(r));
  Log().info("epoch {}/{}: lr {:.4g}  train loss {:.4f} acc {:.2f}%{}  {:.1f}s  {:.0f} img/s{}",
             r.epoch, o_.epochs, r.lr, r.train_loss, 100.0 * r.train_acc,
             r.val_acc ? fmt::format("  val loss {:.4f} acc {:.2f}%", *r.val_loss, 100.0 * *r.val_acc)
                       : "",
             r.epoch_seconds, r.images_per_second, r.best ? "  (best)" : "");
  if (!stop_ && o_.patience > 0 && state_.epochs_without_improvement >= o_.patience)
    stop_ = StopReason::kEarlyStopping;
  if (!stop_ && o_.on_epoch_end && !o_.on_epoch_end(r)) stop_ = StopReason::kRequested;
  return {};
}

Status TrainingRun::Loop() {
  for (int64_t epoch = state_.epoch; epoch < o_.epochs && !stop_; ++epoch)
    HADMC_TRY(RunEpoch(epoch));
  return {};
}

Result<TrainResult> TrainingRun::Finish() {
  TrainResult result;
  result.history = state_.history;
  result.epochs_run = static_cast<int64_t>(state_.history.size());
  result.stopped = stop_.value_or(StopReason::kCompleted);
  result.resumed = resumed_;
  result.normalization = o_.normalization;
  result.train_samples = train_set_.size();
  result.val_samples = val_set_.size();
  result.train_seconds = prior_seconds_ + Since(session_start_);
  result.seconds_per_epoch = Ratio(session_epoch_seconds_, static_cast<double>(session_epochs_));
  result.images_per_second = Ratio(static_cast<double>(session_samples_), session_loop_seconds_);
  if (o_.select_best && best_) {
    HADMC_TRY_CTX(CopyTensorsInto(model_.tensors, best_->tensors, "best model"), "final model");
    result.best_epoch = state_.best_epoch;
  }
  exec_->EnableGrad(false);
  const EvalOptions eval{o_.eval_batch_size, o_.normalization, transform_};
  if (val_set_.size() > 0) {
    auto v = Evaluate(*exec_, val_set_, eval);
    if (!v) return tl::unexpected(v.error().WithContext("final validation"));
    result.val = std::move(*v);
  }
  if (test_.size() > 0) {
    auto t = Evaluate(*exec_, test_, eval);
    if (!t) return tl::unexpected(t.error().WithContext("test evaluation"));
    result.test = std::move(*t);
  }

  Metadata& md = model_.metadata;
  SetClassNames(md, train_set_.class_names);
  SetNormalization(md, o_.normalization);
  SetInputShape(md, model_.graph.inputs.at(0).shape);
  if (result.val) md["val_accuracy"] = nlohmann::json(result.val->accuracy).dump();
  if (result.test) md["test_accuracy"] = nlohmann::json(result.test->accuracy).dump();
  md["epochs_run"] = std::to_string(result.epochs_run);
  md["best_epoch"] = std::to_string(result.best_epoch);
  md["train_seconds"] = nlohmann::json(result.train_seconds).dump();
  md["stopped"] = StopReasonName(result.stopped);
  md["train_options"] = state_.options.dump();
  return result;
}

}  // namespace

const char* StopReasonName(StopReason r) {
  switch (r) {
    case StopReason::kCompleted: return "completed";
    case StopReason::kMaxMinutes: return "max_minutes";
    case StopReason::kEarlyStopping: return "early_stopping";
    case StopReason::kRequested: return "requested";
  }
  return "unknown";
}

nlohmann::json TrainResultToJson(const TrainResult& r) {
  nlohmann::json history = nlohmann::json::array();
  double loop_seconds = 0, gflops = 0, joules = 0;
  int64_t backpropagated = 0, scored = 0;
  bool energy_known = false, energy_measured = false;
  std::string energy_source;
  std::optional<double> best_val;
  for (const EpochRecord& e : r.history) {
    history.push_back(EpochRecordToJson(e));
    loop_seconds += e.train_seconds;
    gflops += e.est_gflops;
    backpropagated += e.backpropagated;
    scored += e.scored;
    if (e.energy_j) {
      energy_known = true;
      joules += *e.energy_j;
      energy_measured = e.energy_measured;
      energy_source = e.energy_source;
    }
    if (e.val_acc && (!best_val || *e.val_acc > *best_val)) best_val = e.val_acc;
  }
  auto accuracy = [](const std::optional<EvalResult>& e) {
    return e ? nlohmann::json(e->accuracy) : nlohmann::json(nullptr);
  };
  return {{"stopped", StopReasonName(r.stopped)},
          {"resumed", r.resumed},
          {"epochs_run", r.epochs_run},
          {"best_epoch", r.best_epoch},
          {"best_val_acc", best_val ? nlohmann::json(*best_val) : nlohmann::json(nullptr)},
          {"val_acc", accuracy(r.val)},
          {"test_acc", accuracy(r.test)},
          {"train_samples", r.train_samples},
          {"val_samples", r.val_samples},
          {"train_seconds", r.train_seconds},
          {"seconds_per_epoch", r.seconds_per_epoch},
          {"images_per_second", r.images_per_second},
          {"loop_seconds", loop_seconds},
          {"backpropagated", backpropagated},
          {"scored", scored},
          {"est_gflops", gflops},
          {"energy_j", energy_known ? nlohmann::json(joules) : nlohmann::json(nullptr)},
          {"energy_measured", energy_measured},
          {"energy_source", energy_source},
          {"history", history}};
}

Result<TrainResult> Train(model::Model& model, const data::Dataset& train,
                          const data::Dataset& test, const TrainOptions& options) {
  TrainingRun run(model, test, options);
  HADMC_TRY_CTX(run.Prepare(train), "preparing training");
  HADMC_TRY(run.RestoreOrReset());
  Status looped;
  try {
    looped = run.Loop();
  } catch (const std::exception& e) {
    looped = MakeError(Errc::kInternal, std::string("training: ") + e.what());
  }
  if (!looped) return tl::unexpected(looped.error().WithContext("training"));
  return run.Finish();
}

}  // namespace hadmc::train
