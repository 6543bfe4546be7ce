// Routes of the device listener (mTLS; the device id is the client certificate's CN):
//   GET  /v1/models/{name}/manifest?channel=C   the manifest this device should run
//   GET  /v1/blocks/{sha256}                    one block (ETag, immutable, Range)
//   POST /v1/devices/{id}/heartbeat             version, state, health, p50/p99, errors
//   POST /v1/devices/{id}/latency, GET /v1/devices/{id}/profile-jobs   the LUT (lut_api.cpp)
#include <optional>

#include "cloud_context.h"
#include "hadmc/common/log.h"
#include "hadmc/crypto/sha256.h"
#include "hadmc/registry/rollout_policy.h"
#include "hadmc/store/manifest.h"

namespace hadmc::server {
namespace {

using nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;
using net::PathParams;

struct ByteRange {
  uint64_t first = 0, last = 0;  // inclusive
};

// Parses a single "bytes=a-b", "bytes=a-" or "bytes=-n" range. nullopt = unsatisfiable or not a
// single range we serve.
std::optional<ByteRange> ParseRange(const std::string& header, uint64_t size) {
  constexpr char kPrefix[] = "bytes=";
  if (header.rfind(kPrefix, 0) != 0 || size == 0) return std::nullopt;
  const std::string spec = header.substr(sizeof kPrefix - 1);
  const auto dash = spec.find('-');
  if (dash == std::string::npos || spec.find(',') != std::string::npos) return std::nullopt;
  const std::string a = spec.substr(0, dash), b = spec.substr(dash + 1);
  auto number = [](const std::string& s) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    return std::stoull(s);
  };
  if (a.empty()) {  // suffix: the last n bytes
    auto n = number(b);
    if (!n || *n == 0) return std::nullopt;
    return ByteRange{*n >= size ? 0 : size - *n, size - 1};
  }
  auto first = number(a);
  if (!first || *first >= size) return std::nullopt;
  if (b.empty()) return ByteRange{*first, size - 1};
  auto last = number(b);
  if (!last || *last < *first) return std::nullopt;
  return ByteRange{*first, std::min(*last, size - 1)};
}

HttpResponse GetBlock(CloudContext& ctx, const HttpRequest& req, const PathParams& p) {
  const std::string& id = p.at("sha256");
  if (!crypto::IsSha256Hex(id))
    return HttpResponse::Error(400, "block id must be 64 lower-case hex characters");
  const std::string etag = "\"" + id + "\"";
  if (req.Header("if-none-match") == etag) {
    HttpResponse r;
    r.status = 304;
    r.headers = {{"ETag", etag}};
    return r;
  }
  auto bytes = ctx.blocks->Get(id);
  if (!bytes) return ErrorResponse(bytes.error());
  HttpResponse r;
  r.content_type = "application/octet-stream";
  r.headers = {{"ETag", etag},
               {"Cache-Control", "public, max-age=31536000, immutable"},
               {"Accept-Ranges", "bytes"}};
  const std::string range = req.Header("range");
  if (range.empty()) {
    r.body = std::move(*bytes);
    ctx.metrics.CountBlockServed(r.body.size());
    return r;
  }
  auto br = ParseRange(range, bytes->size());
  if (!br) {
    HttpResponse e = HttpResponse::Error(416, "range not satisfiable");
    e.headers = {{"Content-Range", "bytes */" + std::to_string(bytes->size())}};
    return e;
  }
  r.status = 206;
  r.headers.push_back({"Content-Range", "bytes " + std::to_string(br->first) + "-" +
                                            std::to_string(br->last) + "/" +
                                            std::to_string(bytes->size())});
  r.body = bytes->substr(br->first, br->last - br->first + 1);
  ctx.metrics.CountBlockServed(r.body.size());
  return r;
}

HttpResponse GetManifest(CloudContext& ctx, const HttpRequest& req, const PathParams& p) {
  const std::string& model = p.at("name");
  if (!store::IsValidModelName(model)) return HttpResponse::Error(400, "invalid model name");
  auto ch = req.query.find("channel");
  const std::string channel = ch == req.query.end() ? "stable" : ch->second;
  auto rollouts = ctx.registry->ListRollouts(model, channel);
  if (!rollouts) return ErrorResponse(rollouts.error());
  auto chosen = registry::ChooseRollout(*rollouts, req.client_cn);
  if (!chosen)
    return HttpResponse::Error(404, "no version of " + model + " on channel '" + channel +
                                        "' for this device");
  auto v = ctx.registry->GetVersion(model, chosen->version);
  if (!v) return ErrorResponse(v.error());
  const std::string etag = "\"" + v->manifest_sha256 + "\"";
  HttpResponse r;
  r.headers = {{"ETag", etag},
               {"X-Hadmc-Version", std::to_string(v->version)},
               {"X-Hadmc-Rollout", std::to_string(chosen->id)},
               {"Cache-Control", "no-cache"}};
  if (req.Header("if-none-match") == etag) {
    r.status = 304;
    return r;
  }
  r.body = v->manifest_json;
  return r;
}

// The path's device id must be the certificate's: a device reports only for itself.
std::optional<HttpResponse> CheckSelf(const HttpRequest& req, const PathParams& p) {
  if (p.at("id") == req.client_cn) return std::nullopt;
  Log().warn("device listener: '{}' tried to report as '{}'", req.client_cn, p.at("id"));
  return HttpResponse::Error(403, "a device may only report for itself");
}

template <typename T>
bool Optional(const json& j, const char* key, T& out, std::string* bad) {
  auto it = j.find(key);
  if (it == j.end()) return true;
  try {
    out = it->get<T>();
    return true;
  } catch (const json::exception&) {
    *bad = key;
    return false;
  }
}

HttpResponse PostHeartbeat(CloudContext& ctx, const HttpRequest& req, const PathParams& p) {
  if (auto refused = CheckSelf(req, p)) return *refused;
  HttpResponse error;
  auto j = ParseJsonObject(req, &error);
  if (!j) return error;
  registry::Heartbeat h;
  h.device_id = p.at("id");
  std::string bad;
  if (!j->contains("state") || !j->contains("health"))
    return HttpResponse::Error(400, "heartbeat needs 'state' and 'health'");
  if (!Optional(*j, "state", h.state, &bad) || !Optional(*j, "health", h.health, &bad) ||
      !Optional(*j, "model", h.model, &bad) || !Optional(*j, "version", h.version, &bad) ||
      !Optional(*j, "p50_ms", h.p50_ms, &bad) || !Optional(*j, "p99_ms", h.p99_ms, &bad) ||
      !Optional(*j, "errors", h.errors, &bad) || !Optional(*j, "message", h.message, &bad) ||
      !Optional(*j, "uptime_s", h.uptime_s, &bad) ||
      !Optional(*j, "inferences", h.inferences, &bad) ||
      !Optional(*j, "free_disk_bytes", h.free_disk_bytes, &bad) ||
      !Optional(*j, "free_memory_bytes", h.free_memory_bytes, &bad) ||
      !Optional(*j, "device_class", h.device_class, &bad))
    return HttpResponse::Error(400, "heartbeat field '" + bad + "' has the wrong type");
  if (h.message.size() > 1024) h.message.resize(1024);
  if (h.device_class.size() > 64) return HttpResponse::Error(400, "'device_class' is too long");
  if (auto s = ctx.registry->RecordHeartbeat(h); !s) return ErrorResponse(s.error());
  return JsonResponse(200, {{"status", "ok"}});
}

}  // namespace

net::Router MakeDeviceRouter(CloudContext& ctx) {
  net::Router r;
  const uint64_t json_limit = ctx.config.json_body_bytes;
  auto bind = [&ctx](auto fn) {
    return [&ctx, fn](const HttpRequest& req, const PathParams& p) { return fn(ctx, req, p); };
  };
  r.Add("GET", "/v1/models/{name}/manifest", 0, bind(GetManifest));
  r.Add("GET", "/v1/blocks/{sha256}", 0, bind(GetBlock));
  r.Add("POST", "/v1/devices/{id}/heartbeat", json_limit, bind(PostHeartbeat));
  AddLutDeviceRoutes(r, ctx);
  return r;
}

}  // namespace hadmc::server
