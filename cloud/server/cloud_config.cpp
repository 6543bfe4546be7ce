#include "hadmc/server/cloud_config.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "hadmc/common/atomic_file.h"

namespace hadmc::server {
namespace {

using nlohmann::json;

void ReadListener(const json& j, ListenerConfig& l) {
  for (const auto& [k, v] : j.items())
    if (k != "address" && k != "port") throw std::runtime_error("unknown listener key '" + k + "'");
  l.address = j.value("address", l.address);
  l.port = j.value("port", l.port);
}

void ReadDeviceApi(const json& j, DeviceApiLimits& d) {
  const std::pair<const char*, double*> fields[] = {
      {"rate_limit_per_s", &d.rate_limit_per_s},
      {"rate_limit_burst", &d.rate_limit_burst},
      {"block_rate_limit_per_s", &d.block_rate_limit_per_s},
      {"block_rate_limit_burst", &d.block_rate_limit_burst}};
  if (!j.is_object()) throw std::runtime_error("device_api must be an object");
  for (const auto& [k, v] : j.items()) {
    const auto* f = std::find_if(std::begin(fields), std::end(fields),
                                 [&k = k](const auto& f) { return k == f.first; });
    if (f == std::end(fields)) throw std::runtime_error("unknown device_api key '" + k + "'");
    if (!v.is_number() || v.get<double>() < 0)
      throw std::runtime_error("device_api." + k + " must be a number >= 0");
    *f->second = v.get<double>();
  }
  // A bucket that refills but holds less than one token would refuse every request.
  if ((d.rate_limit_per_s > 0 && d.rate_limit_burst < 1) ||
      (d.block_rate_limit_per_s > 0 && d.block_rate_limit_burst < 1))
    throw std::runtime_error("device_api: a rate limit needs a burst of at least 1");
}

}  // namespace

std::string CloudConfig::Resolve(const std::string& path) const {
  if (path.empty() || path[0] == '/') return path;
  return state_dir + "/" + path;
}

Result<CloudConfig> LoadCloudConfig(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return MakeError(text.error());
  const json j = json::parse(*text, nullptr, false);
  if (!j.is_object()) return MakeError(Errc::kParse, path + ": not a JSON object");
  CloudConfig c;
  try {
    static const std::set<std::string> known = {
        "state_dir",          "threads",         "device_listener", "admin_listener",
        "tls",                "publisher_keys",  "max_connections", "handshake_timeout_ms",
        "read_timeout_ms",    "write_timeout_ms", "json_body_bytes", "publish_body_bytes",
        "drain_timeout_ms",   "fleet_cache_ms",  "device_api",      "comment"};
    for (const auto& [k, v] : j.items())
      if (!known.count(k)) throw std::runtime_error("unknown key '" + k + "'");
    c.state_dir = j.value("state_dir", c.state_dir);
    c.threads = j.value("threads", c.threads);
    if (j.contains("device_listener")) ReadListener(j["device_listener"], c.device);
    if (j.contains("admin_listener")) ReadListener(j["admin_listener"], c.admin);
    if (j.contains("tls")) {
      const auto& t = j["tls"];
      c.tls_cert = t.value("cert", c.tls_cert);
      c.tls_key = t.value("key", c.tls_key);
      c.client_ca = t.value("client_ca", c.client_ca);
    }
    c.publisher_keys = j.value("publisher_keys", c.publisher_keys);
    c.max_connections = j.value("max_connections", c.max_connections);
    c.handshake_timeout_ms = j.value("handshake_timeout_ms", c.handshake_timeout_ms);
    c.read_timeout_ms = j.value("read_timeout_ms", c.read_timeout_ms);
    c.write_timeout_ms = j.value("write_timeout_ms", c.write_timeout_ms);
    c.json_body_bytes = j.value("json_body_bytes", c.json_body_bytes);
    c.publish_body_bytes = j.value("publish_body_bytes", c.publish_body_bytes);
    c.drain_timeout_ms = j.value("drain_timeout_ms", c.drain_timeout_ms);
    c.fleet_cache_ms = j.value("fleet_cache_ms", c.fleet_cache_ms);
    if (j.contains("device_api")) ReadDeviceApi(j["device_api"], c.device_api);
  } catch (const std::exception& e) {
    return MakeError(Errc::kParse, path + ": " + e.what());
  }
  if (c.threads < 1) return MakeError(Errc::kInvalidArgument, path + ": threads must be >= 1");
  return c;
}

}  // namespace hadmc::server
