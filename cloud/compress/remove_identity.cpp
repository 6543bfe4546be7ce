// identity nodes do nothing at inference; removing them exposes conv->bn and conv->relu pairs.
#include <algorithm>

#include "hadmc/compress/graph_edit.h"
#include "hadmc/compress/pass_registry.h"

namespace hadmc::compress {
namespace {

std::vector<std::string> FindIdentities(const ir::Graph& g) {
  std::vector<std::string> matches;
  for (const ir::Node& n : g.nodes) {
    // An identity that produces a graph output names that output: removing it would rename the
    // model's interface, so it stays.
    const bool names_output =
        std::find(g.outputs.begin(), g.outputs.end(), n.output()) != g.outputs.end();
    if (n.op == "identity" && !names_output) matches.push_back(n.name);
  }
  return matches;
}

Result<int> RemoveIdentities(model::Model& m) {
  const auto matches = FindIdentities(m.graph);
  for (const std::string& name : matches) BypassNode(m.graph, name);
  return static_cast<int>(matches.size());
}

}  // namespace

GraphPass RemoveIdentityPass() {
  return {"remove_identity", "remove identity nodes", FindIdentities, RemoveIdentities};
}

}  // namespace hadmc::compress
