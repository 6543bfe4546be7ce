#include "hadmc/model/model.h"

#include <ATen/ATen.h>

namespace hadmc::model {
namespace {

at::ScalarType ScalarTypeOf(ir::DType d) {
  switch (d) {
    case ir::DType::kF32: return at::kFloat;
    case ir::DType::kF16: return at::kHalf;
    case ir::DType::kI8: return at::kChar;
    case ir::DType::kU8: return at::kByte;
    case ir::DType::kI32: return at::kInt;
    case ir::DType::kI64: return at::kLong;
  }
  return at::kFloat;
}

}  // namespace

Status CheckConsistent(Model& m) {
  for (const auto& [name, info] : m.graph.params) {
    auto it = m.tensors.find(name);
    if (it == m.tensors.end())
      return MakeError(Errc::kNotFound, "parameter '" + name + "' has no tensor");
    const at::Tensor& t = it->second;
    if (!t.defined()) return MakeError(Errc::kCorrupt, "tensor '" + name + "' is undefined");
    if (t.sizes().vec() != info.shape)
      return MakeError(Errc::kShapeMismatch, "tensor '" + name + "' has shape " +
                                                 ir::ShapeString(t.sizes().vec()) +
                                                 " but the graph declares " +
                                                 ir::ShapeString(info.shape));
    if (t.scalar_type() != ScalarTypeOf(info.dtype))
      return MakeError(Errc::kInvalidArgument,
                       "tensor '" + name + "' has dtype " + std::string(c10::toString(t.scalar_type())) +
                           " but the graph declares " + ir::DTypeName(info.dtype));
  }
  for (const auto& [name, t] : m.tensors)
    if (!m.graph.params.count(name))
      return MakeError(Errc::kInvalidArgument,
                       "tensor '" + name + "' is not a parameter of the graph");
  return ir::Validate(m.graph);
}

Model Clone(const Model& m) {
  Model c{m.graph, {}, m.metadata};
  for (const auto& [name, t] : m.tensors) c.tensors[name] = t.detach().clone();
  return c;
}

}  // namespace hadmc::model
