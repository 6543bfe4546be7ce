// Helpers for the compression tests: random tensors for any graph (BN statistics made
// non-trivial so folds are really exercised), zoo models with randomized BN, and an eval-mode
// comparison of two models on the same input.
#pragma once

#include <torch/torch.h>

#include <string>

#include "hadmc/exec/executor.h"
#include "hadmc/model/model.h"
#include "hadmc/zoo/zoo.h"

namespace hadmc::compress::testing {

// Gives every parameter a random value: weights ~ N(0, 1/fan_in), BN gamma in [0.5, 1.5],
// beta ~ N(0, 0.1), running mean ~ N(0, 0.2), running var in [0.5, 2].
inline model::Model RandomizeTensors(model::Model m, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : m.tensors) {
    if (!t.is_floating_point()) continue;
    const auto ends = [&](const char* s) {
      const std::string suffix(s);
      return name.size() >= suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends("running_var")) {
      t.uniform_(0.5, 2.0);
    } else if (ends("running_mean")) {
      t.normal_(0, 0.2);
    } else if (t.dim() == 1 && ends("weight")) {  // BN gamma
      t.uniform_(0.5, 1.5);
    } else if (t.dim() == 1) {
      t.normal_(0, 0.1);
    } else {
      t.normal_(0, 1.0 / std::sqrt(static_cast<double>(t[0].numel())));
    }
  }
  return m;
}

inline model::Model ZooModel(const std::string& arch, int64_t image_size = 28, uint64_t seed = 1) {
  zoo::ArchOptions o;
  o.image_size = image_size;
  o.in_channels = arch == "mobilenet_v2" || arch == "vgg11_bn" ? 3 : 1;
  auto m = zoo::BuildModel(arch, o);
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().String());
  return RandomizeTensors(std::move(*m), seed);
}

inline torch::Tensor RunEval(const model::Model& m, const torch::Tensor& x) {
  auto ex = exec::Executor::Create(m.graph, m.tensors);
  EXPECT_TRUE(ex.has_value()) << (ex ? "" : ex.error().String());
  auto y = ex->Run(x, exec::Mode::kInference);
  EXPECT_TRUE(y.has_value()) << (y ? "" : y.error().String());
  return y ? *y : torch::Tensor();
}

inline float MaxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<float>();
}

inline int CountOps(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const ir::Node& node : g.nodes) n += node.op == op;
  return n;
}

}  // namespace hadmc::compress::testing
