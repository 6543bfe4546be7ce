// Which LibTorch quantized engine runs int8 kernels on this CPU, and whether weights must use
// 7 bits (reduce range). Measured (DESIGN.md): on x86 without VNNI, ONEDNN's u8 x s8 products
// saturate with full 8-bit weights (11-18% error); 7-bit weights give ~1%. With VNNI (or on a
// machine measured here: AMD EPYC with AVX512-VNNI, 1.2% error at 8 bits) full range is exact
// enough. QNNPACK is 2-28x slower than fp32 on x86 but is the engine for ARM (Jetson CPUs).
#pragma once

#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/hal/cpu_features.h"

namespace hadmc::hal {

struct Int8Backend {
  std::string engine;         // "onednn" or "qnnpack"
  bool reduce_range = false;  // weights quantized to 7 bits ([-63, 63])
  std::string reason;         // one line for reports
};

// The choice for `cpu`, among the engines this LibTorch supports (`available`, lower case).
// Errors when none of them fits (a LibTorch without quantized engines).
Result<Int8Backend> ChooseInt8Backend(const CpuFeatures& cpu, const std::vector<std::string>& available);

// Engines of the linked LibTorch, lower case ("onednn", "qnnpack", "fbgemm").
std::vector<std::string> AvailableInt8Engines();

// Makes `engine` LibTorch's current quantized engine (process-wide; prepacked weights belong to
// the engine that packed them, so call before binding int8 models).
Status ActivateInt8Engine(const std::string& engine);

// Chooses for this machine and activates it; the CLI and the edge daemon call this at start.
Result<Int8Backend> ConfigureInt8Backend();

}  // namespace hadmc::hal
