// Registry: the abstract interface to one endpoint (listing, manifests, blobs,
// deletion) that planner/ and applier/ use. distribution/ implements it for every
// registry speaking the OCI distribution API; vendors adapt around it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace crossdock::providers {

// The four manifest media types crossdock copies, and the legacy one it refuses.
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr const char* kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";

bool IsIndexMediaType(const std::string& media_type);

struct ManifestHead {
  std::string digest;
  std::string media_type;
  std::int64_t size = 0;
  std::string artifact_type;  // referrers only: the referrer's artifactType
};

struct Manifest {
  std::string media_type;
  std::string digest;  // sha256 of bytes
  std::string bytes;   // exactly as served: pushed back byte for byte
};

// The username that marks Credentials::password as an identity token (an OAuth2
// refresh token from `docker login`), as Docker's auth files and helpers write it.
inline constexpr const char* kIdentityTokenUser = "<token>";

// What an endpoint logs in with.
struct Credentials {
  std::string username;
  std::string password;  // resolved secret; never printed
  // Where they came from, for `endpoint test`: "the endpoint's username and password",
  // "auths in /root/.docker/config.json", "docker-credential-pass (credHelpers in …)",
  // "anonymous".
  std::string source;
};

// A repository's tags, and the digest of each where the vendor's listing says it
// (Harbor's, Docker Hub's, Quay's and GCR's listings do; the OCI distribution API's
// tags/list does not, and then DIGESTS is empty).
struct TagListing {
  std::vector<std::string> tags;
  std::map<std::string, std::string> digests;  // tag -> "sha256:…"
  // tag -> the registry's own labels on the artifact it holds (Harbor's labels),
  // which the rules' label filters read before the artifact's annotations.
  std::map<std::string, std::vector<std::string>> labels;
};

// The namespace a push to a repository needs at a registry (a Harbor project, a
// Quay organisation, a JFrog repository key), as CheckNamespace finds it.
struct Namespace {
  std::string name;    // "": the registry has no such thing (repositories appear on push)
  bool exists = true;  // false: EnsureNamespace creates it
  // Why nothing can be pushed there, with what to do ("create the organization
  // \"team\" on quay.io first"; "project \"cache\" is a proxy cache"); "" when a
  // push can go ahead (once a missing namespace is created).
  std::string refusal;
};

// How many path components a repository name may have at a registry (Docker Hub:
// exactly 2, "namespace/name"; Quay: 2; Harbor: at least 2, "project/…"). 0: no bound.
struct PathRule {
  int min_components = 1;
  int max_components = 0;
  std::string why;  // the registry's own words for the rule, for messages
};

// Streaming blob download: receives the bytes; return false to abort.
using BlobSink = std::function<bool(const char* data, size_t n)>;
// Streaming blob upload source: as HttpRequest::body_source.
using BlobSource = std::function<long(char* buf, size_t n)>;

class Registry {
 public:
  virtual ~Registry() = default;

  // "name" from the config, for messages.
  virtual const std::string& name() const = 0;

  // GET /v2/ and auth discovery. Unauthenticated when credentials are rejected.
  virtual core::Status Ping() = 0;

  // Every repository (paginated _catalog).
  virtual core::Result<std::vector<std::string>> ListRepositories() = 0;

  // The repositories whose first path component is one of NAMESPACES, or every one
  // when it is empty. A registry listing by namespace (Docker Hub's namespaces,
  // Harbor's projects) asks for just those; the others list everything, and the
  // caller filters either way.
  virtual core::Result<std::vector<std::string>> ListRepositoriesIn(
      const std::vector<std::string>& namespaces) {
    (void)namespaces;
    return ListRepositories();
  }

  // Every tag of REPO. NotFound when the repository does not exist.
  virtual core::Result<std::vector<std::string>> ListTags(const std::string& repo) = 0;

  // ListTags, with each tag's digest when the listing API gives it. A provider that
  // overrides this returns true from ListingHasDigests: the planner then lists a
  // destination repository once instead of sending a HEAD per tag.
  virtual core::Result<TagListing> ListTagsWithDigests(const std::string& repo) {
    auto tags = ListTags(repo);
    if (!tags.ok()) return tags.status();
    return TagListing{std::move(*tags), {}, {}};
  }
  virtual bool ListingHasDigests() const { return false; }

  // HEAD of a manifest by tag or digest; nullopt when absent (404).
  virtual core::Result<std::optional<ManifestHead>> HeadManifest(const std::string& repo,
                                                                 const std::string& ref) = 0;

  // GET of a manifest; verifies the digest (DataLoss on mismatch); NotFound when absent;
  // InvalidArgument for schema 1 manifests, which cannot be copied digest-preserving.
  virtual core::Result<Manifest> GetManifest(const std::string& repo, const std::string& ref) = 0;

  // PUT of MANIFEST's bytes under REF (tag or digest).
  virtual core::Status PutManifest(const std::string& repo, const std::string& ref,
                                   const Manifest& manifest) = 0;

  // DELETE by digest (removes every tag on it at docker-registry). NotFound when absent.
  virtual core::Status DeleteManifest(const std::string& repo, const std::string& digest) = 0;

  // The manifests whose "subject" is DIGEST (the OCI 1.1 referrers API), as
  // descriptors; nullopt when the registry does not offer the API (it answers 404).
  virtual core::Result<std::optional<std::vector<ManifestHead>>> ListReferrers(
      const std::string& repo, const std::string& digest) = 0;

  virtual core::Result<bool> BlobExists(const std::string& repo, const std::string& digest) = 0;

  // Cross-repository mount; false when the registry started an upload instead
  // (which is then cancelled) or refused.
  virtual core::Result<bool> MountBlob(const std::string& repo, const std::string& digest,
                                       const std::string& from_repo) = 0;

  // Streams the blob into SINK. The caller verifies the digest.
  virtual core::Status GetBlob(const std::string& repo, const std::string& digest,
                               const BlobSink& sink) = 0;

  // Uploads a blob of SIZE bytes (-1: unknown) from SOURCE, finishing with DIGEST. The
  // registry verifies the digest too. SOURCE returning -1 abandons the upload.
  virtual core::Status PutBlob(const std::string& repo, const std::string& digest,
                               std::int64_t size, const BlobSource& source) = 0;

  // HTTP requests sent so far (every exchange, auth included), for reports and
  // /metrics; 0 for a registry that does not count them.
  virtual long requests() const { return 0; }

  // What vendors need, each with the plain registry's answer as default:
  // - the repository path rule the planner checks destinations against;
  virtual PathRule path_rule() const { return {}; }
  // - the namespace (Harbor project, Quay organisation, ECR repository) a push to
  //   REPO needs, created when missing; a plain registry creates repositories on push;
  virtual core::Status EnsureNamespace(const std::string& repo) {
    (void)repo;
    return core::Status::Ok();
  }
  // - that namespace, whether it exists and whether crossdock may push there, for the
  //   plan (no change made);
  virtual core::Result<Namespace> CheckNamespace(const std::string& repo) {
    (void)repo;
    return Namespace{};
  }
  // - the vendor's control plane (Harbor's API, the Hub API): authenticates and lists
  //   one page, for `endpoint test`; returns what it saw ("" for a plain registry),
  //   or what failed;
  virtual core::Result<std::string> CheckControlPlane() { return std::string(); }
  // - deleting TAG, which holds DIGEST. A plain registry deletes the manifest by
  //   digest, which takes every tag on it along (DeletesTagsAlone false: the applier
  //   refuses when another tag shares the digest); a vendor with a tag API deletes the
  //   tag alone.
  virtual core::Status DeleteTag(const std::string& repo, const std::string& tag,
                                 const std::string& digest) {
    (void)tag;
    return DeleteManifest(repo, digest);
  }
  virtual bool DeletesTagsAlone() const { return false; }

  // - whether the registry stores a conversion of what PutManifest is given rather
  //   than the manifest itself (a Helm chart repository keeps the chart's .tgz and
  //   shows it as its own OCI manifest): HeadManifest then names another digest than
  //   the one pushed, so the applier reads back what the tag holds and the state
  //   records both digests.
  virtual bool ConvertsManifests() const { return false; }

  // How many pulls the registry says remain in its rate-limit window (Docker Hub's
  // RateLimit-Remaining), as last seen; nullopt when it never said.
  virtual std::optional<long> rate_limit_remaining() const { return std::nullopt; }
};

}  // namespace crossdock::providers
