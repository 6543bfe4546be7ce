// Does a process's own history change the latency it measures? The search experiments time their
// final models at the end of a long run (hundreds of evaluations, fine-tuning) and read them up to
// 3x slower than a fresh `hadmc lut predict --measure` of the same files. This bench times models
// fresh, then after a training-like workload (forward + backward of --train-model at batch 128
// with 2 threads, --steps steps), after --evaluations executors created, run at batch 256 and
// dropped (what the search's evaluations do), and after each candidate remedy.
//
//   build/bench/inprocess_latency_bench --time a.hmc,b.hmc --train-model base.hmc [--steps 40] [--evaluations 300]
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <malloc.h>

#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "hadmc/compress/latency.h"
#include "hadmc/exec/executor.h"
#include "hadmc/model/hmc_file.h"

namespace {

using hadmc::model::Model;

void TimeAll(const std::string& when, const std::vector<Model>& models,
             const std::vector<std::string>& names) {
  std::vector<const Model*> ptrs;
  for (const Model& m : models) ptrs.push_back(&m);
  hadmc::compress::LatencyOptions lo;
  lo.runs = 100;
  auto l = hadmc::compress::MeasureLatencyInterleaved(ptrs, 1, 1, lo);
  if (!l) {
    std::cerr << l.error().String() << "\n";
    std::exit(1);
  }
  std::cout << std::left << std::setw(34) << when;
  for (size_t k = 0; k < models.size(); ++k)
    std::cout << "  " << names[k] << " " << std::fixed << std::setprecision(3) << (*l)[k].median_ms
              << " ms";
  std::cout << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> time_list;
  std::string train_path;
  int steps = 40, evaluations = 300;
  CLI::App app{"Does a process's own history change the latency it measures?"};
  app.add_option("--time", time_list, "models to time (.hmc), comma-separated")
      ->delimiter(',')
      ->required();
  app.add_option("--train-model", train_path, "the model the training-like workload runs")
      ->required();
  app.add_option("--steps", steps, "training steps")->capture_default_str();
  app.add_option("--evaluations", evaluations, "executors created, run and dropped")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::vector<Model> models;
  std::vector<std::string> names;
  for (const std::string& p : time_list) {
    auto m = hadmc::model::LoadHmc(p);
    if (!m) {
      std::cerr << m.error().String() << "\n";
      return 1;
    }
    models.push_back(std::move(*m));
    names.push_back(p.substr(p.find_last_of('/') + 1));
  }
  auto train = hadmc::model::LoadHmc(train_path);
  if (!train) {
    std::cerr << train.error().String() << "\n";
    return 1;
  }
  at::set_num_threads(2);
  TimeAll("fresh", models, names);

  auto ex = hadmc::exec::Executor::Create(*train);
  if (!ex) return 1;
  ex->EnableGrad(true);
  auto params = ex->TrainableParameters();
  torch::optim::SGD opt(params, torch::optim::SGDOptions(0.01).momentum(0.9));
  std::vector<int64_t> shape = train->graph.inputs[0].shape;
  shape[0] = 128;
  for (int s = 0; s < steps; ++s) {
    auto y = ex->Run(torch::randn(shape), hadmc::exec::Mode::kTrain);
    if (!y) return 1;
    auto loss = torch::nn::functional::cross_entropy(*y, torch::randint(0, 10, {128}));
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  at::set_num_threads(2);
  TimeAll("after " + std::to_string(steps) + " training steps", models, names);
  TimeAll("again", models, names);
  // The search's evaluations: an executor per policy (int8 weights prepacked), a few runs, gone.
  for (int k = 0; k < evaluations; ++k) {
    const Model& m = models[static_cast<size_t>(k) % models.size()];
    auto e = hadmc::exec::Executor::Create(m);
    if (!e) return 1;
    std::vector<int64_t> in = m.graph.inputs[0].shape;
    in[0] = 256;
    c10::InferenceMode guard;
    if (!e->Run(torch::randn(in), hadmc::exec::Mode::kInference)) return 1;
  }
  TimeAll("after " + std::to_string(evaluations) + " executors at batch 256", models, names);
  malloc_trim(0);
  TimeAll("after malloc_trim(0)", models, names);
  {
    // A fresh copy of each model's tensors (new allocations).
    std::vector<Model> copies;
    for (const Model& m : models) {
      Model c = m;
      for (auto& [name, t] : c.tensors) t = t.clone();
      copies.push_back(std::move(c));
    }
    TimeAll("cloned tensors", copies, names);
  }
  return 0;
}
