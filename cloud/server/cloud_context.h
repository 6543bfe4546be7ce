// Private to cloud/server: what every route handler shares.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hadmc/crypto/signing_key.h"
#include "hadmc/net/http_message.h"
#include "hadmc/net/https_server.h"
#include "hadmc/net/router.h"
#include "hadmc/registry/registry.h"
#include "hadmc/server/cloud_config.h"
#include "hadmc/store/block_store.h"
#include "metrics.h"
#include "rate_limiter.h"

namespace hadmc::server {

struct CloudContext {
  CloudConfig config;
  std::unique_ptr<registry::Registry> registry;
  std::optional<store::BlockStore> blocks;
  std::vector<crypto::VerifyKey> publisher_keys;
  Metrics metrics;
  // Per-device buckets of the device listener (config.device_api): block GETs and the rest.
  DeviceRateLimiter request_limiter, block_limiter;
  net::HttpsServer* server = nullptr;  // for connection stats in /metrics

  // GET /v1/fleet is an aggregate over every device; it is cached for config.fleet_cache_ms.
  std::mutex fleet_mu;
  std::chrono::steady_clock::time_point fleet_at;
  std::string fleet_json;

  // Hashes of admin tokens already found in the registry (tokens are never deleted).
  std::mutex token_mu;
  std::set<std::string> known_token_hashes;
};

// JSON response helpers shared by the route files.
net::HttpResponse JsonResponse(int status, const nlohmann::json& body);
// The error's code mapped to an HTTP status (kNotFound -> 404, kInvalidArgument/kParse -> 400,
// kAlreadyExists -> 409, kCorrupt -> 422, kPermissionDenied -> 403, a busy registry database
// (std::errc::device_or_resource_busy) -> 503 with Retry-After, others -> 500).
net::HttpResponse ErrorResponse(const Error& e);
// Parses a JSON object body or answers 400 (or 415 for a non-JSON content type).
std::optional<nlohmann::json> ParseJsonObject(const net::HttpRequest& req,
                                              net::HttpResponse* error);

net::Router MakeDeviceRouter(CloudContext& ctx);
net::Router MakeAdminRouter(CloudContext& ctx);
// The latency LUT's routes (lut_api.cpp), added to the device and admin routers.
void AddLutDeviceRoutes(net::Router& r, CloudContext& ctx);
void AddLutAdminRoutes(net::Router& r, CloudContext& ctx);

}  // namespace hadmc::server
