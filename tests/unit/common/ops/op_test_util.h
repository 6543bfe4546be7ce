// Test harness for one op: builds a one-node graph by hand, runs its shape inference and its
// reference kernel, and compares tensors. Every RunKernel() also checks the kernel's output shape
// against the op's own shape inference.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "hadmc/exec/kernel.h"
#include "hadmc/ir/graph.h"
#include "hadmc/ir/ops.h"

namespace hadmc::ops_test {

inline ir::Shape ShapeOf(const torch::Tensor& t) { return t.sizes().vec(); }

// A graph with one node "n" of `op`, graph inputs x0, x1, ... and parameters "n.<slot>".
struct OneNode {
  ir::Graph graph;
  std::vector<torch::Tensor> inputs;
  std::map<std::string, torch::Tensor> params;  // by slot name

  const ir::Node& node() const { return graph.nodes.at(0); }
  ir::Node& node() { return graph.nodes.at(0); }
  const ir::OpDef& def() const { return *ir::FindOp(node().op); }

  std::vector<ir::Shape> InputShapes() const {
    std::vector<ir::Shape> shapes;
    for (const auto& in : graph.inputs) shapes.push_back(in.shape);
    return shapes;
  }
  ir::ParamShapes ParamShapes() const {
    ir::ParamShapes shapes;
    for (const auto& [slot, name] : node().params) shapes[slot] = graph.params.at(name).shape;
    return shapes;
  }
};

inline OneNode MakeOneNode(const std::string& op, std::vector<torch::Tensor> inputs,
                           std::map<std::string, torch::Tensor> params = {},
                           ir::Attributes attrs = {}) {
  OneNode t;
  t.graph.name = op + "_test";
  ir::Node n;
  n.name = "n";
  n.op = op;
  n.outputs = {"y"};
  n.attrs = std::move(attrs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = "x" + std::to_string(i);
    t.graph.inputs.push_back({name, ShapeOf(inputs[i])});
    n.inputs.push_back(name);
  }
  for (const auto& [slot, tensor] : params) {
    const std::string name = "n." + slot;
    n.params[slot] = name;
    t.graph.params[name] = ir::ParamInfo{ShapeOf(tensor), ir::DType::kF32};
  }
  t.graph.nodes.push_back(std::move(n));
  t.graph.outputs = {"y"};
  t.inputs = std::move(inputs);
  t.params = std::move(params);
  return t;
}

// Shape inference as the graph declares its inputs (tests may overwrite graph.inputs[i].shape
// with -1 dims), or with explicit input shapes.
inline Result<ir::Shape> Infer(const OneNode& t) {
  return t.def().infer_shape(t.node(), t.InputShapes(), t.ParamShapes());
}
inline Result<ir::Shape> Infer(const OneNode& t, const std::vector<ir::Shape>& inputs) {
  return t.def().infer_shape(t.node(), inputs, t.ParamShapes());
}

// The error message of a shape inference expected to fail ("" and a test failure otherwise).
inline std::string InferError(const OneNode& t) {
  auto r = Infer(t);
  if (r) {
    ADD_FAILURE() << "expected a shape error, got " << ir::ShapeString(*r);
    return "";
  }
  return r.error().message();
}

inline int64_t Macs(const OneNode& t) {
  auto out = Infer(t);
  EXPECT_TRUE(out) << out.error().String();
  return t.def().macs(t.node(), t.InputShapes(), out ? *out : ir::Shape{}, t.ParamShapes());
}

// Binds and runs the node's kernel; expects the output shape to match shape inference.
inline torch::Tensor RunKernel(const OneNode& t, bool training = false) {
  const ir::OpDef& def = t.def();
  auto kernel = def.bind_kernel(t.node());
  if (!kernel) {
    ADD_FAILURE() << "bind_kernel: " << kernel.error().String();
    return {};
  }
  std::vector<torch::Tensor> params;
  for (const auto& slot : def.params) {
    auto it = t.params.find(slot.name);
    params.push_back(it == t.params.end() ? torch::Tensor() : it->second);
  }
  exec::KernelArgs args{t.inputs.data(), t.inputs.size(), params.data(), training};
  torch::Tensor y = kernel->run(args);
  auto shape = Infer(t);
  if (!shape)
    ADD_FAILURE() << "infer_shape: " << shape.error().String();
  else
    EXPECT_EQ(ir::ShapeString(*shape), ir::ShapeString(ShapeOf(y))) << "kernel vs inference";
  return y;
}

// fp32 comparison at 1e-5 (relative and absolute), with the sizes checked first.
inline ::testing::AssertionResult Close(const torch::Tensor& actual, const torch::Tensor& expected,
                                        double tol = 1e-5) {
  if (!actual.defined() || !expected.defined())
    return ::testing::AssertionFailure() << "undefined tensor";
  if (actual.sizes() != expected.sizes())
    return ::testing::AssertionFailure()
           << "sizes " << actual.sizes() << " vs expected " << expected.sizes();
  if (torch::allclose(actual, expected, tol, tol)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "max abs diff " << (actual - expected).abs().max().item<double>();
}

inline ir::Attributes Attrs(std::initializer_list<std::pair<const std::string, ir::AttrValue>> l) {
  ir::Attributes a;
  for (const auto& [k, v] : l) a.Set(k, v);
  return a;
}

using Ints = std::vector<int64_t>;

}  // namespace hadmc::ops_test
