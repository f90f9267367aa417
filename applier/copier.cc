#include "applier/copier.h"

#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <thread>

#include "core/digest.h"
#include "core/retry.h"

namespace crossdock::applier {

namespace {

// Blobs up to this size are read into memory and sent with one PUT; larger ones
// stream from the source GET into the destination PATCH through a bounded pipe. Both
// bound what one copy holds, so an apply holds at most parallelism x 4 MiB of blob
// bytes (40 MiB at the default 10) whatever the blob sizes.
constexpr std::int64_t kBufferedBlobMax = 4ll << 20;
constexpr size_t kPipeCapacity = 2u << 20;

// A bounded byte pipe between the downloading thread and the uploading one. Both
// ends give up once the copy is abandoned (stopped or past its deadline), which
// every wait looks at least every Copier::kWakeInterval.
class BytePipe {
 public:
  BytePipe(size_t capacity, std::function<bool()> abandoned)
      : capacity_(capacity), abandoned_(std::move(abandoned)) {}

  // Blocks while full. Returns false when the reader has gone away or the copy was
  // abandoned.
  bool Write(const char* data, size_t n) {
    std::unique_lock<std::mutex> lk(mu_);
    writer_started_ = true;
    cv_.notify_all();
    while (n > 0) {
      if (!WaitUntil(lk, [&] { return reader_gone_ || buf_.size() < capacity_; })) return false;
      if (reader_gone_) return false;
      size_t take = std::min(n, capacity_ - buf_.size());
      buf_.insert(buf_.end(), data, data + take);
      data += take;
      n -= take;
      cv_.notify_all();
    }
    return true;
  }
  // Ends the stream: OK delivers EOF to the reader, FAILED makes it abort.
  void Finish(bool ok) {
    std::lock_guard<std::mutex> lk(mu_);
    writer_started_ = true;
    finished_ = true;
    failed_ = !ok;
    cv_.notify_all();
  }
  // As an HttpRequest body_source: bytes, 0 at the end, -1 to abort (a failed
  // download, or the copy was abandoned).
  long Read(char* out, size_t n) {
    std::unique_lock<std::mutex> lk(mu_);
    if (!reader_started_) {
      reader_started_ = true;
      cv_.notify_all();
    }
    if (!WaitUntil(lk, [&] { return !buf_.empty() || finished_; })) return -1;
    if (failed_) return -1;
    if (buf_.empty()) return 0;
    size_t take = std::min(n, buf_.size());
    std::copy_n(buf_.begin(), take, out);
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(take));
    cv_.notify_all();
    return static_cast<long>(take);
  }
  // Blocks until the writer first writes or finishes. False when the copy was
  // abandoned first.
  bool WaitForWriter() {
    std::unique_lock<std::mutex> lk(mu_);
    return WaitUntil(lk, [&] { return writer_started_; });
  }
  // Blocks until the reader first reads. False when it went away first or the copy
  // was abandoned.
  bool WaitForReader() {
    std::unique_lock<std::mutex> lk(mu_);
    WaitUntil(lk, [&] { return reader_started_ || reader_gone_; });
    return reader_started_;
  }
  void CloseReader() {
    std::lock_guard<std::mutex> lk(mu_);
    reader_gone_ = true;
    cv_.notify_all();
  }

 private:
  // Waits until READY holds (true) or the copy is abandoned (false, even if READY
  // holds by then). REQUIRES: LK holds mu_.
  template <typename Ready>
  bool WaitUntil(std::unique_lock<std::mutex>& lk, Ready ready) {
    while (!abandoned_()) {
      if (cv_.wait_for(lk, Copier::kWakeInterval, ready)) return true;
    }
    return false;
  }

  size_t capacity_;
  std::function<bool()> abandoned_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<char> buf_;
  bool finished_ = false, failed_ = false, reader_gone_ = false;
  bool writer_started_ = false, reader_started_ = false;
};

bool IsForeignLayer(const nlohmann::json& d) {
  // value() would throw for a mediaType that is not a string: read it only when it is.
  std::string mt = d.contains("mediaType") && d["mediaType"].is_string()
                       ? d["mediaType"].get<std::string>()
                       : "";
  return mt.find("foreign") != std::string::npos ||
         mt.find("nondistributable") != std::string::npos;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// True when a manifest PUT failed because what reached the registry was not what
// was sent: it stored another digest (the client's DataLoss), or refused the bytes
// as not matching the digest they were PUT under (400 DIGEST_INVALID, which the
// client reports as an unexpected answer naming that code).
bool AlteredOnTheWay(const core::Status& st) {
  return st.code() == core::Code::kDataLoss ||
         (st.code() == core::Code::kInternal &&
          st.message().find("DIGEST_INVALID") != std::string::npos);
}

// "on every one of 12 downloads", "on 3 of 12 downloads", "on its only download".
std::string Tally(int hits, int tries, const std::string& noun) {
  if (tries == 1 && hits == 1) return "on its only " + noun;
  if (hits == tries) return "on every one of " + std::to_string(tries) + " " + noun + "s";
  return "on " + std::to_string(hits) + " of " + std::to_string(tries) + " " + noun + "s";
}

}  // namespace

core::Result<providers::Manifest> ManifestCache::Get(const std::string& endpoint,
                                                     const std::string& digest,
                                                     const Fetch& fetch) {
  const Key key{endpoint, digest};
  {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return !in_flight_.count(key); });
    if (auto it = manifests_.find(key); it != manifests_.end()) return it->second;
    in_flight_.insert(key);
  }
  core::Result<providers::Manifest> m = fetch();
  std::lock_guard<std::mutex> lk(mu_);
  in_flight_.erase(key);
  if (m.ok() && bytes_ + m->bytes.size() <= kMaxBytes && manifests_.emplace(key, *m).second)
    bytes_ += m->bytes.size();
  cv_.notify_all();
  return m;
}

core::Result<providers::Manifest> Copier::SourceManifest(const std::string& src_repo,
                                                         const std::string& digest) {
  auto fetch = [&] { return src_->GetManifest(src_repo, digest); };
  Damage& d = damage_["manifest " + digest];
  core::Status last;
  for (int attempt = 1; attempt <= blob_attempts_; ++attempt) {
    auto m = manifests_ ? manifests_->Get(src_->name(), digest, fetch) : fetch();
    if (m.ok()) return m;
    ++d.tries;
    // The client repeats what failed in transit itself; a manifest that arrived not
    // matching its digest (DataLoss) is fetched again here.
    if (m.status().code() != core::Code::kDataLoss) return m;
    ++d.corrupt;
    last = m.status();
    CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
  }
  return Damaged(last, "manifest " + digest + " of " + src_repo + " at endpoint \"" +
                           src_->name() + "\" arrived corrupted " +
                           Tally(d.corrupt, d.tries, "download") + " (last: " + last.message() +
                           "); the source holds damaged content or something on the way "
                           "alters it");
}

core::Status Copier::Damaged(const core::Status& last, const std::string& summary) const {
  if (!final_attempt_) return core::Status::Unavailable(last.message());
  return core::Status::DataLoss(summary);
}

core::Status Copier::CheckAbandoned() const {
  // A stop explains the end of a copy better than a deadline that passed meanwhile.
  if (cancel_ && cancel_->load()) {
    return core::Status::Cancelled("stopped: the copy was abandoned before it finished; "
                                   "nothing was tagged");
  }
  if (deadline_ && std::chrono::steady_clock::now() >= *deadline_) {
    return core::Status::Cancelled(deadline_message_);
  }
  return core::Status::Ok();
}

core::Status Copier::CopyTagged(const std::string& src_repo, const std::string& source_digest,
                                const std::string& dst_repo, const std::string& tag,
                                const std::optional<std::string>& previous) {
  // By digest: apply copies exactly what the plan showed, even if the tag moved since.
  CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
  auto m = SourceManifest(src_repo, source_digest);
  if (!m.ok()) return m.status();
  CROSSDOCK_RETURN_IF_ERROR(CopyManifestTree(src_repo, *m, dst_repo, 0));
  // The tag goes last, and only if the copy was neither stopped nor past its deadline.
  CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
  return PutTag(dst_repo, tag, *m, previous);
}

core::Status Copier::PutByDigest(const std::string& dst_repo, const providers::Manifest& m) {
  Damage& d = damage_["put " + m.digest];
  core::Status st;
  for (int attempt = 1; attempt <= blob_attempts_; ++attempt) {
    CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
    st = dst_->PutManifest(dst_repo, m.digest, m);
    if (st.ok()) return st;
    ++d.tries;
    if (!AlteredOnTheWay(st)) return st;
    ++d.rejected;
  }
  return Damaged(st, "manifest " + dst_repo + "@" + m.digest + " reached endpoint \"" +
                         dst_->name() + "\" altered " + Tally(d.rejected, d.tries, "PUT") +
                         " (last: " + st.message() +
                         "); something on the way to the registry alters manifests");
}

core::Status Copier::PutTag(const std::string& dst_repo, const std::string& tag,
                            const providers::Manifest& m,
                            const std::optional<std::string>& previous) {
  // The registry's Docker-Content-Digest answer to each PUT is checked by the client
  // (DataLoss when it names another digest than the one sent).
  Damage& d = damage_["put " + m.digest];
  core::Status st;
  for (int attempt = 1; attempt <= blob_attempts_; ++attempt) {
    st = dst_->PutManifest(dst_repo, tag, m);
    if (st.ok()) return st;
    ++d.tries;
    if (!AlteredOnTheWay(st)) break;
    ++d.rejected;
    if (Abandoned()) break;  // the tag is settled all the same
  }
  return Settle(dst_repo, tag, m, previous, st);
}

core::Status Copier::Settle(const std::string& dst_repo, const std::string& tag,
                            const providers::Manifest& m,
                            const std::optional<std::string>& previous,
                            const core::Status& failure) {
  // A destination storing its own form of the manifest (a chart repository) never shows
  // the digest sent, so reading the tag back proves nothing and must not lead to a
  // repair that deletes the version: the failure stands, and the next attempt posts the
  // same chart again (which the repository takes as done when it has it).
  if (dst_->ConvertsManifests()) return failure;
  const std::string ref = dst_repo + ":" + tag + " at endpoint \"" + dst_->name() + "\"";
  const bool altered = AlteredOnTheWay(failure);
  // Any other failure but one in transit (refused credentials, a rejected manifest)
  // stored nothing: the tag is as it was, and a digest there now is someone else's.
  if (!altered && failure.code() != core::Code::kUnavailable) return failure;
  const Damage& d = damage_["put " + m.digest];
  // What the failure was, for a message that goes on to say what became of the tag.
  const std::string what =
      altered ? "manifest " + m.digest + " reached " + ref + " altered " +
                    Tally(d.rejected, d.tries, "PUT") + " (last: " + failure.message() +
                    "); something on the way to the registry alters manifests"
              : failure.message();
  // A failed PUT may still have reached the registry (an answer lost on the way, or
  // altered bytes stored under the tag): read back what the tag holds.
  auto held = dst_->HeadManifest(dst_repo, tag);
  if (!held.ok()) {
    std::string unknown = what + "; what " + ref + " holds now could not be read back (" +
                          held.status().message() +
                          "), so it may hold a manifest other than the one sent: run apply "
                          "again";
    return final_attempt_ ? core::Status::DataLoss(unknown) : core::Status::Unavailable(unknown);
  }
  const std::string now = *held ? (*held)->digest : "";
  if (now == m.digest) return core::Status::Ok();  // it did take effect
  if (now.empty() || (previous && now == *previous)) {
    if (!altered) return failure;
    return Damaged(failure, what + "; " + ref +
                                (now.empty() ? " was not created" : " still holds " + now));
  }
  // Neither what was sent nor what was there: the altered manifest, or the bytes of
  // a PUT that failed in transit after reaching the registry.
  bool clean = false;
  std::string outcome = Repair(dst_repo, tag, now, previous, &clean);
  std::string message = what + "; " + outcome;
  if (!clean || final_attempt_) return core::Status::DataLoss(message);
  return core::Status::Unavailable(message);
}

std::string Copier::Repair(const std::string& dst_repo, const std::string& tag, std::string wrong,
                           const std::optional<std::string>& previous, bool* clean) {
  const std::string ref = dst_repo + ":" + tag;
  auto remember = [&](const std::string& digest) { ledger_->MarkAltered(dst_repo, digest, tag); };
  remember(wrong);
  std::string not_restored;  // why PREVIOUS could not be put back
  if (previous) {
    core::Status restored = Restore(dst_repo, tag, *previous);
    auto held = dst_->HeadManifest(dst_repo, tag);
    if (held.ok() && *held && (*held)->digest == *previous) {
      *clean = true;
      return ref + " was put back to " + *previous + ", which it held before";
    }
    if (held.ok() && !*held) {
      *clean = true;
      return ref + " could not be put back to " + *previous + " (" + restored.message() +
             ") and no longer exists";
    }
    not_restored = !restored.ok() ? restored.message()
                   : held.ok()    ? "it held " + (*held)->digest + " after the PUT"
                                  : held.status().message();
    if (held.ok()) {
      wrong = (*held)->digest;  // the restoring PUT may have been altered too
      remember(wrong);
    }
  }
  core::Status removed = RemoveAltered(dst_repo, tag, wrong);
  if (removed.ok()) {
    *clean = true;
    if (previous) {
      return ref + " could not be put back to " + *previous + " (" + not_restored +
             ") and was removed, so it holds no wrong manifest";
    }
    return ref + ", which did not exist before, was removed again";
  }
  *clean = false;
  return ref + " now holds " + wrong + ", which is NOT the manifest sent, and could not be " +
         (previous ? "put back to " + *previous + " (" + not_restored + ") or " : "") +
         "removed (" + removed.message() + "); delete it by hand (DELETE /v2/" + dst_repo +
         "/manifests/" + wrong + ") or run apply again";
}

core::Status Copier::Restore(const std::string& dst_repo, const std::string& tag,
                             const std::string& previous) {
  // The registry still holds PREVIOUS by digest (a tag moving away deletes nothing).
  core::Result<providers::Manifest> old = core::Status::Internal("not read");
  for (int attempt = 1; attempt <= blob_attempts_; ++attempt) {
    old = dst_->GetManifest(dst_repo, previous);
    if (old.ok() || old.status().code() != core::Code::kDataLoss) break;
  }
  if (!old.ok()) return old.status();
  core::Status st;
  for (int attempt = 1; attempt <= blob_attempts_; ++attempt) {
    st = dst_->PutManifest(dst_repo, tag, *old);
    if (st.ok() || !AlteredOnTheWay(st)) return st;
  }
  return st;
}

core::Status Copier::RemoveAltered(const std::string& dst_repo, const std::string& tag,
                                   const std::string& wrong) {
  // docker-registry deletes by digest, taking every tag on it: a tag of someone
  // else's that happens to hold WRONG stops the deletion.
  auto tags = dst_->ListTags(dst_repo);
  if (!tags.ok()) return tags.status();
  std::string sharing;
  for (const std::string& t : *tags) {
    if (t == tag) continue;
    if (ledger_->IsAltered(dst_repo, wrong, t)) continue;  // as wrong as TAG
    auto h = dst_->HeadManifest(dst_repo, t);
    if (!h.ok()) return h.status();
    if (*h && (*h)->digest == wrong) sharing += (sharing.empty() ? "" : ", ") + t;
  }
  if (!sharing.empty()) {
    return core::Status::Conflict("the registry deletes by digest, and tag(s) " + sharing +
                                  " share it");
  }
  core::Status st = dst_->DeleteManifest(dst_repo, wrong);
  if (!st.ok() && st.code() != core::Code::kNotFound) return st;
  auto h = dst_->HeadManifest(dst_repo, tag);
  if (!h.ok()) return h.status();
  if (*h && (*h)->digest == wrong)
    return core::Status::Internal("the tag still held it after the delete");
  return core::Status::Ok();
}

core::Result<ManifestRefs> ParseManifestRefs(const providers::Manifest& m) {
  auto j = nlohmann::json::parse(m.bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return core::Status::InvalidArgument("is not valid JSON; it cannot be copied");
  ManifestRefs refs;
  if (providers::IsIndexMediaType(m.media_type) || (j.contains("manifests") && !j.contains("layers"))) {
    refs.is_index = true;
    if (!j.contains("manifests") || !j["manifests"].is_array())
      return core::Status::InvalidArgument("is an index without a \"manifests\" list");
    for (const auto& d : j["manifests"]) {
      std::string digest = d.is_object() && d.contains("digest") && d["digest"].is_string()
                               ? d["digest"].get<std::string>()
                               : "";
      if (!core::IsValidDigest(digest))
        return core::Status::InvalidArgument("is an index naming an invalid child digest");
      refs.children.push_back(digest);
    }
    return refs;
  }
  auto add = [&](const nlohmann::json& d) -> core::Status {
    std::string digest = d.is_object() && d.contains("digest") && d["digest"].is_string()
                             ? d["digest"].get<std::string>()
                             : "";
    if (!core::IsValidDigest(digest))
      return core::Status::InvalidArgument("names an invalid blob digest");
    std::int64_t size = d.contains("size") && d["size"].is_number_integer()
                            ? d["size"].get<std::int64_t>()
                            : -1;
    refs.blobs.push_back({digest, size});
    return core::Status::Ok();
  };
  if (j.contains("config") && j["config"].is_object()) CROSSDOCK_RETURN_IF_ERROR(add(j["config"]));
  if (j.contains("layers") && j["layers"].is_array()) {
    for (const auto& d : j["layers"]) {
      if (d.is_object() && IsForeignLayer(d)) continue;  // non-distributable: stays at its URLs
      CROSSDOCK_RETURN_IF_ERROR(add(d));
    }
  }
  return refs;
}

core::Status Copier::CopyManifestTree(const std::string& src_repo, const providers::Manifest& m,
                                      const std::string& dst_repo, int depth) {
  auto refs = ParseManifestRefs(m);
  if (!refs.ok())
    return core::Status::InvalidArgument("manifest " + src_repo + "@" + m.digest +
                                         " at endpoint \"" + src_->name() + "\" " +
                                         refs.status().message());
  if (refs->is_index) {
    if (depth > 2)
      return core::Status::InvalidArgument("index " + src_repo + "@" + m.digest +
                                           " nests indexes too deeply");
    for (const auto& digest : refs->children) {
      CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
      auto remember = [&] { ledger_->AddManifest(dst_repo, digest); };
      if (ledger_->HasManifest(dst_repo, digest)) continue;  // put or seen earlier in this apply
      auto have = dst_->HeadManifest(dst_repo, digest);
      if (!have.ok()) return have.status();
      if (!*have) {
        auto child = SourceManifest(src_repo, digest);
        if (!child.ok()) return child.status();
        CROSSDOCK_RETURN_IF_ERROR(CopyManifestTree(src_repo, *child, dst_repo, depth + 1));
        CROSSDOCK_RETURN_IF_ERROR(PutByDigest(dst_repo, *child));
      }
      remember();
    }
    return core::Status::Ok();
  }
  for (const auto& b : refs->blobs) {
    CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
    CROSSDOCK_RETURN_IF_ERROR(EnsureBlob(src_repo, dst_repo, b.digest, b.size));
  }
  return core::Status::Ok();
}

core::Status Copier::EnsureBlob(const std::string& src_repo, const std::string& dst_repo,
                                const std::string& digest, std::int64_t size) {
  // Another copy moving this blob is waited for, unless this one is abandoned.
  auto claim = ledger_->ClaimBlob(digest, dst_repo, kWakeInterval, [&] { return CheckAbandoned(); });
  if (!claim.ok()) return claim.status();
  if (claim->present) return core::Status::Ok();
  const std::string& mount_from = claim->mount_from;
  core::Status st;
  bool done = false;
  if (!mount_from.empty()) {
    auto mounted = dst_->MountBlob(dst_repo, digest, mount_from);
    if (mounted.ok() && *mounted) {
      if (progress_) ++progress_->blobs_mounted;
      done = true;
    }
  }
  if (!done) {
    auto exists = dst_->BlobExists(dst_repo, digest);
    if (!exists.ok()) {
      st = exists.status();
    } else if (*exists) {
      if (progress_) ++progress_->blobs_present;
    } else {
      st = TransferBlob(src_repo, dst_repo, digest, size);
      if (st.ok() && progress_) ++progress_->blobs_copied;
    }
  }
  ledger_->ReleaseBlob(digest, dst_repo, st.ok());
  return st;
}

core::Status Copier::TransferBlob(const std::string& src_repo, const std::string& dst_repo,
                                  const std::string& digest, std::int64_t size) {
  core::RetryPolicy policy;
  policy.max_attempts = blob_attempts_;
  Damage& d = damage_["blob " + digest];
  core::Status st;
  for (int attempt = 1; attempt <= blob_attempts_; ++attempt) {
    const int corrupt_before = d.corrupt;
    st = StreamBlob(src_repo, dst_repo, digest, size);
    // Whatever failed, a transfer cut short by a stop or the deadline reports that.
    if (!st.ok() && Abandoned()) return CheckAbandoned();
    if (st.ok()) return st;
    ++d.tries;
    // A digest mismatch is worth another try as transport trouble is: the download
    // arrived corrupted (Mismatch counted it), or the destination found the upload
    // altered (DIGEST_INVALID). So is a 401 on a streamed upload: the client has
    // fetched a new token by then (a token can expire mid-copy).
    const bool mismatch = st.code() == core::Code::kDataLoss;
    if (mismatch && d.corrupt == corrupt_before) ++d.rejected;
    const bool transient = mismatch || st.code() == core::Code::kUnavailable ||
                           st.code() == core::Code::kUnauthenticated;
    if (!transient) return st;
    if (attempt < blob_attempts_) {
      auto wake = std::chrono::steady_clock::now() + policy.Delay(attempt + 1, 0.5, std::nullopt);
      while (!Abandoned() && std::chrono::steady_clock::now() < wake) {
        std::this_thread::sleep_until(
            std::min(wake, std::chrono::steady_clock::now() + kWakeInterval));
      }
      CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
    }
  }
  if (st.code() != core::Code::kDataLoss) return st;
  return Damaged(st, BlobDamage(src_repo, dst_repo, digest));
}

std::string Copier::BlobDamage(const std::string& src_repo, const std::string& dst_repo,
                               const std::string& digest) {
  const Damage& d = damage_["blob " + digest];
  const std::string from = "endpoint \"" + src_->name() + "\"";
  const std::string to = "endpoint \"" + dst_->name() + "\"";
  const std::string last =
      d.corrupt > 0 ? " (last: " + d.last_got + ", " + std::to_string(d.last_size) + " bytes)" : "";
  if (d.corrupt == d.tries) {
    return "blob " + digest + " of " + src_repo + " at " + from + " arrived corrupted " +
           Tally(d.corrupt, d.tries, "download") + last +
           "; the source holds damaged content or something on the way alters it";
  }
  if (d.rejected == d.tries) {
    return "blob " + digest + " of " + src_repo + " arrived intact from " + from + ", but " + to +
           " found it altered " + Tally(d.rejected, d.tries, "upload") + " into " + dst_repo +
           "; something on the way to " + to + " alters it";
  }
  std::string parts;
  if (d.corrupt > 0)
    parts += std::to_string(d.corrupt) + " arrived corrupted from " + from + last;
  if (d.rejected > 0) {
    parts += (parts.empty() ? "" : ", ") + std::to_string(d.rejected) + " reached " + to +
             " altered";
  }
  if (d.tries > d.corrupt + d.rejected) parts += ", the others failed in transit";
  return "blob " + digest + " of " + src_repo + " could not be copied intact in " +
         std::to_string(d.tries) + " tries: " + parts +
         "; the source holds damaged content or something on the way alters it";
}

core::Status Copier::Mismatch(const std::string& src_repo, const std::string& digest,
                              const std::string& got, std::int64_t got_size) {
  Damage& d = damage_["blob " + digest];
  ++d.corrupt;
  d.last_got = got;
  d.last_size = got_size;
  return core::Status::DataLoss("blob " + digest + " of " + src_repo + " from endpoint \"" +
                                src_->name() + "\" arrived as " + got + " (" +
                                std::to_string(got_size) +
                                " bytes); refusing to upload corrupted content");
}

core::Status Copier::StreamBlob(const std::string& src_repo, const std::string& dst_repo,
                                const std::string& digest, std::int64_t size) {
  auto mismatch = [&](const std::string& got, std::int64_t got_size) {
    return Mismatch(src_repo, digest, got, got_size);
  };
  if (size >= 0 && size <= kBufferedBlobMax) {
    std::string data;
    data.reserve(static_cast<size_t>(size));
    core::Sha256 h;
    CROSSDOCK_RETURN_IF_ERROR(src_->GetBlob(src_repo, digest, [&](const char* p, size_t n) {
      if (data.size() + n > static_cast<size_t>(size)) return false;  // longer than declared
      if (Abandoned()) return false;
      data.append(p, n);
      h.Update(p, n);
      return true;
    }));
    std::string got = h.Finish();
    if (got != digest || static_cast<std::int64_t>(data.size()) != size)
      return mismatch(got, static_cast<std::int64_t>(data.size()));
    CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
    size_t off = 0;
    CROSSDOCK_RETURN_IF_ERROR(dst_->PutBlob(dst_repo, digest, size, [&](char* buf, size_t n) {
      if (Abandoned()) return -1L;  // aborts the upload, which the client then cancels
      size_t take = std::min(n, data.size() - off);
      std::copy_n(data.data() + off, take, buf);
      off += take;
      return static_cast<long>(take);
    }));
    if (progress_) progress_->bytes_copied += size;
    bytes_ += size;
    return core::Status::Ok();
  }

  if (src_ == dst_) return SpoolBlob(src_repo, dst_repo, digest, size);

  // Large blob: GET on a helper thread into the pipe; the upload reads from it. The
  // digest is checked before the pipe signals end-of-stream, so a corrupted blob
  // aborts the upload instead of completing it.
  //
  // The download and the upload each hold one of their endpoint's connections
  // (max_connections) while waiting for the other. Two copies in opposite directions
  // (X to Y and Y to X) could each hold one and wait forever for the second, so every
  // copy opens its two requests in one order: the endpoint whose name sorts first
  // first, and the second only once the first is open: the upload's first read of
  // the pipe shows that its request is, the download's first write that its is.
  BytePipe pipe(kPipeCapacity, [this] { return Abandoned(); });
  const bool upload_first = dst_->name() < src_->name();
  core::Status download = core::Status::Cancelled("the download did not start");
  bool download_started = false;
  std::int64_t received = 0;
  std::string got;
  std::thread producer([&] {
    if (upload_first && !pipe.WaitForReader()) return;
    download_started = true;
    core::Sha256 h;
    download = src_->GetBlob(src_repo, digest, [&](const char* p, size_t n) {
      h.Update(p, n);
      received += static_cast<std::int64_t>(n);
      if (progress_) progress_->bytes_copied += static_cast<std::int64_t>(n);
      bytes_ += static_cast<std::int64_t>(n);
      return pipe.Write(p, n);
    });
    got = h.Finish();
    pipe.Finish(download.ok() && got == digest && (size < 0 || received == size));
  });
  core::Status upload = core::Status::Cancelled("the upload did not start");
  if (upload_first || pipe.WaitForWriter()) {
    upload = dst_->PutBlob(dst_repo, digest, size,
                           [&](char* buf, size_t n) { return pipe.Read(buf, n); });
  }
  pipe.CloseReader();
  producer.join();
  if (!download_started) return upload.ok() ? download : upload;
  if (!download.ok()) return download;
  if (got != digest || (size >= 0 && received != size)) return mismatch(got, received);
  return upload;
}

core::Status Copier::SpoolBlob(const std::string& src_repo, const std::string& dst_repo,
                               const std::string& digest, std::int64_t size) {
  // Streaming through the pipe holds a download and an upload open at once, which an
  // endpoint with max_connections = 1 can never grant to the same copy.
  std::unique_ptr<std::FILE, FileCloser> file(std::tmpfile());
  if (!file) {
    return core::Status::Internal("cannot create a temporary file for blob " + digest +
                                  " of " + src_repo);
  }
  core::Sha256 h;
  std::int64_t received = 0;
  bool write_failed = false;
  core::Status download = src_->GetBlob(src_repo, digest, [&](const char* p, size_t n) {
    if (Abandoned()) return false;
    if (std::fwrite(p, 1, n, file.get()) != n) {
      write_failed = true;
      return false;
    }
    h.Update(p, n);
    received += static_cast<std::int64_t>(n);
    return true;
  });
  if (write_failed) {
    return core::Status::Internal("cannot write blob " + digest + " of " + src_repo +
                                  " to a temporary file");
  }
  CROSSDOCK_RETURN_IF_ERROR(download);
  std::string got = h.Finish();
  if (got != digest || (size >= 0 && received != size)) return Mismatch(src_repo, digest, got, received);
  CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
  std::rewind(file.get());
  CROSSDOCK_RETURN_IF_ERROR(dst_->PutBlob(dst_repo, digest, received, [&](char* buf, size_t n) {
    if (Abandoned()) return -1L;
    size_t got_bytes = std::fread(buf, 1, n, file.get());
    if (got_bytes == 0 && std::ferror(file.get())) return -1L;
    return static_cast<long>(got_bytes);
  }));
  if (progress_) progress_->bytes_copied += received;
  bytes_ += received;
  return core::Status::Ok();
}

core::Result<BlobLedger::Claim> BlobLedger::ClaimBlob(
    const std::string& digest, const std::string& repo, std::chrono::milliseconds wake,
    const std::function<core::Status()>& abandoned) {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    Entry& e = entries_[digest];
    if (std::find(e.repos.begin(), e.repos.end(), repo) != e.repos.end()) return Claim{true, ""};
    if (!e.in_flight) {
      e.in_flight = true;
      return Claim{false, e.repos.empty() ? "" : e.repos.front()};
    }
    cv_.wait_for(lk, wake);
    if (core::Status st = abandoned(); !st.ok()) return st;
  }
}

void BlobLedger::ReleaseBlob(const std::string& digest, const std::string& repo, bool arrived) {
  std::lock_guard<std::mutex> lk(mu_);
  Entry& e = entries_[digest];
  e.in_flight = false;
  if (arrived) e.repos.push_back(repo);
  cv_.notify_all();
}

void BlobLedger::MarkInFlight(const std::string& digest) {
  std::lock_guard<std::mutex> lk(mu_);
  entries_[digest].in_flight = true;
}

bool BlobLedger::HasManifest(const std::string& repo, const std::string& digest) const {
  std::lock_guard<std::mutex> lk(mu_);
  return manifests_.count({repo, digest}) > 0;
}

void BlobLedger::AddManifest(const std::string& repo, const std::string& digest) {
  std::lock_guard<std::mutex> lk(mu_);
  manifests_.insert({repo, digest});
}

void BlobLedger::MarkAltered(const std::string& repo, const std::string& digest,
                             const std::string& tag) {
  std::lock_guard<std::mutex> lk(mu_);
  altered_[{repo, digest}].insert(tag);
}

bool BlobLedger::IsAltered(const std::string& repo, const std::string& digest,
                           const std::string& tag) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = altered_.find({repo, digest});
  return it != altered_.end() && it->second.count(tag) > 0;
}

}  // namespace crossdock::applier
