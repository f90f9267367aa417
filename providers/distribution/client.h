// DistributionRegistry: the generic OCI distribution API client (docker-registry,
// Docker Hub, Harbor…) over HttpClient, with anonymous, basic and bearer-token auth.
// Constructed by cmd/ from a config Endpoint; used through providers::Registry.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/retry.h"
#include "providers/http.h"
#include "providers/registry.h"

namespace crossdock::providers {

struct Credentials {
  std::string username;
  std::string password;  // resolved secret; never printed
};

// A parsed WWW-Authenticate challenge.
struct Challenge {
  std::string scheme;  // "basic", "bearer" (lowercased) or "" when none
  std::map<std::string, std::string> params;  // realm, service, scope, error
};
Challenge ParseChallenge(const std::string& header);

class DistributionRegistry : public Registry {
 public:
  // BASE_URL: "scheme://host[:port]". HTTP must outlive this object.
  DistributionRegistry(std::string name, std::string base_url, Credentials creds,
                       HttpClient* http, core::RetryPolicy retry = {});

  const std::string& name() const override { return name_; }
  core::Status Ping() override;
  core::Result<std::vector<std::string>> ListRepositories() override;
  core::Result<std::vector<std::string>> ListTags(const std::string& repo) override;
  core::Result<std::optional<ManifestHead>> HeadManifest(const std::string& repo,
                                                         const std::string& ref) override;
  core::Result<Manifest> GetManifest(const std::string& repo, const std::string& ref) override;
  core::Status PutManifest(const std::string& repo, const std::string& ref,
                           const Manifest& manifest) override;
  core::Status DeleteManifest(const std::string& repo, const std::string& digest) override;
  core::Result<std::optional<std::vector<ManifestHead>>> ListReferrers(
      const std::string& repo, const std::string& digest) override;
  core::Result<bool> BlobExists(const std::string& repo, const std::string& digest) override;
  core::Result<bool> MountBlob(const std::string& repo, const std::string& digest,
                               const std::string& from_repo) override;
  core::Status GetBlob(const std::string& repo, const std::string& digest,
                       const BlobSink& sink) override;
  core::Status PutBlob(const std::string& repo, const std::string& digest, std::int64_t size,
                       const BlobSource& source) override;

  // Requests sent so far (every HTTP exchange, auth included), for reports.
  long requests() const;

 private:
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point refresh_at;
  };

  // Sends REQ with auth for SCOPES. Retries transport failures, 5xx and 429 when
  // the body can be replayed (no body_source/body_sink); fetches a new token after a
  // 401 invalid_token once.
  core::Result<HttpResponse> Send(HttpRequest req, const std::vector<std::string>& scopes);
  core::Status EnsurePinged();
  core::Result<std::string> AuthorizationFor(const std::vector<std::string>& scopes,
                                             bool force_refresh);
  core::Result<Token> FetchToken(const std::vector<std::string>& scopes);
  std::string Url(const std::string& path) const { return base_url_ + path; }
  std::string ResolveLocation(const std::string& location) const;
  // Maps a non-success answer to a Status saying what was being done.
  core::Status ErrorFor(const HttpResponse& resp, const std::string& what) const;

  std::string name_;
  std::string base_url_;
  Credentials creds_;
  HttpClient* http_;
  core::RetryPolicy retry_;

  std::mutex mu_;  // guards everything below
  bool pinged_ = false;
  core::Status ping_status_;
  Challenge challenge_;
  std::map<std::string, Token> tokens_;  // by joined scopes
  bool referrers_unsupported_ = false;   // learnt from a 404: asked no more
  long requests_ = 0;
};

}  // namespace crossdock::providers
