// The arithmetic of hadmc-loadgen, kept apart from its threads and sockets so it can be tested:
// request records, the end-of-run summary (ok/failed, latency percentiles, requests per served
// version), the CSV line, the /v1/infer body and what the answer says about the served version.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::edge::loadgen {

// One request as the load generator saw it.
struct RequestRecord {
  double start_ms = 0;    // since the load generator started
  double latency_ms = 0;  // until the whole answer was read (or the transport failed)
  int status = 0;         // HTTP status; 0: transport or TLS error (no answer)
  int64_t version = -1;   // the "version" the answer names; -1: none (a failure)
  // Open loop: how late the request was sent after its scheduled start (the previous answer on
  // its connection came late, or the load generator's thread woke late). Part of latency_ms.
  double send_late_ms = 0;
};

struct LoadSummary {
  uint64_t requests = 0;
  uint64_t ok = 0;                // HTTP 200 naming a version
  uint64_t failed = 0;            // everything else
  uint64_t transport_errors = 0;  // failed without any HTTP answer (part of `failed`)
  double seconds = 0;             // wall time of the run
  // Latency of the ok requests (ms); 0 when there are none.
  double p50_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
  std::map<int64_t, uint64_t> ok_by_version;  // served version -> ok requests
  std::map<int, uint64_t> failed_by_status;   // 0 = transport error
  std::string first_error;                    // the first failure's message, "" when none
};

// The q-quantile (0 <= q <= 1) of ascending `sorted` by nearest rank: the smallest value with at
// least q of the samples at or below it. 0 for an empty vector.
double NearestRank(const std::vector<double>& sorted, double q);

// Summary of `records` (any order) over a run of `seconds`.
LoadSummary Summarize(const std::vector<RequestRecord>& records, double seconds,
                      const std::string& first_error);

// Human-readable, several lines; and the same as JSON.
std::string FormatSummary(const LoadSummary& s);
nlohmann::json SummaryToJson(const LoadSummary& s);

// "start_ms,latency_ms,status,version" and one record in that layout (version empty for -1).
std::string CsvHeader();
std::string CsvLine(const RequestRecord& r);

// "1,1,28,28" -> {1, 1, 28, 28}. Errors name the bad element; every dim must be >= 1.
Result<std::vector<int64_t>> ParseShape(const std::string& text);

// The POST /v1/infer body for `shape` filled with deterministic pseudo-random values from `seed`
// (standard-normal-like, as normalized images are).
std::string InferBody(const std::vector<int64_t>& shape, uint64_t seed);

// The served version an /v1/infer answer names, -1 when the body has none.
int64_t VersionOf(const std::string& body);

}  // namespace hadmc::edge::loadgen
