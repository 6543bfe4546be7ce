#include "hadmc/server/publish.h"

#include <cstring>
#include <set>

#include "hadmc/crypto/sha256.h"

namespace hadmc::server {

Result<store::SplitModelResult> PrepareVersion(std::string_view file, const std::string& model,
                                               uint64_t latest, uint64_t block_size,
                                               const crypto::SigningKey& key) {
  auto split = store::SplitModel(file, {model, latest + 1, latest, block_size, ""});
  if (!split) return split;
  HADMC_TRY(store::SignManifest(split->manifest, key));
  return split;
}

Result<PublishResult> CommitVersion(registry::Registry& reg, const store::BlockStore& blocks,
                                    std::string_view manifest_text,
                                    const std::vector<crypto::VerifyKey>& trusted) {
  auto m = store::ParseVerifiedManifest(manifest_text, trusted);
  if (!m) return MakeError(m.error());
  PublishResult out{m->model, m->version, crypto::Sha256Hex(manifest_text), m->file_size, 0, {}};
  std::set<std::string> ids;
  for (const auto& b : store::FileBlocks(*m))
    if (ids.insert(b.id).second && !blocks.Contains(b.id)) out.missing.push_back(b.id);
  out.blocks = ids.size();
  if (!out.missing.empty()) return out;
  auto latest = reg.LatestVersion(m->model);
  if (!latest) return MakeError(latest.error());
  if (m->version != *latest + 1 || m->parent != *latest)
    return MakeError(Errc::kAlreadyExists,
                     m->model + ": manifest is version " + std::to_string(m->version) +
                         " (parent " + std::to_string(m->parent) + ") but the latest is " +
                         std::to_string(*latest) + "; prepare it again on top of the latest");
  HADMC_TRY(reg.AddVersion({m->model, m->version, m->parent, std::string(manifest_text),
                            out.manifest_sha256, m->file_size, m->graph_sha256, m->created_at}));
  return out;
}

Result<PublishResult> PublishLocal(registry::Registry& reg, const store::BlockStore& blocks,
                                   std::string_view file, const std::string& model,
                                   uint64_t block_size, const crypto::SigningKey& key) {
  auto latest = reg.LatestVersion(model);
  if (!latest) return MakeError(latest.error());
  auto split = PrepareVersion(file, model, *latest, block_size, key);
  if (!split) return MakeError(split.error());
  HADMC_TRY(blocks.PutAll(split->blocks));
  return CommitVersion(reg, blocks, store::ManifestToJson(split->manifest), {key.Public()});
}

std::string EncodePublishBody(std::string_view manifest_text,
                              const std::vector<std::pair<std::string, std::string_view>>& blocks) {
  std::string out = std::to_string(manifest_text.size()) + "\n";
  size_t total = out.size() + manifest_text.size();
  for (const auto& [id, bytes] : blocks) total += 72 + bytes.size();
  out.reserve(total);
  out.append(manifest_text);
  for (const auto& [id, bytes] : blocks) {
    out.append(id);
    const uint64_t n = bytes.size();
    char len[8];
    std::memcpy(len, &n, 8);
    out.append(len, 8);
    out.append(bytes);
  }
  return out;
}

Result<PublishUpload> DecodePublishBody(std::string_view body) {
  const size_t nl = body.find('\n');
  if (nl == std::string_view::npos || nl == 0 || nl > 12)
    return MakeError(Errc::kParse, "publish body must start with the manifest length and '\\n'");
  uint64_t mlen = 0;
  for (char c : body.substr(0, nl)) {
    if (c < '0' || c > '9') return MakeError(Errc::kParse, "bad manifest length");
    mlen = mlen * 10 + static_cast<uint64_t>(c - '0');
  }
  if (mlen > body.size() - nl - 1) return MakeError(Errc::kParse, "manifest is truncated");
  PublishUpload up;
  up.manifest_text = body.substr(nl + 1, mlen);
  size_t at = nl + 1 + mlen;
  while (at < body.size()) {
    if (body.size() - at < 72) return MakeError(Errc::kParse, "block frame is truncated");
    std::string id(body.substr(at, 64));
    if (!crypto::IsSha256Hex(id)) return MakeError(Errc::kParse, "block frame has a bad id");
    uint64_t n = 0;
    std::memcpy(&n, body.data() + at + 64, 8);
    at += 72;
    if (n > body.size() - at) return MakeError(Errc::kParse, "block " + id + " is truncated");
    up.blocks.emplace_back(std::move(id), body.substr(at, n));
    at += n;
  }
  return up;
}

}  // namespace hadmc::server
