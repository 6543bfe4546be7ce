// Models for the edge tests: a zoo architecture with weights drawn from a seed, serialized as
// .hmc bytes (what a published version holds). Shared by the runtime, daemon and fault tests.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>

#include "hadmc/model/hmc_file.h"
#include "hadmc/zoo/zoo.h"

namespace hadmc::edge::testing {

// `arch` at 28x28x1 with every weight matrix/kernel ~ N(0, stddev) from `seed`; `edit` may
// change the tensors before they are serialized (a NaN head, say).
inline std::string ZooModelBytes(const std::string& arch, uint64_t seed, double stddev = 0.1,
                                 const std::function<void(model::Model&)>& edit = {}) {
  zoo::ArchOptions o;
  o.image_size = 28;
  o.in_channels = 1;
  auto m = zoo::BuildModel(arch, o);
  EXPECT_TRUE(m) << m.error().String();
  if (!m) return "";
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : m->tensors)
    if (t.is_floating_point() && t.dim() > 1) t.normal_(0, stddev);
  if (edit) edit(*m);
  auto bytes = model::SerializeHmc(*m);
  EXPECT_TRUE(bytes) << bytes.error().String();
  return bytes ? *bytes : "";
}

}  // namespace hadmc::edge::testing
