// AliRegistry: the `ali-acr` endpoint type (Alibaba Cloud Container Registry), both
// editions, logged in with a RAM AccessKey pair (username = AccessKey ID, password =
// AccessKey secret), as Harbor's adapter does it (goharbor/harbor
// src/pkg/reg/adapter/aliacr/):
// - the edition, region and instance from the registry's /v2/ challenge: its service is
//   "registry.aliyuncs.com:REGION:…", ending in the instance id "cri-…" for an enterprise
//   instance; the OpenAPI is https://cr.REGION.aliyuncs.com unless api_url says otherwise;
// - personal edition: the Container Registry API 2016-06-07 (ROA signature): GET /tokens
//   for the registry login, /namespace, /repos/NS and /repos/NS/NAME/tags (tags with
//   digests), paged by total;
// - enterprise edition: the API 2018-12-01 (RPC signature 1.0): GetAuthorizationToken,
//   ListNamespace, ListRepository, ListRepoTag, paged by TotalCount;
// - the registry (data plane) logs in with the temporary user and token the OpenAPI
//   hands out, fetched again shortly before they expire;
// - namespaces must exist: crossdock does not create them (Harbor's adapter neither),
//   and the plan says to create a missing one in the console;
// - deletion by digest through the registry API;
// - at most 15 OpenAPI requests a second (Harbor's REG_ADAPTER_ACR_QPS_LIMIT cap),
//   evenly spaced, whatever the endpoint's own rate_limit: the OpenAPI is another host.
// Constructed by NewAliRegistry, from providers/factory.cc.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/retry.h"
#include "providers/vendor.h"

namespace crossdock::providers {

// What AliRegistry reads the time from and how it paces; tests replace them.
struct AliOptions {
  core::Clock* clock = nullptr;  // pacing and retry waits; null: core::Clock::Real()
  // Signature dates and the expiry of the registry login; null: system_clock::now.
  std::function<std::chrono::system_clock::time_point()> wall_clock;
  std::function<std::string()> nonce;  // RPC SignatureNonce; null: 16 random bytes, hex
  double requests_per_second = 15;     // OpenAPI requests, evenly spaced
  core::RetryPolicy retry;             // OpenAPI transport failures, 5xx, 429, Throttling
};

// The ali-acr endpoint ENDPOINT with CREDS (the AccessKey pair; none: anonymous pulls
// only) over HTTP. OPTIONS: the registry's own (rate_limit, connections).
core::Result<std::unique_ptr<Registry>> NewAliRegistry(const core::Endpoint& endpoint, Credentials creds,
                                                       HttpClient* http, DistributionOptions options,
                                                       AliOptions ali = {});

// Whether ID can be a RAM AccessKey ID (letters and digits, as "LTAI5t…"): a registry
// login (an account name, an e-mail) cannot.
bool IsAliAccessKeyId(const std::string& id);

// The HttpClient the registry's client sends through: requests carrying the stand-in
// login (Basic of kAliLoginStandIn) go out with the current temporary registry login
// instead, so the token realm sees the user and token the OpenAPI handed out.
class AliLoginRelay : public HttpClient {
 public:
  explicit AliLoginRelay(HttpClient* next) : next_(next) {}
  // LOGIN yields the current temporary login; set once, before any request.
  void set_login(std::function<core::Result<Credentials>()> login) { login_ = std::move(login); }
  core::Result<HttpResponse> Do(const HttpRequest& request) override;

 private:
  HttpClient* next_;
  std::function<core::Result<Credentials>()> login_;
};

// The username the registry's client is given in place of the temporary one.
inline constexpr const char* kAliLoginStandIn = "crossdock-ali-acr-temporary-login";

class AliRegistry : public VendorRegistry {
 public:
  // URL: the registry; API_URL: the OpenAPI ("" : https://cr.REGION.aliyuncs.com);
  // ACCESS_KEY: the AccessKey ID and secret; HTTP: the transport for the OpenAPI and the
  // /v2/ discovery; RELAY: what REGISTRY sends through (null when anonymous).
  AliRegistry(std::unique_ptr<DistributionRegistry> registry, std::string url, std::string api_url,
              Credentials access_key, HttpClient* http, std::unique_ptr<AliLoginRelay> relay,
              AliOptions options);

  core::Status Ping() override;
  core::Result<std::vector<std::string>> ListRepositories() override { return ListRepositoriesIn({}); }
  core::Result<std::vector<std::string>> ListRepositoriesIn(const std::vector<std::string>& namespaces) override;
  core::Result<std::vector<std::string>> ListTags(const std::string& repo) override;
  core::Result<TagListing> ListTagsWithDigests(const std::string& repo) override;
  bool ListingHasDigests() const override { return !access_key_.username.empty(); }
  PathRule path_rule() const override { return PathRuleOf("ali-acr"); }
  core::Result<Namespace> CheckNamespace(const std::string& repo) override;
  core::Status EnsureNamespace(const std::string& repo) override;
  core::Result<std::string> CheckControlPlane() override;
  long requests() const override;

  // The data plane, each after making sure the registry login is current.
  core::Result<std::optional<ManifestHead>> HeadManifest(const std::string& repo,
                                                         const std::string& ref) override;
  core::Result<Manifest> GetManifest(const std::string& repo, const std::string& ref) override;
  core::Status PutManifest(const std::string& repo, const std::string& ref,
                           const Manifest& manifest) override;
  core::Status DeleteManifest(const std::string& repo, const std::string& digest) override;
  core::Result<std::optional<std::vector<ManifestHead>>> ListReferrers(const std::string& repo,
                                                                       const std::string& digest) override;
  core::Result<bool> BlobExists(const std::string& repo, const std::string& digest) override;
  core::Result<bool> MountBlob(const std::string& repo, const std::string& digest,
                               const std::string& from_repo) override;
  core::Status GetBlob(const std::string& repo, const std::string& digest, const BlobSink& sink) override;
  core::Status PutBlob(const std::string& repo, const std::string& digest, std::int64_t size,
                       const BlobSource& source) override;

  // The temporary registry login, fetched when missing or close to expiry (a refusal is
  // remembered: asking again would be refused again). Thread-safe.
  core::Result<Credentials> TemporaryLogin();

 private:
  // Learnt from the registry's /v2/ challenge, once.
  struct Instance {
    bool enterprise = false;
    std::string region, instance_id;
    std::string api_url;  // the OpenAPI, with api_url's override applied
  };
  struct Login {
    Credentials creds;
    std::chrono::system_clock::time_point fetched{}, expires{};
  };
  struct Repo {
    std::string ns, name, id;  // id: the enterprise edition's RepoId
  };

  core::Result<Instance> Discover();
  // Discover() and TemporaryLogin() for a data-plane call; Ok when anonymous.
  core::Status EnsureLogin();
  // Sends the request BUILD makes (again for each attempt: a signature's nonce and date
  // are good once) straight to HTTP, the OpenAPI or the registry's /v2/; PACED by the
  // OpenAPI's limit; retried on transport failures, 5xx, 429 and Throttling answers.
  core::Result<HttpResponse> Send(const std::function<HttpRequest()>& build, bool paced);
  // A signed ROA GET of PATH with QUERY on the personal edition's OpenAPI: the answer's
  // "data" object.
  core::Result<nlohmann::json> Roa(const std::string& path, const std::map<std::string, std::string>& query,
                                   const std::string& what);
  // A signed RPC call of ACTION with PARAMS (InstanceId and RegionId added) on the
  // enterprise edition's OpenAPI: the answer.
  core::Result<nlohmann::json> Rpc(const std::string& action, std::map<std::string, std::string> params,
                                   const std::string& what);
  // The Status for a refused OpenAPI answer R to WHAT: Alibaba Cloud's error Code and
  // Message, and what to do about the common ones.
  core::Status AliError(const HttpResponse& r, const std::string& what) const;
  core::Status NoAccessKey(const std::string& what) const;
  core::Result<std::vector<std::string>> Namespaces();
  // The repositories of namespace NS (enterprise: with their RepoId).
  core::Result<std::vector<Repo>> Repositories(const std::string& ns);
  std::chrono::system_clock::time_point WallNow() const;
  std::string WhereApi(const std::string& what) const;

  std::string url_, api_url_override_;
  Credentials access_key_;
  HttpClient* http_;
  std::unique_ptr<AliLoginRelay> relay_;
  AliOptions options_;
  core::Clock* clock_;
  core::TokenBucket pacer_;

  std::mutex discover_mu_;  // held by the one caller discovering
  std::optional<Instance> instance_;
  std::mutex login_mu_;  // held while fetching; guards login_, login_error_*
  std::optional<Login> login_;
  core::Status login_error_;  // a refusal, answered until login_error_until_
  std::chrono::system_clock::time_point login_error_until_{};
  mutable std::mutex mu_;  // guards below
  long api_requests_ = 0;
  std::string api_where_;  // the OpenAPI's URL once known, for messages
  std::map<std::string, bool> namespaces_;  // known to exist
  std::map<std::string, std::string> repo_ids_;  // "ns/name" -> RepoId (enterprise)
};

}  // namespace crossdock::providers
