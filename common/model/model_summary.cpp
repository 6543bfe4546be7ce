#include "hadmc/model/model_summary.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "hadmc/ir/ops.h"
#include "hadmc/model/hmc_header.h"

namespace hadmc::model {
namespace {

int64_t Numel(const ir::Shape& s) {
  int64_t n = 1;
  for (int64_t d : s)
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return -1;
  return n;
}

// Graph inputs with a dynamic batch dimension taken as 1.
std::vector<ir::Shape> BatchOneInputs(const ir::Graph& g) {
  std::vector<ir::Shape> shapes;
  for (const auto& in : g.inputs) {
    ir::Shape s = in.shape;
    if (!s.empty() && s[0] < 0) s[0] = 1;
    shapes.push_back(std::move(s));
  }
  return shapes;
}

// "1234567" -> "1,234,567"
std::string WithSeparators(int64_t n) {
  if (n < 0) return "?";
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// "11,689,512 (11.69M)"; small counts need no short form.
std::string CountWithShortForm(int64_t n) {
  if (n < 1000) return WithSeparators(n);
  return WithSeparators(n) + " (" + FormatCount(n) + ")";
}

std::string Pad(const std::string& s, size_t width, bool right_align) {
  if (s.size() >= width) return s;
  const std::string fill(width - s.size(), ' ');
  return right_align ? fill + s : s + fill;
}

}  // namespace

Result<ModelSummary> SummarizeGraph(const ir::Graph& g) {
  auto declared = ir::InferShapes(g);
  if (!declared) return MakeError(declared.error());
  auto shapes = ir::InferShapes(g, BatchOneInputs(g));
  if (!shapes) return MakeError(shapes.error().WithContext("shapes for batch 1"));

  ModelSummary s;
  s.graph_name = g.name;
  s.inputs = g.inputs;
  for (const auto& out : g.outputs) s.outputs.push_back({out, declared->at(out)});
  std::set<std::string> counted;
  for (const auto& n : g.nodes) {
    const ir::OpDef* def = ir::FindOp(n.op);
    if (!def) return MakeError(Errc::kNotFound, "node '" + n.name + "': unknown op '" + n.op + "'");
    NodeSummary ns;
    ns.name = n.name;
    ns.op = n.op;
    ns.precision = n.precision;
    ns.output_shape = shapes->at(n.output());
    // Logical shapes: an int4 weight counts its unpacked elements, not its bytes.
    const ir::ParamShapes param_shapes = ir::ParamShapesOf(g, n);
    for (const auto& slot : def->params) {
      auto it = n.params.find(slot.name);
      if (it == n.params.end()) continue;
      const ir::Shape& shape = param_shapes.at(slot.name);
      const int64_t numel = std::max<int64_t>(Numel(shape), 0);
      (slot.trainable ? ns.params : ns.buffers) += numel;
      if (counted.insert(it->second).second)
        (slot.trainable ? s.total_params : s.total_buffers) += numel;
    }
    std::vector<ir::Shape> ins;
    for (const auto& in : n.inputs) ins.push_back(shapes->at(in));
    ns.macs = def->macs ? def->macs(n, ins, ns.output_shape, param_shapes) : 0;
    if (ns.macs < 0) ns.macs = -1;
    s.total_macs = (ns.macs < 0 || s.total_macs < 0) ? -1 : s.total_macs + ns.macs;
    ++s.nodes_by_precision[ir::PrecisionName(n.precision)];
    s.nodes.push_back(std::move(ns));
  }
  for (const auto& [name, info] : g.params) {
    auto bytes = TensorByteCount(info.shape, info.dtype);
    if (!bytes) return MakeError(bytes.error().WithContext("parameter '" + name + "'"));
    s.bytes_by_dtype[ir::DTypeName(info.dtype)] += *bytes;
    s.tensor_bytes += *bytes;
  }
  return s;
}

nlohmann::json SummaryToJson(const ModelSummary& s) {
  using nlohmann::json;
  auto values = [](const std::vector<ir::ValueInfo>& vs) {
    json out = json::array();
    for (const auto& v : vs) out.push_back({{"name", v.name}, {"shape", v.shape}});
    return out;
  };
  json nodes = json::array();
  for (const auto& n : s.nodes)
    nodes.push_back({{"name", n.name},
                     {"op", n.op},
                     {"output_shape", n.output_shape},
                     {"params", n.params},
                     {"buffers", n.buffers},
                     {"macs", n.macs},
                     {"precision", ir::PrecisionName(n.precision)}});
  return {{"graph", s.graph_name},
          {"inputs", values(s.inputs)},
          {"outputs", values(s.outputs)},
          {"nodes", std::move(nodes)},
          {"totals",
           {{"params", s.total_params},
            {"buffers", s.total_buffers},
            {"macs", s.total_macs},
            {"tensor_bytes", s.tensor_bytes},
            {"bytes_by_dtype", s.bytes_by_dtype},
            {"nodes_by_precision", s.nodes_by_precision}}}};
}

std::string FormatSummaryTable(const ModelSummary& s) {
  const std::vector<std::string> head = {"node",   "op",   "output (batch 1)",
                                         "params", "MACs", "precision"};
  const bool right[] = {false, false, false, true, true, false};
  std::vector<std::vector<std::string>> rows = {head};
  for (const auto& n : s.nodes)
    rows.push_back({n.name, n.op, ir::ShapeString(n.output_shape), WithSeparators(n.params),
                    WithSeparators(n.macs), ir::PrecisionName(n.precision)});
  std::vector<size_t> width(head.size(), 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c)
      line += (c ? "  " : "") + Pad(r[c], c + 1 == r.size() ? 0 : width[c], right[c]);
    out += line + "\n";
  }
  out += "params: " + CountWithShortForm(s.total_params) +
         ", buffers: " + CountWithShortForm(s.total_buffers) +
         ", MACs (batch 1): " + CountWithShortForm(s.total_macs) + "\n";
  out += "tensors: " + FormatBytes(s.tensor_bytes);
  std::string sep = " (";
  for (const auto& [dtype, bytes] : s.bytes_by_dtype) {
    out += sep + dtype + " " + FormatBytes(bytes);
    sep = ", ";
  }
  out += s.bytes_by_dtype.empty() ? "\n" : ")\n";
  out += "precision:";
  for (const auto& [p, count] : s.nodes_by_precision) out += " " + p + " x" + std::to_string(count);
  return out + "\n";
}

std::string FormatCount(int64_t n) {
  if (n < 0) return "?";
  if (n < 1000) return std::to_string(n);
  static const struct {
    double scale;
    const char* suffix;
  } kUnits[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "K"}};
  char buf[32];
  for (const auto& u : kUnits)
    if (static_cast<double>(n) >= u.scale) {
      std::snprintf(buf, sizeof buf, "%.2f%s", static_cast<double>(n) / u.scale, u.suffix);
      return buf;
    }
  return std::to_string(n);
}

std::string FormatBytes(uint64_t n) {
  if (n < 1024) return std::to_string(n) + " B";
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int unit = -1;
  while (v >= 1024 && unit < 3) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

}  // namespace hadmc::model
