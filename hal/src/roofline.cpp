#include "hadmc/hal/roofline.h"

#include <algorithm>

namespace hadmc::hal {
namespace {

// The peak a kernel of `precision` runs at: its own if the profile lists it, else the widest
// listed precision — an fp32 kernel on the Ascend 310 runs converted to fp16, an int4 kernel on
// a CPU runs dequantized at fp32. Profiles always list at least one precision (ParseProfile).
std::string PrecisionUsed(const std::string& precision, const HardwareProfile& p) {
  if (p.peak_tops.count(precision)) return precision;
  for (const char* widest_first : {"fp32", "fp16", "int8", "int4"})
    if (p.peak_tops.count(widest_first)) return widest_first;
  return "";
}

}  // namespace

RooflineEstimate Roofline(const KernelInstance& k, const HardwareProfile& p) {
  RooflineEstimate e;
  e.precision_used = PrecisionUsed(ir::PrecisionName(k.key.precision), p);
  const double peak_ops =
      e.precision_used.empty() ? 0 : p.peak_tops.at(e.precision_used) * 1e12 * p.compute_efficiency;
  const double bytes_per_s = p.memory_bandwidth_gbs * 1e9 * p.memory_efficiency;
  e.compute_ms = peak_ops > 0 ? 2.0 * static_cast<double>(k.macs) / peak_ops * 1e3 : 0;
  e.memory_ms = bytes_per_s > 0 ? static_cast<double>(k.bytes) / bytes_per_s * 1e3 : 0;
  e.compute_bound = e.compute_ms > e.memory_ms;
  e.ms = std::max(e.compute_ms, e.memory_ms) + p.kernel_overhead_us * 1e-3;
  return e;
}

double RooflineGraphMs(const std::vector<KernelInstance>& kernels, const HardwareProfile& p) {
  double ms = 0;
  for (const KernelInstance& k : kernels) ms += Roofline(k, p).ms;
  return ms;
}

}  // namespace hadmc::hal
