// Copier: copies one manifest tree (index, children, blobs) from a source to a
// destination registry, digests preserved. Blobs are verified while they stream,
// never uploaded twice at once, and cross each destination registry at most once
// (later repositories mount them). Whatever arrives altered (a blob or manifest
// whose digest does not match, an upload or PUT the destination found altered) is
// sent again as a transient failure would be, and a tag never stays on a manifest
// other than the one sent. A copy may have a deadline and a stop flag, checked
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
// Thread-safe.
class BlobLedger {
 public:
  // What a copy must do about a blob it needs in a repository.
  struct Claim {
    bool present = false;    // known to be there: nothing to do
    std::string mount_from;  // else: a repository of this registry that has it, or ""
  };
  // Claims DIGEST for REPO: present, or this caller brings it (then it must call
  // Release). While another copy moves it, waits, checking ABANDONED every WAKE and
  // returning its error when it has one.
  core::Result<Claim> ClaimBlob(const std::string& digest, const std::string& repo,
                                std::chrono::milliseconds wake,
                                const std::function<core::Status()>& abandoned);
  // Ends a claim: ARRIVED says whether REPO has DIGEST now. Wakes the waiters.
  void ReleaseBlob(const std::string& digest, const std::string& repo, bool arrived);
  // Marks DIGEST as being moved by someone else (tests of the waiting).
  void MarkInFlight(const std::string& digest);

  // Index children known to be in a repository (put or seen).
  bool HasManifest(const std::string& repo, const std::string& digest) const;
  void AddManifest(const std::string& repo, const std::string& digest);

  // Manifests that reached the registry altered under a tag of this apply: they hold
  // the wrong manifest as much as the tag being repaired, so deleting that digest may
  // take them along.
  void MarkAltered(const std::string& repo, const std::string& digest, const std::string& tag);
  bool IsAltered(const std::string& repo, const std::string& digest, const std::string& tag) const;

 private:
  struct Entry {
    std::vector<std::string> repos;
    bool in_flight = false;
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;
  std::set<std::pair<std::string, std::string>> manifests_;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> altered_;
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

// One Copier serves one change through all of its attempts (the applier tries a
// change again after a transient failure), so it can tell a blob that arrived
// corrupted once from one that arrives corrupted every time.
class Copier {
 public:
  Copier(providers::Registry* source, providers::Registry* destination, BlobLedger* ledger,
         Progress* progress, int blob_attempts)
      : src_(source), dst_(destination), ledger_(ledger), progress_(progress),
        blob_attempts_(blob_attempts) {}

  // Copies the manifest SOURCE_DIGEST of SRC_REPO (and everything it references) to
  // DST_REPO, then tags it TAG, which held PREVIOUS when the change was planned
  // (nullopt: nothing). Nothing is tagged unless every part arrived intact.
  //
  // A blob or manifest that arrives altered is transferred again, up to
  // blob_attempts times in one call. When it still is, the copy fails with
  // Unavailable (the applier tries the change again), or, on the final attempt
  // (SetFinalAttempt), with DataLoss saying how it arrived on every try, e.g.
  // "blob sha256:… of lib/app at endpoint "src" arrived corrupted on every one of
  // 12 downloads (last: sha256:…, 2048 bytes); …".
  core::Status CopyTagged(const std::string& src_repo, const std::string& source_digest,
                          const std::string& dst_repo, const std::string& tag,
                          const std::optional<std::string>& previous);

  // PUTs MANIFEST under DST_REPO:TAG (which held PREVIOUS, or nothing) and checks
  // what the registry stored. A PUT that reached it altered (it stored another
  // digest) is repeated; if every one does, the tag is put back to PREVIOUS, or
  // removed when it held nothing or cannot be put back, and the failure says which.
  // Whatever fails, the tag is never left on a manifest other than the one sent
  // unless the failure says so (DataLoss naming the digest to delete). The final
  // step of CopyTagged; also used for manifests crossdock writes itself.
  core::Status PutTag(const std::string& dst_repo, const std::string& tag,
                      const providers::Manifest& manifest,
                      const std::optional<std::string>& previous);

  // Whether the coming CopyTagged or PutTag is the change's last attempt (true
  // until told otherwise): only then does damage that persists fail as DataLoss
  // rather than Unavailable.
  void SetFinalAttempt(bool final_attempt) { final_attempt_ = final_attempt; }

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
  // What went wrong moving one blob or manifest, over every attempt of the change.
  struct Damage {
    int tries = 0;     // transfers that failed, for whatever reason
    int corrupt = 0;   // downloads that arrived not matching the digest
    int rejected = 0;  // uploads or PUTs that reached the destination altered
    std::string last_got;           // the digest the last corrupt download had
    std::int64_t last_size = 0;     // and its length
  };

  // Makes sure DST_REPO holds manifest DIGEST (by digest), copying what it needs.
  core::Status CopyManifestTree(const std::string& src_repo, const providers::Manifest& m,
                                const std::string& dst_repo, int depth);
  // GET of manifest DIGEST of SRC_REPO at the source, through the manifest cache;
  // fetched again while it arrives corrupted.
  core::Result<providers::Manifest> SourceManifest(const std::string& src_repo,
                                                   const std::string& digest);
  // PUT of index child M by its digest, repeated while it reaches DST_REPO altered.
  core::Status PutByDigest(const std::string& dst_repo, const providers::Manifest& m);
  // After the PUT of M under DST_REPO:TAG failed with FAILURE: reads what the tag
  // holds and, when that is neither M, PREVIOUS nor nothing, repairs it.
  core::Status Settle(const std::string& dst_repo, const std::string& tag,
                      const providers::Manifest& m, const std::optional<std::string>& previous,
                      const core::Status& failure);
  // The tag DST_REPO:TAG holds WRONG: puts PREVIOUS back or removes the tag. Returns
  // what became of it, for the failure message; *CLEAN says whether the tag now
  // holds PREVIOUS or nothing.
  std::string Repair(const std::string& dst_repo, const std::string& tag, std::string wrong,
                     const std::optional<std::string>& previous, bool* clean);
  // PUTs the manifest PREVIOUS (read back from DST_REPO by digest) under TAG.
  core::Status Restore(const std::string& dst_repo, const std::string& tag,
                       const std::string& previous);
  // Deletes manifest WRONG, which TAG holds, unless a tag that is not known to be
  // altered too shares it (the registry deletes by digest). OK once TAG no longer
  // holds it.
  core::Status RemoveAltered(const std::string& dst_repo, const std::string& tag,
                             const std::string& wrong);
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
  // The DataLoss error for blob DIGEST that arrived as GOT (GOT_SIZE bytes); counts
  // it as a corrupt download.
  core::Status Mismatch(const std::string& src_repo, const std::string& digest,
                        const std::string& got, std::int64_t got_size);
  // What became of blob DIGEST over every try, once no try is left in this attempt.
  std::string BlobDamage(const std::string& src_repo, const std::string& dst_repo,
                         const std::string& digest);
  // LAST (the latest failure of something that did not arrive intact) as this
  // attempt's result: Unavailable, for the applier to try the change again, or on the
  // final attempt DataLoss with SUMMARY.
  core::Status Damaged(const core::Status& last, const std::string& summary) const;
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
  bool final_attempt_ = true;
  std::int64_t bytes_ = 0;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::string deadline_message_;
  const std::atomic<bool>* cancel_ = nullptr;
  ManifestCache* manifests_ = nullptr;
  // By "blob <digest>", "manifest <digest>" (source GETs), "put <digest>" (PUTs).
  std::map<std::string, Damage> damage_;
};

}  // namespace crossdock::applier
