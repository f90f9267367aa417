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
  std::string mt = d.value("mediaType", "");
  return mt.find("foreign") != std::string::npos ||
         mt.find("nondistributable") != std::string::npos;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

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
  return manifests_ ? manifests_->Get(src_->name(), digest, fetch) : fetch();
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
                                const std::string& dst_repo, const std::string& tag) {
  // By digest: apply copies exactly what the plan showed, even if the tag moved since.
  CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
  auto m = SourceManifest(src_repo, source_digest);
  if (!m.ok()) return m.status();
  CROSSDOCK_RETURN_IF_ERROR(CopyManifestTree(src_repo, *m, dst_repo, 0));
  // The tag goes last, and only if the copy was neither stopped nor past its deadline.
  CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
  return dst_->PutManifest(dst_repo, tag, *m);
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
      std::string digest = d.is_object() ? d.value("digest", "") : "";
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
      auto known = [&] {
        std::lock_guard<std::mutex> lk(ledger_->mu);
        return ledger_->manifests.count({dst_repo, digest}) > 0;
      };
      auto remember = [&] {
        std::lock_guard<std::mutex> lk(ledger_->mu);
        ledger_->manifests.insert({dst_repo, digest});
      };
      if (known()) continue;  // put or seen there earlier in this apply
      auto have = dst_->HeadManifest(dst_repo, digest);
      if (!have.ok()) return have.status();
      if (!*have) {
        auto child = SourceManifest(src_repo, digest);
        if (!child.ok()) return child.status();
        CROSSDOCK_RETURN_IF_ERROR(CopyManifestTree(src_repo, *child, dst_repo, depth + 1));
        CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
        CROSSDOCK_RETURN_IF_ERROR(dst_->PutManifest(dst_repo, digest, *child));
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
  std::string mount_from;
  {
    std::unique_lock<std::mutex> lk(ledger_->mu);
    for (;;) {
      auto& e = ledger_->entries[digest];
      if (std::find(e.repos.begin(), e.repos.end(), dst_repo) != e.repos.end()) return core::Status::Ok();
      if (!e.in_flight) {
        e.in_flight = true;
        if (!e.repos.empty()) mount_from = e.repos.front();
        break;
      }
      // Another copy is moving this blob; wait for it, unless this one is abandoned.
      ledger_->cv.wait_for(lk, kWakeInterval);
      CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
    }
  }
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
  std::lock_guard<std::mutex> lk(ledger_->mu);
  auto& e = ledger_->entries[digest];
  e.in_flight = false;
  if (st.ok()) e.repos.push_back(dst_repo);
  ledger_->cv.notify_all();
  return st;
}

core::Status Copier::TransferBlob(const std::string& src_repo, const std::string& dst_repo,
                                  const std::string& digest, std::int64_t size) {
  core::RetryPolicy policy;
  policy.max_attempts = blob_attempts_;
  core::Status st;
  for (int attempt = 1; attempt <= blob_attempts_; ++attempt) {
    st = StreamBlob(src_repo, dst_repo, digest, size);
    // Whatever failed, a transfer cut short by a stop or the deadline reports that.
    if (!st.ok() && Abandoned()) return CheckAbandoned();
    // Transport trouble is worth another try, and so is a 401 on a streamed upload:
    // the client has fetched a new token by then (a token can expire mid-copy). A
    // digest mismatch is not.
    bool transient = st.code() == core::Code::kUnavailable || st.code() == core::Code::kUnauthenticated;
    if (st.ok() || !transient) return st;
    if (attempt < blob_attempts_) {
      auto wake = std::chrono::steady_clock::now() + policy.Delay(attempt + 1, 0.5, std::nullopt);
      while (!Abandoned() && std::chrono::steady_clock::now() < wake) {
        std::this_thread::sleep_until(
            std::min(wake, std::chrono::steady_clock::now() + kWakeInterval));
      }
      CROSSDOCK_RETURN_IF_ERROR(CheckAbandoned());
    }
  }
  return st;
}

core::Status Copier::Mismatch(const std::string& src_repo, const std::string& digest,
                              const std::string& got, std::int64_t got_size) const {
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

}  // namespace crossdock::applier
