// Copier: copies one manifest tree (index, children, blobs) from a source to a
// destination registry, digests preserved. Blobs are verified while they stream,
// never uploaded twice at once, and cross each destination registry at most once
// (later repositories mount them). A copy may have a deadline and a stop flag, checked
// before each step and while bytes stream. Used by applier.cc.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <optional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "applier/applier.h"
#include "providers/registry.h"

namespace crossdock::applier {

// What a manifest references: an index's children, or an image's config and layers
// (non-distributable layers left out, as they stay at their own URLs).
struct BlobRef {
  std::string digest;
  std::int64_t size = -1;  // -1 when the manifest does not say
};
struct ManifestRefs {
  bool is_index = false;
  std::vector<std::string> children;  // index: child manifest digests
  std::vector<BlobRef> blobs;         // image: config, then layers
};
// InvalidArgument, saying what is wrong ("is not valid JSON; …"), for a manifest
// that cannot be copied: not JSON, an index without "manifests", an invalid digest.
core::Result<ManifestRefs> ParseManifestRefs(const providers::Manifest& m);

// What one destination registry is known to hold in this apply: blob digest ->
// repositories that have it. Shared by every change going to that registry.
class BlobLedger {
 public:
  struct Entry {
    std::vector<std::string> repos;
    bool in_flight = false;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, Entry> entries;
  // (repository, digest) of the index children known to be there (put or seen).
  std::set<std::pair<std::string, std::string>> manifests;
};

// Manifests read from the sources in this apply, by (endpoint, digest): a digest
// names the bytes, so many tags of one manifest (or one index child under many
// indexes) are fetched once, even by copies running at the same time. Bounded:
// past kMaxBytes nothing more is kept. Thread-safe.
class ManifestCache {
 public:
  static constexpr size_t kMaxBytes = 32 << 20;
  using Fetch = std::function<core::Result<providers::Manifest>()>;
  // The cached manifest, else FETCH's answer (kept when OK). A second caller asking
  // for the same key while FETCH runs waits for it instead of fetching again.
  core::Result<providers::Manifest> Get(const std::string& endpoint, const std::string& digest,
                                        const Fetch& fetch);

 private:
  using Key = std::pair<std::string, std::string>;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t bytes_ = 0;
  std::map<Key, providers::Manifest> manifests_;
  std::set<Key> in_flight_;
};

class Copier {
 public:
  Copier(providers::Registry* source, providers::Registry* destination, BlobLedger* ledger,
         Progress* progress, int blob_attempts)
      : src_(source), dst_(destination), ledger_(ledger), progress_(progress),
        blob_attempts_(blob_attempts) {}

  // Copies the manifest SOURCE_DIGEST of SRC_REPO (and everything it references) to
  // DST_REPO, then tags it TAG. Nothing is tagged unless every part arrived intact.
  core::Status CopyTagged(const std::string& src_repo, const std::string& source_digest,
                          const std::string& dst_repo, const std::string& tag);

  // Blob bytes this copier moved (read from the source for an upload).
  std::int64_t bytes_copied() const { return bytes_; }

  // Abandons the copy once DEADLINE passes: no further step starts, a transfer in
  // progress is aborted (its upload cancelled), nothing is tagged, and the copy
  // returns Cancelled with MESSAGE ("timed out after 30m").
  void SetDeadline(std::chrono::steady_clock::time_point deadline, std::string message) {
    deadline_ = deadline;
    deadline_message_ = std::move(message);
  }

  // Abandons the copy as at a deadline once *CANCEL becomes true (`crossdock stop`,
  // Ctrl-C), noticed within kWakeInterval even while a transfer waits on the other
  // end; the copy returns Cancelled "stopped: …". CANCEL (may be null) must outlive
  // the copy.
  void SetCancel(const std::atomic<bool>* cancel) { cancel_ = cancel; }

  // Source manifests are looked up in CACHE (may be null) before they are fetched.
  void SetManifestCache(ManifestCache* cache) { manifests_ = cache; }

  // The longest a copy blocked on a transfer or on another copy of the same blob goes
  // without looking at its stop flag and deadline.
  static constexpr std::chrono::milliseconds kWakeInterval{100};

 private:
  // Makes sure DST_REPO holds manifest DIGEST (by digest), copying what it needs.
  core::Status CopyManifestTree(const std::string& src_repo, const providers::Manifest& m,
                                const std::string& dst_repo, int depth);
  // GET of manifest DIGEST of SRC_REPO at the source, through the manifest cache.
  core::Result<providers::Manifest> SourceManifest(const std::string& src_repo,
                                                   const std::string& digest);
  core::Status EnsureBlob(const std::string& src_repo, const std::string& dst_repo,
                          const std::string& digest, std::int64_t size);
  core::Status TransferBlob(const std::string& src_repo, const std::string& dst_repo,
                            const std::string& digest, std::int64_t size);
  core::Status StreamBlob(const std::string& src_repo, const std::string& dst_repo,
                          const std::string& digest, std::int64_t size);
  // A large blob copied within one registry: downloaded to a temporary file, then
  // uploaded, so the copy never needs two of the endpoint's connections at once.
  core::Status SpoolBlob(const std::string& src_repo, const std::string& dst_repo,
                         const std::string& digest, std::int64_t size);
  // The DataLoss error for blob DIGEST that arrived as GOT (GOT_SIZE bytes).
  core::Status Mismatch(const std::string& src_repo, const std::string& digest,
                        const std::string& got, std::int64_t got_size) const;
  // True once the copy must be given up: stopped, or past its deadline. Thread-safe.
  bool Abandoned() const {
    return (cancel_ && cancel_->load()) ||
           (deadline_ && std::chrono::steady_clock::now() >= *deadline_);
  }
  // Cancelled once the copy is abandoned ("stopped: …", or the deadline's message);
  // OK before.
  core::Status CheckAbandoned() const;

  providers::Registry* src_;
  providers::Registry* dst_;
  BlobLedger* ledger_;
  Progress* progress_;
  int blob_attempts_;
  std::int64_t bytes_ = 0;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::string deadline_message_;
  const std::atomic<bool>* cancel_ = nullptr;
  ManifestCache* manifests_ = nullptr;
};

}  // namespace crossdock::applier
