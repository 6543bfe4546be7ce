// Routes of the admin listener (bearer token, checked in ApiHandler; /healthz and /metrics open):
//   GET  /v1/fleet, /v1/devices, /v1/devices/{id}
//   GET/POST /v1/lut/{device_class}, GET/POST /v1/lut/{device_class}/jobs   (lut_api.cpp)
//   GET  /v1/models, /v1/models/{name}/versions, /v1/models/{name}/versions/{version}
//   POST /v1/models/{name}/versions   publish (see hadmc/server/publish.h for the body)
//   POST /v1/rollouts, GET /v1/rollouts/{id}, GET /v1/rollouts?model=&channel=
//   GET  /healthz, /metrics
#include "cloud_context.h"
#include "hadmc/common/log.h"
#include "hadmc/server/publish.h"
#include "hadmc/store/manifest.h"

namespace hadmc::server {
namespace {

using nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;
using net::PathParams;

json DeviceJson(const registry::DeviceRecord& d) {
  return {{"id", d.id},
          {"device_class", d.device_class},
          {"first_seen", d.first_seen},
          {"last_seen", d.last_seen},
          {"model", d.last.model},
          {"version", d.last.version},
          {"state", d.last.state},
          {"health", d.last.health},
          {"p50_ms", d.last.p50_ms},
          {"p99_ms", d.last.p99_ms},
          {"errors", d.last.errors},
          {"message", d.last.message},
          {"uptime_s", d.last.uptime_s},
          {"inferences", d.last.inferences},
          {"free_disk_bytes", d.last.free_disk_bytes},
          {"free_memory_bytes", d.last.free_memory_bytes},
          {"reported_class", d.last.device_class}};
}

json RolloutJson(const registry::RolloutRecord& r) {
  return {{"id", r.id},           {"model", r.model},
          {"channel", r.channel}, {"version", r.version},
          {"percent", r.percent}, {"device_filter", r.device_filter},
          {"created_at", r.created_at}};
}

std::optional<uint64_t> ParseUint(const std::string& s) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoull(s);
}

HttpResponse GetFleet(CloudContext& ctx, const HttpRequest&, const PathParams&) {
  std::lock_guard lock(ctx.fleet_mu);
  const auto now = std::chrono::steady_clock::now();
  if (ctx.fleet_json.empty() ||
      now - ctx.fleet_at > std::chrono::milliseconds(ctx.config.fleet_cache_ms)) {
    auto f = ctx.registry->Fleet();
    if (!f) return ErrorResponse(f.error());
    ctx.fleet_json = json{{"devices", f->devices},
                          {"reporting", f->reporting},
                          {"by_version", f->by_version},
                          {"by_health", f->by_health},
                          {"by_class", f->by_class}}
                         .dump();
    ctx.fleet_at = now;
  }
  HttpResponse r;
  r.body = ctx.fleet_json;
  return r;
}

HttpResponse ListDevices(CloudContext& ctx, const HttpRequest& req, const PathParams&) {
  auto query = [&](const char* k, uint64_t def) {
    auto it = req.query.find(k);
    return it == req.query.end() ? std::optional<uint64_t>(def) : ParseUint(it->second);
  };
  auto limit = query("limit", 100), offset = query("offset", 0);
  if (!limit || !offset || *limit > 1000)
    return HttpResponse::Error(400, "limit (<= 1000) and offset must be non-negative integers");
  auto list = ctx.registry->ListDevices(static_cast<int64_t>(*limit),
                                        static_cast<int64_t>(*offset));
  if (!list) return ErrorResponse(list.error());
  json out = json::array();
  for (const auto& d : *list) out.push_back(DeviceJson(d));
  return JsonResponse(200, {{"devices", out}, {"limit", *limit}, {"offset", *offset}});
}

HttpResponse GetDevice(CloudContext& ctx, const HttpRequest&, const PathParams& p) {
  auto d = ctx.registry->GetDevice(p.at("id"));
  if (!d) return ErrorResponse(d.error());
  return JsonResponse(200, DeviceJson(*d));
}

HttpResponse ListModels(CloudContext& ctx, const HttpRequest&, const PathParams&) {
  auto models = ctx.registry->ListModels();
  if (!models) return ErrorResponse(models.error());
  json out = json::array();
  for (const auto& m : *models)
    out.push_back({{"name", m.name}, {"latest_version", m.latest_version},
                   {"versions", m.version_count}});
  return JsonResponse(200, {{"models", out}});
}

HttpResponse ListVersions(CloudContext& ctx, const HttpRequest&, const PathParams& p) {
  if (!store::IsValidModelName(p.at("name"))) return HttpResponse::Error(400, "invalid model name");
  auto versions = ctx.registry->ListVersions(p.at("name"));
  if (!versions) return ErrorResponse(versions.error());
  json out = json::array();
  for (const auto& v : *versions)
    out.push_back({{"version", v.version},
                   {"parent", v.parent},
                   {"manifest_sha256", v.manifest_sha256},
                   {"file_size", v.file_size},
                   {"graph_sha256", v.graph_sha256},
                   {"created_at", v.created_at}});
  return JsonResponse(200, {{"model", p.at("name")}, {"versions", out}});
}

HttpResponse GetVersion(CloudContext& ctx, const HttpRequest&, const PathParams& p) {
  auto version = ParseUint(p.at("version"));
  if (!version) return HttpResponse::Error(400, "version must be a positive integer");
  auto v = ctx.registry->GetVersion(p.at("name"), *version);
  if (!v) return ErrorResponse(v.error());
  HttpResponse r;
  r.body = v->manifest_json;
  return r;
}

HttpResponse Publish(CloudContext& ctx, const HttpRequest& req, const PathParams& p) {
  auto upload = DecodePublishBody(req.body);
  if (!upload) return ErrorResponse(upload.error());
  auto manifest = store::ParseVerifiedManifest(upload->manifest_text, ctx.publisher_keys);
  if (!manifest) return ErrorResponse(manifest.error());
  if (manifest->model != p.at("name"))
    return HttpResponse::Error(400, "manifest is for model '" + manifest->model + "'");
  std::set<std::string> wanted;
  for (const auto& b : store::FileBlocks(*manifest)) wanted.insert(b.id);
  for (const auto& [id, bytes] : upload->blocks)
    if (!wanted.count(id)) return HttpResponse::Error(400, "block " + id + " is not in the manifest");
  // Runs on an I/O thread; the fsyncs overlap on a few helper threads.
  if (auto s = ctx.blocks->PutAll(upload->blocks, 4); !s) return ErrorResponse(s.error());
  auto result = CommitVersion(*ctx.registry, *ctx.blocks, upload->manifest_text,
                              ctx.publisher_keys);
  if (!result) return ErrorResponse(result.error());
  if (!result->missing.empty())
    return JsonResponse(409, {{"error", "blocks missing; send them with the manifest"},
                              {"missing", result->missing}});
  Log().info("published {} version {} ({} bytes, {} blocks)", result->model, result->version,
             result->file_size, result->blocks);
  return JsonResponse(201, {{"model", result->model},
                            {"version", result->version},
                            {"manifest_sha256", result->manifest_sha256},
                            {"blocks", result->blocks}});
}

HttpResponse PostRollout(CloudContext& ctx, const HttpRequest& req, const PathParams&) {
  HttpResponse error;
  auto j = ParseJsonObject(req, &error);
  if (!j) return error;
  registry::RolloutSpec spec;
  try {
    spec.model = j->at("model").get<std::string>();
    spec.channel = j->at("channel").get<std::string>();
    spec.version = j->at("version").get<uint64_t>();
    spec.percent = j->value("percent", 100.0);
    spec.device_filter = j->value("device_filter", std::string());
  } catch (const json::exception&) {
    return HttpResponse::Error(
        400, "rollout needs model, channel (strings), version (integer), optional percent, "
             "device_filter");
  }
  if (!store::IsValidModelName(spec.model) || !store::IsValidModelName(spec.channel))
    return HttpResponse::Error(400, "invalid model or channel name");
  auto r = ctx.registry->AddRollout(spec);
  if (!r) return ErrorResponse(r.error());
  Log().info("rollout {}: {} version {} on '{}' at {}%", r->id, r->model, r->version, r->channel,
             r->percent);
  return JsonResponse(201, RolloutJson(*r));
}

HttpResponse GetRollout(CloudContext& ctx, const HttpRequest&, const PathParams& p) {
  auto id = ParseUint(p.at("id"));
  if (!id) return HttpResponse::Error(400, "rollout id must be an integer");
  auto r = ctx.registry->GetRollout(static_cast<int64_t>(*id));
  if (!r) return ErrorResponse(r.error());
  return JsonResponse(200, RolloutJson(*r));
}

HttpResponse ListRollouts(CloudContext& ctx, const HttpRequest& req, const PathParams&) {
  auto model = req.query.find("model"), channel = req.query.find("channel");
  if (model == req.query.end() || channel == req.query.end())
    return HttpResponse::Error(400, "give ?model=...&channel=...");
  auto list = ctx.registry->ListRollouts(model->second, channel->second);
  if (!list) return ErrorResponse(list.error());
  json out = json::array();
  for (const auto& r : *list) out.push_back(RolloutJson(r));
  return JsonResponse(200, {{"rollouts", out}});
}

HttpResponse Healthz(CloudContext&, const HttpRequest&, const PathParams&) {
  return JsonResponse(200, {{"status", "ok"}});
}

HttpResponse GetMetrics(CloudContext& ctx, const HttpRequest&, const PathParams&) {
  std::string extra;
  if (ctx.server) {
    const net::ServerStats s = ctx.server->Stats();
    extra += "# TYPE hadmc_connections_active gauge\nhadmc_connections_active " +
             std::to_string(s.active_connections) + "\n";
    extra += "# TYPE hadmc_connections_accepted_total counter\nhadmc_connections_accepted_total " +
             std::to_string(s.accepted) + "\n";
    extra += "# TYPE hadmc_connections_refused_total counter\nhadmc_connections_refused_total " +
             std::to_string(s.rejected_over_limit) + "\n";
    extra += "# TYPE hadmc_tls_handshake_failures_total counter\n"
             "hadmc_tls_handshake_failures_total " + std::to_string(s.handshake_failures) + "\n";
  }
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = ctx.metrics.Render(extra);
  return r;
}

}  // namespace

net::Router MakeAdminRouter(CloudContext& ctx) {
  net::Router r;
  const uint64_t json_limit = ctx.config.json_body_bytes;
  auto bind = [&ctx](auto fn) {
    return [&ctx, fn](const HttpRequest& req, const PathParams& p) { return fn(ctx, req, p); };
  };
  r.Add("GET", "/healthz", 0, bind(Healthz));
  r.Add("GET", "/metrics", 0, bind(GetMetrics));
  r.Add("GET", "/v1/fleet", 0, bind(GetFleet));
  r.Add("GET", "/v1/devices", 0, bind(ListDevices));
  r.Add("GET", "/v1/devices/{id}", 0, bind(GetDevice));
  AddLutAdminRoutes(r, ctx);
  r.Add("GET", "/v1/models", 0, bind(ListModels));
  r.Add("GET", "/v1/models/{name}/versions", 0, bind(ListVersions));
  r.Add("GET", "/v1/models/{name}/versions/{version}", 0, bind(GetVersion));
  r.Add("POST", "/v1/models/{name}/versions", ctx.config.publish_body_bytes, bind(Publish));
  r.Add("POST", "/v1/rollouts", json_limit, bind(PostRollout));
  r.Add("GET", "/v1/rollouts", 0, bind(ListRollouts));
  r.Add("GET", "/v1/rollouts/{id}", 0, bind(GetRollout));
  return r;
}

}  // namespace hadmc::server
