#include "api_handler.h"

#include <algorithm>

#include "hadmc/common/log.h"
#include "hadmc/crypto/sha256.h"
#include "hadmc/server/bootstrap.h"

namespace hadmc::server {
namespace {

// Answered without a token: liveness probes and Prometheus scrapers carry none.
bool IsOpenPath(const std::string& path) { return path == "/healthz" || path == "/metrics"; }

// What a device is told to wait after a 503 for a busy registry: the request has already waited
// the database's busy timeout (5 s), so the lock holder is a long transaction (a CLI publish).
constexpr int kBusyRetryAfterS = 5;

constexpr char kBlockRoute[] = "/v1/blocks/{sha256}";

}  // namespace

net::HttpResponse JsonResponse(int status, const nlohmann::json& body) {
  net::HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

net::HttpResponse ErrorResponse(const Error& e) {
  if (e.code() == std::errc::device_or_resource_busy) {
    Log().warn("request refused, registry busy: {}", e.String());
    net::HttpResponse r =
        net::HttpResponse::Error(503, "the registry database is busy; retry later");
    r.headers = {{"Retry-After", std::to_string(kBusyRetryAfterS)}};
    return r;
  }
  int status = 500;
  if (e.Is(Errc::kNotFound)) status = 404;
  else if (e.Is(Errc::kInvalidArgument) || e.Is(Errc::kParse)) status = 400;
  else if (e.Is(Errc::kAlreadyExists)) status = 409;
  else if (e.Is(Errc::kCorrupt)) status = 422;
  else if (e.Is(Errc::kPermissionDenied)) status = 403;
  if (status == 500) Log().error("request failed: {}", e.String());
  return net::HttpResponse::Error(status, status == 500 ? "internal error" : e.message());
}

std::optional<nlohmann::json> ParseJsonObject(const net::HttpRequest& req,
                                              net::HttpResponse* error) {
  const std::string type = req.Header("content-type");
  if (!type.empty() && type.rfind("application/json", 0) != 0) {
    *error = net::HttpResponse::Error(415, "send application/json");
    return std::nullopt;
  }
  nlohmann::json j = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    *error = net::HttpResponse::Error(400, "body must be a JSON object");
    return std::nullopt;
  }
  return j;
}

uint64_t ApiHandler::BodyLimit(const net::HttpRequest& head) const {
  const uint64_t limit = router_.BodyLimit(head.method, head.path, 0);
  // A request without a token never gets the upload limit (it will be answered 401 once its
  // small body is read); the token itself is checked before any handler runs.
  if (auth_ == Auth::kBearerToken && head.Header("authorization").empty())
    return std::min<uint64_t>(limit, ctx_.config.json_body_bytes);
  return limit;
}

std::optional<net::HttpResponse> ApiHandler::CheckToken(const net::HttpRequest& req) {
  const std::string header = req.Header("authorization");
  constexpr char kBearer[] = "Bearer ";
  if (header.rfind(kBearer, 0) != 0) {
    Log().warn("{} listener: refused {} {} from {}: no bearer token", name_, req.method, req.path,
               req.remote);
    ctx_.metrics.CountRefusal(name_, "missing_token");
    net::HttpResponse r = net::HttpResponse::Error(401, "bearer token required");
    r.headers = {{"WWW-Authenticate", "Bearer"}};
    return r;
  }
  const std::string hash = TokenHash(header.substr(sizeof kBearer - 1));
  {
    std::lock_guard lock(ctx_.token_mu);
    if (ctx_.known_token_hashes.count(hash)) return std::nullopt;
  }
  if (ctx_.registry->FindAdminToken(hash)) {
    std::lock_guard lock(ctx_.token_mu);
    ctx_.known_token_hashes.insert(hash);
    return std::nullopt;
  }
  Log().warn("{} listener: refused {} {} from {}: unknown token", name_, req.method, req.path,
             req.remote);
  ctx_.metrics.CountRefusal(name_, "bad_token");
  return net::HttpResponse::Error(403, "token not recognized");
}

std::optional<net::HttpResponse> ApiHandler::CheckRate(const net::HttpRequest& req,
                                                       const std::string& route) {
  const bool block = route == kBlockRoute;
  DeviceRateLimiter& limiter = block ? ctx_.block_limiter : ctx_.request_limiter;
  auto refused = limiter.Take(req.client_cn);
  if (!refused) return std::nullopt;
  const std::string wait = std::to_string(refused->retry_after.count());
  // Logged once per spell, not per request: a misbehaving device must not flood the log.
  if (refused->first)
    Log().warn("{} listener: device '{}' is over its {} rate limit; answering 429 (retry after "
               "{} s)",
               name_, req.client_cn, block ? "block" : "request", wait);
  ctx_.metrics.CountLoadRefusal(name_, "rate_limited");
  net::HttpResponse r = net::HttpResponse::Error(
      429, std::string("too many ") + (block ? "block requests" : "requests") +
               " from this device; retry after " + wait + " s");
  r.headers = {{"Retry-After", wait}};
  return r;
}

net::HttpResponse ApiHandler::Handle(const net::HttpRequest& req) {
  const auto start = std::chrono::steady_clock::now();
  const std::string route = router_.PatternFor(req.method, req.path);
  net::HttpResponse r;
  std::optional<net::HttpResponse> refused;
  if (auth_ == Auth::kBearerToken && !IsOpenPath(req.path)) refused = CheckToken(req);
  if (auth_ == Auth::kClientCertificate) refused = CheckRate(req, route);
  if (refused) {
    r = std::move(*refused);
  } else {
    r = router_.Dispatch(req);
    if (r.status == 503) ctx_.metrics.CountLoadRefusal(name_, "busy");
  }
  ctx_.metrics.Observe(name_, route, r.status,
                       std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - start));
  return r;
}

}  // namespace hadmc::server
