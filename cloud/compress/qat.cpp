#include "hadmc/compress/qat.h"

#include <map>
#include <set>

#include "hadmc/compress/graph_edit.h"

namespace hadmc::compress {
namespace {

// Puts a fake_quantize node between `value` and its consumers (graph outputs keep the value).
void InsertFakeQuant(ir::Graph& g, const std::string& value, double scale, int64_t zero_point) {
  const std::string fq = value + ".fake_quant";
  for (ir::Node& n : g.nodes)
    for (std::string& in : n.inputs)
      if (in == value) in = fq;
  ir::Node node;
  node.name = fq;
  node.op = "fake_quantize";
  node.inputs = {value};
  node.outputs = {fq};
  node.attrs.Set("scale", scale);
  node.attrs.Set("zero_point", zero_point);
  g.nodes.push_back(std::move(node));
}

}  // namespace

Result<QatReport> PrepareQat(model::Model& m, const model::Model& probe, int64_t weight_qmax) {
  if (weight_qmax < 1 || weight_qmax > 127)
    return MakeError(Errc::kInvalidArgument, "weight qmax must be in [1, 127]");
  QatReport report;
  std::set<std::string> done;
  // Quantization of each quint8 value of the probe (probe value names), in topological order.
  std::map<std::string, std::pair<double, int64_t>> qparams;
  for (const ir::Node& p : probe.graph.nodes) {
    std::string value;  // the fp32 model's value that gets fake quantization
    std::pair<double, int64_t> q;
    if (p.op == "quantize") {
      // An int8 region starts here: its input is a value of the fp32 graph.
      value = p.inputs.at(0);
      q = {p.attrs.GetFloat("scale").value_or(0), p.attrs.GetInt("zero_point", 0).value_or(0)};
    } else if (p.precision == ir::Precision::kInt8) {
      ir::Node* n = m.graph.FindNode(p.name);
      if (!n)
        return MakeError(Errc::kNotFound,
                         "the int8 probe has node '" + p.name + "' that the model lacks");
      if (p.attrs.Has("out_scale")) {
        // An int8 conv2d/linear/add: its own output quantization.
        if (n->op == "conv2d" || n->op == "linear") {
          n->attrs.Set("fake_quant_weight", weight_qmax);
          ++report.weight_nodes;
        }
        q = {p.attrs.GetFloat("out_scale").value_or(0),
             p.attrs.GetInt("out_zero_point", 0).value_or(0)};
      } else {
        // relu, pools, flatten inside the region keep their input's quantization; only the
        // averaging pools produce values off that grid (the int8 kernel rounds them back).
        auto in = qparams.find(p.inputs.at(0));
        if (in == qparams.end()) continue;
        qparams[p.output()] = in->second;
        if (p.op != "avg_pool2d" && p.op != "adaptive_avg_pool2d") continue;
        q = in->second;
      }
      value = n->output();
    } else {
      continue;
    }
    if (!(q.first > 0))
      return MakeError(Errc::kInvalidArgument, "probe node '" + p.name + "' has no scale");
    qparams[p.output()] = q;
    if (!done.insert(value).second) continue;
    InsertFakeQuant(m.graph, value, q.first, q.second);
    ++report.activation_nodes;
  }
  HADMC_TRY_CTX(model::CheckConsistent(m), "after inserting fake quantization");
  return report;
}

Status FinishQat(model::Model& m) {
  std::vector<std::string> fake;
  for (ir::Node& n : m.graph.nodes) {
    n.attrs.Erase("fake_quant_weight");
    if (n.op == "fake_quantize") fake.push_back(n.name);
  }
  for (const std::string& name : fake) BypassNode(m.graph, name);
  HADMC_TRY_CTX(model::CheckConsistent(m), "after removing fake quantization");
  return {};
}

}  // namespace hadmc::compress
