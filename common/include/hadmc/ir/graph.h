// Graph IR: a model is a DAG of named nodes over named values. Torch-free on purpose: the cloud
// server, the block store and the edge sync read graphs without pulling in LibTorch.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::ir {

// Tensor shape; -1 marks a dynamic dimension (the batch dimension of graph inputs).
using Shape = std::vector<int64_t>;
std::string ShapeString(const Shape& s);  // "[-1,3,28,28]"

enum class Precision { kFp32, kFp16, kInt8, kInt4 };
const char* PrecisionName(Precision p);
Result<Precision> ParsePrecision(const std::string& s);

// Element type of a stored tensor (safetensors names).
enum class DType { kF32, kF16, kI8, kU8, kI32, kI64 };
const char* DTypeName(DType d);  // "F32", ...
Result<DType> ParseDType(const std::string& s);
size_t DTypeSize(DType d);

using AttrValue =
    std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

// Named node attributes. Getters return the default when the attribute is absent and an error
// when it is present with the wrong type.
class Attributes {
 public:
  void Set(const std::string& name, AttrValue v) { values_[name] = std::move(v); }
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  void Erase(const std::string& name) { values_.erase(name); }
  const std::map<std::string, AttrValue>& values() const { return values_; }

  Result<int64_t> GetInt(const std::string& name, std::optional<int64_t> def = {}) const;
  Result<double> GetFloat(const std::string& name, std::optional<double> def = {}) const;
  Result<std::string> GetString(const std::string& name,
                                std::optional<std::string> def = {}) const;
  Result<std::vector<int64_t>> GetInts(const std::string& name,
                                       std::optional<std::vector<int64_t>> def = {}) const;
  Result<std::vector<double>> GetFloats(const std::string& name,
                                        std::optional<std::vector<double>> def = {}) const;

  bool operator==(const Attributes& o) const { return values_ == o.values_; }

 private:
  std::map<std::string, AttrValue> values_;
};

struct Node {
  std::string name;                           // unique within the graph
  std::string op;                             // a name from the op table (ops.h)
  std::vector<std::string> inputs;            // value names
  std::vector<std::string> outputs;           // value names (ops here produce one)
  Attributes attrs;                           // op-specific: stride, padding, groups, ...
  std::map<std::string, std::string> params;  // param slot ("weight") -> parameter name
  Precision precision = Precision::kFp32;

  const std::string& output() const { return outputs.at(0); }
  bool operator==(const Node& o) const;
};

struct ValueInfo {
  std::string name;
  Shape shape;
};

struct ParamInfo {
  Shape shape;
  DType dtype = DType::kF32;
};

class Graph {
 public:
  std::string name;
  std::vector<ValueInfo> inputs;
  std::vector<std::string> outputs;
  std::vector<Node> nodes;                   // in topological order once validated
  std::map<std::string, ParamInfo> params;   // every parameter/buffer a node refers to

  const Node* FindNode(const std::string& name) const;
  Node* FindNode(const std::string& name);
  // The node that produces `value`, or nullptr for graph inputs / unknown values.
  const Node* Producer(const std::string& value) const;
  // Nodes that read `value`.
  std::vector<const Node*> Consumers(const std::string& value) const;

  bool operator==(const Graph& o) const;
};

// Checks structure and shapes: unknown op, wrong input/param arity, dangling input, duplicate node
// or value name, cycle, missing parameter, shape mismatch. Every error names the node. On success
// the nodes are reordered topologically (stable for an already sorted graph).
Status Validate(Graph& g);

// Shapes of every value (graph inputs and node outputs), by value name. Requires a valid graph in
// topological order.
Result<std::map<std::string, Shape>> InferShapes(const Graph& g);

// Shape of one value given concrete graph input shapes (e.g. batch 1 instead of -1).
Result<std::map<std::string, Shape>> InferShapes(const Graph& g,
                                                 const std::vector<Shape>& input_shapes);

}  // namespace hadmc::ir
