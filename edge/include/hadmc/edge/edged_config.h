// hadmc-edged's configuration (/etc/hadmc/edged.json, or YAML): read with errors that name the
// field, the expected type or range, and the value found. Relative paths resolve against the
// directory of the config file. Example: configs/edged.json.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"

namespace hadmc::edge {

struct EdgedConfig {
  // server: the cloud's device listener and this device's identity (mTLS)
  std::string server_url;  // required, https://host:port
  std::string ca_file;     // required: the fleet CA that signed the server certificate
  std::string cert_file;   // required: this device's client certificate
  std::string key_file;    // required
  // model
  std::string model;       // required
  std::string channel = "stable";
  std::vector<std::string> pinned_keys;  // required, >= 1: manifest signing public keys (PEM)
  std::string state_dir = "/var/lib/hadmc";
  // sync
  int poll_interval_s = 30;
  double jitter = 0.2;      // +- fraction of the interval
  int max_backoff_s = 600;  // exponential backoff on failure stops growing here
  int concurrency = 4;
  int retain_versions = 2;
  // runtime
  double max_latency_ratio = 3.0;
  int probation_s = 60;  // after a swap; 0: none
  // Probation fails (and rolls back) when, after at least probation_min_requests requests, the
  // error rate rose by more than probation_max_error_rate (absolute) or p99 latency grew more
  // than probation_max_p99_ratio times (0: latency not judged).
  int probation_min_requests = 20;
  double probation_max_error_rate = 0.05;
  double probation_max_p99_ratio = 3.0;
  int threads = 0;  // 0: one per CPU
  // local API
  std::string api_address = "127.0.0.1";
  int api_port = 8470;
  // profile: the on-device profiler (profiler.h), after every new version, on POST /v1/profile
  // and for the cloud's profiling jobs. 50 runs is the TFLite/ONNX Runtime practice; fewer
  // are allowed (tests) but give noisier medians.
  bool profile_enabled = true;
  int profile_runs = 50;
  int profile_threads = 1;
  double profile_max_duty_cycle = 0.25;  // share of one core the timing may use, (0, 1]
  int profile_jobs_interval_s = 300;     // how often to ask for profiling jobs; 0: never
  // Timing waits for a quiet spell: it starts once the local API has served no inference for
  // this long, and stops (to be done at a later turn) when one arrives. Timings taken while the
  // device serves measure the contention, not the kernels (resnet18 end to end: 184 ms under
  // a saturating load against 5.7 ms idle), and a long profile at low priority under load held
  // the next sync back by minutes. 0: time whatever the traffic. POST /v1/profile does not wait.
  double profile_quiet_s = 2;
};

// `where` names the source in errors ("/etc/hadmc/edged.json"); `base_dir` resolves relative
// paths.
Result<EdgedConfig> ParseEdgedConfig(const nlohmann::json& j, const std::string& where,
                                     const std::string& base_dir);
Result<EdgedConfig> LoadEdgedConfig(const std::string& path);

}  // namespace hadmc::edge
