// int8 vs fp32 kernels: the executor's own conv2d / linear kernels (the op table's bind_kernel and
// bind_int8_kernel, exactly what a compressed model runs), at shapes taken from ResNet-18 and the
// demo net on 28 px inputs, at batch 1 and 32.
//
//   HADMC_THREADS=1 build/bench/int8_kernel_bench --benchmark_repetitions=10
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//
// The int8 kernel takes a quint8 input and returns a quint8 output (inside an int8 region of a
// graph there is no quantize/dequantize per node), so the quantize of the input is done once,
// outside the timed loop. The engine and weight range are the HAL's choice for this CPU
// (hal::ConfigureInt8Backend), printed at start. fp32 and int8 of a shape are registered next to
// each other; with random interleaving a noisy neighbour hits both alike: compare the medians.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "hadmc/hal/allocator.h"
#include "hadmc/hal/int8_backend.h"
#include "hadmc/hal/threads.h"
#include "hadmc/exec/kernel.h"
#include "hadmc/exec/low_precision.h"
#include "hadmc/ir/ops.h"

namespace {

using hadmc::ir::Node;

struct ConvShape {
  const char* name;
  int64_t batch, in_ch, out_ch, size, kernel, stride;
};

struct LinearShape {
  const char* name;
  int64_t batch, in_f, out_f;
};

// Per-output-channel symmetric weights, the quantize pass's layout.
std::pair<at::Tensor, at::Tensor> QuantizeWeight(const at::Tensor& w, bool reduce_range) {
  return hadmc::exec::QuantizePerChannel(w, reduce_range ? 63.0 : 127.0);
}

bool ReduceRange() {
  static const bool reduce = [] {
    auto backend = hadmc::hal::ConfigureInt8Backend();
    if (!backend) {
      std::cerr << "int8 backend: " << backend.error().message() << "\n";
      std::exit(1);
    }
    std::cerr << "int8 backend: " << backend->engine
              << (backend->reduce_range ? " (7-bit weights)" : " (8-bit weights)") << ": "
              << backend->reason << "\n";
    return backend->reduce_range;
  }();
  return reduce;
}

// Runs one bound kernel of `op` on `input`; `int8` selects bind_int8_kernel.
void RunKernel(benchmark::State& state, const Node& node, const std::vector<at::Tensor>& params,
               const at::Tensor& input, bool int8) {
  const hadmc::ir::OpDef* def = hadmc::ir::FindOp(node.op);
  auto kernel = int8 ? def->bind_int8_kernel(node, params.data()) : def->bind_kernel(node);
  if (!kernel) {
    state.SkipWithError(kernel.error().message().c_str());
    return;
  }
  c10::InferenceMode guard;
  hadmc::exec::KernelArgs args{&input, 1, params.data(), false};
  for (int i = 0; i < 3; ++i) kernel->run(args);  // warm-up (first call sets up primitives)
  for (auto _ : state) benchmark::DoNotOptimize(kernel->run(args));
}

at::Tensor QuantizeInput(const at::Tensor& x) {
  // Post-relu activations: non-negative, range from the data (what a min-max observer gives).
  const double scale = x.max().item<double>() / 255.0;
  return at::quantize_per_tensor(x, scale, 0, at::kQUInt8);
}

void BM_Conv(benchmark::State& state, ConvShape s, bool int8) {
  torch::manual_seed(0);
  Node n;
  n.name = s.name;
  n.op = "conv2d";
  n.attrs.Set("stride", std::vector<int64_t>{s.stride, s.stride});
  n.attrs.Set("padding", std::vector<int64_t>{s.kernel / 2, s.kernel / 2});
  n.attrs.Set("activation", std::string("relu"));
  at::Tensor x = torch::relu(torch::randn({s.batch, s.in_ch, s.size, s.size}));
  at::Tensor w = torch::randn({s.out_ch, s.in_ch, s.kernel, s.kernel}) * 0.05;
  at::Tensor b = torch::randn({s.out_ch}) * 0.1;
  if (!int8) {
    RunKernel(state, n, {w, b, at::Tensor()}, x, false);
  } else {
    auto [codes, scales] = QuantizeWeight(w, ReduceRange());
    n.attrs.Set("out_scale", 0.05);
    n.attrs.Set("out_zero_point", int64_t{0});
    RunKernel(state, n, {codes, b, scales}, QuantizeInput(x), true);
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

void BM_Linear(benchmark::State& state, LinearShape s, bool int8) {
  torch::manual_seed(0);
  Node n;
  n.name = s.name;
  n.op = "linear";
  at::Tensor x = torch::relu(torch::randn({s.batch, s.in_f}));
  at::Tensor w = torch::randn({s.out_f, s.in_f}) * 0.05;
  at::Tensor b = torch::randn({s.out_f}) * 0.1;
  if (!int8) {
    RunKernel(state, n, {w, b, at::Tensor()}, x, false);
  } else {
    auto [codes, scales] = QuantizeWeight(w, ReduceRange());
    n.attrs.Set("out_scale", 0.05);
    n.attrs.Set("out_zero_point", int64_t{128});
    RunKernel(state, n, {codes, b, scales}, QuantizeInput(x), true);
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
}

const ConvShape kConvs[] = {
    // ResNet-18 on 28 px (torchvision stem: 7x7 stride 2, then max-pool to 7x7).
    {"r18_layer1_64x7x7_3x3", 1, 64, 64, 7, 3, 1},
    {"r18_layer2_128x4x4_3x3", 1, 128, 128, 4, 3, 1},
    {"r18_layer3_256x2x2_3x3", 1, 256, 256, 2, 3, 1},
    {"r18_stem_3x28x28_7x7s2", 1, 3, 64, 28, 7, 2},
    // The demo net (resnet8, CIFAR stem: 28x28 throughout layer 1).
    {"r8_layer1_16x28x28_3x3", 1, 16, 16, 28, 3, 1},
    {"r8_layer3_64x7x7_3x3", 1, 64, 64, 7, 3, 1},
    {"pw_1x1_128to256_14x14", 1, 128, 256, 14, 1, 1},
    // Batch 32.
    {"r18_layer1_64x7x7_3x3_b32", 32, 64, 64, 7, 3, 1},
    {"r8_layer1_16x28x28_3x3_b32", 32, 16, 16, 28, 3, 1},
    {"odd_13to127_15x15_3x3_b32", 32, 13, 127, 15, 3, 1},
};

const LinearShape kLinears[] = {
    {"fc_512to10", 1, 512, 10},
    {"fc_512to512", 1, 512, 512},
    {"fc_1024to1024", 1, 1024, 1024},
    {"fc_512to512_b32", 32, 512, 512},
    {"fc_1024to1024_b32", 32, 1024, 1024},
};

int Register() {
  for (const ConvShape& s : kConvs) {
    benchmark::RegisterBenchmark((std::string("conv/") + s.name + "/fp32").c_str(), BM_Conv, s, false)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("conv/") + s.name + "/int8").c_str(), BM_Conv, s, true)
        ->Unit(benchmark::kMicrosecond);
  }
  for (const LinearShape& s : kLinears) {
    benchmark::RegisterBenchmark((std::string("linear/") + s.name + "/fp32").c_str(), BM_Linear, s,
                                 false)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("linear/") + s.name + "/int8").c_str(), BM_Linear, s,
                                 true)
        ->Unit(benchmark::kMicrosecond);
  }
  return 0;
}

const int kRegistered = Register();

}  // namespace

int main(int argc, char** argv) {
  const char* threads = std::getenv("HADMC_THREADS");
  const auto settings = hadmc::hal::ConfigureThreads(threads ? std::atoi(threads) : 0);
  std::cerr << "threads: " << settings.torch_threads << " (BLAS pool " << settings.blas_threads
            << ")\n";
  std::cerr << "allocator: " << hadmc::hal::ConfigureAllocator().note << "\n";
  ReduceRange();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
