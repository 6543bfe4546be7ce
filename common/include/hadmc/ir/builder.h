// Builds graphs in code (model zoo, tests). Each method adds one node named `name`, registers its
// parameters as "<name>.<slot>" (torchvision spelling: "layer1.0.conv1.weight"), and returns the
// name of the output value (equal to the node name).
#pragma once

#include <string>
#include <vector>

#include "hadmc/ir/graph.h"

namespace hadmc::ir {

struct ConvOptions {
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
  int64_t groups = 1;
  bool bias = false;
  std::string activation = "none";  // fused activation: none, relu, relu6
};

class GraphBuilder {
 public:
  explicit GraphBuilder(std::string graph_name) { g_.name = std::move(graph_name); }

  std::string Input(const std::string& name, Shape shape);
  void Output(const std::string& value) { g_.outputs.push_back(value); }

  std::string Conv2d(const std::string& name, const std::string& x, int64_t in_ch, int64_t out_ch,
                     int64_t kernel, const ConvOptions& o = {});
  std::string BatchNorm(const std::string& name, const std::string& x, int64_t ch,
                        double eps = 1e-5, double momentum = 0.1);
  std::string Linear(const std::string& name, const std::string& x, int64_t in_f, int64_t out_f,
                     bool bias = true);
  // Ops without parameters: relu, relu6, silu, sigmoid, hardswish, identity, softmax, flatten...
  std::string Op(const std::string& op, const std::string& name,
                 const std::vector<std::string>& inputs, Attributes attrs = {});
  std::string MaxPool(const std::string& name, const std::string& x, int64_t kernel,
                      int64_t stride, int64_t padding = 0);
  std::string AvgPool(const std::string& name, const std::string& x, int64_t kernel,
                      int64_t stride, int64_t padding = 0);
  std::string AdaptiveAvgPool(const std::string& name, const std::string& x, int64_t out_h,
                              int64_t out_w);
  std::string Flatten(const std::string& name, const std::string& x);  // [N, C, H, W] -> [N, CHW]

  // Node names must be unique; the builder does not check (Validate does).
  Graph& graph() { return g_; }
  // Validates and returns the graph.
  Result<Graph> Finish();

 private:
  void AddParam(Node& n, const std::string& slot, Shape shape);
  Graph g_;
};

}  // namespace hadmc::ir
