#include "hadmc/compress/graph_edit.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <set>

namespace hadmc::compress {
namespace {

ir::DType DTypeOf(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kHalf: return ir::DType::kF16;
    case at::kChar: return ir::DType::kI8;
    case at::kByte: return ir::DType::kU8;
    case at::kInt: return ir::DType::kI32;
    case at::kLong: return ir::DType::kI64;
    default: return ir::DType::kF32;
  }
}

bool IsGraphOutput(const ir::Graph& g, const std::string& value) {
  return std::find(g.outputs.begin(), g.outputs.end(), value) != g.outputs.end();
}

}  // namespace

bool HasSoleConsumer(const ir::Graph& g, const std::string& value) {
  if (IsGraphOutput(g, value)) return false;
  size_t reads = 0;
  for (const ir::Node& n : g.nodes)
    reads += std::count(n.inputs.begin(), n.inputs.end(), value);
  return reads == 1;
}

void AbsorbNode(ir::Graph& g, const std::string& keep, const std::string& removed) {
  ir::Node* k = g.FindNode(keep);
  const ir::Node* r = g.FindNode(removed);
  k->outputs = r->outputs;
  g.nodes.erase(std::find_if(g.nodes.begin(), g.nodes.end(),
                             [&](const ir::Node& n) { return n.name == removed; }));
}

void BypassNode(ir::Graph& g, const std::string& name) {
  auto it = std::find_if(g.nodes.begin(), g.nodes.end(),
                         [&](const ir::Node& n) { return n.name == name; });
  const std::string in = it->inputs.at(0);
  const std::string out = it->output();
  g.nodes.erase(it);
  for (ir::Node& n : g.nodes)
    std::replace(n.inputs.begin(), n.inputs.end(), out, in);
  std::replace(g.outputs.begin(), g.outputs.end(), out, in);
}

void SetParam(model::Model& m, const std::string& name, at::Tensor t) {
  m.graph.params[name] = ir::ParamInfo{t.sizes().vec(), DTypeOf(t)};
  m.tensors[name] = std::move(t);
}

void DropUnusedParams(model::Model& m) {
  std::set<std::string> used;
  for (const ir::Node& n : m.graph.nodes)
    for (const auto& [slot, param] : n.params) used.insert(param);
  for (auto it = m.graph.params.begin(); it != m.graph.params.end();) {
    if (used.count(it->first)) {
      ++it;
    } else {
      m.tensors.erase(it->first);
      it = m.graph.params.erase(it);
    }
  }
}

at::Tensor ParamOf(const model::Model& m, const ir::Node& node, const std::string& slot) {
  auto it = node.params.find(slot);
  if (it == node.params.end()) return {};
  return m.tensors.at(it->second);
}

}  // namespace hadmc::compress
