// Executor overhead: the graph executor running ResNet-18 / ResNet-8 from the zoo against the same
// network written directly with torch::nn modules (same weights, same threads, InferenceMode).
//
//   HADMC_THREADS=2 build/bench/executor_overhead_bench --benchmark_repetitions=10
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//
// Both variants of a case run in the same process, their repetitions interleaved at random so
// that a noisy neighbour hits both alike; compare the medians.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdlib>
#include <iostream>

#include "hadmc/exec/executor.h"
#include "hadmc/hal/allocator.h"
#include "hadmc/hal/threads.h"
#include "hadmc/zoo/zoo.h"

namespace {

namespace nn = torch::nn;

// torchvision's BasicBlock, with torchvision's attribute names.
struct BasicBlockImpl : nn::Module {
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride) {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in, out, 3)
                                                    .stride(stride).padding(1).bias(false)));
    bn1 = register_module("bn1", nn::BatchNorm2d(out));
    conv2 = register_module("conv2",
                            nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1).bias(false)));
    bn2 = register_module("bn2", nn::BatchNorm2d(out));
    if (stride != 1 || in != out) {
      downsample = register_module(
          "downsample", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 1)
                                                      .stride(stride).bias(false)),
                                       nn::BatchNorm2d(out)));
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    auto y = torch::relu(bn1(conv1(x)));
    y = bn2(conv2(y));
    auto skip = downsample.is_empty() ? x : downsample->forward(x);
    return torch::relu(y + skip);
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  nn::Sequential downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

// torchvision ResNet (BasicBlock) or the zoo's CIFAR-style resnet8.
struct ResNetImpl : nn::Module {
  ResNetImpl(const std::vector<int64_t>& blocks, const std::vector<int64_t>& widths, bool cifar,
             int64_t in_ch, int64_t classes)
      : cifar_(cifar) {
    const int64_t stem = widths[0];  // the zoo (like torchvision) uses the first stage width
    conv1 = register_module(
        "conv1", cifar ? nn::Conv2d(nn::Conv2dOptions(in_ch, stem, 3).padding(1).bias(false))
                       : nn::Conv2d(nn::Conv2dOptions(in_ch, stem, 7).stride(2).padding(3)
                                        .bias(false)));
    bn1 = register_module("bn1", nn::BatchNorm2d(stem));
    int64_t in = stem;
    for (size_t s = 0; s < blocks.size(); ++s) {
      nn::Sequential layer;
      for (int64_t b = 0; b < blocks[s]; ++b) {
        const int64_t stride = (b == 0 && s > 0) ? 2 : 1;
        layer->push_back(BasicBlock(in, widths[s], stride));
        in = widths[s];
      }
      layers.push_back(register_module("layer" + std::to_string(s + 1), layer));
    }
    fc = register_module("fc", nn::Linear(in, classes));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(bn1(conv1(x)));
    if (!cifar_) x = torch::max_pool2d(x, 3, 2, 1);
    for (auto& layer : layers) x = layer->forward(x);
    return fc(torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
  }
  bool cifar_;
  nn::Conv2d conv1{nullptr};
  nn::BatchNorm2d bn1{nullptr};
  std::vector<nn::Sequential> layers;
  nn::Linear fc{nullptr};
};
TORCH_MODULE(ResNet);

struct Case {
  hadmc::model::Model model;
  ResNet module{nullptr};
};

// Untimed runs before each case: the first calls pay for allocator growth, OpenMP thread start
// and oneDNN primitive creation, which would otherwise land in whichever case runs first.
constexpr int kWarmUp = 10;

// Builds the zoo model and a torch::nn twin holding the same tensors (copied by name).
Case MakeCase(const std::string& arch) {
  hadmc::zoo::ArchOptions opts;
  opts.in_channels = 1;
  opts.image_size = 28;
  auto m = hadmc::zoo::BuildModel(arch, opts);
  if (!m) {
    std::cerr << m.error().String() << "\n";
    std::exit(1);
  }
  Case c{std::move(*m), nullptr};
  // Stage widths read from the zoo model, so the twin follows the zoo if resnet8's widths change.
  std::vector<int64_t> widths;
  for (int s = 1; c.model.tensors.count("layer" + std::to_string(s) + ".0.conv1.weight"); ++s)
    widths.push_back(c.model.tensors.at("layer" + std::to_string(s) + ".0.conv1.weight").size(0));
  widths.insert(widths.begin(), c.model.tensors.at("conv1.weight").size(0));
  const bool resnet18 = arch == "resnet18";
  std::vector<int64_t> blocks(widths.size() - 1, resnet18 ? 2 : 1);
  std::vector<int64_t> stage_widths(widths.begin() + 1, widths.end());
  c.module = ResNet(blocks, stage_widths, !resnet18, 1, 10);
  torch::NoGradGuard no_grad;
  size_t copied = 0;
  for (auto& p : c.module->named_parameters()) {
    p.value().copy_(c.model.tensors.at(p.key()));
    ++copied;
  }
  for (auto& b : c.module->named_buffers()) {
    if (b.key().find("num_batches_tracked") != std::string::npos) continue;
    b.value().copy_(c.model.tensors.at(b.key()));
    ++copied;
  }
  if (copied != c.model.tensors.size()) {
    std::cerr << "torch::nn twin of " << arch << " has " << copied << " tensors, zoo model "
              << c.model.tensors.size() << "\n";
    std::exit(1);
  }
  c.module->eval();
  return c;
}

void BM_Executor(benchmark::State& state, const std::string& arch) {
  Case c = MakeCase(arch);
  auto ex = hadmc::exec::Executor::Create(c.model);
  if (!ex) {
    state.SkipWithError(ex.error().message().c_str());
    return;
  }
  auto x = torch::randn({state.range(0), 1, 28, 28});
  {  // Same answer as the torch::nn twin, or the comparison means nothing.
    c10::InferenceMode guard;
    auto diff = (*ex->Run(x, hadmc::exec::Mode::kInference) - c.module->forward(x)).abs().max();
    if (diff.item<float>() > 1e-4) state.SkipWithError("executor and torch::nn disagree");
  }
  for (int i = 0; i < kWarmUp; ++i) ex->Run(x, hadmc::exec::Mode::kInference);
  for (auto _ : state) {
    auto y = ex->Run(x, hadmc::exec::Mode::kInference);
    benchmark::DoNotOptimize(y);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_TorchNn(benchmark::State& state, const std::string& arch) {
  Case c = MakeCase(arch);
  auto x = torch::randn({state.range(0), 1, 28, 28});
  for (int i = 0; i < kWarmUp; ++i) {
    c10::InferenceMode guard;
    c.module->forward(x);
  }
  for (auto _ : state) {
    c10::InferenceMode guard;
    auto y = c.module->forward(x);
    benchmark::DoNotOptimize(y);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void Threads(int n) { hadmc::hal::ConfigureThreads(n); }

}  // namespace

BENCHMARK_CAPTURE(BM_TorchNn, resnet18, std::string("resnet18"))->Arg(1)->Arg(32)->UseRealTime();
BENCHMARK_CAPTURE(BM_Executor, resnet18, std::string("resnet18"))->Arg(1)->Arg(32)->UseRealTime();
BENCHMARK_CAPTURE(BM_TorchNn, resnet8, std::string("resnet8"))->Arg(1)->Arg(32)->UseRealTime();
BENCHMARK_CAPTURE(BM_Executor, resnet8, std::string("resnet8"))->Arg(1)->Arg(32)->UseRealTime();

int main(int argc, char** argv) {
  const char* threads = std::getenv("HADMC_THREADS");
  Threads(threads ? std::atoi(threads) : static_cast<int>(std::thread::hardware_concurrency()));
  std::cerr << "allocator: " << hadmc::hal::ConfigureAllocator().note << "\n";
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
