// FakeRegistry: an in-memory providers::Registry for unit tests of planner/ and
// applier/. Records every call (calls()) so tests can assert on what was asked, and
// can be told to fail listings or corrupt blobs.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/digest.h"
#include "providers/registry.h"

namespace crossdock::testing {

class FakeRegistry : public providers::Registry {
 public:
  explicit FakeRegistry(std::string name) : name_(std::move(name)) {}

  // Stores a single-layer image manifest under REPO:TAG; returns its digest.
  std::string AddImage(const std::string& repo, const std::string& tag, const std::string& content) {
    return AddArtifact(repo, tag, content, "application/vnd.oci.image.config.v1+json", "{}", "");
  }

  // An image whose config carries LABELS_JSON ({"k":"v"}) and whose manifest carries
  // ANNOTATIONS_JSON (may be empty).
  std::string AddLabelledImage(const std::string& repo, const std::string& tag,
                               const std::string& content, const std::string& labels_json,
                               const std::string& annotations_json = "") {
    return AddArtifact(repo, tag, content, "application/vnd.oci.image.config.v1+json",
                       labels_json, annotations_json);
  }

  // A manifest whose config has CONFIG_MEDIA_TYPE (e.g. a Helm chart's).
  std::string AddArtifact(const std::string& repo, const std::string& tag, const std::string& content,
                          const std::string& config_media_type, const std::string& labels_json,
                          const std::string& annotations_json) {
    std::string layer = "layer:" + content;
    std::string config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"c\":\"" + content +
                         "\",\"config\":{\"Labels\":" + labels_json + "}}";
    std::string ld = core::Sha256Digest(layer), cd = core::Sha256Digest(config);
    std::string body = "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(providers::kOciManifest) +
                       "\",\"config\":{\"mediaType\":\"" + config_media_type + "\","
                       "\"digest\":\"" + cd + "\",\"size\":" + std::to_string(config.size()) +
                       "},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                       "\"digest\":\"" + ld + "\",\"size\":" + std::to_string(layer.size()) + "}]" +
                       (annotations_json.empty() ? "" : ",\"annotations\":" + annotations_json) + "}";
    std::lock_guard<std::mutex> g(mu_);
    blobs_[repo][ld] = layer;
    blobs_[repo][cd] = config;
    return PutLocked(repo, tag, {providers::kOciManifest, core::Sha256Digest(body), body});
  }

  // An OCI index of manifests CHILDREN (digests already in REPO) under REPO:TAG;
  // returns its digest.
  std::string AddIndex(const std::string& repo, const std::string& tag,
                       const std::vector<std::string>& children) {
    std::lock_guard<std::mutex> g(mu_);
    std::string body = "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(providers::kOciIndex) +
                       "\",\"manifests\":[";
    for (size_t i = 0; i < children.size(); ++i) {
      const providers::Manifest& m = manifests_[repo].at(children[i]);
      body += (i ? "," : "") + std::string("{\"mediaType\":\"") + m.media_type + "\",\"digest\":\"" +
              m.digest + "\",\"size\":" + std::to_string(m.bytes.size()) + "}";
    }
    body += "]}";
    return PutLocked(repo, tag, {providers::kOciIndex, core::Sha256Digest(body), body});
  }

  void FailListingOf(const std::string& repo) { fail_list_.insert(repo); }
  // Flips one bit in the middle of each blob download, or only of the first TIMES
  // downloads of each blob.
  void CorruptBlobs(int times = -1) {
    std::lock_guard<std::mutex> g(mu_);
    corrupt_ = true;
    corrupt_times_ = times;
  }
  // What a corrupted download of CONTENT arrives as.
  static std::string CorruptedDigest(std::string content) {
    content[content.size() / 2] ^= 0x20;
    return core::Sha256Digest(content);
  }

  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> g(mu_);
    return calls_;
  }
  int count(const std::string& prefix) const {
    std::lock_guard<std::mutex> g(mu_);
    int n = 0;
    for (const auto& c : calls_) n += c.rfind(prefix, 0) == 0;
    return n;
  }
  std::optional<std::string> DigestOf(const std::string& repo, const std::string& tag) const {
    std::lock_guard<std::mutex> g(mu_);
    auto r = tags_.find(repo);
    if (r == tags_.end() || !r->second.count(tag)) return std::nullopt;
    return r->second.at(tag);
  }
  bool HasBlob(const std::string& repo, const std::string& digest) const {
    std::lock_guard<std::mutex> g(mu_);
    auto r = blobs_.find(repo);
    return r != blobs_.end() && r->second.count(digest);
  }

  // What rate_limit_remaining() answers, as Docker Hub's RateLimit-Remaining would.
  std::optional<long> remaining_pulls;
  std::optional<long> rate_limit_remaining() const override { return remaining_pulls; }

  const std::string& name() const override { return name_; }
  core::Status Ping() override { return Log("Ping"), core::Status::Ok(); }
  core::Result<std::vector<std::string>> ListRepositories() override {
    std::lock_guard<std::mutex> g(mu_);
    calls_.push_back("ListRepositories");
    std::vector<std::string> out;
    for (const auto& [r, t] : tags_) out.push_back(r);
    return out;
  }
  core::Result<std::vector<std::string>> ListTags(const std::string& repo) override {
    std::lock_guard<std::mutex> g(mu_);
    calls_.push_back("ListTags " + repo);
    if (fail_list_.count(repo)) return core::Status::Unavailable("listing " + repo + " failed");
    auto r = tags_.find(repo);
    if (r == tags_.end()) return core::Status::NotFound("repository \"" + repo + "\" does not exist");
    std::vector<std::string> out;
    for (const auto& [t, d] : r->second) out.push_back(t);
    return out;
  }
  core::Result<std::optional<providers::ManifestHead>> HeadManifest(const std::string& repo,
                                                                    const std::string& ref) override {
    std::lock_guard<std::mutex> g(mu_);
    calls_.push_back("HeadManifest " + repo + ":" + ref);
    auto d = ResolveLocked(repo, ref);
    if (!d) return std::optional<providers::ManifestHead>();
    const auto& m = manifests_[repo][*d];
    return std::optional<providers::ManifestHead>(
        providers::ManifestHead{*d, m.media_type, static_cast<std::int64_t>(m.bytes.size()), ""});
  }
  core::Result<providers::Manifest> GetManifest(const std::string& repo, const std::string& ref) override {
    std::lock_guard<std::mutex> g(mu_);
    calls_.push_back("GetManifest " + repo + ":" + ref);
    auto d = ResolveLocked(repo, ref);
    if (!d) return core::Status::NotFound("manifest " + repo + ":" + ref + " not found");
    return manifests_[repo][*d];
  }
  core::Status PutManifest(const std::string& repo, const std::string& ref,
                           const providers::Manifest& m) override {
    std::lock_guard<std::mutex> g(mu_);
    calls_.push_back("PutManifest " + repo + ":" + ref);
    PutLocked(repo, core::IsValidDigest(ref) ? "" : ref, m);
    return core::Status::Ok();
  }
  core::Status DeleteManifest(const std::string& repo, const std::string& digest) override {
    std::lock_guard<std::mutex> g(mu_);
    calls_.push_back("DeleteManifest " + repo + "@" + digest);
    bool found = manifests_[repo].erase(digest) > 0;
    for (auto it = tags_[repo].begin(); it != tags_[repo].end();)
      it = it->second == digest ? tags_[repo].erase(it) : std::next(it);
    return found ? core::Status::Ok() : core::Status::NotFound("no such manifest");
  }
  // A vendor's tag deletion (Harbor's, Quay's): TAG goes, other tags on its digest
  // stay. Off (the distribution API's DeleteManifest only) until tag_api is set.
  bool tag_api = false;
  bool DeletesTagsAlone() const override { return tag_api; }
  core::Status DeleteTag(const std::string& repo, const std::string& tag,
                         const std::string& digest) override {
    if (!tag_api) return Registry::DeleteTag(repo, tag, digest);
    std::lock_guard<std::mutex> g(mu_);
    calls_.push_back("DeleteTag " + repo + ":" + tag);
    return tags_[repo].erase(tag) > 0 ? core::Status::Ok() : core::Status::NotFound("no such tag");
  }
  core::Status EnsureNamespace(const std::string& repo) override {
    return Log("EnsureNamespace " + repo), core::Status::Ok();
  }
  // Referrers API: off until SetReferrers is called for some subject.
  void SetReferrers(const std::string& repo, const std::string& subject,
                    std::vector<providers::ManifestHead> referrers) {
    std::lock_guard<std::mutex> g(mu_);
    referrers_[repo + "@" + subject] = std::move(referrers);
  }
  core::Result<std::optional<std::vector<providers::ManifestHead>>> ListReferrers(
      const std::string& repo, const std::string& digest) override {
    std::lock_guard<std::mutex> g(mu_);
    calls_.push_back("ListReferrers " + repo + "@" + digest);
    if (referrers_.empty()) return std::optional<std::vector<providers::ManifestHead>>();
    auto it = referrers_.find(repo + "@" + digest);
    return std::optional<std::vector<providers::ManifestHead>>(
        it == referrers_.end() ? std::vector<providers::ManifestHead>{} : it->second);
  }
  core::Result<bool> BlobExists(const std::string& repo, const std::string& digest) override {
    std::lock_guard<std::mutex> g(mu_);
    calls_.push_back("BlobExists " + repo + "@" + digest);
    return blobs_[repo].count(digest) > 0;
  }
  core::Result<bool> MountBlob(const std::string& repo, const std::string& digest,
                               const std::string& from) override {
    std::lock_guard<std::mutex> g(mu_);
    calls_.push_back("MountBlob " + repo + "@" + digest + " from " + from);
    if (!blobs_[from].count(digest)) return false;
    blobs_[repo][digest] = blobs_[from][digest];
    return true;
  }
  core::Status GetBlob(const std::string& repo, const std::string& digest,
                       const providers::BlobSink& sink) override {
    std::string data;
    bool corrupt;
    {
      std::lock_guard<std::mutex> g(mu_);
      calls_.push_back("GetBlob " + repo + "@" + digest);
      if (!blobs_[repo].count(digest)) return core::Status::NotFound("no blob");
      data = blobs_[repo][digest];
      corrupt = corrupt_ && (corrupt_times_ < 0 || blob_gets_[digest]++ < corrupt_times_);
    }
    if (corrupt && !data.empty()) data[data.size() / 2] ^= 0x20;
    sink(data.data(), data.size());
    return core::Status::Ok();
  }
  core::Status PutBlob(const std::string& repo, const std::string& digest, std::int64_t,
                       const providers::BlobSource& source) override {
    std::string data;
    char buf[4096];
    for (;;) {
      long n = source(buf, sizeof buf);
      if (n < 0) return core::Status::Cancelled("upload aborted");
      if (n == 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    std::lock_guard<std::mutex> g(mu_);
    calls_.push_back("PutBlob " + repo + "@" + digest);
    if (core::Sha256Digest(data) != digest) return core::Status::DataLoss("digest mismatch");
    blobs_[repo][digest] = data;
    return core::Status::Ok();
  }

 private:
  void Log(const std::string& c) {
    std::lock_guard<std::mutex> g(mu_);
    calls_.push_back(c);
  }
  std::optional<std::string> ResolveLocked(const std::string& repo, const std::string& ref) {
    if (core::IsValidDigest(ref)) {
      if (manifests_[repo].count(ref)) return ref;
      return std::nullopt;
    }
    auto r = tags_.find(repo);
    if (r == tags_.end() || !r->second.count(ref)) return std::nullopt;
    return r->second.at(ref);
  }
  std::string PutLocked(const std::string& repo, const std::string& tag, const providers::Manifest& m) {
    manifests_[repo][m.digest] = m;
    if (!tag.empty()) tags_[repo][tag] = m.digest;
    else tags_[repo];
    return m.digest;
  }

  std::string name_;
  mutable std::mutex mu_;
  std::vector<std::string> calls_;
  std::map<std::string, std::map<std::string, std::string>> tags_;  // repo -> tag -> digest
  std::map<std::string, std::map<std::string, providers::Manifest>> manifests_;
  std::map<std::string, std::map<std::string, std::string>> blobs_;
  std::set<std::string> fail_list_;
  std::map<std::string, std::vector<providers::ManifestHead>> referrers_;
  bool corrupt_ = false;
  int corrupt_times_ = -1;                 // negative: every download
  std::map<std::string, int> blob_gets_;  // digest -> downloads so far
};

}  // namespace crossdock::testing
