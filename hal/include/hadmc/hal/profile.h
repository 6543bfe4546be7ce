// Hardware profiles (configs/hal/<name>.json): what a device class can do on paper — peak
// throughput per precision, memory bandwidth, TDP, supported precisions, tensor cores, 2:4
// sparsity — each number with the public source it comes from. The roofline estimate
// (roofline.h) reads them when the latency LUT has no measurement; the search reads them as the
// target's hardware features. Torch-free.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hadmc/common/error.h"

namespace hadmc::hal {

struct HardwareProfile {
  std::string name;          // the device class it describes: "x86_cpu", "jetson_orin", ...
  std::string display_name;  // "NVIDIA Jetson AGX Orin 64GB"
  std::string kind;          // "cpu", "gpu", "npu", "mlu"
  // Dense peak throughput in tera-operations per second (one multiply-accumulate = 2 ops), per
  // precision name ("fp32", "fp16", "int8", "int4"). Only supported precisions appear.
  std::map<std::string, double> peak_tops;
  double memory_bandwidth_gbs = 0;  // GB/s (1e9 bytes)
  double tdp_w = 0;                 // watts: the module/board power budget
  std::vector<std::string> precisions;  // supported, as executed by the device's kernels
  bool tensor_cores = false;
  bool sparsity_2_4 = false;  // structured 2:4 sparsity in hardware
  // Roofline calibration: the fraction of peak compute and bandwidth a real kernel reaches, and
  // a fixed cost per kernel (dispatch/launch). Documented guesses unless measured.
  double compute_efficiency = 0.5;
  double memory_efficiency = 0.7;
  double kernel_overhead_us = 5;
  // Channel granularity of the device's kernels (SIMD width, tensor-core tile): latency is a
  // staircase in channel counts with this step. The LUT's neighbour search and the search's
  // "kept channels rounded to a multiple" both use it.
  int64_t channel_step = 8;
  // Per-precision steps where they differ from channel_step (tensor cores tile int8 by 16 where
  // fp16 tiles by 8). Keys are precisions. Read through ChannelStepFor.
  std::map<std::string, int64_t> channel_step_by_precision;
  // CPU profiles: the core count the peak and power figures assume (0 = not a per-core figure).
  // ScaledToCores rescales to the cores a machine really has.
  int cores = 0;
  std::string notes;  // free text: caveats, what is a proxy or a guess
  // Where each number comes from: field name -> public source (URL, datasheet title). Every
  // numeric field has one; peak_tops and channel_step_by_precision entries are named
  // "peak_tops.int8", "channel_step_by_precision.int8".
  std::map<std::string, std::string> sources;
};

// The channel step for kernels of `precision` ("fp32", "int8", ...).
int64_t ChannelStepFor(const HardwareProfile& p, const std::string& precision);
// A CPU profile (cores > 0) rescaled to `cores`: peak throughput and TDP scale linearly; memory
// bandwidth does not (cores of one socket share its memory channels). Other profiles, or
// cores <= 0, are returned unchanged.
HardwareProfile ScaledToCores(const HardwareProfile& p, int cores);

// Parses and validates one profile, strictly: unknown keys are refused, every number must be
// finite and positive (kernel_overhead_us may be 0; efficiencies are in (0, 1]), precisions come
// from {fp32, fp16, int8, int4}, peak_tops has exactly the listed precisions, and `sources` names
// a source for every numeric field. Errors (kInvalidArgument) name `origin` and the field.
Result<HardwareProfile> ParseProfile(const nlohmann::json& j, const std::string& origin);
// Reads and parses a file; the profile's name must equal the file's stem.
Result<HardwareProfile> LoadProfile(const std::string& path);
nlohmann::json ToJson(const HardwareProfile& p);

// Directory of the shipped profiles: $HADMC_HAL_DIR, else <executable dir>/../share/hadmc/hal,
// else the install prefix's share/hadmc/hal, else the source tree's configs/hal (for tests and
// the build tree) — the first that exists.
std::string DefaultProfileDir();
// Loads <dir>/<name>.json (dir "" = DefaultProfileDir()); kNotFound lists the names available.
Result<HardwareProfile> FindProfile(const std::string& name, const std::string& dir = "");
// Every profile in the directory, sorted by name.
Result<std::vector<HardwareProfile>> LoadAllProfiles(const std::string& dir = "");

}  // namespace hadmc::hal
