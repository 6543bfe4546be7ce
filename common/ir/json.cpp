#include "hadmc/ir/json.h"

#include <nlohmann/json.hpp>

namespace hadmc::ir {

using nlohmann::json;

namespace {

json AttrToJson(const AttrValue& v) {
  return std::visit([](const auto& x) { return json(x); }, v);
}

Result<AttrValue> AttrFromJson(const std::string& name, const json& j) {
  auto bad = [&] {
    return MakeError(Errc::kParse, "attribute '" + name +
                                       "' must be a number, a string or a list of numbers");
  };
  if (j.is_number_integer()) return AttrValue(j.get<int64_t>());
  if (j.is_number_float()) return AttrValue(j.get<double>());
  if (j.is_string()) return AttrValue(j.get<std::string>());
  if (!j.is_array()) return bad();
  bool all_int = true;
  for (const auto& e : j) {
    if (!e.is_number()) return bad();
    all_int = all_int && e.is_number_integer();
  }
  // An empty list is an int list: the ops' list attributes (stride, padding...) are integers.
  if (all_int) return AttrValue(j.get<std::vector<int64_t>>());
  return AttrValue(j.get<std::vector<double>>());
}

// Reads a required field of the given JSON type, with an error that says where.
Result<const json*> Field(const json& obj, const char* key, json::value_t type,
                          const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end())
    return MakeError(Errc::kParse, where + ": missing field '" + std::string(key) + "'");
  const bool ok = it->type() == type ||
                  (type == json::value_t::number_integer && it->is_number_integer());
  if (!ok)
    return MakeError(Errc::kParse,
                     where + ": field '" + std::string(key) + "' has the wrong type (" +
                         std::string(it->type_name()) + ")");
  return &*it;
}

Result<std::vector<std::string>> StringList(const json& j, const std::string& where) {
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) return MakeError(Errc::kParse, where + ": expected a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<Shape> ShapeFromJson(const json& j, const std::string& where) {
  if (!j.is_array()) return MakeError(Errc::kParse, where + ": shape must be a list");
  Shape s;
  for (const auto& e : j) {
    if (!e.is_number_integer() || e.get<int64_t>() < -1)
      return MakeError(Errc::kParse, where + ": shape entries must be integers >= -1");
    s.push_back(e.get<int64_t>());
  }
  return s;
}

Result<Node> NodeFromJson(const json& j, size_t index) {
  std::string where = "node #" + std::to_string(index);
  if (!j.is_object()) return MakeError(Errc::kParse, where + ": must be an object");
  Node n;
  auto name = Field(j, "name", json::value_t::string, where);
  if (!name) return MakeError(name.error());
  n.name = (*name)->get<std::string>();
  where = "node '" + n.name + "'";
  auto op = Field(j, "op", json::value_t::string, where);
  if (!op) return MakeError(op.error());
  n.op = (*op)->get<std::string>();
  for (const char* key : {"inputs", "outputs"}) {
    auto list = Field(j, key, json::value_t::array, where);
    if (!list) return MakeError(list.error());
    auto names = StringList(**list, where + " " + key);
    if (!names) return MakeError(names.error());
    (std::string(key) == "inputs" ? n.inputs : n.outputs) = std::move(*names);
  }
  if (auto it = j.find("attrs"); it != j.end()) {
    if (!it->is_object()) return MakeError(Errc::kParse, where + ": attrs must be an object");
    for (const auto& [k, v] : it->items()) {
      auto a = AttrFromJson(k, v);
      if (!a) return MakeError(a.error().WithContext(where));
      n.attrs.Set(k, std::move(*a));
    }
  }
  if (auto it = j.find("params"); it != j.end()) {
    if (!it->is_object()) return MakeError(Errc::kParse, where + ": params must be an object");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string())
        return MakeError(Errc::kParse, where + ": param '" + k + "' must name a tensor");
      n.params[k] = v.get<std::string>();
    }
  }
  if (auto it = j.find("precision"); it != j.end()) {
    if (!it->is_string()) return MakeError(Errc::kParse, where + ": precision must be a string");
    auto p = ParsePrecision(it->get<std::string>());
    if (!p) return MakeError(p.error().WithContext(where));
    n.precision = *p;
  }
  return n;
}

}  // namespace

json GraphToJson(const Graph& g) {
  json j;
  j["name"] = g.name;
  j["inputs"] = json::array();
  for (const auto& in : g.inputs) j["inputs"].push_back({{"name", in.name}, {"shape", in.shape}});
  j["outputs"] = g.outputs;
  j["params"] = json::object();
  for (const auto& [name, p] : g.params)
    j["params"][name] = {{"shape", p.shape}, {"dtype", DTypeName(p.dtype)}};
  j["nodes"] = json::array();
  for (const auto& n : g.nodes) {
    json jn = {{"name", n.name}, {"op", n.op}, {"inputs", n.inputs}, {"outputs", n.outputs}};
    if (!n.attrs.values().empty()) {
      json attrs = json::object();
      for (const auto& [k, v] : n.attrs.values()) attrs[k] = AttrToJson(v);
      jn["attrs"] = std::move(attrs);
    }
    if (!n.params.empty()) jn["params"] = n.params;
    jn["precision"] = PrecisionName(n.precision);
    j["nodes"].push_back(std::move(jn));
  }
  return j;
}

Result<Graph> GraphFromJson(const json& j) {
  if (!j.is_object()) return MakeError(Errc::kParse, "graph must be a JSON object");
  Graph g;
  if (auto it = j.find("name"); it != j.end() && it->is_string()) g.name = it->get<std::string>();

  auto inputs = Field(j, "inputs", json::value_t::array, "graph");
  if (!inputs) return MakeError(inputs.error());
  for (const auto& in : **inputs) {
    if (!in.is_object() || !in.contains("name") || !in["name"].is_string())
      return MakeError(Errc::kParse, "graph inputs: each needs a string 'name'");
    ValueInfo v;
    v.name = in["name"].get<std::string>();
    auto shape = ShapeFromJson(in.value("shape", json::array()), "graph input '" + v.name + "'");
    if (!shape) return MakeError(shape.error());
    v.shape = std::move(*shape);
    g.inputs.push_back(std::move(v));
  }

  auto outputs = Field(j, "outputs", json::value_t::array, "graph");
  if (!outputs) return MakeError(outputs.error());
  auto outs = StringList(**outputs, "graph outputs");
  if (!outs) return MakeError(outs.error());
  g.outputs = std::move(*outs);

  if (auto it = j.find("params"); it != j.end()) {
    if (!it->is_object()) return MakeError(Errc::kParse, "graph params must be an object");
    for (const auto& [name, p] : it->items()) {
      const std::string where = "param '" + name + "'";
      if (!p.is_object()) return MakeError(Errc::kParse, where + ": must be an object");
      ParamInfo info;
      auto shape = ShapeFromJson(p.value("shape", json()), where);
      if (!shape) return MakeError(shape.error());
      info.shape = std::move(*shape);
      auto dtype = ParseDType(p.value("dtype", std::string("F32")));
      if (!dtype) return MakeError(dtype.error().WithContext(where));
      info.dtype = *dtype;
      g.params[name] = std::move(info);
    }
  }

  auto nodes = Field(j, "nodes", json::value_t::array, "graph");
  if (!nodes) return MakeError(nodes.error());
  size_t index = 0;
  for (const auto& jn : **nodes) {
    auto n = NodeFromJson(jn, index++);
    if (!n) return MakeError(n.error());
    g.nodes.push_back(std::move(*n));
  }
  return g;
}

std::string GraphToString(const Graph& g) { return GraphToJson(g).dump(); }

Result<Graph> GraphFromString(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return MakeError(Errc::kParse, "graph is not valid JSON");
  return GraphFromJson(j);
}

}  // namespace hadmc::ir
