#include "hadmc/store/manifest.h"

#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "hadmc/crypto/sha256.h"
#include "hadmc/store/model_layout.h"

namespace hadmc::store {
namespace {

using nlohmann::json;

// Cuts [begin, end) of `file` into blocks of at most block_size, recording each distinct block.
std::vector<BlockRef> CutBlocks(std::string_view file, uint64_t begin, uint64_t end,
                                uint64_t block_size, std::set<std::string>& seen,
                                SplitModelResult& out) {
  std::vector<BlockRef> refs;
  for (uint64_t at = begin; at < end; at += block_size) {
    const std::string_view bytes = file.substr(at, std::min(block_size, end - at));
    BlockRef ref{crypto::Sha256Hex(bytes), bytes.size()};
    if (seen.insert(ref.id).second) out.blocks.emplace_back(ref.id, bytes);
    refs.push_back(std::move(ref));
  }
  return refs;
}

json BlocksToJson(const std::vector<BlockRef>& blocks) {
  json a = json::array();
  for (const auto& b : blocks) a.push_back({{"id", b.id}, {"size", b.size}});
  return a;
}

json UnsignedJson(const Manifest& m) {
  json tensors = json::array();
  for (const auto& t : m.tensors) {
    json jt = {{"name", t.name},   {"dtype", t.dtype},
               {"shape", t.shape}, {"size", t.size},
               {"blocks", BlocksToJson(t.blocks)}};
    if (!t.quant.empty()) jt["quant"] = t.quant;
    tensors.push_back(std::move(jt));
  }
  return {{"format", kManifestFormat},
          {"model", m.model},
          {"version", m.version},
          {"parent", m.parent},
          {"graph_sha256", m.graph_sha256},
          {"created_at", m.created_at},
          {"block_size", m.block_size},
          {"file_size", m.file_size},
          {"file_sha256", m.file_sha256},
          {"header_blocks", BlocksToJson(m.header_blocks)},
          {"tensors", std::move(tensors)}};
}

// Field readers that throw std::runtime_error with the field's name; ManifestFromJson turns
// that into one Error.
const json& Need(const json& j, const char* key, json::value_t type) {
  auto it = j.find(key);
  const bool ok = it != j.end() && (it->type() == type || (type == json::value_t::number_unsigned &&
                                                           it->is_number_unsigned()));
  if (!ok) throw std::runtime_error(std::string("missing or mistyped field '") + key + "'");
  return *it;
}

std::vector<BlockRef> BlocksFromJson(const json& a, uint64_t block_size, uint64_t* total) {
  if (!a.is_array()) throw std::runtime_error("blocks must be a list");
  std::vector<BlockRef> out;
  *total = 0;
  for (const auto& jb : a) {
    if (!jb.is_object()) throw std::runtime_error("a block must be an object");
    BlockRef b{Need(jb, "id", json::value_t::string).get<std::string>(),
               Need(jb, "size", json::value_t::number_unsigned).get<uint64_t>()};
    if (!crypto::IsSha256Hex(b.id)) throw std::runtime_error("block id is not 64 hex chars");
    if (b.size == 0 || b.size > block_size)
      throw std::runtime_error("block size " + std::to_string(b.size) + " out of range");
    *total += b.size;
    out.push_back(std::move(b));
  }
  return out;
}

Manifest ManifestFromJsonOrThrow(const json& j) {
  if (!j.is_object()) throw std::runtime_error("manifest is not a JSON object");
  if (Need(j, "format", json::value_t::string).get<std::string>() != kManifestFormat)
    throw std::runtime_error("unknown manifest format");
  Manifest m;
  m.model = Need(j, "model", json::value_t::string).get<std::string>();
  if (!IsValidModelName(m.model)) throw std::runtime_error("invalid model name");
  m.version = Need(j, "version", json::value_t::number_unsigned).get<uint64_t>();
  if (m.version == 0) throw std::runtime_error("version must be >= 1");
  m.parent = Need(j, "parent", json::value_t::number_unsigned).get<uint64_t>();
  m.graph_sha256 = Need(j, "graph_sha256", json::value_t::string).get<std::string>();
  m.created_at = Need(j, "created_at", json::value_t::string).get<std::string>();
  m.block_size = Need(j, "block_size", json::value_t::number_unsigned).get<uint64_t>();
  if (m.block_size == 0) throw std::runtime_error("block_size must be > 0");
  m.file_size = Need(j, "file_size", json::value_t::number_unsigned).get<uint64_t>();
  m.file_sha256 = Need(j, "file_sha256", json::value_t::string).get<std::string>();
  if (!crypto::IsSha256Hex(m.file_sha256)) throw std::runtime_error("file_sha256 is not 64 hex");
  uint64_t total = 0, part = 0;
  m.header_blocks = BlocksFromJson(Need(j, "header_blocks", json::value_t::array), m.block_size,
                                   &total);
  for (const auto& jt : Need(j, "tensors", json::value_t::array)) {
    if (!jt.is_object()) throw std::runtime_error("a tensor must be an object");
    ManifestTensor t;
    t.name = Need(jt, "name", json::value_t::string).get<std::string>();
    t.dtype = Need(jt, "dtype", json::value_t::string).get<std::string>();
    t.shape = Need(jt, "shape", json::value_t::array).get<std::vector<int64_t>>();
    t.size = Need(jt, "size", json::value_t::number_unsigned).get<uint64_t>();
    if (auto q = jt.find("quant"); q != jt.end() && q->is_string()) t.quant = q->get<std::string>();
    t.blocks = BlocksFromJson(Need(jt, "blocks", json::value_t::array), m.block_size, &part);
    if (part != t.size)
      throw std::runtime_error("tensor '" + t.name + "': blocks do not add up to its size");
    total += t.size;
    m.tensors.push_back(std::move(t));
  }
  if (total != m.file_size) throw std::runtime_error("blocks do not add up to file_size");
  if (auto s = j.find("signature"); s != j.end()) {
    if (!s->is_object()) throw std::runtime_error("signature must be an object");
    m.key_id = Need(*s, "key_id", json::value_t::string).get<std::string>();
    m.signature = Need(*s, "value", json::value_t::string).get<std::string>();
  }
  return m;
}

}  // namespace

bool IsValidModelName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string NowRfc3339() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<SplitModelResult> SplitModel(std::string_view file, const ManifestInfo& info) {
  if (!IsValidModelName(info.model))
    return MakeError(Errc::kInvalidArgument, "invalid model name '" + info.model + "'");
  if (info.block_size == 0 || info.version == 0)
    return MakeError(Errc::kInvalidArgument, "block size and version must be positive");
  auto layout = ParseModelLayout(file);
  if (!layout) return MakeError(layout.error());
  SplitModelResult out;
  Manifest& m = out.manifest;
  m.model = info.model;
  m.version = info.version;
  m.parent = info.parent;
  m.graph_sha256 = layout->graph_sha256;
  m.created_at = info.created_at.empty() ? NowRfc3339() : info.created_at;
  m.block_size = info.block_size;
  m.file_size = file.size();
  m.file_sha256 = crypto::Sha256Hex(file);
  std::set<std::string> seen;
  m.header_blocks = CutBlocks(file, 0, layout->header_size, info.block_size, seen, out);
  for (const auto& span : layout->tensors) {
    ManifestTensor t{span.name, span.dtype, span.shape, span.quant, span.end - span.begin, {}};
    t.blocks = CutBlocks(file, span.begin, span.end, info.block_size, seen, out);
    m.tensors.push_back(std::move(t));
  }
  return out;
}

std::string CanonicalManifestBytes(const Manifest& m) { return UnsignedJson(m).dump(); }

Status SignManifest(Manifest& m, const crypto::SigningKey& key) {
  auto sig = key.Sign(CanonicalManifestBytes(m));
  if (!sig) return MakeError(sig.error().WithContext("signing manifest"));
  m.key_id = key.Public().KeyId();
  m.signature = crypto::ToHex(reinterpret_cast<const uint8_t*>(sig->data()), sig->size());
  return {};
}

Status VerifyManifest(const Manifest& m, const crypto::VerifyKey& key) {
  if (m.signature.empty()) return MakeError(Errc::kCorrupt, "manifest is not signed");
  if (m.key_id != key.KeyId())
    return MakeError(Errc::kCorrupt, "manifest signed by key " + m.key_id + ", expected " +
                                         key.KeyId());
  auto sig = crypto::FromHex(m.signature);
  if (!sig || !key.Verify(CanonicalManifestBytes(m), *sig))
    return MakeError(Errc::kCorrupt, "manifest signature does not verify");
  return {};
}

std::string ManifestToJson(const Manifest& m, int indent) {
  json j = UnsignedJson(m);
  if (!m.signature.empty())
    j["signature"] = {{"alg", "ed25519"}, {"key_id", m.key_id}, {"value", m.signature}};
  return j.dump(indent);
}

Result<Manifest> ManifestFromJson(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return MakeError(Errc::kParse, "manifest is not valid JSON");
  try {
    return ManifestFromJsonOrThrow(j);
  } catch (const std::exception& e) {  // our own messages and nlohmann type errors
    return MakeError(Errc::kParse, std::string("manifest: ") + e.what());
  }
}

Result<Manifest> ParseVerifiedManifest(std::string_view text,
                                       const std::vector<crypto::VerifyKey>& keys) {
  auto m = ManifestFromJson(text);
  if (!m) return m;
  for (const auto& k : keys)
    if (k.KeyId() == m->key_id) {
      HADMC_TRY(VerifyManifest(*m, k));
      return m;
    }
  return MakeError(Errc::kCorrupt, "manifest signed by unknown key '" + m->key_id + "'");
}

std::vector<BlockRef> FileBlocks(const Manifest& m) {
  std::vector<BlockRef> out = m.header_blocks;
  for (const auto& t : m.tensors) out.insert(out.end(), t.blocks.begin(), t.blocks.end());
  return out;
}

uint64_t ManifestDataBytes(const Manifest& m) {
  uint64_t n = 0;
  for (const auto& b : FileBlocks(m)) n += b.size;
  return n;
}

}  // namespace hadmc::store
