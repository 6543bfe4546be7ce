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
  // Where each number comes from: field name -> public source (URL, datasheet title).
  std::map<std::string, std::string> sources;
};

// Parses and validates one profile. Errors name `origin` (a file path) and the field.
Result<HardwareProfile> ParseProfile(const nlohmann::json& j, const std::string& origin);
Result<HardwareProfile> LoadProfile(const std::string& path);
nlohmann::json ToJson(const HardwareProfile& p);

// Directory of the shipped profiles: $HADMC_HAL_DIR, else the installed share directory, else
// the source tree's configs/hal (for tests and the build tree).
std::string DefaultProfileDir();
// Loads <dir>/<name>.json (dir "" = DefaultProfileDir()); kNotFound lists the names available.
Result<HardwareProfile> FindProfile(const std::string& name, const std::string& dir = "");
// Every profile in the directory, sorted by name.
Result<std::vector<HardwareProfile>> LoadAllProfiles(const std::string& dir = "");

}  // namespace hadmc::hal
