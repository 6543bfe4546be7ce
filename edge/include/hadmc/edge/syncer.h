// One sync of the edge daemon (DESIGN.md, edge daemon): poll the manifest of the device's model
// and channel, verify its signature against the pinned keys, fetch only the blocks the local
// store lacks over HTTPS with mTLS (keep-alive, bounded concurrency, Range resume of a block cut
// off mid-transfer), verify each block's SHA256 before it is stored, record progress in the
// journal, and keep the newest `retain_versions` complete versions (the rest are collected).
//
// The daemon's loop (interval, jitter, backoff, the server's retry hint) calls SyncOnce; the
// runtime assembles and loads a version only once it is complete here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hadmc/crypto/signing_key.h"
#include "hadmc/edge/sync_journal.h"
#include "hadmc/net/https_client.h"
#include "hadmc/store/block_store.h"
#include "hadmc/store/manifest.h"

namespace hadmc::edge {

struct SyncConfig {
  std::string server_url;  // https://host:port of the device listener
  std::string model;
  std::string channel = "stable";
  net::HttpsClientOptions tls;               // CA, client certificate and key (mTLS)
  std::vector<crypto::VerifyKey> pinned_keys; // manifest signing keys the device trusts
  std::string state_dir;                     // blocks/, partial/, journal.db
  int concurrency = 4;                       // parallel block fetches (connections)
  int retain_versions = 2;                   // complete versions kept on disk
};

struct SyncResult {
  bool changed = false;        // a version other than the last synced one is now complete
  uint64_t version = 0;        // the version the server assigns this device, now complete
  store::Manifest manifest;    // its verified manifest
  int blocks_fetched = 0;      // transferred in this sync
  int blocks_present = 0;      // already in the local store
  uint64_t bytes_fetched = 0;  // block bytes received (a resumed block counts its tail only)
  // The assigned version was rejected here before (Reject): nothing was fetched; `version` and
  // `manifest` name it and `rejected_reason` says why.
  bool rejected = false;
  std::string rejected_reason;
};

class Syncer {
 public:
  static Result<std::unique_ptr<Syncer>> Open(const SyncConfig& config);

  // Polls once and brings the assigned version to complete. Errors leave what was verified in
  // place (the next call resumes); the previously complete versions are untouched.
  Result<SyncResult> SyncOnce();
  // After a SyncOnce that failed because the server answered 429 or 503 (to the manifest poll or
  // a block): the server's Retry-After in seconds, the earliest sensible next attempt; else 0.
  int retry_after_s() const { return retry_after_s_; }

  // Marks `version` rejected (the runtime refused it or rolled it back): it is not fetched,
  // offered by LatestComplete or kept by retention again, and its blocks are collected.
  Status Reject(uint64_t version, const std::string& reason);

  // The newest complete, not rejected version in the journal, verified again against the
  // pinned keys.
  Result<std::optional<store::Manifest>> LatestComplete();
  // A complete version's manifest, verified again.
  Result<store::Manifest> CompleteVersion(uint64_t version);
  // The .hmc bytes of a complete version from local blocks (each block and the file verified).
  Result<std::string> Assemble(const store::Manifest& m) const;

  const store::BlockStore& blocks() const { return blocks_; }
  SyncJournal& journal() { return *journal_; }

 private:
  Syncer(SyncConfig c, store::BlockStore b, std::unique_ptr<SyncJournal> j,
         std::unique_ptr<net::HttpsClient> client)
      : config_(std::move(c)), blocks_(std::move(b)), journal_(std::move(j)),
        client_(std::move(client)) {}
  Status FetchBlocks(const std::vector<store::BlockRef>& missing, SyncResult& result);
  Status Retain();

  SyncConfig config_;
  store::BlockStore blocks_;
  std::unique_ptr<SyncJournal> journal_;
  std::unique_ptr<net::HttpsClient> client_;  // manifest polls
  std::string etag_;                          // of the last manifest seen
  int retry_after_s_ = 0;                     // of the last SyncOnce
};

}  // namespace hadmc::edge
