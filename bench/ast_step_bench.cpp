// Where adaptive sparse training's time goes: the parts of one AST step against one full-data
// training step, on the zoo's resnet8 (batch 256) and resnet18 (batch 128) at Fashion-MNIST's
// 1x28x28, random data, 2 threads.
//
//   HADMC_THREADS=2 build/bench/ast_step_bench --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//
//   Train/<arch>/<n>   one SGD step (forward in train mode, cross-entropy, backward, update) on
//                      n samples: n = the batch (full training) or 30% of it (AST's active set)
//   Score/<arch>       the no-grad scoring forward over the whole batch (inference mode), as the
//                      AST step runs it
//   ScoreFused/<arch>  the same on the Conv-BN-ReLU-fused graph (what a fused scoring copy would
//                      cost)
//   ScoreBf16/<arch>   the scoring forward on a bfloat16 copy of the model (--ast-score-precision
//                      bf16), the batch cast in and the logits cast out
//   CastWeights/<arch> copying the fp32 weights into that copy, paid after each training step
//   OptimizerStep/<arch>  SGD's update alone, paid once per step whatever the batch
//   MaxPool/<v>        ResNet-18's stem pool at inference: 0 ATen, 1 oneDNN, 2 oneDNN behind an
//                      isnan().any() guard, 3 behind a finite-sum guard (pooling.cpp), 4 ATen on
//                      channels-last
// HADMC_TRACE=<prefix> also writes <prefix>[.fused].json, a LibTorch profiler trace (Chrome
// format) of five scoring passes, to see which ops the pass spends its time in.
// The ideal AST ratio at r = 0.3 is (Score + Train(0.3 B)) / Train(B) if the sub-batch trained at
// the full batch's per-sample speed; the benchmark shows how far each part is from that.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <sys/resource.h>
#include <torch/csrc/autograd/profiler.h>

#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "hadmc/compress/pass_registry.h"
#include "hadmc/exec/executor.h"
#include "hadmc/hal/allocator.h"
#include "hadmc/hal/threads.h"
#include "hadmc/model/model.h"
#include "hadmc/train/ast.h"
#include "hadmc/train/optimizer.h"
#include "hadmc/train/train_step.h"
#include "hadmc/zoo/zoo.h"

namespace {

using namespace hadmc;

// HADMC_BENCH_BATCH overrides the batch of both nets.
int64_t BatchOf(const std::string& arch) {
  if (const char* b = std::getenv("HADMC_BENCH_BATCH")) return std::atoi(b);
  return arch == "resnet18" ? 128 : 256;
}

model::Model Build(const std::string& arch) {
  zoo::ArchOptions a;
  a.in_channels = 1;
  a.num_classes = 10;
  a.image_size = 28;
  auto m = zoo::BuildModel(arch, a);
  if (!m) std::abort();
  return std::move(*m);
}

// Minor page faults of this process so far: a step that faults is re-zeroing memory the C heap
// gave back to the kernel.
double MinorFaults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_minflt);
}

// A model with autograd on and the trainer's SGD, ready for a TrainStep.
struct Training {
  explicit Training(const std::string& arch) : m(Build(arch)), ex(*exec::Executor::Create(m)) {
    ex.EnableGrad(true);
    opt = std::move(*train::MakeOptimizer(ex, {"sgd", 0.01, 0.9, true, 5e-4}));
  }
  train::TrainStepContext Context() { return {ex, *opt, options}; }
  model::Model m;
  exec::Executor ex;
  std::unique_ptr<torch::optim::Optimizer> opt;
  train::TrainOptions options;
};

data::Batch RandomBatch(int64_t n) {
  data::Batch b;
  b.images = torch::randn({n, 1, 28, 28});
  b.labels = torch::randint(0, 10, {n}, torch::kLong);
  return b;
}

void Train(benchmark::State& state, const std::string& arch, double share) {
  Training t(arch);
  auto step = train::MakeCrossEntropyStep(t.Context());
  const data::Batch b = RandomBatch(static_cast<int64_t>(BatchOf(arch) * share));
  for (auto _ : state) benchmark::DoNotOptimize(step->Run(b));
  state.counters["samples"] = static_cast<double>(b.labels.size(0));
}

// Like Train at 30%, but the sub-batch size changes every step (the 30% +- 8 an AST step sees),
// cycling through `sizes` distinct sizes: do kernels set up per input shape cost time?
void TrainVarying(benchmark::State& state, const std::string& arch, int64_t sizes) {
  Training t(arch);
  auto step = train::MakeCrossEntropyStep(t.Context());
  const auto base = static_cast<int64_t>(BatchOf(arch) * 0.3) - sizes / 2;
  std::vector<data::Batch> batches;
  for (int64_t i = 0; i < sizes; ++i) batches.push_back(RandomBatch(base + i));
  size_t i = 0;
  const double faults = MinorFaults();
  for (auto _ : state) benchmark::DoNotOptimize(step->Run(batches[i++ % batches.size()]));
  state.counters["faults"] = (MinorFaults() - faults) / static_cast<double>(state.iterations());
}

// The two parts of an AST step run back to back without the step's selection code: a scoring
// forward over the batch (inference mode), then a training step on a fixed 30% of it.
void ScoreThenTrain(benchmark::State& state, const std::string& arch) {
  Training t(arch);
  auto step = train::MakeCrossEntropyStep(t.Context());
  const data::Batch b = RandomBatch(BatchOf(arch));
  const data::Batch sub = RandomBatch(static_cast<int64_t>(BatchOf(arch) * 0.3));
  const double faults = MinorFaults();
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.ex.Run(b.images, exec::Mode::kInference));
    benchmark::DoNotOptimize(step->Run(sub));
  }
  state.counters["faults"] = (MinorFaults() - faults) / static_cast<double>(state.iterations());
}

// The optimizer's update alone (SGD, momentum, Nesterov, weight decay): its cost is the same for
// any batch size, so an AST run that trains more, smaller steps pays it more often.
void OptimizerStep(benchmark::State& state, const std::string& arch) {
  Training t(arch);
  for (const at::Tensor& p : t.ex.TrainableParameters())
    const_cast<at::Tensor&>(p).mutable_grad() = torch::randn_like(p) * 1e-3;
  for (auto _ : state) t.opt->step();
}

void Ast(benchmark::State& state, const std::string& arch) {
  Training t(arch);
  train::AstOptions ast;
  ast.enabled = true;
  auto step = train::MakeAstStep(train::MakeCrossEntropyStep(t.Context()), t.Context(), ast);
  step->BeginEpoch(0);
  const data::Batch b = RandomBatch(BatchOf(arch));
  int64_t active = 0, steps = 0;
  const double faults = MinorFaults();
  for (auto _ : state) {
    auto r = step->Run(b);
    active += r->backpropagated;
    ++steps;
  }
  state.counters["active"] = static_cast<double>(active) / steps;
  state.counters["faults"] = (MinorFaults() - faults) / static_cast<double>(steps);
}

void Score(benchmark::State& state, const std::string& arch, bool fused, exec::Mode mode,
           bool grad = false) {
  model::Model m = Build(arch);
  if (fused && !compress::RunFusion(m)) std::abort();
  auto ex = exec::Executor::Create(m);
  ex->EnableGrad(grad);
  const data::Batch b = RandomBatch(BatchOf(arch));
  at::NoGradGuard no_grad;
  if (const char* trace = std::getenv("HADMC_TRACE")) {
    for (int i = 0; i < 3; ++i) ex->Run(b.images, mode);
    torch::autograd::profiler::RecordProfile guard(std::string(trace) + (fused ? ".fused" : "") + ".json");
    for (int i = 0; i < 5; ++i) ex->Run(b.images, mode);
  }
  for (auto _ : state) benchmark::DoNotOptimize(ex->Run(b.images, mode));
}

// ResNet-18's stem max pool on a batch of Fashion-MNIST (64x14x14 maps), the ways it can run
// outside autograd: ATen's kernel (which also computes argmax indices), oneDNN's through two
// layout conversions, the latter with the NaN guard pooling.cpp puts in front of it.
void MaxPool(benchmark::State& state, int variant) {
  const at::Tensor x = torch::randn({BatchOf("resnet18"), 64, 14, 14}).relu();
  c10::InferenceMode inference;
  for (auto _ : state) {
    at::Tensor y;
    if (variant == 0) y = at::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
    if (variant == 1) y = at::mkldnn_max_pool2d(x.to_mkldnn(), {3, 3}, {2, 2}, {1, 1}).to_dense();
    if (variant == 2) {
      if (!x.isnan().any().item<bool>())
        y = at::mkldnn_max_pool2d(x.to_mkldnn(), {3, 3}, {2, 2}, {1, 1}).to_dense();
    }
    if (variant == 3) {
      if (std::isfinite(x.sum().item<float>()))
        y = at::mkldnn_max_pool2d(x.to_mkldnn(), {3, 3}, {2, 2}, {1, 1}).to_dense();
    }
    if (variant == 4)
      y = at::max_pool2d(x.contiguous(at::MemoryFormat::ChannelsLast), {3, 3}, {2, 2}, {1, 1})
              .contiguous();
    benchmark::DoNotOptimize(y);
  }
}

// The scoring pass in bfloat16: the weights cast once (CastWeights times casting them again),
// the batch cast each pass, logits back to fp32. The model's own tensors change type here; AST
// uses Executor::CastCopy, which leaves them alone.
void ScoreBf16(benchmark::State& state, const std::string& arch) {
  model::Model m = Build(arch);
  auto ex = exec::Executor::Create(m);
  // The IR has no bf16 dtype: the executor's tensors (shared with m's) change type in place.
  for (auto& [name, t] : m.tensors)
    if (t.is_floating_point()) t.set_data(t.to(at::kBFloat16));
  if (!ex) {
    state.SkipWithError(ex.error().String().c_str());
    return;
  }
  const data::Batch b = RandomBatch(BatchOf(arch));
  for (auto _ : state) {
    auto y = ex->Run(b.images.to(at::kBFloat16), exec::Mode::kInference);
    if (!y) {
      state.SkipWithError(y.error().String().c_str());
      return;
    }
    benchmark::DoNotOptimize(y->to(at::kFloat));
  }
}

// Casting every floating-point tensor of the model into an existing bf16 copy (copy_), what a
// bf16 scoring copy pays each time the weights change.
void CastWeights(benchmark::State& state, const std::string& arch) {
  model::Model m = Build(arch);
  std::vector<at::Tensor> src, dst;
  for (auto& [name, t] : m.tensors)
    if (t.is_floating_point()) {
      src.push_back(t);
      dst.push_back(t.to(at::kBFloat16));
    }
  c10::InferenceMode inference;
  for (auto _ : state)
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
}

void Register() {
  for (const std::string arch : {"resnet8", "resnet18"}) {
    benchmark::RegisterBenchmark(("ScoreBf16/" + arch).c_str(), ScoreBf16, arch)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("CastWeights/" + arch).c_str(), CastWeights, arch)
        ->Unit(benchmark::kMillisecond);
  }
  for (int v = 0; v < 5; ++v)
    benchmark::RegisterBenchmark(("MaxPool/" + std::to_string(v)).c_str(), MaxPool, v)
        ->Unit(benchmark::kMillisecond);
  for (const std::string arch : {"resnet8", "resnet18"}) {
    const std::string n = std::to_string(BatchOf(arch));
    const std::string n30 = std::to_string(static_cast<int64_t>(BatchOf(arch) * 0.3));
    benchmark::RegisterBenchmark(("Train/" + arch + "/" + n).c_str(), Train, arch, 1.0)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("Train/" + arch + "/" + n30).c_str(), Train, arch, 0.3)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("Train/" + arch + "/" + std::to_string(BatchOf(arch) / 2)).c_str(),
                                 Train, arch, 0.5)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("OptimizerStep/" + arch).c_str(), OptimizerStep, arch)
        ->Unit(benchmark::kMillisecond);
    for (int64_t sizes : {1, 16, 64})
      benchmark::RegisterBenchmark(("TrainVarying/" + arch + "/" + std::to_string(sizes)).c_str(),
                                   TrainVarying, arch, sizes)
          ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("Score/" + arch).c_str(), Score, arch, false,
                                 exec::Mode::kInference, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("ScoreEvalNoGrad/" + arch).c_str(), Score, arch, false,
                                 exec::Mode::kEval, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("ScoreFused/" + arch).c_str(), Score, arch, true,
                                 exec::Mode::kInference, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("ScoreGradParams/" + arch).c_str(), Score, arch, false,
                                 exec::Mode::kInference, true)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("ScoreThenTrain/" + arch).c_str(), ScoreThenTrain, arch)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("AstStep/" + arch).c_str(), Ast, arch)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  hal::ConfigureAllocator();
  const char* threads = std::getenv("HADMC_THREADS");
  hal::ConfigureThreads(threads ? std::atoi(threads) : 2);
  Register();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
