// Routes of the latency LUT (docs/lut.md has the bodies):
//   device listener (mTLS):
//     POST /v1/devices/{id}/latency          kernel and end-to-end timings -> the class's LUT
//     GET  /v1/devices/{id}/profile-jobs     jobs for the device's class it has not answered
//   admin listener (bearer token):
//     GET  /v1/lut/{device_class}            merged rows (the `hadmc lut export` format) + e2e
//     POST /v1/lut/{device_class}            import a LUT file (merged as reports)
//     POST /v1/lut/{device_class}/jobs       ask the class to time a list of kernels
//     GET  /v1/lut/{device_class}/jobs       the jobs, with how many devices answered each
#include <algorithm>
#include <cctype>
#include <cmath>

#include "cloud_context.h"
#include "hadmc/common/log.h"
#include "hadmc/hal/lut.h"
#include "hadmc/server/lut_json.h"
#include "hadmc/store/manifest.h"

namespace hadmc::server {
namespace {

using net::HttpRequest;
using net::HttpResponse;
using net::PathParams;
using nlohmann::json;

constexpr size_t kMaxReportKernels = 4096;
constexpr size_t kMaxJobKernels = 4096;
constexpr int64_t kMaxRuns = 100'000;
// A LUT file can hold every kernel of every model searched for a class.
constexpr uint64_t kLutImportBytes = 16ull << 20;

// A validation failure naming the field: "kernels[3].p90_ms: must be >= median_ms".
struct FieldError {
  std::string field, why;
};
HttpResponse Bad(const FieldError& e) { return HttpResponse::Error(400, e.field + ": " + e.why); }

std::optional<FieldError> ReadMs(const json& j, const std::string& where, const char* name,
                                 double* out) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number()) return FieldError{where + name, "must be a number"};
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < 0) return FieldError{where + name, "must be finite and >= 0"};
  *out = v;
  return std::nullopt;
}

std::optional<FieldError> ReadRuns(const json& j, const std::string& where, int64_t* out) {
  auto it = j.find("runs");
  if (it == j.end() || !it->is_number_integer() || it->get<int64_t>() < 1 ||
      it->get<int64_t>() > kMaxRuns)
    return FieldError{where + "runs", "must be an integer in [1, 100000]"};
  *out = it->get<int64_t>();
  return std::nullopt;
}

// median_ms, p90_ms (>= median) and runs of a kernel or e2e object.
std::optional<FieldError> ReadTiming(const json& j, const std::string& where, double* median,
                                     double* p90, int64_t* runs) {
  if (!j.is_object()) return FieldError{where.substr(0, where.size() - 1), "must be an object"};
  if (auto e = ReadMs(j, where, "median_ms", median)) return e;
  if (auto e = ReadMs(j, where, "p90_ms", p90)) return e;
  if (*p90 < *median) return FieldError{where + "p90_ms", "must be >= median_ms"};
  return ReadRuns(j, where, runs);
}

// Optional integer field >= `min`.
std::optional<FieldError> ReadInt(const json& j, const char* name, int64_t min, int64_t* out) {
  auto it = j.find(name);
  if (it == j.end()) return std::nullopt;
  if (!it->is_number_integer() || it->get<int64_t>() < min)
    return FieldError{name, "must be an integer >= " + std::to_string(min)};
  *out = it->get<int64_t>();
  return std::nullopt;
}

std::optional<FieldError> ReadReport(const json& j, registry::LatencyReport* r) {
  if (auto it = j.find("model"); it != j.end()) {
    if (!it->is_string() || !store::IsValidModelName(it->get<std::string>()))
      return FieldError{"model", "must be a model name"};
    r->model = it->get<std::string>();
  }
  int64_t version = 0;
  if (auto e = ReadInt(j, "version", 0, &version)) return e;
  r->version = static_cast<uint64_t>(version);
  if (auto e = ReadInt(j, "batch", 1, &r->batch)) return e;
  if (auto e = ReadInt(j, "threads", 1, &r->threads)) return e;
  if (j.contains("job")) {
    int64_t job = 0;
    if (auto e = ReadInt(j, "job", 1, &job)) return e;
    r->job = job;
  }
  auto kernels = j.find("kernels");
  if (kernels != j.end()) {
    if (!kernels->is_array() || kernels->size() > kMaxReportKernels)
      return FieldError{"kernels", "must be a list of at most 4096 kernel timings"};
    for (size_t i = 0; i < kernels->size(); ++i) {
      const json& k = (*kernels)[i];
      const std::string where = "kernels[" + std::to_string(i) + "].";
      registry::KernelTiming t;
      if (!k.is_object() || !k.contains("key") || !k["key"].is_string())
        return FieldError{where + "key", "must be a string"};
      auto key = hal::KernelKey::Parse(k["key"].get<std::string>());
      if (!key) return FieldError{where + "key", key.error().message()};
      t.key = std::move(*key);
      if (auto e = ReadTiming(k, where, &t.median_ms, &t.p90_ms, &t.runs)) return e;
      r->kernels.push_back(std::move(t));
    }
  }
  if (auto e2e = j.find("e2e"); e2e != j.end()) {
    registry::E2eTiming t;
    if (auto e = ReadTiming(*e2e, "e2e.", &t.median_ms, &t.p90_ms, &t.runs)) return e;
    if (r->model.empty()) return FieldError{"model", "is required with 'e2e'"};
    r->e2e = t;
  }
  if (auto energy = j.find("energy"); energy != j.end()) {
    // Energy is per inference of the whole model: it belongs to the e2e row.
    if (!r->e2e) return FieldError{"energy", "needs 'e2e' (it is per inference of the model)"};
    if (!energy->is_object()) return FieldError{"energy", "must be an object"};
    double joules = 0;
    if (auto e = ReadMs(*energy, "energy.", "joules_per_inference", &joules)) return e;
    r->e2e->joules_per_inference = joules;
    auto measured = energy->find("measured");
    if (measured != energy->end() && !measured->is_boolean())
      return FieldError{"energy.measured", "must be true or false"};
    r->e2e->energy_measured = measured != energy->end() && measured->get<bool>();
    auto source = energy->find("source");
    if (source != energy->end() && (!source->is_string() || source->get<std::string>().size() > 64))
      return FieldError{"energy.source", "must be a string of at most 64 characters"};
    if (source != energy->end()) r->e2e->energy_source = source->get<std::string>();
  }
  if (r->kernels.empty() && !r->e2e)
    return FieldError{"kernels", "a report needs kernel timings or 'e2e'"};
  return std::nullopt;
}

// The path's device id must be the certificate's: a device reports only for itself.
std::optional<HttpResponse> CheckSelf(const HttpRequest& req, const PathParams& p) {
  if (p.at("id") == req.client_cn) return std::nullopt;
  Log().warn("device listener: '{}' tried to act as '{}'", req.client_cn, p.at("id"));
  return HttpResponse::Error(403, "a device may only report for itself");
}

json JobJson(const registry::ProfileJob& job) {
  json kernels = json::array();
  for (const auto& k : job.kernels) kernels.push_back(k.ToString());
  return {{"id", job.id}, {"kernels", std::move(kernels)}, {"runs", job.runs}};
}

HttpResponse PostLatency(CloudContext& ctx, const HttpRequest& req, const PathParams& p) {
  if (auto refused = CheckSelf(req, p)) return *refused;
  HttpResponse error;
  auto j = ParseJsonObject(req, &error);
  if (!j) return error;
  registry::LatencyReport report;
  if (auto bad = ReadReport(*j, &report)) return Bad(*bad);
  auto accepted = ctx.registry->RecordLatencyReport(p.at("id"), report);
  if (!accepted) return ErrorResponse(accepted.error());
  return JsonResponse(200, {{"accepted", *accepted}});
}

HttpResponse GetPendingJobs(CloudContext& ctx, const HttpRequest& req, const PathParams& p) {
  if (auto refused = CheckSelf(req, p)) return *refused;
  auto jobs = ctx.registry->PendingProfileJobs(p.at("id"));
  if (!jobs) return ErrorResponse(jobs.error());
  json out = json::array();
  for (const auto& job : *jobs) out.push_back(JobJson(job));
  return JsonResponse(200, {{"jobs", std::move(out)}});
}

HttpResponse GetLut(CloudContext& ctx, const HttpRequest&, const PathParams& p) {
  const std::string& cls = p.at("device_class");
  if (!IsValidDeviceClass(cls)) return HttpResponse::Error(400, "device_class: must be [a-z0-9_-]");
  auto lut = ctx.registry->Lut(cls);
  if (!lut) return ErrorResponse(lut.error());
  const json out = DeviceLutJson(*lut);
  return JsonResponse(200, out);
}

HttpResponse ImportLut(CloudContext& ctx, const HttpRequest& req, const PathParams& p) {
  const std::string& cls = p.at("device_class");
  if (!IsValidDeviceClass(cls)) return HttpResponse::Error(400, "device_class: must be [a-z0-9_-]");
  HttpResponse error;
  auto j = ParseJsonObject(req, &error);
  if (!j) return error;
  auto lut = hal::LutFromJson(*j);
  if (!lut) return HttpResponse::Error(400, lut.error().message());
  if (lut->device_class() != cls)
    return HttpResponse::Error(
        400, "device_class: the file is for '" + lut->device_class() + "', not '" + cls + "'");
  auto imported = ctx.registry->ImportLut(cls, lut->rows());
  if (!imported) return ErrorResponse(imported.error());
  Log().info("LUT import: {} rows for {}", *imported, cls);
  return JsonResponse(200, {{"imported", *imported}});
}

HttpResponse PostJob(CloudContext& ctx, const HttpRequest& req, const PathParams& p) {
  const std::string& cls = p.at("device_class");
  if (!IsValidDeviceClass(cls)) return HttpResponse::Error(400, "device_class: must be [a-z0-9_-]");
  HttpResponse error;
  auto j = ParseJsonObject(req, &error);
  if (!j) return error;
  auto list = j->find("kernels");
  if (list == j->end() || !list->is_array() || list->empty() || list->size() > kMaxJobKernels)
    return Bad({"kernels", "must be a list of 1 to 4096 kernel keys"});
  std::vector<hal::KernelKey> kernels;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string where = "kernels[" + std::to_string(i) + "]";
    if (!(*list)[i].is_string()) return Bad({where, "must be a string"});
    auto key = hal::KernelKey::Parse((*list)[i].get<std::string>());
    if (!key) return Bad({where, key.error().message()});
    kernels.push_back(std::move(*key));
  }
  int64_t runs = 50;
  if (j->contains("runs")) {
    if (auto bad = ReadRuns(*j, "", &runs)) return Bad(*bad);
  }
  auto job = ctx.registry->AddProfileJob(cls, kernels, runs);
  if (!job) return ErrorResponse(job.error());
  Log().info("profiling job {} for {}: {} kernels, {} runs", job->id, cls, kernels.size(), runs);
  return JsonResponse(201, {{"id", job->id}});
}

HttpResponse ListJobs(CloudContext& ctx, const HttpRequest&, const PathParams& p) {
  const std::string& cls = p.at("device_class");
  if (!IsValidDeviceClass(cls)) return HttpResponse::Error(400, "device_class: must be [a-z0-9_-]");
  auto jobs = ctx.registry->ListProfileJobs(cls);
  if (!jobs) return ErrorResponse(jobs.error());
  json out = json::array();
  for (const auto& job : *jobs) {
    json row = JobJson(job);
    row["created_at"] = job.created_at;
    row["answered"] = job.answered;
    out.push_back(std::move(row));
  }
  return JsonResponse(200, {{"device_class", cls}, {"jobs", std::move(out)}});
}

template <typename Fn>
net::RouteHandler Bind(CloudContext& ctx, Fn fn) {
  return [&ctx, fn](const HttpRequest& req, const PathParams& p) { return fn(ctx, req, p); };
}

}  // namespace

bool IsValidDeviceClass(const std::string& s) { return hal::IsValidDeviceClass(s); }

json DeviceLutJson(const registry::DeviceLut& lut) {
  json out = hal::ToJson(hal::LatencyLut(lut.device_class, lut.rows));
  json e2e = json::array();
  for (const auto& r : lut.e2e) {
    json row = {{"model", r.model},          {"version", r.version}, {"batch", r.batch},
                {"median_ms", r.median_ms},  {"p90_ms", r.p90_ms},   {"count", r.count},
                {"updated_at", r.updated_at}};
    if (r.joules_per_inference) {
      row["joules_per_inference"] = *r.joules_per_inference;
      row["energy_source"] = r.energy_source;
    }
    e2e.push_back(std::move(row));
  }
  out["e2e"] = std::move(e2e);
  return out;
}

void AddLutDeviceRoutes(net::Router& r, CloudContext& ctx) {
  // A report answering a large profiling job is bigger than a heartbeat.
  r.Add("POST", "/v1/devices/{id}/latency", 4 * ctx.config.json_body_bytes, Bind(ctx, PostLatency));
  r.Add("GET", "/v1/devices/{id}/profile-jobs", 0, Bind(ctx, GetPendingJobs));
}

void AddLutAdminRoutes(net::Router& r, CloudContext& ctx) {
  r.Add("GET", "/v1/lut/{device_class}", 0, Bind(ctx, GetLut));
  r.Add("POST", "/v1/lut/{device_class}", std::max(kLutImportBytes, ctx.config.json_body_bytes),
        Bind(ctx, ImportLut));
  r.Add("POST", "/v1/lut/{device_class}/jobs", 4 * ctx.config.json_body_bytes, Bind(ctx, PostJob));
  r.Add("GET", "/v1/lut/{device_class}/jobs", 0, Bind(ctx, ListJobs));
}

}  // namespace hadmc::server
