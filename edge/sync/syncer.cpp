#include "hadmc/edge/syncer.h"

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "hadmc/common/atomic_file.h"
#include "hadmc/common/log.h"
#include "hadmc/crypto/sha256.h"
#include "hadmc/store/assemble.h"
#include "hadmc/store/manifest_diff.h"

namespace hadmc::edge {
namespace fs = std::filesystem;
namespace {

int RetryAfter(const net::HttpsResult& r) {
  auto it = r.headers.find("retry-after");
  if (it == r.headers.end()) return 0;
  try {
    return std::max(0, std::stoi(it->second));
  } catch (...) {
    return 0;
  }
}

bool IsBusy(const net::HttpsResult& r) { return r.status == 429 || r.status == 503; }

// 429 (this device is over its rate limit) or 503 (the server is overloaded): not a fault of the
// request, so the error says when to come back.
Error BusyError(const net::HttpsResult& r, int retry_after_s) {
  return Error(Errc::kIo, "the server is busy (HTTP " + std::to_string(r.status) +
                              ", retry after " + std::to_string(retry_after_s) + " s)");
}

// Fetches one block into `partial` (resuming what an earlier, interrupted fetch left there),
// then stores it if its bytes hash to the id. Adds the bytes received to `received`, also when
// they fail verification (they crossed the network all the same); raises `retry_after_s` to the
// server's hint when it answers 429/503.
Status FetchBlock(net::HttpsClient& client, const store::BlockStore& blocks,
                  const store::BlockRef& ref, const fs::path& partial,
                  std::atomic<uint64_t>& received, std::atomic<int>& retry_after_s) {
  std::string have;
  std::error_code ec;
  if (fs::exists(partial, ec)) {
    auto bytes = ReadFile(partial.string());
    if (bytes) have = std::move(*bytes);
  }
  if (have.size() >= ref.size) have.clear();  // a finished-but-unstored or bogus partial
  net::HeaderList headers;
  if (!have.empty()) headers.push_back({"Range", "bytes=" + std::to_string(have.size()) + "-"});
  auto r = client.Request("GET", "/v1/blocks/" + ref.id, "", headers);
  if (!r) return MakeError(r.error().WithContext("block " + ref.id.substr(0, 12)));
  received += r->body.size();
  std::string bytes;
  if (r->status == 206 && !have.empty()) {
    bytes = have + r->body;
  } else if (r->status == 200) {
    bytes = std::move(r->body);
  } else if (IsBusy(*r)) {
    const int hint = RetryAfter(*r);
    int seen = retry_after_s;  // the longest hint of the concurrent fetches wins
    while (seen < hint && !retry_after_s.compare_exchange_weak(seen, hint)) {
    }
    return MakeError(BusyError(*r, hint).WithContext("block " + ref.id.substr(0, 12)));
  } else {
    return MakeError(Errc::kIo, "block " + ref.id.substr(0, 12) + ": HTTP " +
                                             std::to_string(r->status) + " " + r->body);
  }
  if (bytes.size() != ref.size || crypto::Sha256Hex(bytes) != ref.id) {
    // Keep a short body as a resumable partial; a wrong one is dropped and fetched again.
    if (bytes.size() < ref.size && !bytes.empty()) {
      HADMC_TRY(WriteFileAtomically(partial.string(), bytes));
    } else {
      fs::remove(partial, ec);
    }
    const std::string why =
        bytes.size() != ref.size
            ? std::to_string(bytes.size()) + " of " + std::to_string(ref.size) + " bytes"
            : "SHA256 mismatch, the bytes hash to " + crypto::Sha256Hex(bytes).substr(0, 12);
    return MakeError(Errc::kCorrupt, "block " + ref.id.substr(0, 12) + " failed verification (" +
                                         why + ")");
  }
  HADMC_TRY(blocks.Put(ref.id, bytes));
  fs::remove(partial, ec);
  return {};
}

}  // namespace

Result<std::unique_ptr<Syncer>> Syncer::Open(const SyncConfig& config) {
  if (config.pinned_keys.empty())
    return MakeError(Errc::kInvalidArgument, "sync needs at least one pinned manifest key");
  if (!store::IsValidModelName(config.model))
    return MakeError(Errc::kInvalidArgument, "invalid model name '" + config.model + "'");
  if (config.concurrency < 1 || config.concurrency > 64)
    return MakeError(Errc::kInvalidArgument, "concurrency must be in [1, 64]");
  if (config.retain_versions < 1)
    return MakeError(Errc::kInvalidArgument, "retain_versions must be >= 1");
  std::error_code ec;
  fs::create_directories(fs::path(config.state_dir) / "partial", ec);
  if (ec) return MakeError(Errc::kIo, "cannot create " + config.state_dir + ": " + ec.message());
  auto blocks = store::BlockStore::Open((fs::path(config.state_dir) / "blocks").string());
  if (!blocks) return MakeError(blocks.error());
  auto journal = SyncJournal::Open((fs::path(config.state_dir) / "journal.db").string());
  if (!journal) return MakeError(journal.error());
  auto client = net::HttpsClient::Create(config.server_url, config.tls);
  if (!client) return MakeError(client.error());
  return std::unique_ptr<Syncer>(
      new Syncer(config, std::move(*blocks), std::move(*journal), std::move(*client)));
}

Status Syncer::FetchBlocks(const std::vector<store::BlockRef>& missing, SyncResult& result) {
  const size_t workers = std::min<size_t>(static_cast<size_t>(config_.concurrency), missing.size());
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<int> fetched{0};
  std::atomic<int> retry_after_s{0};
  std::mutex mu;
  Status failure;
  auto work = [&] {
    auto client = net::HttpsClient::Create(config_.server_url, config_.tls);
    if (!client) {
      std::lock_guard<std::mutex> lock(mu);
      if (failure) failure = MakeError(client.error());
      return;
    }
    for (size_t i = next++; i < missing.size(); i = next++) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!failure) return;  // another worker failed: stop early, keep what is verified
      }
      const store::BlockRef& ref = missing[i];
      const fs::path partial = fs::path(config_.state_dir) / "partial" / ref.id;
      Status got = FetchBlock(**client, blocks_, ref, partial, bytes, retry_after_s);
      if (!got && got.error().Is(Errc::kCorrupt)) {
        Log().warn("sync: {}; fetching it again", got.error().message());
        // One retry: resume or anew.
        got = FetchBlock(**client, blocks_, ref, partial, bytes, retry_after_s);
      }
      if (!got) {
        std::lock_guard<std::mutex> lock(mu);
        if (failure) failure = MakeError(got.error());
        return;
      }
      ++fetched;
    }
  };
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  result.blocks_fetched = fetched;
  result.bytes_fetched = bytes;
  retry_after_s_ = retry_after_s;
  return failure;
}

Result<SyncResult> Syncer::SyncOnce() {
  SyncResult result;
  retry_after_s_ = 0;
  net::HeaderList headers;
  if (!etag_.empty()) headers.push_back({"If-None-Match", etag_});
  auto r = client_->Request("GET", "/v1/models/" + config_.model + "/manifest?channel=" +
                                       config_.channel,
                            "", headers);
  if (!r) return MakeError(r.error().WithContext("polling the manifest"));
  if (r->status == 304) {
    auto latest = LatestComplete();
    if (!latest) return MakeError(latest.error());
    if (*latest) {
      result.version = (*latest)->version;
      result.manifest = **latest;
    }
    return result;  // unchanged
  }
  if (IsBusy(*r)) {
    retry_after_s_ = RetryAfter(*r);
    return MakeError(BusyError(*r, retry_after_s_).WithContext("polling the manifest"));
  }
  if (r->status != 200)
    return MakeError(Errc::kIo,
                     "manifest: HTTP " + std::to_string(r->status) + " " + r->body);
  auto m = store::ParseVerifiedManifest(r->body, config_.pinned_keys);
  if (!m) return MakeError(m.error().WithContext("manifest of " + config_.model + " refused"));
  if (m->model != config_.model)
    return MakeError(Errc::kCorrupt, "the server sent a manifest for '" + m->model +
                                         "' when asked for '" + config_.model + "'");
  const std::string sha = crypto::Sha256Hex(r->body);
  auto rejected = journal_->Rejected(m->version);
  if (!rejected) return MakeError(rejected.error());
  if (*rejected) {  // refused here before: wait for a newer version
    auto etag = r->headers.find("etag");
    etag_ = etag == r->headers.end() ? "" : etag->second;
    result.version = m->version;
    result.manifest = std::move(*m);
    result.rejected = true;
    result.rejected_reason = **rejected;
    return result;
  }
  auto known = journal_->Get(m->version);
  if (!known) return MakeError(known.error());
  if (*known && (*known)->manifest_sha256 != sha)
    return MakeError(Errc::kCorrupt, "version " + std::to_string(m->version) +
                                         " has a different manifest than the one recorded");
  HADMC_TRY(journal_->Begin({m->version, sha, r->body, false}));

  const store::BlockDiff diff =
      store::MissingBlocks(*m, [this](const std::string& id) { return blocks_.Contains(id); });
  result.blocks_present = static_cast<int>(diff.distinct_blocks - diff.fetch.size());
  if (!diff.fetch.empty()) {
    Log().info("sync: {} v{}: fetching {} of {} blocks ({} bytes)", m->model, m->version,
               diff.fetch.size(), diff.distinct_blocks, diff.fetch_bytes);
    HADMC_TRY(FetchBlocks(diff.fetch, result));
  }
  HADMC_TRY(journal_->MarkComplete(m->version));
  result.changed = !*known || !(*known)->complete || etag_.empty() ||
                   etag_ != "\"" + sha + "\"";
  auto etag = r->headers.find("etag");
  etag_ = etag == r->headers.end() ? "" : etag->second;
  result.version = m->version;
  result.manifest = std::move(*m);
  HADMC_TRY(Retain());
  return result;
}

Status Syncer::Retain() {
  auto versions = journal_->List();
  if (!versions) return MakeError(versions.error());
  std::set<std::string> keep;
  int complete = 0;
  for (const JournalVersion& v : *versions) {
    auto rejected = journal_->Rejected(v.version);
    if (!rejected) return MakeError(rejected.error());
    const bool kept = !*rejected && (!v.complete || complete < config_.retain_versions);
    if (v.complete && !*rejected) ++complete;
    if (!kept) {
      HADMC_TRY(journal_->Forget(v.version));
      continue;
    }
    auto m = store::ManifestFromJson(v.manifest_json);
    if (!m) return MakeError(m.error());
    for (const store::BlockRef& b : store::FileBlocks(*m)) keep.insert(b.id);
  }
  auto gc = blocks_.Gc(keep, std::chrono::seconds(0));
  if (!gc) return MakeError(gc.error().WithContext("collecting old blocks"));
  return {};
}

Status Syncer::Reject(uint64_t version, const std::string& reason) {
  HADMC_TRY(journal_->MarkRejected(version, reason));
  return Retain();
}

Result<store::Manifest> Syncer::CompleteVersion(uint64_t version) {
  auto v = journal_->Get(version);
  if (!v) return MakeError(v.error());
  if (!*v || !(*v)->complete)
    return MakeError(Errc::kNotFound, "version " + std::to_string(version) + " is not complete here");
  auto m = store::ParseVerifiedManifest((*v)->manifest_json, config_.pinned_keys);
  if (!m) return MakeError(m.error().WithContext("journal manifest of version " + std::to_string(version)));
  return m;
}

Result<std::optional<store::Manifest>> Syncer::LatestComplete() {
  auto versions = journal_->List();
  if (!versions) return MakeError(versions.error());
  for (const JournalVersion& v : *versions) {
    if (!v.complete) continue;
    auto rejected = journal_->Rejected(v.version);
    if (!rejected) return MakeError(rejected.error());
    if (*rejected) continue;
    auto m = CompleteVersion(v.version);
    if (!m) return MakeError(m.error());
    return std::optional<store::Manifest>{std::move(*m)};
  }
  return std::optional<store::Manifest>{};
}

Result<std::string> Syncer::Assemble(const store::Manifest& m) const {
  return store::AssembleModel(m, [this](const store::BlockRef& b) { return blocks_.Get(b.id); });
}

}  // namespace hadmc::edge
