// A published model version as a list of content-addressed blocks, signed with Ed25519.
//
// The .hmc file is cut into: the header (8-byte length + JSON, kept verbatim so reassembly is byte
// exact) and then each tensor's bytes in file order; every piece is split into blocks of at most
// block_size bytes that never straddle two tensors, so an unchanged tensor keeps its block ids.
// The signature covers the canonical serialization: the manifest JSON without "signature", keys
// sorted, no whitespace (all numbers are integers, so the text is unambiguous).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/crypto/signing_key.h"

namespace hadmc::store {

inline constexpr uint64_t kDefaultBlockSize = 256 * 1024;
inline constexpr char kManifestFormat[] = "hadmc-manifest/1";

struct BlockRef {
  std::string id;  // SHA256 hex of the block's bytes
  uint64_t size = 0;
  bool operator==(const BlockRef& o) const { return id == o.id && size == o.size; }
};

struct ManifestTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string quant;  // "" for fp32; otherwise the owning node's precision (int8, int4, fp16)
  uint64_t size = 0;  // bytes; the sum of its blocks' sizes
  std::vector<BlockRef> blocks;
};

struct Manifest {
  std::string model;
  uint64_t version = 0;  // >= 1
  uint64_t parent = 0;   // 0 = first version
  std::string graph_sha256;
  std::string created_at;  // RFC 3339 UTC
  uint64_t block_size = kDefaultBlockSize;
  uint64_t file_size = 0;
  std::string file_sha256;
  std::vector<BlockRef> header_blocks;
  std::vector<ManifestTensor> tensors;  // in file order
  std::string key_id;     // which publisher key signed it
  std::string signature;  // hex Ed25519 signature of CanonicalManifestBytes
};

struct ManifestInfo {
  std::string model;
  uint64_t version = 1;
  uint64_t parent = 0;
  uint64_t block_size = kDefaultBlockSize;
  std::string created_at;  // "" = now
};

// A model split into blocks: the unsigned manifest and each distinct block's bytes (views into
// the file passed to SplitModel, which must outlive them).
struct SplitModelResult {
  Manifest manifest;
  std::vector<std::pair<std::string, std::string_view>> blocks;  // id -> bytes, each id once
};

// Splits a whole .hmc file. Precondition: info.block_size > 0.
Result<SplitModelResult> SplitModel(std::string_view file, const ManifestInfo& info);

// True for a model name usable in URLs and file names: 1-64 chars of [A-Za-z0-9._-], not
// starting with '.'.
bool IsValidModelName(std::string_view name);

// The bytes that are signed: the manifest without its signature, canonically serialized.
std::string CanonicalManifestBytes(const Manifest& m);
// Sets key_id and signature.
Status SignManifest(Manifest& m, const crypto::SigningKey& key);
// Checks the signature against `key`.
Status VerifyManifest(const Manifest& m, const crypto::VerifyKey& key);

// The signed manifest as JSON text (pretty when `indent` >= 0).
std::string ManifestToJson(const Manifest& m, int indent = -1);
// Parses and checks structure: ids are 64-hex, sizes add up, blocks fit block_size. Does not check
// the signature (VerifyManifest does).
Result<Manifest> ManifestFromJson(std::string_view text);
// ManifestFromJson + VerifyManifest against any of `keys` (matched by key_id).
Result<Manifest> ParseVerifiedManifest(std::string_view text,
                                       const std::vector<crypto::VerifyKey>& keys);

// Every block of the file in order (header first), duplicates included.
std::vector<BlockRef> FileBlocks(const Manifest& m);
// The header size + every tensor size.
uint64_t ManifestDataBytes(const Manifest& m);

// RFC 3339 UTC timestamp of now, to the second.
std::string NowRfc3339();

}  // namespace hadmc::store
