// DistributionRegistry: the generic OCI distribution API client (docker-registry,
// Docker Hub, Harbor…) over HttpClient, with anonymous, basic and bearer-token auth,
// and the endpoint's request limits (rate, connections, server-requested pauses).
// Constructed by cmd/ from a config Endpoint; used through providers::Registry.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <vector>

#include "core/retry.h"
#include "providers/http.h"
#include "providers/registry.h"
#include "providers/url.h"

namespace crossdock::providers {

// A parsed WWW-Authenticate challenge.
struct Challenge {
  std::string scheme;  // "basic", "bearer" (lowercased) or "" when none
  std::map<std::string, std::string> params;  // realm, service, scope, error
};
Challenge ParseChallenge(const std::string& header);

// The target of a pagination header `Link: <URL>; rel="next"`, or "" when LINK has none.
// LINK may hold several links ("<a>; rel=\"prev\", <b>; rel=\"next\"", as Harbor sends).
std::string ParseNextLink(const std::string& link);

// "Basic " + base64("user:password") of CREDS.
std::string BasicAuthorization(const Credentials& creds);

// A token server's answer (distribution's registry/auth/token spec): "token" or
// "access_token", and expires_in (seconds, default 60, at least 1).
struct TokenAnswer {
  std::string token;
  long expires_in = 60;
};
// Unavailable ("answered something that is not JSON", "answered without a token")
// when BODY is not a usable answer.
core::Result<TokenAnswer> ParseTokenAnswer(const std::string& body);

// An OAuth 2.0 error answer (RFC 6749 §5.2: {"error":"invalid_grant","error_description":
// "…"}), as token endpoints send them (Google's, ACR's /oauth2/*, registries' realms):
// each field "" when absent or not text.
struct OAuthError {
  std::string error, description;
};
OAuthError ParseOAuthError(const std::string& body);

// What an error answer says, for messages: "CODE: message" of the first of
// {"errors":[{"code","message"}]} (the registry API's, Harbor's, ACR's), else "ERROR:
// DESCRIPTION" of an OAuth error (ChartMuseum's bare {"error"} too); either part alone
// when the other is missing; "" when BODY is neither.
std::string ErrorMessageOf(const std::string& body);

// The count in a RateLimit-Limit or RateLimit-Remaining header as Docker Hub sends
// them ("100;w=21600": 100 pulls per 21,600 s window); nullopt when absent or malformed.
std::optional<long> ParseRateLimitHeader(const std::string& value);

// The most pages one listing (a catalog, a repository's tags) follows: 10 million
// entries at the 1,000 a page crossdock asks for, 1 million at the 100 some
// registries cap pages at. A registry sending next-page links beyond that (or back
// to a page already fetched) fails the listing instead of holding crossdock forever.
inline constexpr int kMaxListPages = 10000;

// The largest manifest (or referrers index) crossdock reads: distribution's own
// limit (registry/handlers/manifests.go, maxManifestBodySize), so no registry
// accepts a larger one. A download stops as soon as it passes this; a HEAD
// announcing more is refused without one. Never retried.
inline constexpr std::int64_t kMaxManifestSize = 4 << 20;
// The largest page of a listing (catalog, tag list): 200,000 tags of the maximum
// 128 characters fit in one page, for registries that ignore the page size asked.
inline constexpr std::int64_t kMaxListPageSize = 32 << 20;

// How a DistributionRegistry paces its requests (the endpoint's rate_limit and
// max_connections) and retries them.
struct DistributionOptions {
  core::RetryPolicy retry;
  // Requests a second to the endpoint, token requests included, spaced evenly (a
  // bucket of one token); 0: unlimited.
  double rate_limit_per_second = 0;
  int max_connections = 0;        // requests in flight at once; 0: unlimited
  // Every blob upload as POST, PATCH (with Content-Range when the size is known), PUT,
  // never one PUT carrying the body: Artifactory 6 answers that PUT 404 BLOB_UNKNOWN
  // (docker/buildx#196, JFrog RTFACT-19344), so jfrog-artifactory endpoints set it.
  bool patch_uploads = false;
  core::Clock* clock = nullptr;   // null: core::Clock::Real(); must outlive the registry
};

class DistributionRegistry : public Registry {
 public:
  // BASE_URL: "scheme://host[:port]". HTTP must outlive this object.
  DistributionRegistry(std::string name, std::string base_url, Credentials creds,
                       HttpClient* http, DistributionOptions options = {});

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

  long requests() const override;

  // Docker Hub's pull budget: the lowest RateLimit-Remaining and the last
  // RateLimit-Limit seen in any answer; nullopt until a registry sends them.
  std::optional<long> rate_limit_remaining() const override;
  std::optional<long> rate_limit_limit() const;

  // Until when a 429 or 503 with Retry-After paused every request to this endpoint
  // (a time point of the options' clock); a default time point when never paused.
  std::chrono::steady_clock::time_point paused_until() const;

  // For the vendor providers that wrap this client (providers/harbor…):
  // - sends REQ, a call to the vendor's control plane carrying its own auth header,
  //   through this endpoint's limits (pauses, connections, rate), retrying transport
  //   failures, 5xx and 429 like a registry request; counted in requests();
  core::Result<HttpResponse> SendControlPlane(const HttpRequest& req) { return DoWithRetries(req); }
  // - maps a non-success answer ({"errors":[{"code","message"}]} bodies included, as
  //   the registry API and Harbor's send them) to a Status saying what was being done.
  core::Status ErrorFor(const HttpResponse& resp, const std::string& what) const;
  const Credentials& credentials() const { return creds_; }
  // - sends REQ to the registry with the token for SCOPES, as every registry request
  //   (ping first, retries, a new token after a 401): for requests the generic client
  //   does not make (GCR's untag, a DELETE of a tag);
  core::Result<HttpResponse> SendToRegistry(HttpRequest req, const std::vector<std::string>& scopes) {
    return Send(std::move(req), scopes);
  }
  // - every page of a listing the generic client does not read (GCR's extended tags/list),
  //   as ListTags follows them;
  core::Status ForEachRegistryPage(const std::string& first_path,
                                   const std::vector<std::string>& scopes, const std::string& what,
                                   const std::function<core::Status(const HttpResponse&)>& page) {
    return ForEachPage(first_path, scopes, what, page);
  }
  // - a registry login that changes over time (ECR's 12-hour password from its API's
  //   GetAuthorizationToken): asked for the credentials of every request that sends
  //   them (basic auth, token requests) instead of those given at construction.
  //   REJECTED is the Authorization value the registry just refused with a 401 (""
  //   otherwise), which must not be handed out again; a basic 401 asks once more and
  //   retries, as an expired bearer token does. Must be thread-safe. REQUIRES: set
  //   before the first request. REFUSED_ADVICE: what to do when the token server
  //   refuses what LOGIN yields, ending that error ("": the generic advice for a
  //   password or an identity token).
  using LoginSource = std::function<core::Result<Credentials>(const std::string& rejected)>;
  void SetLoginSource(LoginSource login, std::string refused_advice = "") {
    login_ = std::move(login);
    refused_advice_ = std::move(refused_advice);
  }

 private:
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point refresh_at;  // on clock_
  };
  // The token for one (realm, service, scopes). Fields but fetch_mu guarded by mu_.
  struct TokenSlot {
    std::mutex fetch_mu;  // held by the one caller asking the token server
    std::string value;    // "" until a fetch succeeded
    std::chrono::steady_clock::time_point refresh_at{};
    long fetches = 0;        // finished, successful or not
    core::Status last_error;  // of the last fetch
  };

  // Sends REQ with auth for SCOPES. Retries transport failures, 5xx and 429 when
  // the request can be replayed (no body_source; with a body_sink, only HTTP answers,
  // which never reach the sink); fetches a new token after a 401 invalid_token once.
  // A request that cannot be replayed and meets that 401 returns Unavailable: the new
  // token is there for the caller's next attempt.
  core::Result<HttpResponse> Send(HttpRequest req, const std::vector<std::string>& scopes);
  // Every request to the endpoint goes through here: waits out a pause, holds a
  // connection slot, takes a rate token, then learns pauses and Docker Hub's budget
  // from the answer.
  core::Result<HttpResponse> DoLimited(const HttpRequest& req);
  // DoLimited, again after transport failures, 5xx and 429 (waiting as Send does),
  // up to the retry policy's attempts: for requests without auth (ping, token).
  core::Result<HttpResponse> DoWithRetries(const HttpRequest& req);
  // Records what ANSWER says about the endpoint's limits. REQUIRES: mu_ held.
  void ObserveLimitsLocked(const HttpResponse& answer);
  // A 429 or 503 asking for a longer wait than retry_.max_retry_after: not retried.
  bool WaitsTooLong(const HttpResponse& answer) const;
  // Waits before attempt ATTEMPT + 1 of a request whose attempt ATTEMPT got R.
  void BackOff(int attempt, const core::Result<HttpResponse>& r);
  core::Status EnsurePinged();
  // The Authorization header value for SCOPES ("" for anonymous access): basic
  // credentials, or a bearer token reused until shortly before it expires. Callers
  // needing the same new token wait for one token request. REJECTED: a value the
  // registry just refused (401 invalid_token), never handed out again.
  core::Result<std::string> AuthorizationFor(const std::vector<std::string>& scopes,
                                             const std::string& rejected);
  core::Result<Token> FetchToken(const std::vector<std::string>& scopes);
  // The login_ source's credentials (REJECTED as there), else creds_.
  core::Result<Credentials> Login(const std::string& rejected) const;
  std::string Url(const std::string& path) const { return base_url_ + path; }
  // REF, from the HEADER header of the answer to a request for REQUEST_URL, as an
  // absolute URL on this endpoint's origin. PermissionDenied, naming WHAT and the
  // endpoint, when it leads anywhere else (another scheme, host or port), and
  // Internal when the header is missing or unusable: nothing is sent there.
  core::Result<std::string> UrlOnEndpoint(const std::string& request_url, const std::string& ref,
                                          const std::string& header,
                                          const std::string& what) const;
  // GETs FIRST_PATH and each page its `Link: <…>; rel="next"` headers lead to on
  // this endpoint, handing every answer to PAGE (which returns an error to stop).
  // Internal when a link leads back to a page already fetched or past kMaxListPages.
  // WHAT ("listing tags of \"r\"") is for messages.
  core::Status ForEachPage(const std::string& first_path, const std::vector<std::string>& scopes,
                           const std::string& what,
                           const std::function<core::Status(const HttpResponse&)>& page);
  // What a name checked before it goes into a URL must be, besides a repository.
  enum class RefKind { kNone, kTagOrDigest, kDigest };
  // InvalidArgument, naming OP ("listing tags") and the endpoint, unless REPO is a
  // valid repository name and REF a valid tag or digest as KIND says (core/names.h,
  // core/digest.h): a name from outside ("lib/../other") never reaches a request.
  core::Status CheckNames(const std::string& op, const std::string& repo,
                          const std::string& ref = "", RefKind kind = RefKind::kNone) const;
  // InvalidArgument: manifest REPO:REF (REPO@DIGEST) is over kMaxManifestSize.
  core::Status ManifestTooLarge(const std::string& repo, const std::string& ref) const;

  std::string name_;
  std::string base_url_;
  std::optional<Origin> origin_;  // of base_url_; nullopt only for a malformed URL
  Credentials creds_;
  LoginSource login_;  // empty: creds_
  std::string refused_advice_;
  HttpClient* http_;
  core::RetryPolicy retry_;
  core::Clock* clock_;
  std::unique_ptr<core::TokenBucket> bucket_;                 // null: no rate limit
  std::unique_ptr<std::counting_semaphore<>> connections_;    // null: no limit
  bool patch_uploads_ = false;

  mutable std::mutex mu_;  // guards everything below
  // How long a ping that failed transiently (after its retries) answers for the
  // next callers before one pings again.
  static constexpr std::chrono::seconds kPingFailureMemory{30};
  bool pinged_ = false;
  std::mutex ping_once_mu_;  // held by the one caller pinging
  core::Status ping_status_;
  std::chrono::steady_clock::time_point ping_expires_{};  // of ping_status_, on clock_
  Challenge challenge_;
  // By realm, service and scopes; never erased, so a slot outlives its waiters.
  std::map<std::string, std::unique_ptr<TokenSlot>> tokens_;
  bool referrers_unsupported_ = false;   // learnt from a 404: asked no more
  bool referrers_known_ = false;         // a first answer told whether the API exists
  std::mutex referrers_probe_mu_;        // held by the first ListReferrers until then
  long requests_ = 0;
  std::chrono::steady_clock::time_point paused_until_{};
  std::optional<long> rate_limit_remaining_, rate_limit_limit_;
};

}  // namespace crossdock::providers
