#include "hadmc/train/checkpoint.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "atomic_file.h"
#include "hadmc/common/log.h"
#include "hadmc/model/hmc_file.h"

namespace hadmc::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "hadmc-checkpoint";
constexpr int kFormatVersion = 1;

std::string SequenceName(const char* prefix, int64_t sequence, const char* suffix) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s-%06lld%s", prefix, static_cast<long long>(sequence), suffix);
  return buf;
}

// "ckpt-000012.json" -> 12; -1 for any other name.
int64_t ParseSequence(const std::string& name, const std::string& prefix,
                      const std::string& suffix) {
  if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 12 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  return std::stoll(digits);
}

nlohmann::json FileEntry(const std::string& name, const std::string& bytes) {
  return {{"name", name}, {"size", bytes.size()}, {"crc32", Crc32(bytes)}};
}

// Reads the file an entry names and checks its size and CRC.
Result<std::string> ReadChecked(const std::string& dir, const nlohmann::json& entry) {
  const std::string name = entry.at("name").get<std::string>();
  if (name.find('/') != std::string::npos)
    return MakeError(Errc::kCorrupt, "file name '" + name + "' leaves the checkpoint directory");
  auto bytes = ReadFile((fs::path(dir) / name).string());
  if (!bytes) return tl::unexpected(bytes.error());
  if (bytes->size() != entry.at("size").get<uint64_t>())
    return MakeError(Errc::kCorrupt, name + " has " + std::to_string(bytes->size()) +
                                         " bytes, the checkpoint recorded " +
                                         std::to_string(entry.at("size").get<uint64_t>()));
  if (Crc32(*bytes) != entry.at("crc32").get<uint32_t>())
    return MakeError(Errc::kCorrupt, name + " fails its CRC-32 check");
  return bytes;
}

nlohmann::json StateToJson(const CheckpointState& s) {
  nlohmann::json history = nlohmann::json::array();
  for (const EpochRecord& r : s.history) history.push_back(EpochRecordToJson(r));
  return {{"format", kFormat},
          {"version", kFormatVersion},
          {"sequence", s.sequence},
          {"epoch", s.epoch},
          {"next_batch", s.next_batch},
          {"step", s.step},
          {"train_seconds", s.train_seconds},
          {"best_val_accuracy",
           s.best_val_accuracy ? nlohmann::json(*s.best_val_accuracy) : nlohmann::json(nullptr)},
          {"best_epoch", s.best_epoch},
          {"epochs_without_improvement", s.epochs_without_improvement},
          {"history", history},
          {"epoch_progress", s.epoch_progress},
          {"options", s.options},
          {"step_state", s.step_state}};
}

Result<CheckpointState> StateFromJson(const nlohmann::json& j) {
  try {
    if (j.at("format") != kFormat || j.at("version") != kFormatVersion)
      return MakeError(Errc::kUnsupported, "not a version-1 hadmc checkpoint");
    CheckpointState s;
    s.sequence = j.at("sequence").get<int64_t>();
    s.epoch = j.at("epoch").get<int64_t>();
    s.next_batch = j.at("next_batch").get<int64_t>();
    s.step = j.at("step").get<int64_t>();
    s.train_seconds = j.at("train_seconds").get<double>();
    if (!j.at("best_val_accuracy").is_null())
      s.best_val_accuracy = j.at("best_val_accuracy").get<double>();
    s.best_epoch = j.at("best_epoch").get<int64_t>();
    s.epochs_without_improvement = j.at("epochs_without_improvement").get<int64_t>();
    for (const auto& r : j.at("history")) {
      auto record = EpochRecordFromJson(r);
      if (!record) return tl::unexpected(record.error());
      s.history.push_back(std::move(*record));
    }
    s.epoch_progress = j.at("epoch_progress");
    s.options = j.at("options");
    s.step_state = j.at("step_state");
    if (j.at("files").contains("best") && !j.at("files").at("best").is_null())
      s.best_file = j.at("files").at("best").at("name").get<std::string>();
    return s;
  } catch (const nlohmann::json::exception& e) {
    return MakeError(Errc::kParse, e.what());
  }
}

}  // namespace

CheckpointStore::CheckpointStore(std::string dir, int keep)
    : dir_(std::move(dir)), keep_(std::max(keep, 1)) {}

std::string CheckpointStore::Path(const std::string& name) const {
  return (fs::path(dir_) / name).string();
}

Status CheckpointStore::Reset() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return MakeError(Errc::kIo, "creating checkpoint directory " + dir_ + ": " + ec.message());
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    const bool ours = name.rfind("ckpt-", 0) == 0 || name.rfind("best-", 0) == 0;
    if (ours) fs::remove(entry.path(), ec);
  }
  if (ec) return MakeError(Errc::kIo, "clearing checkpoint directory " + dir_ + ": " + ec.message());
  return {};
}

std::vector<int64_t> CheckpointStore::Sequences() const {
  std::vector<int64_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const int64_t seq = ParseSequence(entry.path().filename().string(), "ckpt-", ".json");
    if (seq >= 0) out.push_back(seq);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status CheckpointStore::Save(const model::Model& model, const torch::optim::Optimizer& optimizer,
                             const model::Model* best, CheckpointState& state) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return MakeError(Errc::kIo, "creating checkpoint directory " + dir_ + ": " + ec.message());
  const int64_t seq = state.sequence + 1;
  nlohmann::json files;

  auto model_bytes = model::SerializeHmc(model);
  if (!model_bytes) return tl::unexpected(model_bytes.error().WithContext("checkpoint model"));
  const std::string model_name = SequenceName("ckpt", seq, ".hmc");
  HADMC_TRY(WriteFileAtomically(Path(model_name), *model_bytes));
  files["model"] = FileEntry(model_name, *model_bytes);

  std::string optim_bytes;
  try {
    torch::serialize::OutputArchive archive;
    optimizer.save(archive);
    archive.save_to([&optim_bytes](const void* data, size_t n) {
      optim_bytes.append(static_cast<const char*>(data), n);
      return n;
    });
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, std::string("serializing optimizer state: ") + e.what());
  }
  const std::string optim_name = SequenceName("ckpt", seq, ".optim");
  HADMC_TRY(WriteFileAtomically(Path(optim_name), optim_bytes));
  files["optimizer"] = FileEntry(optim_name, optim_bytes);

  nlohmann::json best_entry = nullptr;
  if (best) {
    auto best_bytes = model::SerializeHmc(*best);
    if (!best_bytes) return tl::unexpected(best_bytes.error().WithContext("best model"));
    const std::string best_name = SequenceName("best", seq, ".hmc");
    HADMC_TRY(WriteFileAtomically(Path(best_name), *best_bytes));
    best_entry = FileEntry(best_name, *best_bytes);
  } else if (!state.best_file.empty()) {
    // Still the previous best: point at it again (re-checking it costs one read of the file).
    auto previous = ReadFile(Path(state.best_file));
    if (!previous) return tl::unexpected(previous.error().WithContext("previous best model"));
    best_entry = FileEntry(state.best_file, *previous);
  }
  files["best"] = best_entry;

  CheckpointState next = state;
  next.sequence = seq;
  next.best_file = best_entry.is_null() ? "" : best_entry.at("name").get<std::string>();
  nlohmann::json j = StateToJson(next);
  j["files"] = files;
  HADMC_TRY(WriteFileAtomically(Path(SequenceName("ckpt", seq, ".json")), j.dump(1)));
  state = std::move(next);
  RemoveOld(seq);
  return {};
}

void CheckpointStore::RemoveOld(int64_t newest) {
  std::set<std::string> referenced;
  std::error_code ec;
  for (int64_t seq : Sequences()) {
    const std::string json_name = SequenceName("ckpt", seq, ".json");
    if (seq > newest - keep_ && seq <= newest) {
      auto text = ReadFile(Path(json_name));
      if (!text) continue;
      const auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("files") && j["files"].contains("best") &&
          j["files"]["best"].is_object())
        referenced.insert(j["files"]["best"].value("name", ""));
      continue;
    }
    // Older than the kept window, or a leftover newer than this run's newest: the JSON goes
    // first so a checkpoint never exists without its files.
    fs::remove(Path(json_name), ec);
    fs::remove(Path(SequenceName("ckpt", seq, ".hmc")), ec);
    fs::remove(Path(SequenceName("ckpt", seq, ".optim")), ec);
  }
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (ParseSequence(name, "best-", ".hmc") >= 0 && !referenced.count(name))
      fs::remove(entry.path(), ec);
  }
}

Result<LoadedCheckpoint> CheckpointStore::Load(int64_t seq,
                                               torch::optim::Optimizer& optimizer) const {
  const std::string json_path = Path(SequenceName("ckpt", seq, ".json"));
  auto text = ReadFile(json_path);
  if (!text) return tl::unexpected(text.error());
  const auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return MakeError(Errc::kCorrupt, "the JSON is unreadable (truncated?)");
  auto state = StateFromJson(j);
  if (!state) return tl::unexpected(state.error());
  LoadedCheckpoint out;
  out.json_path = json_path;
  try {
    const nlohmann::json& files = j.at("files");
    auto model_bytes = ReadChecked(dir_, files.at("model"));
    if (!model_bytes) return tl::unexpected(model_bytes.error());
    auto m = model::ParseHmc(*model_bytes, files.at("model").at("name").get<std::string>());
    if (!m) return tl::unexpected(m.error());
    out.model = std::move(*m);
    if (files.contains("best") && !files.at("best").is_null()) {
      auto best_bytes = ReadChecked(dir_, files.at("best"));
      if (!best_bytes) return tl::unexpected(best_bytes.error());
      auto b = model::ParseHmc(*best_bytes, files.at("best").at("name").get<std::string>());
      if (!b) return tl::unexpected(b.error());
      out.best = std::move(*b);
    }
    auto optim_bytes = ReadChecked(dir_, files.at("optimizer"));
    if (!optim_bytes) return tl::unexpected(optim_bytes.error());
    torch::serialize::InputArchive archive;
    archive.load_from(optim_bytes->data(), optim_bytes->size());
    optimizer.load(archive);
  } catch (const nlohmann::json::exception& e) {
    return MakeError(Errc::kParse, e.what());
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return MakeError(Errc::kCorrupt, "optimizer state: " + what);
  }
  out.state = std::move(*state);
  return out;
}

Result<std::optional<LoadedCheckpoint>> CheckpointStore::LoadLatest(
    torch::optim::Optimizer& optimizer) const {
  std::vector<int64_t> seqs = Sequences();
  if (seqs.empty()) return std::optional<LoadedCheckpoint>();
  std::string problems;
  for (auto it = seqs.rbegin(); it != seqs.rend(); ++it) {
    auto loaded = Load(*it, optimizer);
    if (loaded) {
      if (!problems.empty())
        Log().warn("checkpoint: using {} (skipped newer unusable ones:{})", loaded->json_path,
                   problems);
      return std::optional<LoadedCheckpoint>(std::move(*loaded));
    }
    problems += "\n  " + SequenceName("ckpt", *it, ".json") + ": " + loaded.error().message();
  }
  return MakeError(Errc::kCorrupt, "no usable checkpoint in " + dir_ + ":" + problems);
}

}  // namespace hadmc::train
