// The safetensors header of an .hmc file: encoding on save, and every check the loader makes
// before it allocates a byte for tensor data.
#include "safetensors_header.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <tuple>

#include "hadmc/ir/json.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error ".hmc tensors are stored little-endian; add byte swapping before building for this target"
#endif

namespace hadmc::model {

using nlohmann::json;

Result<uint64_t> TensorByteCount(const ir::Shape& shape, ir::DType dtype) {
  uint64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return MakeError(Errc::kInvalidArgument,
                       "shape " + ir::ShapeString(shape) + " has a negative dimension");
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(d), &count))
      return MakeError(Errc::kInvalidArgument, "shape " + ir::ShapeString(shape) +
                                                   " has more elements than fit in 64 bits");
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(count, static_cast<uint64_t>(ir::DTypeSize(dtype)), &bytes))
    return MakeError(Errc::kInvalidArgument, "shape " + ir::ShapeString(shape) + " of " +
                                                 ir::DTypeName(dtype) +
                                                 " has more bytes than fit in 64 bits");
  return bytes;
}

namespace detail {
namespace {

constexpr char kMetadataKey[] = "__metadata__";

std::string Num(uint64_t v) { return std::to_string(v); }

std::string Range(uint64_t begin, uint64_t end) { return "[" + Num(begin) + ", " + Num(end) + "]"; }

// A short rendering of untrusted JSON for error messages.
std::string Excerpt(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

bool IsReservedKey(const std::string& key) {
  for (const char* k : kReservedMetadataKeys)
    if (key == k) return true;
  return false;
}

Result<ir::Shape> ShapeFromJson(const json& j, const std::string& where) {
  if (!j.is_array())
    return MakeError(Errc::kParse, where + ": 'shape' must be a list, got " + Excerpt(j));
  ir::Shape shape;
  for (const auto& e : j) {
    if (e.is_number_integer() && !e.is_number_unsigned())
      return MakeError(Errc::kParse, where + ": shape " + Excerpt(j) + " has a negative dimension");
    if (!e.is_number_unsigned())
      return MakeError(Errc::kParse,
                       where + ": shape " + Excerpt(j) + " must hold non-negative integers");
    const uint64_t d = e.get<uint64_t>();
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return MakeError(Errc::kParse, where + ": dimension " + Num(d) + " is too large");
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

Result<HmcTensorEntry> EntryFromJson(const std::string& name, const json& j) {
  const std::string where = "tensor '" + name + "'";
  if (!j.is_object()) return MakeError(Errc::kParse, where + ": entry must be a JSON object");
  HmcTensorEntry e;
  e.name = name;
  auto dtype_it = j.find("dtype");
  if (dtype_it == j.end() || !dtype_it->is_string())
    return MakeError(Errc::kParse, where + ": 'dtype' must be a string");
  auto dtype = ir::ParseDType(dtype_it->get<std::string>());
  if (!dtype) return MakeError(dtype.error().WithContext(where));
  e.dtype = *dtype;
  auto shape_it = j.find("shape");
  if (shape_it == j.end()) return MakeError(Errc::kParse, where + ": missing 'shape'");
  auto shape = ShapeFromJson(*shape_it, where);
  if (!shape) return MakeError(shape.error());
  e.shape = std::move(*shape);
  auto off = j.find("data_offsets");
  if (off == j.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    return MakeError(Errc::kParse,
                     where +
                         ": 'data_offsets' must be two non-negative integers [begin, end], got " +
                         (off == j.end() ? std::string("nothing") : Excerpt(*off)));
  e.begin = (*off)[0].get<uint64_t>();
  e.end = (*off)[1].get<uint64_t>();
  return e;
}

// Fills `metadata` (reserved keys removed) and `graph_text` from the "__metadata__" object.
Status MetadataFromJson(const json& j, std::map<std::string, std::string>* metadata,
                        std::string* graph_text) {
  if (!j.is_object()) return MakeError(Errc::kParse, "__metadata__ must be a JSON object");
  std::map<std::string, std::string> all;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string())
      return MakeError(Errc::kParse, "__metadata__ value of '" + k + "' must be a string");
    all[k] = v.get<std::string>();
  }
  auto format = all.find("format");
  if (format == all.end())
    return MakeError(Errc::kParse,
                     "__metadata__ has no 'format': a safetensors file, but not a HAD-MC model");
  if (format->second != kHmcFormat)
    return MakeError(Errc::kParse, "__metadata__ format is '" + format->second + "', expected '" +
                                       kHmcFormat + "'");
  auto version = all.find("hadmc_format_version");
  if (version == all.end())
    return MakeError(Errc::kParse, "__metadata__ has no 'hadmc_format_version'");
  if (version->second != kHmcFormatVersion)
    return MakeError(Errc::kUnsupported, "format version '" + version->second +
                                             "' is not supported (this build reads version " +
                                             kHmcFormatVersion + ")");
  auto graph = all.find("graph");
  if (graph == all.end()) return MakeError(Errc::kParse, "__metadata__ has no 'graph'");
  *graph_text = std::move(graph->second);
  for (auto& [k, v] : all)
    if (!IsReservedKey(k)) (*metadata)[k] = std::move(v);
  return {};
}

// The tensors must tile [0, buffer_size) exactly; sorts `entries` into buffer order.
Status CheckLayout(std::vector<HmcTensorEntry>& entries, uint64_t buffer_size) {
  for (const auto& e : entries) {
    const std::string where = "tensor '" + e.name + "'";
    auto bytes = TensorByteCount(e.shape, e.dtype);
    if (!bytes) return MakeError(Error(Errc::kCorrupt, bytes.error().message()).WithContext(where));
    if (e.begin > e.end)
      return MakeError(Errc::kCorrupt, where + ": data_offsets " + Range(e.begin, e.end) +
                                           " end before they begin");
    if (e.end > buffer_size)
      return MakeError(Errc::kCorrupt, where + ": data_offsets " + Range(e.begin, e.end) +
                                           " run past the end of the data buffer (" +
                                           Num(buffer_size) + " bytes; truncated file?)");
    if (e.end - e.begin != *bytes)
      return MakeError(Errc::kCorrupt, where + ": data_offsets " + Range(e.begin, e.end) +
                                           " hold " + Num(e.end - e.begin) + " bytes but " +
                                           ir::DTypeName(e.dtype) + " " + ir::ShapeString(e.shape) +
                                           " needs " + Num(*bytes));
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t cursor = 0;
  const HmcTensorEntry* prev = nullptr;
  for (const auto& e : entries) {
    if (e.begin < cursor)
      return MakeError(Errc::kCorrupt, "tensor '" + e.name + "' " + Range(e.begin, e.end) +
                                           " overlaps tensor '" + prev->name + "' " +
                                           Range(prev->begin, prev->end));
    if (e.begin > cursor)
      return MakeError(Errc::kCorrupt, "data buffer has a hole of " + Num(e.begin - cursor) +
                                           " bytes before tensor '" + e.name +
                                           "' (tensors must be contiguous)");
    cursor = e.end;
    prev = &e;
  }
  if (cursor != buffer_size)
    return MakeError(Errc::kCorrupt, "trailing garbage: " + Num(buffer_size - cursor) +
                                         " bytes after the last tensor");
  return {};
}

Status CheckAgainstGraph(const ir::Graph& g, const std::vector<HmcTensorEntry>& entries) {
  std::map<std::string, const HmcTensorEntry*> by_name;
  for (const auto& e : entries) by_name[e.name] = &e;
  for (const auto& [name, info] : g.params) {
    auto it = by_name.find(name);
    if (it == by_name.end())
      return MakeError(Errc::kNotFound, "graph parameter '" + name + "' has no tensor in the file");
    const HmcTensorEntry& e = *it->second;
    if (e.shape != info.shape)
      return MakeError(Errc::kShapeMismatch,
                       "tensor '" + name + "' has shape " + ir::ShapeString(e.shape) +
                           " but the graph declares " + ir::ShapeString(info.shape));
    if (e.dtype != info.dtype)
      return MakeError(Errc::kInvalidArgument,
                       "tensor '" + name + "' has dtype " + ir::DTypeName(e.dtype) +
                           " but the graph declares " + ir::DTypeName(info.dtype));
  }
  for (const auto& e : entries)
    if (!g.params.count(e.name))
      return MakeError(Errc::kInvalidArgument,
                       "tensor '" + e.name + "' is not a parameter of the graph");
  return {};
}

}  // namespace

Result<std::string> EncodeHmcHeader(const ir::Graph& graph,
                                    const std::map<std::string, std::string>& metadata,
                                    const std::vector<HmcTensorEntry>& entries) {
  json meta = json::object();
  for (const auto& [k, v] : metadata) {
    if (IsReservedKey(k))
      return MakeError(Errc::kInvalidArgument,
                       "metadata key '" + k + "' is reserved by the .hmc format");
    meta[k] = v;
  }
  meta["format"] = kHmcFormat;
  meta["hadmc_format_version"] = kHmcFormatVersion;
  json header = json::object();
  std::string text;
  try {
    meta["graph"] = ir::GraphToString(graph);
    for (const auto& e : entries) {
      if (e.name == kMetadataKey)
        return MakeError(Errc::kInvalidArgument,
                         std::string("a tensor may not be named '") + kMetadataKey + "'");
      header[e.name] = {{"dtype", ir::DTypeName(e.dtype)},
                        {"shape", e.shape},
                        {"data_offsets", json::array({e.begin, e.end})}};
    }
    header[kMetadataKey] = std::move(meta);
    text = header.dump();
  } catch (const json::exception& ex) {
    return MakeError(
        Errc::kInvalidArgument,
        std::string("cannot encode the header (names and metadata must be UTF-8): ") + ex.what());
  }
  // safetensors pads with spaces so the buffer starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > kMaxHeaderBytes)
    return MakeError(Errc::kInvalidArgument, "header would be " + Num(text.size()) +
                                                 " bytes, over the limit of " +
                                                 Num(kMaxHeaderBytes));
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  return out + text;
}

Result<HmcHeader> ParseHmcHeaderFrom(const ByteSource& src) {
  const uint64_t size = src.size();
  if (size < 8)
    return MakeError(Errc::kCorrupt,
                     "file is " + Num(size) + " bytes, shorter than the 8-byte header length");
  unsigned char prefix[8];
  HADMC_TRY(src.ReadAt(0, prefix, sizeof prefix));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | prefix[i];
  if (n > kMaxHeaderBytes)
    return MakeError(Errc::kCorrupt, "header length " + Num(n) + " exceeds the limit of " +
                                         Num(kMaxHeaderBytes) + " bytes");
  if (n > size - 8)
    return MakeError(Errc::kCorrupt, "header length " + Num(n) + " is longer than the " +
                                         Num(size - 8) + " bytes that follow it (truncated file?)");
  std::string text(n, '\0');
  HADMC_TRY(src.ReadAt(8, text.data(), n));
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return MakeError(Errc::kParse, "header is not valid JSON");
  if (!j.is_object())
    return MakeError(Errc::kParse,
                     "header must be a JSON object, got " + std::string(j.type_name()));

  HmcHeader h;
  h.data_offset = 8 + n;
  h.file_size = size;
  auto meta = j.find(kMetadataKey);
  if (meta == j.end())
    return MakeError(Errc::kParse, "header has no __metadata__: not a HAD-MC model");
  std::string graph_text;
  HADMC_TRY(MetadataFromJson(*meta, &h.metadata, &graph_text));

  for (const auto& [name, value] : j.items()) {
    if (name == kMetadataKey) continue;
    auto e = EntryFromJson(name, value);
    if (!e) return MakeError(e.error());
    h.tensors.push_back(std::move(*e));
  }
  HADMC_TRY(CheckLayout(h.tensors, size - h.data_offset));

  auto graph = ir::GraphFromString(graph_text);
  if (!graph) return MakeError(graph.error().WithContext("graph IR in __metadata__"));
  HADMC_TRY_CTX(ir::Validate(*graph), "graph IR in __metadata__");
  h.graph = std::move(*graph);
  HADMC_TRY(CheckAgainstGraph(h.graph, h.tensors));
  return h;
}

}  // namespace detail

Result<HmcHeader> ReadHmcHeader(const std::string& path) {
  auto src = detail::FileSource::Open(path);
  if (!src) return MakeError(src.error());
  auto h = detail::ParseHmcHeaderFrom(**src);
  if (!h) return MakeError(h.error().WithContext(path));
  return h;
}

Result<HmcHeader> ParseHmcHeader(const std::string& bytes, const std::string& what) {
  auto h = detail::ParseHmcHeaderFrom(detail::StringSource(bytes));
  if (!h) return MakeError(h.error().WithContext(what));
  return h;
}

}  // namespace hadmc::model
