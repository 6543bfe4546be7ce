#include "hadmc/hal/energy.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace hadmc::hal {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Package domain 0. The kernel's powercap "intel-rapl" driver serves AMD Zen CPUs under the same
// name. Multi-socket machines have intel-rapl:1 too; one package is what an edge box has.
constexpr const char* kRaplDir = "/sys/class/powercap/intel-rapl:0";

Result<double> ReadNumber(const std::string& path) {
  std::ifstream in(path);
  if (!in) return MakeError(ErrnoError("read " + path));
  double v = 0;
  if (!(in >> v)) return MakeError(Errc::kParse, path + ": not a number");
  return v;
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// One INA3221 channel: <hwmon>/in<N>_input (mV) and curr<N>_input (mA), named by in<N>_label.
struct Rail {
  std::string label, volts_path, amps_path;
};

// The labelled rails of every INA3221 under <root>/sys/bus/i2c/drivers/ina3221 (the JetPack 5
// hwmon layout). Unconnected channels ("NC") and the driver's sum channel are skipped, so the
// sum is the module's rails, as jtop adds them. Unverified on a real board.
std::vector<Rail> FindInaRails(const std::string& root, std::string& where) {
  std::vector<Rail> rails;
  std::error_code ec;
  const fs::path drivers = root + "/sys/bus/i2c/drivers/ina3221";
  for (fs::directory_iterator dev(drivers, ec), end; !ec && dev != end; dev.increment(ec)) {
    std::error_code ec2;
    for (fs::directory_iterator mon(dev->path() / "hwmon", ec2), e2; !ec2 && mon != e2;
         mon.increment(ec2)) {
      for (int ch = 1; ch <= 8; ++ch) {
        const fs::path d = mon->path();
        const std::string n = std::to_string(ch);
        std::ifstream label_in(d / ("in" + n + "_label"));
        std::string label;
        if (!std::getline(label_in, label) || label.empty() || label == "NC" ||
            label.rfind("sum", 0) == 0)
          continue;
        const std::string v = (d / ("in" + n + "_input")).string();
        const std::string a = (d / ("curr" + n + "_input")).string();
        if (::access(v.c_str(), R_OK) == 0 && ::access(a.c_str(), R_OK) == 0)
          rails.push_back({label, v, a});
      }
      if (where.empty() && !rails.empty()) where = mon->path().string().substr(root.size());
    }
  }
  return rails;
}

Result<double> InaWatts(const std::vector<Rail>& rails) {
  double watts = 0;
  for (const Rail& r : rails) {
    auto mv = ReadNumber(r.volts_path);
    auto ma = ReadNumber(r.amps_path);
    if (!mv) return tl::unexpected(mv.error());
    if (!ma) return tl::unexpected(ma.error());
    watts += *mv * *ma * 1e-6;
  }
  return watts;
}

// Runs `work` while a thread samples the rails every 10 ms; trapezoidal integration. `first` is
// the reading taken just before (it proved the rails readable). A read failing mid-run turns the
// result into the TDP estimate over the time the work took.
EnergyReading MeasureWithIna(const std::function<void()>& work, const std::vector<Rail>& rails,
                             const std::string& where, double first,
                             const HardwareProfile& profile) {
  std::atomic<bool> done{false};
  std::vector<std::pair<Clock::time_point, double>> samples;
  std::string error;
  const Clock::time_point t0 = Clock::now();
  samples.emplace_back(t0, first);
  std::thread sampler([&] {
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      auto w = InaWatts(rails);
      if (!w) {
        error = w.error().message();
        return;
      }
      samples.emplace_back(Clock::now(), *w);
    }
  });
  work();
  const Clock::time_point t1 = Clock::now();
  done = true;
  sampler.join();
  auto last = InaWatts(rails);
  if (!last && error.empty()) error = last.error().message();
  const double seconds = Seconds(t0, t1);
  if (!error.empty())
    return {.joules = profile.tdp_w * seconds,
            .seconds = seconds,
            .measured = false,
            .source = "tdp-estimate",
            .note = "INA3221 read failed during the run: " + error};
  // The sampler's last point can land after the work ended: integrate up to t1 only.
  while (samples.size() > 1 && samples.back().first > t1) samples.pop_back();
  samples.emplace_back(t1, *last);
  double joules = 0;
  for (size_t i = 1; i < samples.size(); ++i)
    joules += 0.5 * (samples[i - 1].second + samples[i].second) *
              Seconds(samples[i - 1].first, samples[i].first);
  return {.joules = joules,
          .seconds = seconds,
          .measured = true,
          .source = "ina3221:" + where,
          .note = std::to_string(rails.size()) + " rails summed, sampled every 10 ms"};
}

}  // namespace

Result<EnergyMeter> EnergyMeter::Open(const std::string& root) {
  const std::string dir = root + kRaplDir;
  if (::access((root + "/sys/class/powercap").c_str(), F_OK) != 0)
    return MakeError(Errc::kNotFound,
                     "no /sys/class/powercap: no RAPL driver (or a VM that does not expose it)");
  const std::string energy = dir + "/energy_uj";
  if (::access(energy.c_str(), F_OK) != 0)
    return MakeError(Errc::kNotFound, std::string("no ") + kRaplDir + "/energy_uj");
  if (::access(energy.c_str(), R_OK) != 0) {
    if (errno == EACCES)
      return MakeError(Errc::kPermissionDenied,
                       std::string(kRaplDir) +
                           "/energy_uj is root-only (Linux 5.10+, the PLATYPUS "
                           "fix): run as root or make it readable with a udev rule");
    return MakeError(ErrnoError("access " + energy));
  }
  EnergyMeter m;
  m.source_ = std::string("rapl:") + kRaplDir;
  m.energy_path_ = energy;
  if (auto range = ReadNumber(dir + "/max_energy_range_uj")) m.max_range_j_ = *range * 1e-6;
  HADMC_TRY_CTX(m.ReadJoules(), "RAPL");
  return m;
}

Result<double> EnergyMeter::ReadJoules() const {
  auto uj = ReadNumber(energy_path_);
  if (!uj) return tl::unexpected(uj.error());
  return *uj * 1e-6;
}

EnergyReading MeasureEnergy(const std::function<void()>& work, const HardwareProfile& profile,
                            const std::string& root) {
  std::string why;
  auto meter = EnergyMeter::Open(root);
  if (meter) {
    auto before = meter->ReadJoules();
    const Clock::time_point t0 = Clock::now();
    work();
    const Clock::time_point t1 = Clock::now();
    auto after = meter->ReadJoules();
    if (before && after) {
      double joules = *after - *before;
      // The counter wraps at max_energy_range_uj; one wrap is all a short run can see.
      if (joules < 0 && meter->max_range_joules() > 0) joules += meter->max_range_joules();
      if (joules >= 0)
        return {.joules = joules,
                .seconds = Seconds(t0, t1),
                .measured = true,
                .source = meter->source(),
                .note = "whole package, all processes"};
      why = "RAPL counter went backwards without a known range";
    } else {
      why = "RAPL read failed: " + (before ? after.error() : before.error()).String();
    }
    // The work has run; estimate from its time rather than running it again.
    return {.joules = profile.tdp_w * Seconds(t0, t1),
            .seconds = Seconds(t0, t1),
            .measured = false,
            .source = "tdp-estimate",
            .note = why};
  }
  why = "RAPL: " + meter.error().message();
  std::string where;
  const std::vector<Rail> rails = FindInaRails(root, where);
  if (rails.empty()) {
    why += "; no Jetson INA3221 rails";
  } else if (auto first = InaWatts(rails); !first) {
    why += "; INA3221: " + first.error().message();
  } else {
    return MeasureWithIna(work, rails, where, *first, profile);
  }
  const Clock::time_point t0 = Clock::now();
  work();
  const double s = Seconds(t0, Clock::now());
  return {.joules = profile.tdp_w * s,
          .seconds = s,
          .measured = false,
          .source = "tdp-estimate",
          .note = why + "; estimated as the profile's TDP x time"};
}

}  // namespace hadmc::hal
