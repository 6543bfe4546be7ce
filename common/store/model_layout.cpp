#include "hadmc/store/model_layout.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "hadmc/crypto/sha256.h"

namespace hadmc::store {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 64ull << 20;

// tensor name -> precision of the node that owns it, for nodes that are not fp32.
std::map<std::string, std::string> QuantizedParams(const std::string& graph_text) {
  std::map<std::string, std::string> out;
  const json g = json::parse(graph_text, nullptr, /*allow_exceptions=*/false);
  if (!g.is_object() || !g.contains("nodes") || !g["nodes"].is_array()) return out;
  for (const auto& n : g["nodes"]) {
    if (!n.is_object() || !n.contains("params") || !n["params"].is_object()) continue;
    const std::string precision = n.value("precision", std::string("fp32"));
    if (precision == "fp32") continue;
    for (const auto& [role, tensor] : n["params"].items())
      if (tensor.is_string()) out[tensor.get<std::string>()] = precision;
  }
  return out;
}

Result<TensorSpan> SpanFromJson(const std::string& name, const json& j, uint64_t data_offset) {
  const std::string where = "tensor '" + name + "'";
  if (!j.is_object() || !j.contains("dtype") || !j["dtype"].is_string() ||
      !j.contains("shape") || !j["shape"].is_array() || !j.contains("data_offsets") ||
      !j["data_offsets"].is_array() || j["data_offsets"].size() != 2)
    return MakeError(Errc::kParse, where + ": needs dtype, shape and two data_offsets");
  TensorSpan t;
  t.name = name;
  t.dtype = j["dtype"].get<std::string>();
  for (const auto& d : j["shape"]) {
    if (!d.is_number_unsigned()) return MakeError(Errc::kParse, where + ": bad shape");
    t.shape.push_back(d.get<int64_t>());
  }
  const auto& off = j["data_offsets"];
  if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned() ||
      off[0].get<uint64_t>() > off[1].get<uint64_t>())
    return MakeError(Errc::kParse, where + ": bad data_offsets");
  t.begin = data_offset + off[0].get<uint64_t>();
  t.end = data_offset + off[1].get<uint64_t>();
  return t;
}

}  // namespace

Result<ModelLayout> ParseModelLayout(std::string_view file) {
  if (file.size() < 8) return MakeError(Errc::kParse, "file is shorter than its 8-byte header");
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);  // little-endian hosts only, as the model library
  if (n > kMaxHeaderBytes || n > file.size() - 8)
    return MakeError(Errc::kParse, "header length " + std::to_string(n) + " is out of range");
  const json header = json::parse(file.substr(8, n), nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) return MakeError(Errc::kParse, "header is not a JSON object");

  ModelLayout layout;
  layout.header_size = 8 + n;
  layout.file_size = file.size();
  std::map<std::string, std::string> quant;
  if (auto it = header.find("__metadata__"); it != header.end() && it->is_object()) {
    if (auto g = it->find("graph"); g != it->end() && g->is_string()) {
      layout.graph_sha256 = crypto::Sha256Hex(g->get_ref<const std::string&>());
      quant = QuantizedParams(g->get_ref<const std::string&>());
    }
  }
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    auto t = SpanFromJson(name, entry, layout.header_size);
    if (!t) return MakeError(t.error());
    if (auto q = quant.find(name); q != quant.end()) t->quant = q->second;
    layout.tensors.push_back(std::move(*t));
  }
  std::sort(layout.tensors.begin(), layout.tensors.end(),
            [](const TensorSpan& a, const TensorSpan& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  uint64_t at = layout.header_size;
  for (const auto& t : layout.tensors) {
    if (t.begin != at)
      return MakeError(Errc::kParse, "tensor '" + t.name + "' starts at " +
                                         std::to_string(t.begin) + ", expected " +
                                         std::to_string(at) + " (gap or overlap)");
    at = t.end;
  }
  if (at != file.size())
    return MakeError(Errc::kParse, "tensors end at " + std::to_string(at) + " but the file has " +
                                       std::to_string(file.size()) + " bytes");
  return layout;
}

}  // namespace hadmc::store
