// The latency LUT: raw reports, merged entries (the rule is in registry.h), end-to-end rows and
// profiling jobs.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "sqlite_registry.h"

namespace hadmc::registry {
namespace {

constexpr char kNow[] = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";
constexpr int kMergeWindow = 8;  // reports per key that make up an entry

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Steps a statement through all its rows, calling `row` on each.
template <typename F>
Status EachRow(db::Statement& st, F row) {
  for (;;) {
    auto more = st.Step();
    if (!more) return MakeError(more.error());
    if (!*more) return {};
    HADMC_TRY(row(st));
  }
}

Result<std::vector<hal::KernelKey>> KernelsFromText(const std::string& text, int64_t job) {
  std::vector<hal::KernelKey> out;
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array())
    return MakeError(Errc::kCorrupt,
                     "profile job " + std::to_string(job) + ": kernels are not a JSON list");
  for (const auto& k : j) {
    auto key = hal::KernelKey::Parse(k.is_string() ? k.get<std::string>() : "");
    if (!key)
      return MakeError(Errc::kCorrupt,
                       "profile job " + std::to_string(job) + ": " + key.error().message());
    out.push_back(std::move(*key));
  }
  return out;
}

constexpr char kJobColumns[] =
    "SELECT j.id, j.device_class, j.kernels, j.runs, j.created_at, "
    "(SELECT COUNT(*) FROM profile_job_answers a WHERE a.job_id = j.id) FROM profile_jobs j ";

Result<std::vector<ProfileJob>> JobsFrom(db::Statement& st) {
  std::vector<ProfileJob> out;
  HADMC_TRY(EachRow(st, [&](const db::Statement& s) -> Status {
    ProfileJob job;
    job.id = s.Int(0);
    job.device_class = s.Text(1);
    auto kernels = KernelsFromText(s.Text(2), job.id);
    if (!kernels) return MakeError(kernels.error());
    job.kernels = std::move(*kernels);
    job.runs = s.Int(3);
    job.created_at = s.Text(4);
    job.answered = s.Int(5);
    out.push_back(std::move(job));
    return {};
  }));
  return out;
}

}  // namespace

Result<std::string> SqliteRegistry::ReportingClass(const std::string& device_id) {
  auto st = db_->Prepare("SELECT device_class, reported_class FROM devices WHERE id = ?");
  if (!st) return MakeError(st.error());
  st->Bind(1, device_id);
  auto row = st->Step();
  if (!row) return MakeError(row.error());
  if (!*row) return MakeError(Errc::kNotFound, "no device '" + device_id + "'");
  std::string cls = st->Text(0).empty() ? st->Text(1) : st->Text(0);
  if (cls.empty())
    return MakeError(Errc::kInvalidArgument, "device '" + device_id +
                                                 "' has no device class: register it with one, or "
                                                 "send a heartbeat with 'device_class' first");
  return cls;
}

Status SqliteRegistry::MergeEntry(const std::string& device_class, const std::string& key) {
  auto measured = db_->Prepare(
      "SELECT COUNT(*) FROM lut_reports WHERE device_class = ? AND key = ? AND "
      "source = 'measured'");
  if (!measured) return MakeError(measured.error());
  measured->Bind(1, device_class).Bind(2, key);
  auto row = measured->Step();
  if (!row) return MakeError(row.error());
  const std::string source = measured->Int(0) > 0 ? "measured" : "estimated";

  auto recent = db_->Prepare(
      "SELECT median_ms, p90_ms, at FROM lut_reports WHERE device_class = ? AND key = ? AND "
      "source = ? ORDER BY id DESC LIMIT ?");
  if (!recent) return MakeError(recent.error());
  recent->Bind(1, device_class).Bind(2, key).Bind(3, source).Bind(4, int64_t{kMergeWindow});
  std::vector<double> medians, p90s;
  std::string updated_at;
  HADMC_TRY(EachRow(*recent, [&](const db::Statement& s) -> Status {
    medians.push_back(s.Real(0));
    p90s.push_back(s.Real(1));
    if (updated_at.empty()) updated_at = s.Text(2);
    return {};
  }));
  if (medians.empty()) return {};

  auto upsert = db_->Prepare(
      "INSERT INTO lut_entries(device_class, key, median_ms, p90_ms, count, source, updated_at) "
      "SELECT ?1, ?2, ?3, ?4, COALESCE(SUM(runs), 0), ?5, ?6 FROM lut_reports "
      "WHERE device_class = ?1 AND key = ?2 AND source = ?5 "
      "ON CONFLICT(device_class, key) DO UPDATE SET median_ms = excluded.median_ms, "
      "p90_ms = excluded.p90_ms, count = excluded.count, source = excluded.source, "
      "updated_at = excluded.updated_at");
  if (!upsert) return MakeError(upsert.error());
  upsert->Bind(1, device_class)
      .Bind(2, key)
      .Bind(3, Median(medians))
      .Bind(4, Median(p90s))
      .Bind(5, source)
      .Bind(6, updated_at);
  return upsert->Run();
}

Result<int64_t> SqliteRegistry::RecordLatencyReport(const std::string& device_id,
                                                    const LatencyReport& report) {
  std::lock_guard lock(mu_);
  auto tx = db::Transaction::Begin(*db_);
  if (!tx) return MakeError(tx.error());
  auto cls = ReportingClass(device_id);
  if (!cls) return MakeError(cls.error());
  if (report.job) {
    auto job = db_->Prepare("SELECT device_class FROM profile_jobs WHERE id = ?");
    if (!job) return MakeError(job.error());
    job->Bind(1, *report.job);
    auto row = job->Step();
    if (!row) return MakeError(row.error());
    if (!*row || job->Text(0) != *cls)
      return MakeError(Errc::kNotFound, "no profiling job " + std::to_string(*report.job) +
                                            " for device class '" + *cls + "'");
  }
  auto bind_job = [&](db::Statement& st, int i) {
    if (report.job)
      st.Bind(i, *report.job);
    else
      st.BindNull(i);
  };

  auto insert = db_->Prepare(std::string("INSERT INTO lut_reports(device_class, device_id, key, "
                                         "kind, median_ms, p90_ms, runs, source, job_id, at) "
                                         "VALUES (?, ?, ?, ?, ?, ?, ?, 'measured', ?, ") +
                             kNow + ")");
  if (!insert) return MakeError(insert.error());
  std::set<std::string> keys;
  for (const KernelTiming& k : report.kernels) {
    const std::string key = k.key.ToString();
    insert->Bind(1, *cls)
        .Bind(2, device_id)
        .Bind(3, key)
        .Bind(4, k.key.kind)
        .Bind(5, k.median_ms)
        .Bind(6, k.p90_ms)
        .Bind(7, k.runs);
    bind_job(*insert, 8);
    HADMC_TRY(insert->Run());
    HADMC_TRY(insert->Reset());
    keys.insert(key);
  }
  for (const std::string& key : keys) HADMC_TRY(MergeEntry(*cls, key));

  if (report.e2e) {
    const E2eTiming& e = *report.e2e;
    auto st = db_->Prepare(std::string("INSERT INTO e2e_latency(device_class, device_id, model, "
                                       "version, batch, threads, median_ms, p90_ms, runs, "
                                       "joules_per_inference, energy_measured, energy_source, "
                                       "job_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                       "?, ") +
                           kNow + ")");
    if (!st) return MakeError(st.error());
    st->Bind(1, *cls)
        .Bind(2, device_id)
        .Bind(3, report.model)
        .Bind(4, static_cast<int64_t>(report.version))
        .Bind(5, report.batch)
        .Bind(6, report.threads)
        .Bind(7, e.median_ms)
        .Bind(8, e.p90_ms)
        .Bind(9, e.runs);
    if (e.joules_per_inference)
      st->Bind(10, *e.joules_per_inference);
    else
      st->BindNull(10);
    st->Bind(11, int64_t{e.energy_measured ? 1 : 0}).Bind(12, e.energy_source);
    bind_job(*st, 13);
    HADMC_TRY(st->Run());
  }
  if (report.job) {
    auto answered = db_->Prepare(std::string("INSERT OR IGNORE INTO profile_job_answers(job_id, "
                                             "device_id, at) VALUES (?, ?, ") +
                                 kNow + ")");
    if (!answered) return MakeError(answered.error());
    HADMC_TRY(answered->Bind(1, *report.job).Bind(2, device_id).Run());
  }
  HADMC_TRY(tx->Commit());
  return static_cast<int64_t>(report.kernels.size()) + (report.e2e ? 1 : 0);
}

Result<int64_t> SqliteRegistry::ImportLut(const std::string& device_class,
                                          const std::vector<hal::LutEntry>& rows) {
  if (device_class.empty())
    return MakeError(Errc::kInvalidArgument, "importing a LUT needs a device class");
  std::lock_guard lock(mu_);
  auto tx = db::Transaction::Begin(*db_);
  if (!tx) return MakeError(tx.error());
  auto insert = db_->Prepare(std::string("INSERT INTO lut_reports(device_class, device_id, key, "
                                         "kind, median_ms, p90_ms, runs, source, at) VALUES "
                                         "(?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7, "
                                         "CASE WHEN ?8 = '' THEN ") +
                             kNow + " ELSE ?8 END)");
  if (!insert) return MakeError(insert.error());
  std::set<std::string> keys;
  for (const hal::LutEntry& e : rows) {
    if (e.source != "measured" && e.source != "estimated")
      return MakeError(Errc::kInvalidArgument,
                       "row '" + e.key.ToString() + "': source must be measured or estimated");
    const std::string key = e.key.ToString();
    insert->Bind(1, device_class)
        .Bind(2, key)
        .Bind(3, e.key.kind)
        .Bind(4, e.median_ms)
        .Bind(5, e.p90_ms)
        .Bind(6, e.count)
        .Bind(7, e.source)
        .Bind(8, e.updated_at);
    if (auto s = insert->Run(); !s) return MakeError(s.error().WithContext("row '" + key + "'"));
    HADMC_TRY(insert->Reset());
    keys.insert(key);
  }
  for (const std::string& key : keys) HADMC_TRY(MergeEntry(device_class, key));
  HADMC_TRY(tx->Commit());
  return static_cast<int64_t>(rows.size());
}

Result<DeviceLut> SqliteRegistry::Lut(const std::string& device_class) {
  std::lock_guard lock(mu_);
  DeviceLut lut;
  lut.device_class = device_class;
  auto entries = db_->Prepare(
      "SELECT key, median_ms, p90_ms, count, source, updated_at FROM lut_entries "
      "WHERE device_class = ? ORDER BY key");
  if (!entries) return MakeError(entries.error());
  entries->Bind(1, device_class);
  HADMC_TRY(EachRow(*entries, [&](const db::Statement& s) -> Status {
    auto key = hal::KernelKey::Parse(s.Text(0));
    if (!key) return MakeError(Errc::kCorrupt, "lut_entries: " + key.error().message());
    lut.rows.push_back({.key = std::move(*key),
                        .median_ms = s.Real(1),
                        .p90_ms = s.Real(2),
                        .count = s.Int(3),
                        .source = s.Text(4),
                        .updated_at = s.Text(5)});
    return {};
  }));

  auto models = db_->Prepare(
      "SELECT model, version, batch, SUM(runs) FROM e2e_latency WHERE device_class = ? "
      "GROUP BY model, version, batch ORDER BY model, version, batch");
  if (!models) return MakeError(models.error());
  models->Bind(1, device_class);
  HADMC_TRY(EachRow(*models, [&](const db::Statement& s) -> Status {
    E2eLatencyRow row;
    row.model = s.Text(0);
    row.version = static_cast<uint64_t>(s.Int(1));
    row.batch = s.Int(2);
    row.count = s.Int(3);  // the medians are filled in below
    lut.e2e.push_back(std::move(row));
    return {};
  }));
  auto recent = db_->Prepare(
      "SELECT median_ms, p90_ms, at, joules_per_inference, energy_source FROM e2e_latency "
      "WHERE device_class = ? AND model = ? AND version = ? AND batch = ? "
      "ORDER BY id DESC LIMIT ?");
  if (!recent) return MakeError(recent.error());
  for (E2eLatencyRow& row : lut.e2e) {
    recent->Bind(1, device_class)
        .Bind(2, row.model)
        .Bind(3, static_cast<int64_t>(row.version))
        .Bind(4, row.batch)
        .Bind(5, int64_t{kMergeWindow});
    std::vector<double> medians, p90s, joules;
    HADMC_TRY(EachRow(*recent, [&](const db::Statement& s) -> Status {
      medians.push_back(s.Real(0));
      p90s.push_back(s.Real(1));
      if (row.updated_at.empty()) row.updated_at = s.Text(2);
      if (!s.IsNull(3)) {
        joules.push_back(s.Real(3));
        if (row.energy_source.empty()) row.energy_source = s.Text(4);
      }
      return {};
    }));
    HADMC_TRY(recent->Reset());
    row.median_ms = Median(medians);
    row.p90_ms = Median(p90s);
    if (!joules.empty()) row.joules_per_inference = Median(joules);
  }
  return lut;
}

Result<ProfileJob> SqliteRegistry::AddProfileJob(const std::string& device_class,
                                                 const std::vector<hal::KernelKey>& kernels,
                                                 int64_t runs) {
  if (device_class.empty() || kernels.empty() || runs < 1)
    return MakeError(Errc::kInvalidArgument,
                     "a profiling job needs a device class, kernels and runs >= 1");
  nlohmann::json keys = nlohmann::json::array();
  for (const hal::KernelKey& k : kernels) keys.push_back(k.ToString());
  std::lock_guard lock(mu_);
  auto st = db_->Prepare(
      "INSERT INTO profile_jobs(device_class, kernels, runs) VALUES (?, ?, ?) "
      "RETURNING id, created_at");
  if (!st) return MakeError(st.error());
  st->Bind(1, device_class).Bind(2, keys.dump()).Bind(3, runs);
  auto row = st->Step();
  if (!row) return MakeError(row.error());
  ProfileJob job{.id = st->Int(0),
                 .device_class = device_class,
                 .kernels = kernels,
                 .runs = runs,
                 .created_at = st->Text(1),
                 .answered = 0};
  HADMC_TRY(st->Reset());
  return job;
}

Result<std::vector<ProfileJob>> SqliteRegistry::ListProfileJobs(const std::string& device_class) {
  std::lock_guard lock(mu_);
  auto st = db_->Prepare(std::string(kJobColumns) + "WHERE j.device_class = ? ORDER BY j.id");
  if (!st) return MakeError(st.error());
  st->Bind(1, device_class);
  return JobsFrom(*st);
}

Result<std::vector<ProfileJob>> SqliteRegistry::PendingProfileJobs(const std::string& device_id) {
  std::lock_guard lock(mu_);
  auto cls = ReportingClass(device_id);
  if (!cls) return MakeError(cls.error());
  auto st = db_->Prepare(std::string(kJobColumns) +
                         "WHERE j.device_class = ? AND NOT EXISTS (SELECT 1 FROM "
                         "profile_job_answers a WHERE a.job_id = j.id AND a.device_id = ?) "
                         "ORDER BY j.id");
  if (!st) return MakeError(st.error());
  st->Bind(1, *cls).Bind(2, device_id);
  return JobsFrom(*st);
}

}  // namespace hadmc::registry
