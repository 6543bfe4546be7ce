// Structural and shape validation of a graph, and shape inference over it.
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "hadmc/ir/graph.h"
#include "hadmc/ir/ops.h"

namespace hadmc::ir {
namespace {

std::string NodeWhere(const Node& n) { return "node '" + n.name + "' (" + n.op + ")"; }

// Checks one node against its op definition: arity, outputs, parameter slots.
Status CheckNodeSignature(const Graph& g, const Node& n, const OpDef& def) {
  const std::string where = NodeWhere(n);
  const int count = static_cast<int>(n.inputs.size());
  if (count < def.min_inputs || (def.max_inputs >= 0 && count > def.max_inputs)) {
    std::string want = std::to_string(def.min_inputs);
    if (def.max_inputs != def.min_inputs)
      want += def.max_inputs < 0 ? " or more" : " to " + std::to_string(def.max_inputs);
    return MakeError(Errc::kInvalidArgument,
                     where + ": takes " + want + " inputs, got " + std::to_string(count));
  }
  if (n.outputs.size() != 1)
    return MakeError(Errc::kInvalidArgument,
                     where + ": must have exactly one output, has " +
                         std::to_string(n.outputs.size()));
  for (const auto& [slot, param] : n.params) {
    bool known = false;
    for (const auto& s : def.params) known = known || s.name == slot;
    if (!known)
      return MakeError(Errc::kInvalidArgument,
                       where + ": op has no parameter slot '" + slot + "'");
    if (!g.params.count(param))
      return MakeError(Errc::kNotFound,
                       where + ": parameter '" + param + "' (slot " + slot +
                           ") is not in the graph's params");
  }
  for (const auto& s : def.params)
    if (s.required && !n.params.count(s.name))
      return MakeError(Errc::kInvalidArgument,
                       where + ": missing required parameter slot '" + s.name + "'");
  return {};
}

// Kahn's algorithm, stable: among ready nodes the earliest in the current order goes first.
Status SortTopologically(Graph& g, const std::unordered_set<std::string>& graph_inputs) {
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i) producer[g.nodes[i].output()] = i;

  std::vector<int> missing(g.nodes.size(), 0);
  std::vector<std::vector<size_t>> dependents(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& in : g.nodes[i].inputs) {
      if (graph_inputs.count(in)) continue;
      auto it = producer.find(in);
      if (it == producer.end())
        return MakeError(Errc::kNotFound, NodeWhere(g.nodes[i]) + ": input '" + in +
                                              "' is not a graph input or any node's output");
      ++missing[i];
      dependents[it->second].push_back(i);
    }
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (missing[i] == 0) ready.insert(i);
  std::vector<size_t> order;
  while (!ready.empty()) {
    const size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (size_t d : dependents[i])
      if (--missing[d] == 0) ready.insert(d);
  }
  if (order.size() != g.nodes.size()) {
    std::string names;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (missing[i] > 0) names += (names.empty() ? "'" : ", '") + g.nodes[i].name + "'";
    return MakeError(Errc::kInvalidArgument, "cycle among nodes " + names);
  }
  std::vector<Node> sorted;
  sorted.reserve(g.nodes.size());
  for (size_t i : order) sorted.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(sorted);
  return {};
}

}  // namespace

ParamShapes ParamShapesOf(const Graph& g, const Node& n) {
  ParamShapes shapes;
  for (const auto& [slot, param] : n.params) shapes[slot] = g.params.at(param).shape;
  if (n.precision == Precision::kInt4 && shapes.count("weight")) {
    auto logical = n.attrs.GetInts("weight_shape", std::vector<int64_t>{});
    if (logical && !logical->empty()) shapes["weight"] = *logical;
  }
  return shapes;
}

Status CheckPackedWeight(const Graph& g, const Node& n) {
  auto it = n.params.find("weight");
  if (n.precision != Precision::kInt4 || it == n.params.end()) return {};
  const ParamInfo& p = g.params.at(it->second);
  auto logical = n.attrs.GetInts("weight_shape");
  if (!logical)
    return MakeError(Errc::kInvalidArgument,
                     "int4 node needs the attribute 'weight_shape' (the unpacked weight shape)");
  int64_t k = 1;
  for (size_t i = 1; i < logical->size(); ++i) k *= (*logical)[i];
  const Shape packed = {logical->empty() ? 0 : (*logical)[0], (k + 1) / 2};
  if (p.dtype != DType::kU8 || logical->empty() || p.shape != packed)
    return MakeError(Errc::kShapeMismatch,
                     "int4 weight '" + it->second + "' must be U8 " + ShapeString(packed) +
                         " (two codes per byte of weight_shape " + ShapeString(*logical) +
                         "), got " + DTypeName(p.dtype) + " " + ShapeString(p.shape));
  return {};
}

Status Validate(Graph& g) {
  if (g.inputs.empty()) return MakeError(Errc::kInvalidArgument, "graph has no inputs");
  if (g.outputs.empty()) return MakeError(Errc::kInvalidArgument, "graph has no outputs");
  std::unordered_set<std::string> values, node_names, graph_inputs;
  for (const auto& in : g.inputs) {
    if (in.name.empty()) return MakeError(Errc::kInvalidArgument, "graph input with empty name");
    if (!values.insert(in.name).second)
      return MakeError(Errc::kInvalidArgument, "duplicate graph input '" + in.name + "'");
    graph_inputs.insert(in.name);
  }
  for (const auto& n : g.nodes) {
    if (n.name.empty()) return MakeError(Errc::kInvalidArgument, "node with empty name");
    if (!node_names.insert(n.name).second)
      return MakeError(Errc::kInvalidArgument, "duplicate node name '" + n.name + "'");
    const OpDef* def = FindOp(n.op);
    if (!def) return MakeError(Errc::kNotFound, NodeWhere(n) + ": unknown op '" + n.op + "'");
    HADMC_TRY(CheckNodeSignature(g, n, *def));
    if (!values.insert(n.output()).second)
      return MakeError(Errc::kInvalidArgument, NodeWhere(n) + ": output name '" + n.output() +
                                                   "' is already defined elsewhere");
  }
  for (const auto& out : g.outputs)
    if (!values.count(out))
      return MakeError(Errc::kNotFound, "graph output '" + out + "' is not produced by any node");
  HADMC_TRY(SortTopologically(g, graph_inputs));
  std::vector<Shape> input_shapes;
  for (const auto& in : g.inputs) input_shapes.push_back(in.shape);
  auto shapes = InferShapes(g, input_shapes);
  if (!shapes) return MakeError(shapes.error());
  return {};
}

Result<std::map<std::string, Shape>> InferShapes(const Graph& g) {
  std::vector<Shape> input_shapes;
  for (const auto& in : g.inputs) input_shapes.push_back(in.shape);
  return InferShapes(g, input_shapes);
}

Result<std::map<std::string, Shape>> InferShapes(const Graph& g,
                                                 const std::vector<Shape>& input_shapes) {
  if (input_shapes.size() != g.inputs.size())
    return MakeError(Errc::kInvalidArgument,
                     "graph takes " + std::to_string(g.inputs.size()) + " inputs, got " +
                         std::to_string(input_shapes.size()) + " shapes");
  std::map<std::string, Shape> shapes;
  for (size_t i = 0; i < g.inputs.size(); ++i) shapes[g.inputs[i].name] = input_shapes[i];
  for (const auto& n : g.nodes) {
    const OpDef* def = FindOp(n.op);
    if (!def) return MakeError(Errc::kNotFound, NodeWhere(n) + ": unknown op '" + n.op + "'");
    std::vector<Shape> ins;
    for (const auto& in : n.inputs) {
      auto it = shapes.find(in);
      if (it == shapes.end())
        return MakeError(Errc::kNotFound,
                         NodeWhere(n) + ": input '" + in + "' is not defined before this node");
      ins.push_back(it->second);
    }
    for (const auto& [slot, param] : n.params)
      if (!g.params.count(param))
        return MakeError(Errc::kNotFound, NodeWhere(n) + ": parameter '" + param + "' missing");
    if (auto packed = CheckPackedWeight(g, n); !packed)
      return MakeError(packed.error().WithContext(NodeWhere(n)));
    auto out = def->infer_shape(n, ins, ParamShapesOf(g, n));
    if (!out) return MakeError(out.error().WithContext(NodeWhere(n)));
    shapes[n.output()] = std::move(*out);
  }
  return shapes;
}

}  // namespace hadmc::ir
