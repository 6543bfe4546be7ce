// The latency look-up table of one device class: measured (or estimated) latencies of fused
// kernels, keyed by KernelKey. Graph latency = sum over the graph's kernels. A kernel without an
// exact row is predicted from the comparable rows — same kind, window, stride, groups class and
// precision, and the nearest pixels and batch among them — placed by their work (MACs, or
// elements for kernels without MACs) computed on channel counts rounded UP to the profile's
// channel_step. Latency is a staircase in channels: inside a measured row's stair the kernel
// gets that row's time exactly; between two measured stairs, a line between them (their own
// times, so a kernel's fixed cost is kept); beyond the measured range, the line through the two
// nearest stairs if it rises with a non-negative fixed cost, else the nearest row scaled by
// work. Without any comparable row: the roofline estimate, flagged as such.
// Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hadmc/common/error.h"
#include "hadmc/hal/kernels.h"
#include "hadmc/hal/profile.h"

namespace hadmc::hal {

// A device class name as the LUT, the registry and the REST routes accept it: 1-64 characters
// of [a-z0-9_-].
bool IsValidDeviceClass(const std::string& s);

struct LutEntry {
  KernelKey key;
  double median_ms = 0;
  double p90_ms = 0;
  int64_t count = 0;        // timed runs behind the numbers (summed over merged reports)
  std::string source;       // "measured" or "estimated"
  std::string updated_at;   // ISO-8601 UTC
};
nlohmann::json ToJson(const LutEntry& e);
Result<LutEntry> LutEntryFromJson(const nlohmann::json& j);

class LatencyLut {
 public:
  LatencyLut() = default;
  LatencyLut(std::string device_class, std::vector<LutEntry> rows);

  const std::string& device_class() const { return device_class_; }
  const std::vector<LutEntry>& rows() const { return rows_; }
  const LutEntry* Find(const KernelKey& k) const;

  struct Prediction {
    double ms = 0;
    std::string how;        // "exact", "neighbour", "roofline", or "none" (no profile given)
    std::string from_key;   // the row used ("exact"/"neighbour"); empty otherwise
  };
  // `profile` may be null: then a kernel with neither an exact row nor a neighbour gets
  // how == "none" and ms 0.
  Prediction Predict(const KernelInstance& k, const HardwareProfile* profile) const;

  struct GraphPrediction {
    double ms = 0;
    int exact = 0, neighbour = 0, roofline = 0, none = 0;  // kernels per method
    std::vector<Prediction> kernels;                        // in the order given
  };
  GraphPrediction PredictGraph(const std::vector<KernelInstance>& kernels,
                               const HardwareProfile* profile) const;

 private:
  std::string device_class_;
  std::vector<LutEntry> rows_;
  std::map<std::string, size_t> by_key_;  // KernelKey::ToString() -> index into rows_
};

// The export/import file of `hadmc lut`: {"device_class": …, "rows": [LutEntry…]}.
nlohmann::json ToJson(const LatencyLut& lut);
Result<LatencyLut> LutFromJson(const nlohmann::json& j);

}  // namespace hadmc::hal
