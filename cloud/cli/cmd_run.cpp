// `hadmc run model.hmc --input x.npy --output y.npy [--batch-size B]`: runs a model in inference
// mode on a NumPy array and writes the outputs as float32 .npy files.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "hadmc/exec/executor.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/model/npy.h"

namespace hadmc::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct RunCommand {
  std::string model;
  std::string input;
  std::vector<std::string> outputs;
  int64_t batch_size = 0;  // 0: the whole input at once
};

double MillisSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::string Ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f ms", ms);
  return buf;
}

bool ShapeMatches(const ir::Shape& got, const ir::Shape& want, size_t want_from) {
  if (got.size() + want_from != want.size()) return false;
  for (size_t d = 0; d < got.size(); ++d)
    if (want[d + want_from] >= 0 && want[d + want_from] != got[d]) return false;
  return true;
}

// Fails unless `got` fits the graph input (any size where the graph says -1).
void CheckInputShape(const RunCommand& c, const ir::Shape& got, const ir::ValueInfo& want) {
  if (ShapeMatches(got, want.shape, 0)) return;
  std::string msg = c.input + " has shape " + ir::ShapeString(got) + " but input '" + want.name +
                    "' of " + c.model + " expects " + ir::ShapeString(want.shape) +
                    " (-1: any size)";
  if (!want.shape.empty() && ShapeMatches(got, want.shape, 1))
    msg += "; it looks like a single sample: add a batch dimension (x[None])";
  Fail(msg);
}

// Wraps the array's values without copying them; the tensor keeps the vector alive.
at::Tensor TensorOf(model::NpyArray&& a) {
  auto values = std::make_shared<std::vector<float>>(std::move(a.values));
  return at::from_blob(
      values->data(), a.shape, [values](void*) mutable { values.reset(); },
      at::TensorOptions().dtype(at::kFloat));
}

void RunRun(const RunCommand& c) {
  const auto load_start = Clock::now();
  auto m = model::LoadHmc(c.model);
  if (!m) Fail(m.error().message());
  const ir::Graph& g = m->graph;
  if (g.inputs.size() != 1)
    Fail("hadmc run feeds one input, but graph '" + g.name + "' has " +
         std::to_string(g.inputs.size()));
  if (c.outputs.size() != g.outputs.size()) {
    std::string names;
    for (const auto& o : g.outputs) names += (names.empty() ? "" : ", ") + o;
    Fail("graph '" + g.name + "' has " + std::to_string(g.outputs.size()) + " outputs (" + names +
         "); pass one --output per output, got " + std::to_string(c.outputs.size()));
  }
  auto ex = exec::Executor::Create(*m);
  if (!ex) Fail(c.model + ": " + ex.error().message());
  const double load_ms = MillisSince(load_start);

  auto array = model::ReadNpy(c.input);
  if (!array) Fail(array.error().message());
  if (const std::string note = model::ConversionNote(*array, c.input); !note.empty())
    std::cerr << "note: " << note << "\n";
  CheckInputShape(c, array->shape, g.inputs[0]);
  const int64_t samples = array->shape.empty() ? 1 : array->shape[0];
  if (samples == 0) Fail(c.input + " holds no samples (its batch dimension is 0)");
  const at::Tensor x = TensorOf(std::move(*array));
  const int64_t chunk =
      (c.batch_size > 0 && x.dim() > 0) ? std::min(c.batch_size, samples) : samples;

  c10::InferenceMode inference;
  std::vector<std::vector<at::Tensor>> pieces(g.outputs.size());
  const auto run_start = Clock::now();
  double first_batch_ms = 0;
  int64_t batches = 0;
  for (int64_t begin = 0; begin < samples; begin += chunk, ++batches) {
    const at::Tensor xs = x.dim() > 0 ? x.narrow(0, begin, std::min(chunk, samples - begin)) : x;
    auto ys = ex->Run(std::vector<at::Tensor>{xs}, exec::Mode::kInference);
    if (!ys)
      Fail("running " + c.model + " on samples from " + std::to_string(begin) + ": " +
           ys.error().message());
    for (size_t i = 0; i < ys->size(); ++i) pieces[i].push_back(std::move((*ys)[i]));
    if (batches == 0) first_batch_ms = MillisSince(run_start);
  }
  const double run_ms = MillisSince(run_start);

  std::cout << "ran " << c.model << " on " << samples << " samples from " << c.input << " in "
            << batches << (batches == 1 ? " batch" : " batches") << " of " << chunk << ": "
            << Ms(run_ms) << " (" << Ms(run_ms / static_cast<double>(samples)) << " per sample)\n";
  // The first batch pays one-time costs (thread pool start, kernel setup): say so rather than
  // let it pass for steady-state latency.
  if (batches > 1)
    std::cout << "  first batch " << Ms(first_batch_ms) << " (includes one-time setup), later "
              << "batches " << Ms((run_ms - first_batch_ms) / (batches - 1)) << " each\n";
  std::cout << "  model load " << Ms(load_ms) << "\n";
  for (size_t i = 0; i < pieces.size(); ++i) {
    const at::Tensor y =
        (pieces[i].size() == 1 ? pieces[i][0] : at::cat(pieces[i])).to(at::kFloat).contiguous();
    const ir::Shape shape = y.sizes().vec();
    if (auto st = model::WriteNpy(c.outputs[i], shape, y.data_ptr<float>(),
                                  static_cast<size_t>(y.numel()));
        !st)
      Fail(st.error().message());
    std::cout << "wrote " << c.outputs[i] << " " << ir::ShapeString(shape) << " (output '"
              << g.outputs[i] << "')\n";
  }
}

}  // namespace

void RegisterRun(CLI::App& app, const GlobalOptions& g) {
  auto c = std::make_shared<RunCommand>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run a .hmc model in inference mode on a .npy input and write .npy outputs");
  cmd->add_option("model", c->model, ".hmc model file")->required();
  cmd->add_option("--input,-i", c->input, "input array (.npy, float32; batch first)")->required();
  // One value per occurrence, so "-o y.npy model.hmc" does not swallow the model path.
  cmd->add_option("--output,-o", c->outputs,
                  "output array (.npy, float32); repeat once per graph output, in order")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("--batch-size,-b", c->batch_size,
                  "run in chunks of this many samples (default: all at once)")
      ->check(CLI::PositiveNumber);
  cmd->callback([c, &g] {
    ApplyGlobalOptions(g);
    RunRun(*c);
  });
}

}  // namespace hadmc::cli
