#include "hadmc/hal/profile.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace hadmc::hal {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::set<std::string>& KnownPrecisions() {
  static const std::set<std::string> k = {"fp32", "fp16", "int8", "int4"};
  return k;
}
const std::set<std::string>& KnownKinds() {
  static const std::set<std::string> k = {"cpu", "gpu", "npu", "mlu"};
  return k;
}

// The keys a profile file may have; `required` ones must be present.
struct FieldSpec {
  const char* name;
  bool required;
};
constexpr FieldSpec kFields[] = {
    {"name", true},
    {"display_name", true},
    {"kind", true},
    {"peak_tops", true},
    {"memory_bandwidth_gbs", true},
    {"tdp_w", true},
    {"precisions", true},
    {"tensor_cores", true},
    {"sparsity_2_4", true},
    {"compute_efficiency", true},
    {"memory_efficiency", true},
    {"kernel_overhead_us", true},
    {"channel_step", true},
    {"channel_step_by_precision", false},
    {"cores", false},
    {"notes", false},
    {"sources", true},
};

// Builds errors that name the file and the field.
class Checker {
 public:
  explicit Checker(std::string origin) : origin_(std::move(origin)) {}

  tl::unexpected<Error> Fail(const std::string& field, const std::string& what) const {
    return MakeError(Errc::kInvalidArgument, origin_ + ": field '" + field + "': " + what);
  }

  Result<std::string> String(const json& j, const std::string& field) const {
    if (!j.is_string()) return Fail(field, "must be a string, got " + j.dump());
    return j.get<std::string>();
  }
  Result<bool> Bool(const json& j, const std::string& field) const {
    if (!j.is_boolean()) return Fail(field, "must be true or false, got " + j.dump());
    return j.get<bool>();
  }
  // A finite number > 0 (or >= 0 with allow_zero), at most `max` when max > 0.
  Result<double> Number(const json& j, const std::string& field, bool allow_zero = false,
                        double max = 0) const {
    if (!j.is_number()) return Fail(field, "must be a number, got " + j.dump());
    const double v = j.get<double>();
    if (!std::isfinite(v)) return Fail(field, "must be finite");
    if (allow_zero ? v < 0 : v <= 0)
      return Fail(field,
                  std::string("must be ") + (allow_zero ? ">= 0" : "> 0") + ", got " + j.dump());
    if (max > 0 && v > max)
      return Fail(field, "must be at most " + json(max).dump() + ", got " + j.dump());
    return v;
  }
  Result<int64_t> PositiveInt(const json& j, const std::string& field) const {
    if (!j.is_number_integer() || j.get<int64_t>() < 1)
      return Fail(field, "must be an integer >= 1, got " + j.dump());
    return j.get<int64_t>();
  }
  Status Precision(const std::string& p, const std::string& field) const {
    if (KnownPrecisions().count(p)) return {};
    return Fail(field, "unknown precision '" + p + "' (fp32, fp16, int8 or int4)");
  }

 private:
  std::string origin_;
};

Status CheckKeys(const json& j, const Checker& c) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const bool known = std::any_of(std::begin(kFields), std::end(kFields),
                                   [&](const FieldSpec& f) { return it.key() == f.name; });
    if (!known) return c.Fail(it.key(), "unknown key");
  }
  for (const FieldSpec& f : kFields)
    if (f.required && !j.contains(f.name)) return c.Fail(f.name, "missing");
  return {};
}

Status ParsePrecisions(const json& j, const Checker& c, HardwareProfile& p) {
  const json& list = j.at("precisions");
  if (!list.is_array() || list.empty())
    return c.Fail("precisions", "must be a non-empty array of fp32, fp16, int8, int4");
  for (const json& e : list) {
    auto s = c.String(e, "precisions");
    if (!s) return tl::unexpected(s.error());
    HADMC_TRY(c.Precision(*s, "precisions"));
    if (std::find(p.precisions.begin(), p.precisions.end(), *s) != p.precisions.end())
      return c.Fail("precisions", "'" + *s + "' listed twice");
    p.precisions.push_back(*s);
  }
  const json& peaks = j.at("peak_tops");
  if (!peaks.is_object() || peaks.empty())
    return c.Fail("peak_tops", "must be an object {precision: TOPS}");
  for (auto it = peaks.begin(); it != peaks.end(); ++it) {
    const std::string field = "peak_tops." + it.key();
    HADMC_TRY(c.Precision(it.key(), field));
    if (std::find(p.precisions.begin(), p.precisions.end(), it.key()) == p.precisions.end())
      return c.Fail(field, "'" + it.key() + "' is not in precisions");
    auto v = c.Number(it.value(), field);
    if (!v) return tl::unexpected(v.error());
    p.peak_tops[it.key()] = *v;
  }
  for (const std::string& prec : p.precisions)
    if (!p.peak_tops.count(prec))
      return c.Fail("peak_tops." + prec, "missing: every listed precision needs its peak");
  if (j.contains("channel_step_by_precision")) {
    const json& steps = j.at("channel_step_by_precision");
    if (!steps.is_object())
      return c.Fail("channel_step_by_precision", "must be an object {precision: step}");
    for (auto it = steps.begin(); it != steps.end(); ++it) {
      const std::string field = "channel_step_by_precision." + it.key();
      HADMC_TRY(c.Precision(it.key(), field));
      if (!p.peak_tops.count(it.key()))
        return c.Fail(field, "'" + it.key() + "' is not in precisions");
      auto v = c.PositiveInt(it.value(), field);
      if (!v) return tl::unexpected(v.error());
      p.channel_step_by_precision[it.key()] = *v;
    }
  }
  return {};
}

// Every numeric field needs a source; every source must name a field that exists.
Status CheckSources(const json& j, const Checker& c, HardwareProfile& p) {
  const json& src = j.at("sources");
  if (!src.is_object()) return c.Fail("sources", "must be an object {field: source}");
  for (auto it = src.begin(); it != src.end(); ++it) {
    auto s = c.String(it.value(), "sources." + it.key());
    if (!s) return tl::unexpected(s.error());
    if (s->empty()) return c.Fail("sources." + it.key(), "empty source");
    p.sources[it.key()] = *s;
  }
  std::vector<std::string> numeric = {"memory_bandwidth_gbs", "tdp_w",
                                      "compute_efficiency",   "memory_efficiency",
                                      "kernel_overhead_us",   "channel_step"};
  if (j.contains("cores")) numeric.push_back("cores");
  for (const auto& [prec, v] : p.peak_tops) numeric.push_back("peak_tops." + prec);
  for (const auto& [prec, v] : p.channel_step_by_precision)
    numeric.push_back("channel_step_by_precision." + prec);
  for (const std::string& f : numeric)
    if (!p.sources.count(f))
      return c.Fail("sources." + f, "missing: say where " + f + " comes from");
  for (const auto& [field, s] : p.sources) {
    const bool is_numeric = std::find(numeric.begin(), numeric.end(), field) != numeric.end();
    const bool is_flag = field == "tensor_cores" || field == "sparsity_2_4";
    if (!is_numeric && !is_flag)
      return c.Fail("sources." + field, "names no numeric field or flag of this profile");
  }
  return {};
}

bool IsIdentifier(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
  });
}

#define HADMC_ASSIGN(lhs, expr)                                        \
  do {                                                                 \
    auto hadmc_v_ = (expr);                                            \
    if (!hadmc_v_) return tl::unexpected(std::move(hadmc_v_.error())); \
    lhs = *hadmc_v_;                                                   \
  } while (0)

}  // namespace

Result<HardwareProfile> ParseProfile(const json& j, const std::string& origin) {
  const Checker c(origin);
  if (!j.is_object()) return c.Fail("(top level)", "a profile is a JSON object");
  HADMC_TRY(CheckKeys(j, c));
  HardwareProfile p;
  HADMC_ASSIGN(p.name, c.String(j.at("name"), "name"));
  if (!IsIdentifier(p.name)) return c.Fail("name", "must be lower-case letters, digits and '_'");
  HADMC_ASSIGN(p.display_name, c.String(j.at("display_name"), "display_name"));
  if (p.display_name.empty()) return c.Fail("display_name", "empty");
  HADMC_ASSIGN(p.kind, c.String(j.at("kind"), "kind"));
  if (!KnownKinds().count(p.kind)) return c.Fail("kind", "must be cpu, gpu, npu or mlu");
  HADMC_TRY(ParsePrecisions(j, c, p));
  HADMC_ASSIGN(p.memory_bandwidth_gbs,
               c.Number(j.at("memory_bandwidth_gbs"), "memory_bandwidth_gbs"));
  HADMC_ASSIGN(p.tdp_w, c.Number(j.at("tdp_w"), "tdp_w"));
  HADMC_ASSIGN(p.tensor_cores, c.Bool(j.at("tensor_cores"), "tensor_cores"));
  HADMC_ASSIGN(p.sparsity_2_4, c.Bool(j.at("sparsity_2_4"), "sparsity_2_4"));
  HADMC_ASSIGN(p.compute_efficiency,
               c.Number(j.at("compute_efficiency"), "compute_efficiency", false, 1.0));
  HADMC_ASSIGN(p.memory_efficiency,
               c.Number(j.at("memory_efficiency"), "memory_efficiency", false, 1.0));
  HADMC_ASSIGN(p.kernel_overhead_us,
               c.Number(j.at("kernel_overhead_us"), "kernel_overhead_us", /*allow_zero=*/true));
  HADMC_ASSIGN(p.channel_step, c.PositiveInt(j.at("channel_step"), "channel_step"));
  if (j.contains("cores")) {
    if (p.kind != "cpu") return c.Fail("cores", "only CPU profiles give a core count");
    int64_t cores = 0;
    HADMC_ASSIGN(cores, c.PositiveInt(j.at("cores"), "cores"));
    p.cores = static_cast<int>(cores);
  }
  if (j.contains("notes")) HADMC_ASSIGN(p.notes, c.String(j.at("notes"), "notes"));
  HADMC_TRY(CheckSources(j, c, p));
  return p;
}

Result<HardwareProfile> LoadProfile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return MakeError(ErrnoError("open hardware profile " + path));
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    return MakeError(Errc::kParse, path + ": not valid JSON: " + e.what());
  }
  auto p = ParseProfile(j, path);
  if (!p) return p;
  const std::string stem = fs::path(path).stem().string();
  if (p->name != stem)
    return MakeError(Errc::kInvalidArgument, path + ": field 'name': '" + p->name +
                                                 "' does not match the file name '" + stem + "'");
  return p;
}

json ToJson(const HardwareProfile& p) {
  json j = {{"name", p.name},
            {"display_name", p.display_name},
            {"kind", p.kind},
            {"peak_tops", p.peak_tops},
            {"memory_bandwidth_gbs", p.memory_bandwidth_gbs},
            {"tdp_w", p.tdp_w},
            {"precisions", p.precisions},
            {"tensor_cores", p.tensor_cores},
            {"sparsity_2_4", p.sparsity_2_4},
            {"compute_efficiency", p.compute_efficiency},
            {"memory_efficiency", p.memory_efficiency},
            {"kernel_overhead_us", p.kernel_overhead_us},
            {"channel_step", p.channel_step},
            {"sources", p.sources}};
  if (!p.channel_step_by_precision.empty())
    j["channel_step_by_precision"] = p.channel_step_by_precision;
  if (p.cores > 0) j["cores"] = p.cores;
  if (!p.notes.empty()) j["notes"] = p.notes;
  return j;
}

int64_t ChannelStepFor(const HardwareProfile& p, const std::string& precision) {
  auto it = p.channel_step_by_precision.find(precision);
  return it != p.channel_step_by_precision.end() ? it->second : p.channel_step;
}

HardwareProfile ScaledToCores(const HardwareProfile& p, int cores) {
  if (p.cores <= 0 || cores <= 0 || cores == p.cores) return p;
  HardwareProfile s = p;
  const double f = static_cast<double>(cores) / p.cores;
  for (auto& [prec, tops] : s.peak_tops) tops *= f;
  s.tdp_w *= f;
  s.cores = cores;
  s.notes += (s.notes.empty() ? "" : " ") + std::string("Scaled from ") + std::to_string(p.cores) +
             " to " + std::to_string(cores) + " cores (peak and TDP linear, bandwidth unchanged).";
  return s;
}

std::string DefaultProfileDir() {
  std::error_code ec;
  if (const char* env = std::getenv("HADMC_HAL_DIR"); env && *env) return env;
  // A relocated install: <prefix>/bin/hadmc next to <prefix>/share/hadmc/hal.
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path rel = exe.parent_path().parent_path() / "share" / "hadmc" / "hal";
    if (fs::is_directory(rel, ec)) return rel.string();
  }
#ifdef HADMC_HAL_INSTALL_DIR
  if (fs::is_directory(HADMC_HAL_INSTALL_DIR, ec)) return HADMC_HAL_INSTALL_DIR;
#endif
#ifdef HADMC_HAL_SOURCE_DIR
  return HADMC_HAL_SOURCE_DIR;
#else
  return "configs/hal";
#endif
}

Result<std::vector<HardwareProfile>> LoadAllProfiles(const std::string& dir_in) {
  const std::string dir = dir_in.empty() ? DefaultProfileDir() : dir_in;
  std::error_code ec;
  std::vector<std::string> paths;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".json") paths.push_back(it->path().string());
  if (ec)
    return MakeError(Errc::kNotFound, "hardware profile directory " + dir + ": " + ec.message());
  std::sort(paths.begin(), paths.end());
  std::vector<HardwareProfile> out;
  for (const std::string& path : paths) {
    auto p = LoadProfile(path);
    if (!p) return tl::unexpected(p.error());
    out.push_back(std::move(*p));
  }
  return out;
}

Result<HardwareProfile> FindProfile(const std::string& name, const std::string& dir_in) {
  const std::string dir = dir_in.empty() ? DefaultProfileDir() : dir_in;
  if (!IsIdentifier(name))
    return MakeError(Errc::kInvalidArgument, "hardware profile name '" + name +
                                                 "': lower-case letters, digits and '_' only");
  const fs::path path = fs::path(dir) / (name + ".json");
  std::error_code ec;
  if (fs::exists(path, ec)) return LoadProfile(path.string());
  std::vector<std::string> stems;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".json") stems.push_back(it->path().stem().string());
  std::sort(stems.begin(), stems.end());
  std::string names;
  for (const std::string& s : stems) names += (names.empty() ? "" : ", ") + s;
  return MakeError(Errc::kNotFound, "no hardware profile '" + name + "' in " + dir +
                                        " (available: " + (names.empty() ? "none" : names) + ")");
}

}  // namespace hadmc::hal
