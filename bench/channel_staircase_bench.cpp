// Is latency a staircase in channel counts on this CPU, and with what step? Times synthetic
// 3x3 conv kernels (hal::ProfileSyntheticKernel: the executor's own fp32 and int8 kernels) for
// every output channel count in a range, at a fixed input, interleaved over several rounds.
//
//   build/bench/channel_staircase_bench [--in 64] [--hw 14] [--from 40] [--to 80] [--rounds 5]
//
// Prints one line per channel count: the median over rounds of each round's median, per
// precision, and the time per output channel. A staircase shows as flat runs with jumps at
// multiples of the step; a line shows as a constant time per channel.
#include <algorithm>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "hadmc/hal/allocator.h"
#include "hadmc/hal/int8_backend.h"
#include "hadmc/hal/kernel_bench.h"

namespace {

using namespace hadmc;  // NOLINT: a benchmark program

int Arg(int argc, char** argv, const std::string& flag, int def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == flag) return std::atoi(argv[i + 1]);
  return def;
}

}  // namespace

int main(int argc, char** argv) {
  const int in = Arg(argc, argv, "--in", 64), hw = Arg(argc, argv, "--hw", 14);
  const int from = Arg(argc, argv, "--from", 40), to = Arg(argc, argv, "--to", 80);
  const int rounds = Arg(argc, argv, "--rounds", 5);
  hal::ConfigureAllocator();
  if (!hal::ConfigureInt8Backend()) return 1;
  hal::BenchOptions o;
  o.warmup = 5;
  o.runs = 40;
  std::map<std::pair<int, int>, std::vector<double>> samples;  // (precision, out) -> medians
  const ir::Precision precisions[] = {ir::Precision::kFp32, ir::Precision::kInt8};
  for (int r = 0; r < rounds; ++r)
    for (int out = from; out <= to; ++out)
      for (int p = 0; p < 2; ++p) {
        hal::KernelKey key{.kind = "conv2d_relu",
                           .input = {1, in, hw, hw},
                           .out_channels = out,
                           .kernel_h = 3,
                           .kernel_w = 3,
                           .stride = 1,
                           .padding = 1,
                           .groups = 1,
                           .precision = precisions[p]};
        auto m = hal::ProfileSyntheticKernel(key, o);
        if (!m) {
          std::cerr << key.ToString() << ": " << m.error().String() << "\n";
          return 1;
        }
        samples[{p, out}].push_back(m->timing.median_ms);
      }
  std::cout << "conv2d_relu 3x3, input 1x" << in << "x" << hw << "x" << hw << ", 1 thread, " << rounds
            << " rounds x " << o.runs << " runs\n| out channels | fp32 ms | fp32 us/channel | int8 ms | int8 us/channel |\n|---|---|---|---|---|\n";
  for (int out = from; out <= to; ++out) {
    std::cout << "| " << out;
    for (int p = 0; p < 2; ++p) {
      auto v = samples[{p, out}];
      std::sort(v.begin(), v.end());
      const double med = v[v.size() / 2];
      std::cout << std::fixed << std::setprecision(4) << " | " << med << " | " << std::setprecision(2)
                << 1000 * med / out;
    }
    std::cout << " |\n";
  }
  return 0;
}
