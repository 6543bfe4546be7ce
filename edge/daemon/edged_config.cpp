#include "hadmc/edge/edged_config.h"

#include <filesystem>
#include <set>

#include "hadmc/common/yaml_json.h"

namespace hadmc::edge {
namespace {

using nlohmann::json;

// Reads the fields of one JSON object, naming each one in errors ("sync.interval_s").
class Fields {
 public:
  Fields(const json& j, std::string where, std::string prefix)
      : j_(j), where_(std::move(where)), prefix_(std::move(prefix)) {}

  Status Known(const std::set<std::string>& keys) const {
    if (!j_.is_object()) return Bad(prefix_.empty() ? "the config" : prefix_.substr(0, prefix_.size() - 1), "an object", j_);
    for (const auto& [k, v] : j_.items())
      if (!keys.count(k) && k != "comment")
        return MakeError(Errc::kInvalidArgument, where_ + ": unknown field '" + prefix_ + k + "'");
    return {};
  }
  Status Str(const std::string& key, std::string& out, bool required) const {
    if (!j_.contains(key)) return Missing(key, required);
    if (!j_[key].is_string() || j_[key].get<std::string>().empty())
      return Bad(prefix_ + key, "a non-empty string", j_[key]);
    out = j_[key].get<std::string>();
    return {};
  }
  Status Int(const std::string& key, int& out, int lo, int hi) const {
    if (!j_.contains(key)) return {};
    const json& v = j_[key];
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
      return Bad(prefix_ + key, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", v);
    out = v.get<int>();
    return {};
  }
  Status Num(const std::string& key, double& out, double lo, double hi) const {
    if (!j_.contains(key)) return {};
    const json& v = j_[key];
    if (!v.is_number() || v.get<double>() < lo || v.get<double>() > hi)
      return Bad(prefix_ + key, "a number in [" + Short(lo) + ", " + Short(hi) + "]", v);
    out = v.get<double>();
    return {};
  }
  Status Bool(const std::string& key, bool& out) const {
    if (!j_.contains(key)) return {};
    if (!j_[key].is_boolean()) return Bad(prefix_ + key, "true or false", j_[key]);
    out = j_[key].get<bool>();
    return {};
  }
  Status Strings(const std::string& key, std::vector<std::string>& out, bool required) const {
    if (!j_.contains(key)) return Missing(key, required);
    const json& v = j_[key];
    bool ok = v.is_array() && !v.empty();
    for (const json& e : v) ok = ok && e.is_string() && !e.get<std::string>().empty();
    if (!ok) return Bad(prefix_ + key, "a non-empty list of strings", v);
    out = v.get<std::vector<std::string>>();
    return {};
  }
  Fields Sub(const std::string& key) const {
    static const json empty = json::object();
    return Fields(j_.contains(key) ? j_[key] : empty, where_, prefix_ + key + ".");
  }

 private:
  static std::string Short(double d) {
    std::string s = std::to_string(d);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
  Status Missing(const std::string& key, bool required) const {
    if (!required) return {};
    return MakeError(Errc::kInvalidArgument, where_ + ": missing required field '" + prefix_ + key + "'");
  }
  Status Bad(const std::string& field, const std::string& want, const json& got) const {
    return MakeError(Errc::kInvalidArgument,
                     where_ + ": field '" + field + "' must be " + want + ", got " + got.dump());
  }
  const json& j_;
  std::string where_, prefix_;
};

std::string Resolve(const std::string& base, const std::string& p) {
  if (p.empty() || p[0] == '/' || base.empty()) return p;
  return (std::filesystem::path(base) / p).string();
}

}  // namespace

Result<EdgedConfig> ParseEdgedConfig(const json& j, const std::string& where,
                                     const std::string& base_dir) {
  EdgedConfig c;
  const Fields top(j, where, "");
  HADMC_TRY(top.Known({"server", "model", "channel", "pinned_keys", "state_dir", "sync", "runtime",
                      "api", "profile"}));
  const Fields server = top.Sub("server"), sync = top.Sub("sync"), runtime = top.Sub("runtime"),
               api = top.Sub("api"), profile = top.Sub("profile");
  if (!j.contains("server"))
    return MakeError(Errc::kInvalidArgument, where + ": missing required field 'server'");
  HADMC_TRY(server.Known({"url", "ca", "cert", "key"}));
  HADMC_TRY(server.Str("url", c.server_url, true));
  if (c.server_url.rfind("https://", 0) != 0)
    return MakeError(Errc::kInvalidArgument,
                     where + ": field 'server.url' must start with https://, got \"" + c.server_url + "\"");
  HADMC_TRY(server.Str("ca", c.ca_file, true));
  HADMC_TRY(server.Str("cert", c.cert_file, true));
  HADMC_TRY(server.Str("key", c.key_file, true));
  HADMC_TRY(top.Str("model", c.model, true));
  HADMC_TRY(top.Str("channel", c.channel, false));
  HADMC_TRY(top.Strings("pinned_keys", c.pinned_keys, true));
  HADMC_TRY(top.Str("state_dir", c.state_dir, false));
  HADMC_TRY(sync.Known({"interval_s", "jitter", "max_backoff_s", "concurrency", "retain_versions"}));
  HADMC_TRY(sync.Int("interval_s", c.poll_interval_s, 1, 86400));
  HADMC_TRY(sync.Num("jitter", c.jitter, 0, 0.9));
  HADMC_TRY(sync.Int("max_backoff_s", c.max_backoff_s, 1, 86400));
  HADMC_TRY(sync.Int("concurrency", c.concurrency, 1, 64));
  HADMC_TRY(sync.Int("retain_versions", c.retain_versions, 1, 100));
  HADMC_TRY(runtime.Known({"max_latency_ratio", "probation_s", "probation_min_requests",
                            "probation_max_error_rate", "probation_max_p99_ratio", "threads"}));
  HADMC_TRY(runtime.Num("max_latency_ratio", c.max_latency_ratio, 0, 1000));
  HADMC_TRY(runtime.Int("probation_s", c.probation_s, 0, 86400));
  HADMC_TRY(runtime.Int("probation_min_requests", c.probation_min_requests, 1, 1000000));
  HADMC_TRY(runtime.Num("probation_max_error_rate", c.probation_max_error_rate, 0, 1));
  HADMC_TRY(runtime.Num("probation_max_p99_ratio", c.probation_max_p99_ratio, 0, 1000));
  HADMC_TRY(runtime.Int("threads", c.threads, 0, 1024));
  HADMC_TRY(api.Known({"address", "port"}));
  HADMC_TRY(api.Str("address", c.api_address, false));
  HADMC_TRY(api.Int("port", c.api_port, 1, 65535));
  HADMC_TRY(profile.Known(
      {"enabled", "runs", "threads", "max_duty_cycle", "jobs_interval_s", "quiet_s"}));
  HADMC_TRY(profile.Bool("enabled", c.profile_enabled));
  HADMC_TRY(profile.Int("runs", c.profile_runs, 1, 10000));
  HADMC_TRY(profile.Int("threads", c.profile_threads, 1, 1024));
  HADMC_TRY(profile.Num("max_duty_cycle", c.profile_max_duty_cycle, 0.01, 1));
  HADMC_TRY(profile.Int("jobs_interval_s", c.profile_jobs_interval_s, 0, 86400));
  HADMC_TRY(profile.Num("quiet_s", c.profile_quiet_s, 0, 86400));
  for (std::string* p : {&c.ca_file, &c.cert_file, &c.key_file, &c.state_dir}) *p = Resolve(base_dir, *p);
  for (std::string& k : c.pinned_keys) k = Resolve(base_dir, k);
  return c;
}

Result<EdgedConfig> LoadEdgedConfig(const std::string& path) {
  auto j = ReadJsonOrYamlFile(path);
  if (!j) return MakeError(j.error());
  return ParseEdgedConfig(*j, path, std::filesystem::path(path).parent_path().string());
}

}  // namespace hadmc::edge
