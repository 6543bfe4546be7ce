#include "hadmc/ir/graph.h"

#include <sstream>

namespace hadmc::ir {

std::string ShapeString(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << "]";
  return os.str();
}

namespace {

struct NamedPrecision {
  Precision p;
  const char* name;
};
constexpr NamedPrecision kPrecisions[] = {{Precision::kFp32, "fp32"},
                                          {Precision::kFp16, "fp16"},
                                          {Precision::kInt8, "int8"},
                                          {Precision::kInt4, "int4"}};

struct NamedDType {
  DType d;
  const char* name;
  size_t size;
};
constexpr NamedDType kDTypes[] = {{DType::kF32, "F32", 4}, {DType::kF16, "F16", 2},
                                  {DType::kI8, "I8", 1},   {DType::kU8, "U8", 1},
                                  {DType::kI32, "I32", 4}, {DType::kI64, "I64", 8}};

const char* TypeName(const AttrValue& v) {
  static const char* kNames[] = {"int", "float", "string", "int list", "float list"};
  return kNames[v.index()];
}

template <typename T>
Result<T> GetAttr(const std::map<std::string, AttrValue>& values, const std::string& name,
                  const std::optional<T>& def, const char* want) {
  auto it = values.find(name);
  if (it == values.end()) {
    if (def) return *def;
    return MakeError(Errc::kNotFound, "missing attribute '" + name + "'");
  }
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  return MakeError(Errc::kInvalidArgument, "attribute '" + name + "' is a " +
                                               TypeName(it->second) + ", expected " + want);
}

}  // namespace

const char* PrecisionName(Precision p) {
  for (const auto& e : kPrecisions)
    if (e.p == p) return e.name;
  return "?";
}

Result<Precision> ParsePrecision(const std::string& s) {
  for (const auto& e : kPrecisions)
    if (s == e.name) return e.p;
  return MakeError(Errc::kInvalidArgument,
                   "unknown precision '" + s + "' (expected fp32, fp16, int8 or int4)");
}

const char* DTypeName(DType d) {
  for (const auto& e : kDTypes)
    if (e.d == d) return e.name;
  return "?";
}

Result<DType> ParseDType(const std::string& s) {
  for (const auto& e : kDTypes)
    if (s == e.name) return e.d;
  return MakeError(Errc::kUnsupported,
                   "unsupported dtype '" + s + "' (expected F32, F16, I8, U8, I32 or I64)");
}

size_t DTypeSize(DType d) {
  for (const auto& e : kDTypes)
    if (e.d == d) return e.size;
  return 0;
}

Result<int64_t> Attributes::GetInt(const std::string& name, std::optional<int64_t> def) const {
  return GetAttr<int64_t>(values_, name, def, "int");
}

Result<double> Attributes::GetFloat(const std::string& name, std::optional<double> def) const {
  // An integer literal is accepted where a float is expected ("eps": 0 is still a float).
  auto it = values_.find(name);
  if (it != values_.end())
    if (const int64_t* i = std::get_if<int64_t>(&it->second)) return static_cast<double>(*i);
  return GetAttr<double>(values_, name, def, "float");
}

Result<std::string> Attributes::GetString(const std::string& name,
                                          std::optional<std::string> def) const {
  return GetAttr<std::string>(values_, name, def, "string");
}

Result<std::vector<int64_t>> Attributes::GetInts(const std::string& name,
                                                 std::optional<std::vector<int64_t>> def) const {
  return GetAttr<std::vector<int64_t>>(values_, name, def, "int list");
}

Result<std::vector<double>> Attributes::GetFloats(const std::string& name,
                                                  std::optional<std::vector<double>> def) const {
  return GetAttr<std::vector<double>>(values_, name, def, "float list");
}

bool Node::operator==(const Node& o) const {
  return name == o.name && op == o.op && inputs == o.inputs && outputs == o.outputs &&
         attrs == o.attrs && params == o.params && precision == o.precision;
}

bool Graph::operator==(const Graph& o) const {
  if (name != o.name || outputs != o.outputs || nodes != o.nodes) return false;
  if (inputs.size() != o.inputs.size() || params.size() != o.params.size()) return false;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].name != o.inputs[i].name || inputs[i].shape != o.inputs[i].shape) return false;
  for (const auto& [k, v] : params) {
    auto it = o.params.find(k);
    if (it == o.params.end() || it->second.shape != v.shape || it->second.dtype != v.dtype)
      return false;
  }
  return true;
}

const Node* Graph::FindNode(const std::string& n) const {
  for (const auto& node : nodes)
    if (node.name == n) return &node;
  return nullptr;
}

Node* Graph::FindNode(const std::string& n) {
  for (auto& node : nodes)
    if (node.name == n) return &node;
  return nullptr;
}

const Node* Graph::Producer(const std::string& value) const {
  for (const auto& node : nodes)
    for (const auto& out : node.outputs)
      if (out == value) return &node;
  return nullptr;
}

std::vector<const Node*> Graph::Consumers(const std::string& value) const {
  std::vector<const Node*> result;
  for (const auto& node : nodes)
    for (const auto& in : node.inputs)
      if (in == value) {
        result.push_back(&node);
        break;
      }
  return result;
}

}  // namespace hadmc::ir
