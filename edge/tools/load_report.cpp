#include "load_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

namespace hadmc::edge::loadgen {

using nlohmann::json;

double NearestRank(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double n = static_cast<double>(sorted.size());
  const auto rank = static_cast<size_t>(std::ceil(std::clamp(q, 0.0, 1.0) * n));
  return sorted[rank == 0 ? 0 : rank - 1];
}

LoadSummary Summarize(const std::vector<RequestRecord>& records, double seconds,
                      const std::string& first_error) {
  LoadSummary s;
  s.seconds = seconds;
  s.first_error = first_error;
  std::vector<double> ok_ms;
  double sum = 0;
  for (const RequestRecord& r : records) {
    ++s.requests;
    if (r.status == 200 && r.version >= 0) {
      ++s.ok;
      ++s.ok_by_version[r.version];
      ok_ms.push_back(r.latency_ms);
      sum += r.latency_ms;
    } else {
      ++s.failed;
      ++s.failed_by_status[r.status];
      if (r.status == 0) ++s.transport_errors;
    }
  }
  std::sort(ok_ms.begin(), ok_ms.end());
  if (!ok_ms.empty()) {
    s.p50_ms = NearestRank(ok_ms, 0.50);
    s.p99_ms = NearestRank(ok_ms, 0.99);
    s.max_ms = ok_ms.back();
    s.mean_ms = sum / static_cast<double>(ok_ms.size());
  }
  return s;
}

std::string FormatSummary(const LoadSummary& s) {
  char line[256];
  std::ostringstream out;
  const double rate = s.seconds > 0 ? static_cast<double>(s.requests) / s.seconds : 0;
  std::snprintf(line, sizeof line, "requests   %llu in %.1f s (%.1f/s)\n",
                static_cast<unsigned long long>(s.requests), s.seconds, rate);
  out << line;
  std::snprintf(line, sizeof line, "ok         %llu\nfailed     %llu",
                static_cast<unsigned long long>(s.ok), static_cast<unsigned long long>(s.failed));
  out << line;
  if (s.failed > 0) {
    out << " (";
    const char* sep = "";
    for (const auto& [status, n] : s.failed_by_status) {
      out << sep << (status == 0 ? std::string("no answer") : "HTTP " + std::to_string(status))
          << ": " << n;
      sep = ", ";
    }
    out << ")";
  }
  out << "\n";
  if (!s.first_error.empty()) out << "first error " << s.first_error << "\n";
  std::snprintf(line, sizeof line,
                "latency    p50 %.2f ms, p99 %.2f ms, max %.2f ms, mean %.2f ms (ok requests)\n",
                s.p50_ms, s.p99_ms, s.max_ms, s.mean_ms);
  out << line;
  out << "versions  ";
  if (s.ok_by_version.empty()) out << " none served";
  for (const auto& [v, n] : s.ok_by_version) out << " v" << v << ": " << n;
  out << "\n";
  return out.str();
}

json SummaryToJson(const LoadSummary& s) {
  json by_version = json::object(), by_status = json::object();
  for (const auto& [v, n] : s.ok_by_version) by_version[std::to_string(v)] = n;
  for (const auto& [st, n] : s.failed_by_status) by_status[std::to_string(st)] = n;
  return {{"requests", s.requests},
          {"ok", s.ok},
          {"failed", s.failed},
          {"transport_errors", s.transport_errors},
          {"seconds", s.seconds},
          {"latency_ms",
           {{"p50", s.p50_ms}, {"p99", s.p99_ms}, {"max", s.max_ms}, {"mean", s.mean_ms}}},
          {"ok_by_version", by_version},
          {"failed_by_status", by_status},
          {"first_error", s.first_error}};
}

std::string CsvHeader() { return "start_ms,latency_ms,status,version,send_late_ms"; }

std::string CsvLine(const RequestRecord& r) {
  char line[128];
  std::snprintf(line, sizeof line, "%.3f,%.3f,%d,", r.start_ms, r.latency_ms, r.status);
  char late[32];
  std::snprintf(late, sizeof late, ",%.3f", r.send_late_ms);
  return line + (r.version >= 0 ? std::to_string(r.version) : std::string()) + late;
}

Result<std::vector<int64_t>> ParseShape(const std::string& text) {
  std::vector<int64_t> shape;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    int64_t d = 0;
    try {
      d = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || d < 1)
      return MakeError(Errc::kInvalidArgument,
                       "shape '" + text + "': '" + item + "' is not an integer >= 1");
    shape.push_back(d);
  }
  if (shape.empty() || text.back() == ',')
    return MakeError(Errc::kInvalidArgument,
                     "shape '" + text + "' must be comma-separated dims, e.g. 1,1,28,28");
  return shape;
}

std::string InferBody(const std::vector<int64_t>& shape, uint64_t seed) {
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> data(static_cast<size_t>(numel));
  for (double& v : data) v = std::round(normal(gen) * 1000.0) / 1000.0;  // short JSON numbers
  return json{{"shape", shape}, {"data", data}}.dump();
}

int64_t VersionOf(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return -1;
  auto it = j.find("version");
  if (it == j.end() || !it->is_number_integer()) return -1;
  return it->get<int64_t>();
}

}  // namespace hadmc::edge::loadgen
