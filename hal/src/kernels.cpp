// The fused kernels of a deployed graph with their MACs and bytes (see kernels.h); the keys'
// text form is in kernel_key.cpp.
#include "hadmc/hal/kernels.h"

#include "hadmc/ir/ops.h"

namespace hadmc::hal {
namespace {

int64_t Numel(const ir::Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// First element of an int or int-list attribute (stride, padding, kernel), `def` when absent.
Result<int64_t> FirstInt(const ir::Attributes& a, const std::string& name, int64_t def) {
  if (!a.Has(name)) return def;
  if (auto one = a.GetInt(name)) return *one;
  auto list = a.GetInts(name);
  if (!list) return MakeError(list.error());
  if (list->empty()) return MakeError(Errc::kInvalidArgument, "attribute '" + name + "' is empty");
  return list->front();
}

// Bytes per element of an activation: int8 nodes (quantize included) produce quint8 values;
// everything else runs in fp32 on the executors we have (fp16/int4 nodes compute in fp32).
int64_t ElementBytes(const ir::Graph& g, const std::string& value) {
  const ir::Node* p = g.Producer(value);
  return p && p->precision == ir::Precision::kInt8 ? 1 : 4;
}

Result<KernelInstance> KernelOf(const ir::Graph& g, const ir::Node& n,
                                const std::map<std::string, ir::Shape>& shapes) {
  const ir::OpDef* def = ir::FindOp(n.op);
  if (!def) return MakeError(Errc::kNotFound, "unknown op '" + n.op + "'");
  if (n.inputs.empty()) return MakeError(Errc::kInvalidArgument, "a kernel without inputs");
  KernelInstance k;
  k.node = n.name;
  std::vector<ir::Shape> ins;
  for (const std::string& in : n.inputs) ins.push_back(shapes.at(in));
  k.output = shapes.at(n.output());
  const ir::ParamShapes params = ParamShapesOf(g, n);

  KernelKey& key = k.key;
  key.kind = n.op;
  auto act = n.attrs.GetString("activation", "none");
  if (!act) return MakeError(act.error());
  if (*act != "none") key.kind += "_" + *act;
  key.input = ins[0];
  if (n.op == "linear" && !k.output.empty())
    key.out_channels = k.output.back();
  else if (k.output.size() >= 2)
    key.out_channels = k.output[1];
  if (auto w = params.find("weight");
      n.op == "conv2d" && w != params.end() && w->second.size() == 4) {
    key.kernel_h = w->second[2];
    key.kernel_w = w->second[3];
  } else if (n.attrs.Has("kernel")) {
    auto kernel = n.attrs.GetInts("kernel");
    if (!kernel) return MakeError(kernel.error());
    if (kernel->size() == 2) {
      key.kernel_h = (*kernel)[0];
      key.kernel_w = (*kernel)[1];
    }
  }
  auto stride =
      FirstInt(n.attrs, "stride", key.kernel_h > 0 && n.op != "conv2d" ? key.kernel_h : 1);
  if (!stride) return MakeError(stride.error());
  auto padding = FirstInt(n.attrs, "padding", 0);
  if (!padding) return MakeError(padding.error());
  auto groups = n.attrs.GetInt("groups", 1);
  if (!groups) return MakeError(groups.error());
  key.stride = *stride;
  key.padding = *padding;
  key.groups = *groups;
  key.precision = n.precision;

  const int64_t batch = ins[0].empty() ? 1 : ins[0][0];
  const int64_t per_sample = def->macs ? def->macs(n, ins, k.output, params) : 0;
  if (per_sample < 0)
    return MakeError(Errc::kInvalidArgument, "MACs unknown: a shape is not concrete");
  k.macs = per_sample * batch;
  for (size_t i = 0; i < n.inputs.size(); ++i)
    k.bytes += Numel(ins[i]) * ElementBytes(g, n.inputs[i]);
  for (const auto& [slot, name] : n.params) {
    const ir::ParamInfo& p = g.params.at(name);
    k.bytes += Numel(p.shape) * static_cast<int64_t>(ir::DTypeSize(p.dtype));
  }
  k.bytes += Numel(k.output) * (n.precision == ir::Precision::kInt8 ? 1 : 4);
  return k;
}

}  // namespace

Result<std::vector<KernelInstance>> KernelsOf(const ir::Graph& g,
                                              const std::vector<ir::Shape>& input_shapes) {
  auto shapes = ir::InferShapes(g, input_shapes);
  if (!shapes) return MakeError(shapes.error().WithContext("kernels of graph '" + g.name + "'"));
  for (const auto& [value, shape] : *shapes)
    for (int64_t d : shape)
      if (d < 0)
        return MakeError(Errc::kInvalidArgument, "kernels of graph '" + g.name + "': value '" +
                                                     value + "' has a dynamic shape " +
                                                     ir::ShapeString(shape));
  std::vector<KernelInstance> out;
  out.reserve(g.nodes.size());
  for (const ir::Node& n : g.nodes) {
    auto k = KernelOf(g, n, *shapes);
    if (!k) return MakeError(k.error().WithContext("kernel of node '" + n.name + "'"));
    out.push_back(std::move(*k));
  }
  return out;
}

Result<std::vector<KernelInstance>> KernelsOf(const ir::Graph& g, int64_t batch) {
  if (g.inputs.size() != 1)
    return MakeError(Errc::kUnsupported, "graph '" + g.name + "' has " +
                                             std::to_string(g.inputs.size()) +
                                             " inputs; give their shapes");
  if (batch < 1) return MakeError(Errc::kInvalidArgument, "batch must be >= 1");
  ir::Shape shape = g.inputs[0].shape;
  if (!shape.empty() && shape[0] < 0) shape[0] = batch;
  return KernelsOf(g, {shape});
}

}  // namespace hadmc::hal
