// Energy per inference. Measured where the device exposes an energy counter — Intel/AMD RAPL
// under /sys/class/powercap (package domain), Jetson INA3221 power rails under
// /sys/bus/i2c/drivers/ina3221*, NVML on NVIDIA GPUs (only with a CUDA build) — otherwise
// estimated as TDP × time from the hardware profile, and labelled an estimate. Torch-free.
#pragma once

#include <functional>
#include <string>

#include "hadmc/common/error.h"
#include "hadmc/hal/profile.h"

namespace hadmc::hal {

struct EnergyReading {
  double joules = 0;
  double seconds = 0;     // wall time of the measured work
  bool measured = false;  // false: an estimate from the profile's TDP
  std::string source;     // "rapl:/sys/class/powercap/intel-rapl:0", "ina3221:…", "tdp-estimate"
  std::string note;       // why no meter was used (estimates), or what the meter covers
};

// A readable energy counter on this machine, or kNotFound/kPermissionDenied saying why not
// (RAPL's energy_uj is root-only on recent kernels). `root` prefixes every path (tests).
class EnergyMeter {
 public:
  static Result<EnergyMeter> Open(const std::string& root = "");
  // Cumulative joules since an arbitrary origin (wrap-around handled by Measure).
  Result<double> ReadJoules() const;
  const std::string& source() const { return source_; }
  // The counter's range in joules (max_energy_range_uj); 0 when the kernel does not say.
  double max_range_joules() const { return max_range_j_; }

 private:
  std::string source_;
  std::string energy_path_;
  double max_range_j_ = 0;
};

// Runs `work` once and returns its energy: measured when a RAPL meter opens (one counter
// wrap-around is corrected), else measured from Jetson INA3221 rails (the sum of the labelled
// rails' V×I, sampled every 10 ms in a thread and integrated; unverified on a board), else the
// estimate profile.tdp_w × seconds (measured = false, `note` says why). RAPL and INA3221 see the
// whole package or module, other processes included; time many inferences in one `work` and
// divide for a per-inference figure.
EnergyReading MeasureEnergy(const std::function<void()>& work, const HardwareProfile& profile,
                            const std::string& root = "");

}  // namespace hadmc::hal
