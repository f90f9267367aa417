// Registry: the abstract interface to one endpoint (listing, manifests, blobs,
// deletion) that planner/ and applier/ use. distribution/ implements it for every
// registry speaking the OCI distribution API; vendors adapt around it.
#pragma once

#include <cstdint>
#include <functional>
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

  // Every tag of REPO. NotFound when the repository does not exist.
  virtual core::Result<std::vector<std::string>> ListTags(const std::string& repo) = 0;

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

  // How many pulls the registry says remain in its rate-limit window (Docker Hub's
  // RateLimit-Remaining), as last seen; nullopt when it never said.
  virtual std::optional<long> rate_limit_remaining() const { return std::nullopt; }
};

}  // namespace crossdock::providers
