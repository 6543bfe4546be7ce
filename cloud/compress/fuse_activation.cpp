// relu / relu6 after conv2d, linear or add becomes the producer's fused activation attribute:
// one kernel instead of two, and the int8 kernels have relu variants (conv2d_relu, add_relu).
#include "hadmc/compress/graph_edit.h"
#include "hadmc/compress/pass_registry.h"

namespace hadmc::compress {
namespace {

bool Accepts(const ir::Node& producer, const std::string& act) {
  if (producer.op == "conv2d" || producer.op == "linear") return true;
  return producer.op == "add" && act == "relu";  // add has no relu6 variant
}

std::vector<std::string> FindActivations(const ir::Graph& g) {
  std::vector<std::string> matches;
  for (const ir::Node& n : g.nodes) {
    if (n.op != "relu" && n.op != "relu6") continue;
    const ir::Node* p = g.Producer(n.inputs[0]);
    if (!p || !Accepts(*p, n.op) || !HasSoleConsumer(g, p->output())) continue;
    auto current = p->attrs.GetString("activation", "none");
    if (!current || *current != "none") continue;
    matches.push_back(n.name);
  }
  return matches;
}

Result<int> FuseActivations(model::Model& m) {
  int fused = 0;
  for (const std::string& name : FindActivations(m.graph)) {
    const ir::Node* act = m.graph.FindNode(name);
    ir::Node* p = m.graph.FindNode(m.graph.Producer(act->inputs[0])->name);
    p->attrs.Set("activation", act->op);
    AbsorbNode(m.graph, p->name, name);
    ++fused;
  }
  return fused;
}

}  // namespace

GraphPass FuseActivationPass() {
  return {"fuse_activation", "fold relu/relu6 into the conv2d, linear or add before it",
          FindActivations, FuseActivations};
}

}  // namespace hadmc::compress
