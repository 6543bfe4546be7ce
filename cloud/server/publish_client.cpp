#include "hadmc/server/publish_client.h"

#include <nlohmann/json.hpp>
#include <set>

#include "hadmc/crypto/sha256.h"

namespace hadmc::server {
namespace {

using nlohmann::json;

Error HttpError(const std::string& what, const net::HttpsResult& r) {
  const json j = json::parse(r.body, nullptr, false);
  const std::string msg = j.is_object() && j.contains("error") && j["error"].is_string()
                              ? j["error"].get<std::string>()
                              : r.body.substr(0, 200);
  const Errc code = r.status == 401 || r.status == 403 ? Errc::kPermissionDenied
                    : r.status == 404                  ? Errc::kNotFound
                    : r.status == 409                  ? Errc::kAlreadyExists
                                                       : Errc::kInvalidArgument;
  return Error(code, what + ": HTTP " + std::to_string(r.status) + ": " + msg);
}

}  // namespace

net::HeaderList BearerHeaders(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

Result<PublishResult> PublishRemote(net::HttpsClient& client, const std::string& token,
                                    std::string_view file, const std::string& model,
                                    uint64_t block_size, const crypto::SigningKey& key) {
  const std::string path = "/v1/models/" + model + "/versions";
  auto listing = client.Request("GET", path, "", BearerHeaders(token));
  if (!listing) return MakeError(listing.error());
  if (listing->status != 200) return MakeError(HttpError("listing versions", *listing));
  const json versions = json::parse(listing->body, nullptr, false);
  uint64_t latest = 0;
  if (versions.is_object() && versions.contains("versions") && !versions["versions"].empty())
    latest = versions["versions"][0].value("version", uint64_t{0});

  auto split = PrepareVersion(file, model, latest, block_size, key);
  if (!split) return MakeError(split.error());
  const std::string manifest = store::ManifestToJson(split->manifest);
  net::HeaderList headers = BearerHeaders(token);
  headers.push_back({"Content-Type", "application/x-hadmc-publish"});

  auto first = client.Request("POST", path, EncodePublishBody(manifest, {}), headers);
  if (!first) return MakeError(first.error());
  auto done = [&](const net::HttpsResult& r) -> Result<PublishResult> {
    const json j = json::parse(r.body, nullptr, false);
    PublishResult out;
    out.model = model;
    out.version = j.value("version", uint64_t{0});
    out.manifest_sha256 = j.value("manifest_sha256", std::string());
    out.file_size = split->manifest.file_size;
    out.blocks = j.value("blocks", size_t{0});
    return out;
  };
  if (first->status == 201) return done(*first);
  const json missing = json::parse(first->body, nullptr, false);
  if (first->status != 409 || !missing.is_object() || !missing.contains("missing"))
    return MakeError(HttpError("publishing", *first));
  std::set<std::string> wanted;
  for (const auto& id : missing["missing"])
    if (id.is_string()) wanted.insert(id.get<std::string>());
  std::vector<std::pair<std::string, std::string_view>> send;
  for (const auto& b : split->blocks)
    if (wanted.count(b.first)) send.push_back(b);
  auto second = client.Request("POST", path, EncodePublishBody(manifest, send), headers);
  if (!second) return MakeError(second.error());
  if (second->status != 201) return MakeError(HttpError("publishing blocks", *second));
  return done(*second);
}

}  // namespace hadmc::server
