#include "hadmc/train/train_log.h"

#include "atomic_file.h"

namespace hadmc::train {
namespace {

nlohmann::json OptionalNumber(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json EpochRecordToJson(const EpochRecord& r) {
  nlohmann::json j = {{"epoch", r.epoch},
                      {"complete", r.complete},
                      {"lr", r.lr},
                      {"steps", r.steps},
                      {"samples", r.samples},
                      {"backpropagated", r.backpropagated},
                      {"train_loss", r.train_loss},
                      {"train_acc", r.train_acc},
                      {"val_loss", OptionalNumber(r.val_loss)},
                      {"val_acc", OptionalNumber(r.val_acc)},
                      {"best", r.best},
                      {"epoch_seconds", r.epoch_seconds},
                      {"images_per_second", r.images_per_second},
                      {"scored", r.scored},
                      {"train_seconds", r.train_seconds},
                      {"step_ms", r.step_ms},
                      {"est_gflops", r.est_gflops},
                      {"energy_j", OptionalNumber(r.energy_j)},
                      {"energy_measured", r.energy_measured},
                      {"energy_source", r.energy_source}};
  for (const auto& [key, value] : r.extra.items())
    if (!j.contains(key)) j[key] = value;
  return j;
}

Result<EpochRecord> EpochRecordFromJson(const nlohmann::json& j) {
  static const char* const kKeys[] = {"epoch", "complete", "lr", "steps", "samples",
                                      "backpropagated", "train_loss", "train_acc", "val_loss",
                                      "val_acc", "best", "epoch_seconds", "images_per_second",
                                      "scored", "train_seconds", "step_ms", "est_gflops",
                                      "energy_j", "energy_measured", "energy_source"};
  try {
    EpochRecord r;
    r.epoch = j.at("epoch").get<int64_t>();
    r.complete = j.at("complete").get<bool>();
    r.lr = j.at("lr").get<double>();
    r.steps = j.at("steps").get<int64_t>();
    r.samples = j.at("samples").get<int64_t>();
    r.backpropagated = j.at("backpropagated").get<int64_t>();
    r.train_loss = j.at("train_loss").get<double>();
    r.train_acc = j.at("train_acc").get<double>();
    if (!j.at("val_loss").is_null()) r.val_loss = j.at("val_loss").get<double>();
    if (!j.at("val_acc").is_null()) r.val_acc = j.at("val_acc").get<double>();
    r.best = j.at("best").get<bool>();
    r.epoch_seconds = j.at("epoch_seconds").get<double>();
    r.images_per_second = j.at("images_per_second").get<double>();
    r.scored = j.value("scored", int64_t{0});
    r.train_seconds = j.value("train_seconds", 0.0);
    r.step_ms = j.value("step_ms", 0.0);
    r.est_gflops = j.value("est_gflops", 0.0);
    if (j.contains("energy_j") && !j.at("energy_j").is_null())
      r.energy_j = j.at("energy_j").get<double>();
    r.energy_measured = j.value("energy_measured", false);
    r.energy_source = j.value("energy_source", std::string());
    for (const auto& [key, value] : j.items()) {
      bool known = false;
      for (const char* k : kKeys) known = known || key == k;
      if (!known) r.extra[key] = value;
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    return MakeError(Errc::kParse, std::string("epoch record: ") + e.what());
  }
}

Result<std::unique_ptr<TrainLog>> TrainLog::Open(const std::string& path,
                                                 const std::vector<EpochRecord>& history) {
  std::string text;
  for (const EpochRecord& r : history) text += EpochRecordToJson(r).dump() + "\n";
  HADMC_TRY_CTX(WriteFileAtomically(path, text), "writing training log");
  std::ofstream out(path, std::ios::app);
  if (!out) return MakeError(ErrnoError("opening training log " + path));
  return std::unique_ptr<TrainLog>(new TrainLog(path, std::move(out)));
}

Status TrainLog::Append(const EpochRecord& r) {
  out_ << EpochRecordToJson(r).dump() << '\n' << std::flush;
  if (!out_) return MakeError(Errc::kIo, "appending to training log " + path_);
  return {};
}

}  // namespace hadmc::train
