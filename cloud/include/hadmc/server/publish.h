// Publishing a model version: split + sign on the publisher's side, then commit (verify the
// signature, check every block is stored, check the version number, insert the registry row) on
// the side that owns the store: the CLI for a local state directory, the server for an upload.
//
// Upload body of POST /v1/models/{name}/versions (application/x-hadmc-publish):
//   "<manifest length in decimal>\n" <signed manifest JSON>
//   then per block: <64 hex id> <8-byte little-endian length> <bytes>
// The client first sends the manifest alone; the server answers 409 with the ids it lacks (or
// 201 when it has them all), and the client sends again with exactly those blocks.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hadmc/crypto/signing_key.h"
#include "hadmc/registry/registry.h"
#include "hadmc/store/block_store.h"
#include "hadmc/store/manifest.h"

namespace hadmc::server {

struct PublishResult {
  std::string model;
  uint64_t version = 0;
  std::string manifest_sha256;
  uint64_t file_size = 0;
  size_t blocks = 0;            // distinct blocks in the version
  std::vector<std::string> missing;  // blocks the store lacks (commit refused)
};

// Splits and signs `file` as version latest+1 of `model` (parent = latest).
Result<store::SplitModelResult> PrepareVersion(std::string_view file, const std::string& model,
                                               uint64_t latest, uint64_t block_size,
                                               const crypto::SigningKey& key);

// Verifies `manifest_text` against `trusted` keys and records it as a new version. When blocks are
// missing, returns a result whose `missing` is non-empty and records nothing. Errc::kAlreadyExists
// when the version is taken or is not latest+1.
Result<PublishResult> CommitVersion(registry::Registry& reg, const store::BlockStore& blocks,
                                    std::string_view manifest_text,
                                    const std::vector<crypto::VerifyKey>& trusted);

// PrepareVersion + store every block + CommitVersion, all local.
Result<PublishResult> PublishLocal(registry::Registry& reg, const store::BlockStore& blocks,
                                   std::string_view file, const std::string& model,
                                   uint64_t block_size, const crypto::SigningKey& key);

struct PublishUpload {
  std::string_view manifest_text;
  std::vector<std::pair<std::string, std::string_view>> blocks;  // views into the body
};

std::string EncodePublishBody(std::string_view manifest_text,
                              const std::vector<std::pair<std::string, std::string_view>>& blocks);
// Parses the framing (not the manifest). Precondition: `body` outlives the result.
Result<PublishUpload> DecodePublishBody(std::string_view body);

}  // namespace hadmc::server
