#include "hadmc/compress/precision_allocator.h"

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "hadmc/exec/executor.h"
#include "hadmc/exec/low_precision.h"

namespace hadmc::compress {
namespace {

bool IsWeightNode(const ir::Node& n) { return n.op == "conv2d" || n.op == "linear"; }

// w - Q(w) for per-output-channel symmetric quantization with codes in [-qmax, qmax], [O, K].
at::Tensor QuantError(const at::Tensor& w, double qmax) {
  auto [codes, scale] = exec::QuantizePerChannel(w, qmax);
  at::Tensor flat = w.reshape({w.size(0), -1});
  return flat - codes.reshape({w.size(0), -1}).to(at::kFloat) * scale.unsqueeze(1);
}

std::vector<std::string> WeightNodes(const ir::Graph& g) {
  std::vector<std::string> out;
  for (const ir::Node& n : g.nodes)
    if (IsWeightNode(n)) out.push_back(n.name);
  return out;
}

}  // namespace

int64_t WeightBytes(int64_t params, int64_t out_channels, ir::Precision p) {
  switch (p) {
    case ir::Precision::kFp32: return params * 4;
    case ir::Precision::kFp16: return params * 2;
    case ir::Precision::kInt8: return params + out_channels * 4;
    case ir::Precision::kInt4: return (params + 1) / 2 + out_channels * 4;
  }
  return params * 4;
}

Result<std::vector<LayerSensitivity>> MeasureSensitivity(const model::Model& m,
                                                         const CalibrationSet& calib) {
  if (calib.empty())
    return MakeError(Errc::kInvalidArgument, "sensitivity needs calibration batches");
  model::Model work = model::Clone(m);
  auto ex = exec::Executor::Create(work.graph, work.tensors);
  if (!ex) return MakeError(ex.error().WithContext("measuring sensitivity"));
  std::vector<LayerSensitivity> out;
  std::vector<at::Tensor> weights, err8, err4;
  for (const ir::Node& n : work.graph.nodes) {
    if (!IsWeightNode(n)) continue;
    if (n.precision != ir::Precision::kFp32)
      return MakeError(Errc::kInvalidArgument,
                       "sensitivity is measured on an fp32 model; node '" + n.name + "' is " +
                           ir::PrecisionName(n.precision));
    at::Tensor w = work.tensors.at(n.params.at("weight"));
    weights.push_back(w);
    err8.push_back(QuantError(w.detach(), 127.0));
    err4.push_back(QuantError(w.detach(), 7.0));
    out.push_back({n.name, w.numel(), 0.0, 0.0});
  }
  ex->EnableGrad(true);
  for (const auto& [x, y] : calib) {
    auto logits = ex->Run(x, exec::Mode::kEval);
    if (!logits) return MakeError(logits.error().WithContext("measuring sensitivity"));
    at::Tensor loss = torch::nn::functional::cross_entropy(*logits, y);
    for (auto& w : weights)
      if (w.grad().defined()) w.mutable_grad().zero_();
    loss.backward();
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (!weights[i].grad().defined()) continue;
      at::Tensor g2 = weights[i].grad().reshape({weights[i].size(0), -1}).square();
      out[i].int8 += 0.5 * (g2 * err8[i].square()).sum().item<double>() / calib.size();
      out[i].int4 += 0.5 * (g2 * err4[i].square()).sum().item<double>() / calib.size();
    }
  }
  ex->EnableGrad(false);
  return out;
}

Result<Allocation> AllocatePrecision(const model::Model& m,
                                     const std::vector<LayerSensitivity>& sensitivity,
                                     const AllocationOptions& o) {
  Allocation a;
  a.sensitivity = sensitivity;
  const std::vector<std::string> nodes = WeightNodes(m.graph);
  if (nodes.empty()) return MakeError(Errc::kInvalidArgument, "the model has no conv2d/linear nodes");
  std::map<std::string, const LayerSensitivity*> by_node;
  for (const auto& s : sensitivity) by_node[s.node] = &s;
  std::map<std::string, std::pair<int64_t, int64_t>> size;  // params, out channels
  for (const std::string& name : nodes) {
    const ir::Node* n = m.graph.FindNode(name);
    const at::Tensor& w = m.tensors.at(n->params.at("weight"));
    size[name] = {w.numel(), w.size(0)};
    const bool edge = o.keep_first_last && (name == nodes.front() || name == nodes.back());
    a.precision[name] = edge ? ir::Precision::kFp32 : ir::Precision::kInt8;
    if (!edge && !by_node.count(name))
      return MakeError(Errc::kInvalidArgument, "no sensitivity measured for node '" + name + "'");
  }
  auto total = [&] {
    int64_t bytes = 0;
    for (const auto& [name, p] : a.precision) bytes += WeightBytes(size[name].first, size[name].second, p);
    return bytes;
  };
  for (const auto& [name, s] : size) a.fp32_weight_bytes += WeightBytes(s.first, s.second, ir::Precision::kFp32);

  // Candidates for int4, cheapest extra sensitivity per byte saved first.
  struct Candidate {
    std::string node;
    double cost;
    int64_t saved;
  };
  std::vector<Candidate> candidates;
  for (const auto& [name, p] : a.precision) {
    if (p != ir::Precision::kInt8) continue;
    const auto [params, channels] = size[name];
    const int64_t saved = WeightBytes(params, channels, ir::Precision::kInt8) -
                          WeightBytes(params, channels, ir::Precision::kInt4);
    if (saved <= 0) continue;
    const double extra = std::max(0.0, by_node[name]->int4 - by_node[name]->int8);
    candidates.push_back({name, extra / static_cast<double>(saved), saved});
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& x, const Candidate& y) {
    return x.cost != y.cost ? x.cost < y.cost : x.node < y.node;
  });
  int64_t bytes = total();
  for (const Candidate& c : candidates) {
    if (o.weight_budget_bytes <= 0 || bytes <= o.weight_budget_bytes) break;
    a.precision[c.node] = ir::Precision::kInt4;
    bytes -= c.saved;
  }
  a.weight_bytes = total();
  a.budget_met = o.weight_budget_bytes <= 0 || a.weight_bytes <= o.weight_budget_bytes;
  return a;
}

nlohmann::json AllocationToJson(const Allocation& a) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& s : a.sensitivity)
    layers.push_back({{"node", s.node},
                      {"params", s.params},
                      {"sensitivity_int8", s.int8},
                      {"sensitivity_int4", s.int4},
                      {"precision", a.precision.count(s.node)
                                        ? ir::PrecisionName(a.precision.at(s.node))
                                        : "fp32"}});
  return {{"weight_bytes", a.weight_bytes},
          {"fp32_weight_bytes", a.fp32_weight_bytes},
          {"budget_met", a.budget_met},
          {"layers", std::move(layers)}};
}

}  // namespace hadmc::compress
