#include "hadmc/compress/quantize_int8.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <map>

#include "hadmc/compress/graph_edit.h"
#include "hadmc/exec/executor.h"
#include "hadmc/exec/low_precision.h"

namespace hadmc::compress {

bool RunsOnQuantized(const std::string& op) {
  static const std::set<std::string> ops = {"relu", "max_pool2d", "adaptive_avg_pool2d",
                                            "avg_pool2d", "flatten", "identity"};
  return ops.count(op) != 0;
}

namespace {

bool IsWeightOp(const std::string& op) { return op == "conv2d" || op == "linear"; }

// Per-output-channel symmetric int8, 7-bit codes when the engine needs reduce range.
std::pair<at::Tensor, at::Tensor> QuantizeWeight(const at::Tensor& w, bool reduce_range) {
  return exec::QuantizePerChannel(w, reduce_range ? 63.0 : 127.0);
}

std::string Activation(const ir::Node& n) { return n.attrs.GetString("activation", "none").value_or("none"); }

}  // namespace

std::vector<std::string> Int8Candidates(const ir::Graph& g) {
  std::vector<std::string> out;
  for (const ir::Node& n : g.nodes) {
    if (n.precision != ir::Precision::kFp32) continue;
    if (!IsWeightOp(n.op) && n.op != "add") continue;
    if (n.op == "add" && n.inputs.size() != 2) continue;
    out.push_back(n.name);
  }
  return out;
}

Result<QuantizeReport> QuantizeInt8(model::Model& m, const QuantizeOptions& o,
                                    const std::vector<at::Tensor>& calib_inputs) {
  if (calib_inputs.empty())
    return MakeError(Errc::kInvalidArgument, "int8 quantization needs calibration inputs");
  ir::Graph& g = m.graph;
  QuantizeReport report;

  // 1. Which weight/add nodes become int8.
  std::vector<std::string> weight_nodes;
  for (const ir::Node& n : g.nodes)
    if (IsWeightOp(n.op)) weight_nodes.push_back(n.name);
  std::set<std::string> chosen;
  for (const std::string& name : Int8Candidates(g)) {
    const bool first_last = !weight_nodes.empty() &&
                            (name == weight_nodes.front() || name == weight_nodes.back());
    if (!o.int8_nodes.empty() ? o.int8_nodes.count(name) != 0
                              : !(o.keep_first_last && first_last)) {
      chosen.insert(name);
    } else {
      report.fp32_nodes.push_back(name);
    }
  }
  for (const std::string& name : o.int8_nodes)
    if (!chosen.count(name))
      return MakeError(Errc::kInvalidArgument, "node '" + name +
                                                   "' cannot run in int8 (not an fp32 conv2d, "
                                                   "linear or two-input add)");

  // 2. The int8 region: chosen nodes plus quantized-friendly ops fed by int8 values.
  std::set<std::string> int8_values;
  std::set<std::string> region;
  for (const ir::Node& n : g.nodes) {
    const bool in_int8 = !n.inputs.empty() && int8_values.count(n.inputs[0]);
    if (chosen.count(n.name) || (RunsOnQuantized(n.op) && in_int8)) {
      region.insert(n.name);
      int8_values.insert(n.output());
    }
  }

  // 3. Calibrate every value that crosses into or lives in the region.
  std::set<std::string> observed;
  for (const ir::Node& n : g.nodes) {
    if (!region.count(n.name)) continue;
    observed.insert(n.output());
    for (const std::string& in : n.inputs) observed.insert(in);
  }
  std::map<std::string, ActivationObserver> observers;
  for (const std::string& v : observed) observers.emplace(v, ActivationObserver(o.observer));
  {
    auto ex = exec::Executor::Create(g, m.tensors);
    if (!ex) return MakeError(ex.error().WithContext("calibration"));
    const std::vector<std::string> taps(observed.begin(), observed.end());
    for (const at::Tensor& x : calib_inputs) {
      std::map<std::string, at::Tensor> tapped;
      auto y = ex->RunWithTaps({x}, exec::Mode::kInference, taps, &tapped);
      if (!y) return MakeError(y.error().WithContext("calibration"));
      for (auto& [v, t] : tapped) observers.at(v).Observe(t);
    }
  }
  auto quant_of = [&](const std::string& v) {
    auto [lo, hi] = observers.at(v).Range();
    return AffineFromRange(lo, hi);
  };

  // 4. Weights and output quantization of the chosen nodes.
  std::map<std::string, AffineQuant> value_quant;
  for (ir::Node& n : g.nodes) {
    if (!region.count(n.name)) continue;
    n.precision = ir::Precision::kInt8;
    if (!chosen.count(n.name)) continue;  // pass-through ops inherit their input's quantization
    AffineQuant q = quant_of(n.output());
    if (Activation(n) == "relu6") q = AffineFromRange(0.0, 6.0);  // saturation is the clamp
    n.attrs.Set("out_scale", q.scale);
    n.attrs.Set("out_zero_point", q.zero_point);
    value_quant[n.output()] = q;
    if (IsWeightOp(n.op)) {
      auto [codes, scale] = QuantizeWeight(ParamOf(m, n, "weight"), o.reduce_range);
      SetParam(m, n.params.at("weight"), codes);
      const std::string scale_name = n.name + ".weight_scale";
      SetParam(m, scale_name, scale);
      n.params["weight_scale"] = scale_name;
    }
    report.int8_nodes.push_back(n.name);
  }

  // 5. Boundaries: quantize fp32 values read by the region, dequantize int8 values read outside
  //    it (or leaving the graph). One boundary node per value, shared by its readers.
  std::vector<ir::Node> added;
  std::map<std::string, std::string> quantized_name, dequantized_name;
  for (ir::Node& n : g.nodes) {
    const bool inside = region.count(n.name) != 0;
    for (std::string& in : n.inputs) {
      const bool int8_in = int8_values.count(in) != 0;
      if (inside && !int8_in) {
        if (!quantized_name.count(in)) {
          const AffineQuant q = quant_of(in);
          ir::Node qn{in + ".quantize", "quantize", {in}, {in + ".q"}, {}, {}, ir::Precision::kInt8};
          qn.attrs.Set("scale", q.scale);
          qn.attrs.Set("zero_point", q.zero_point);
          added.push_back(qn);
          quantized_name[in] = in + ".q";
          ++report.quantize_nodes;
        }
        in = quantized_name[in];
      } else if (!inside && int8_in) {
        if (!dequantized_name.count(in)) {
          added.push_back({in + ".dequantize", "dequantize", {in}, {in + ".dq"}, {}, {},
                           ir::Precision::kFp32});
          dequantized_name[in] = in + ".dq";
          ++report.dequantize_nodes;
        }
        in = dequantized_name[in];
      }
    }
  }
  for (std::string& out : g.outputs) {
    if (!int8_values.count(out)) continue;
    // Keep the model's output name: the int8 producer's value is renamed, a dequantize node
    // produces the original name.
    const std::string renamed = out + ".int8";
    for (ir::Node& n : g.nodes) {
      for (std::string& v : n.outputs)
        if (v == out) v = renamed;
      for (std::string& v : n.inputs)
        if (v == out) v = renamed;
    }
    for (ir::Node& n : added)
      for (std::string& v : n.inputs)
        if (v == out) v = renamed;
    added.push_back({out + ".dequantize", "dequantize", {renamed}, {out}, {}, {},
                     ir::Precision::kFp32});
    ++report.dequantize_nodes;
  }
  g.nodes.insert(g.nodes.end(), added.begin(), added.end());
  HADMC_TRY_CTX(model::CheckConsistent(m), "after int8 quantization");  // re-sorts topologically
  return report;
}

}  // namespace hadmc::compress
