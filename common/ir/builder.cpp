#include "hadmc/ir/builder.h"

namespace hadmc::ir {

void GraphBuilder::AddParam(Node& n, const std::string& slot, Shape shape) {
  const std::string param = n.name + "." + slot;
  n.params[slot] = param;
  g_.params[param] = ParamInfo{std::move(shape), DType::kF32};
}

std::string GraphBuilder::Input(const std::string& name, Shape shape) {
  g_.inputs.push_back({name, std::move(shape)});
  return name;
}

std::string GraphBuilder::Op(const std::string& op, const std::string& name,
                             const std::vector<std::string>& inputs, Attributes attrs) {
  Node n;
  n.name = name;
  n.op = op;
  n.inputs = inputs;
  n.outputs = {name};
  n.attrs = std::move(attrs);
  g_.nodes.push_back(std::move(n));
  return name;
}

std::string GraphBuilder::Conv2d(const std::string& name, const std::string& x, int64_t in_ch,
                                 int64_t out_ch, int64_t kernel, const ConvOptions& o) {
  Attributes a;
  a.Set("stride", std::vector<int64_t>{o.stride, o.stride});
  a.Set("padding", std::vector<int64_t>{o.padding, o.padding});
  a.Set("dilation", std::vector<int64_t>{o.dilation, o.dilation});
  a.Set("groups", o.groups);
  a.Set("activation", o.activation);
  Op("conv2d", name, {x}, std::move(a));
  Node& n = g_.nodes.back();
  AddParam(n, "weight", {out_ch, in_ch / o.groups, kernel, kernel});
  if (o.bias) AddParam(n, "bias", {out_ch});
  return name;
}

std::string GraphBuilder::BatchNorm(const std::string& name, const std::string& x, int64_t ch,
                                    double eps, double momentum) {
  Attributes a;
  a.Set("eps", eps);
  a.Set("momentum", momentum);
  Op("batch_norm", name, {x}, std::move(a));
  Node& n = g_.nodes.back();
  for (const char* slot : {"weight", "bias", "running_mean", "running_var"})
    AddParam(n, slot, {ch});
  return name;
}

std::string GraphBuilder::Linear(const std::string& name, const std::string& x, int64_t in_f,
                                 int64_t out_f, bool bias) {
  Op("linear", name, {x});
  Node& n = g_.nodes.back();
  AddParam(n, "weight", {out_f, in_f});
  if (bias) AddParam(n, "bias", {out_f});
  return name;
}

std::string GraphBuilder::MaxPool(const std::string& name, const std::string& x, int64_t kernel,
                                  int64_t stride, int64_t padding) {
  Attributes a;
  a.Set("kernel", std::vector<int64_t>{kernel, kernel});
  a.Set("stride", std::vector<int64_t>{stride, stride});
  a.Set("padding", std::vector<int64_t>{padding, padding});
  return Op("max_pool2d", name, {x}, std::move(a));
}

std::string GraphBuilder::AvgPool(const std::string& name, const std::string& x, int64_t kernel,
                                  int64_t stride, int64_t padding) {
  Attributes a;
  a.Set("kernel", std::vector<int64_t>{kernel, kernel});
  a.Set("stride", std::vector<int64_t>{stride, stride});
  a.Set("padding", std::vector<int64_t>{padding, padding});
  return Op("avg_pool2d", name, {x}, std::move(a));
}

std::string GraphBuilder::AdaptiveAvgPool(const std::string& name, const std::string& x,
                                          int64_t out_h, int64_t out_w) {
  Attributes a;
  a.Set("output_size", std::vector<int64_t>{out_h, out_w});
  return Op("adaptive_avg_pool2d", name, {x}, std::move(a));
}

std::string GraphBuilder::Flatten(const std::string& name, const std::string& x) {
  Attributes a;
  a.Set("start_dim", int64_t{1});
  return Op("flatten", name, {x}, std::move(a));
}

Result<Graph> GraphBuilder::Finish() {
  HADMC_TRY_CTX(Validate(g_), "graph '" + g_.name + "'");
  return g_;
}

}  // namespace hadmc::ir
