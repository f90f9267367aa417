// OCI distribution client. Protocol references: the OCI distribution spec,
// distribution/distribution registry/handlers and registry/auth/token, and the
// measured behaviour of docker-registry 2.8.2 in shared/reference/registry-facts.md.
#include "providers/distribution/client.h"

#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_set>

#include "core/digest.h"
#include "core/encoding.h"
#include "core/names.h"

namespace crossdock::providers {

namespace {

// distribution 2.8 answers 404 for an OCI manifest unless the OCI types are
// accepted, and converts a Docker v2 manifest to schema 1 (another digest) unless
// the v2 type is; schema 1 is listed last only so it can be refused clearly.
const char* kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.1";

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string PullScope(const std::string& repo) { return "repository:" + repo + ":pull"; }
std::string PushScope(const std::string& repo) { return "repository:" + repo + ":pull,push"; }

// How long an answer asks the client to wait: Retry-After in seconds, else Docker
// Hub's older X-Retry-After, a Unix time (docker/docs#22916 changed the Hub API from
// the one to the other; both are accepted).
std::optional<std::chrono::seconds> RetryAfterOf(const HttpResponse& answer) {
  if (auto s = core::ParseRetryAfter(answer.Header("retry-after"))) return s;
  const std::string epoch = answer.Header("x-retry-after");
  if (epoch.empty() || epoch.find_first_not_of("0123456789") != std::string::npos ||
      epoch.size() > 12)
    return std::nullopt;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return std::max(std::chrono::seconds(0), std::chrono::seconds(std::stoll(epoch)) - now);
}

std::string MediaTypeOf(const HttpResponse& resp, const std::string& body) {
  std::string ct = resp.Header("content-type");
  auto semi = ct.find(';');
  if (semi != std::string::npos) ct = ct.substr(0, semi);
  if (!ct.empty() && ct != "application/json" && ct != "text/plain") return ct;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("mediaType") && j["mediaType"].is_string())
    return j["mediaType"].get<std::string>();
  return ct;
}

// Gives a connection slot back when it goes out of scope.
class SlotGuard {
 public:
  explicit SlotGuard(std::counting_semaphore<>* slots) : slots_(slots) {
    if (slots_) slots_->acquire();
  }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;
  ~SlotGuard() {
    if (slots_) slots_->release();
  }

 private:
  std::counting_semaphore<>* slots_;
};

}  // namespace

bool IsIndexMediaType(const std::string& t) { return t == kOciIndex || t == kDockerManifestList; }

std::string ParseNextLink(const std::string& link) {
  // One header may carry several links, `<a>; rel="prev", <b>; rel="next"` (Harbor's
  // API does): the one whose parameters say rel="next". A URL holds no '<' or '>'.
  size_t lt = link.find('<');
  while (lt != std::string::npos) {
    const size_t gt = link.find('>', lt);
    if (gt == std::string::npos) return "";
    const size_t next_lt = link.find('<', gt);
    const std::string params =
        link.substr(gt + 1, next_lt == std::string::npos ? std::string::npos : next_lt - gt - 1);
    if (params.find("rel=\"next\"") != std::string::npos) return link.substr(lt + 1, gt - lt - 1);
    lt = next_lt;
  }
  return "";
}

std::string BasicAuthorization(const Credentials& creds) {
  return "Basic " + core::Base64Encode(creds.username + ":" + creds.password);
}

core::Result<TokenAnswer> ParseTokenAnswer(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return core::Status::Unavailable("answered something that is not JSON");
  TokenAnswer t;
  if (j.contains("token") && j["token"].is_string()) t.token = j["token"];
  if (t.token.empty() && j.contains("access_token") && j["access_token"].is_string())
    t.token = j["access_token"];
  if (t.token.empty()) return core::Status::Unavailable("answered without a token");
  // expires_in defaults to 60 s per the token spec; never read from the JWT.
  if (j.contains("expires_in") && j["expires_in"].is_number_integer())
    t.expires_in = std::max<long>(1, j["expires_in"].get<long>());
  return t;
}

OAuthError ParseOAuthError(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  auto text = [&](const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                   : std::string();
  };
  return {text("error"), text("error_description")};
}

std::string ErrorMessageOf(const std::string& body) {
  auto joined = [](const std::string& a, const std::string& b) {
    return a.empty() ? b : b.empty() ? a : a + ": " + b;
  };
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() &&
      j["errors"][0].is_object()) {
    const auto& e = j["errors"][0];
    auto text = [&](const char* key) {
      return e.contains(key) && e[key].is_string() ? e[key].get<std::string>() : std::string();
    };
    return joined(text("code"), text("message"));
  }
  const OAuthError oauth = ParseOAuthError(body);
  return joined(oauth.error, oauth.description);
}

std::optional<long> ParseRateLimitHeader(const std::string& value) {
  size_t i = 0;
  while (i < value.size() && value[i] == ' ') ++i;
  size_t start = i;
  while (i < value.size() && i - start < 18 && std::isdigit(static_cast<unsigned char>(value[i])))
    ++i;
  if (i == start || (i < value.size() && value[i] != ';' && value[i] != ' ' && value[i] != ','))
    return std::nullopt;
  return std::stol(value.substr(start, i - start));
}

Challenge ParseChallenge(const std::string& header) {
  Challenge c;
  size_t i = 0;
  while (i < header.size() && header[i] == ' ') ++i;
  size_t sp = header.find(' ', i);
  std::string scheme = header.substr(i, sp == std::string::npos ? std::string::npos : sp - i);
  for (auto& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  c.scheme = scheme;
  if (sp == std::string::npos) return c;
  i = sp + 1;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
    size_t eq = header.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = header.substr(i, eq - i);
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    i = eq + 1;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      ++i;
      while (i < header.size() && header[i] != '"') {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        value += header[i++];
      }
      ++i;
    } else {
      size_t end = header.find(',', i);
      value = header.substr(i, end == std::string::npos ? std::string::npos : end - i);
      i = end == std::string::npos ? header.size() : end;
    }
    c.params[key] = value;
  }
  return c;
}

DistributionRegistry::DistributionRegistry(std::string name, std::string base_url,
                                           Credentials creds, HttpClient* http,
                                           DistributionOptions options)
    : name_(std::move(name)),
      base_url_(std::move(base_url)),
      creds_(std::move(creds)),
      http_(http),
      retry_(options.retry),
      clock_(options.clock ? options.clock : core::Clock::Real()) {
  origin_ = ParseOrigin(base_url_);
  if (options.rate_limit_per_second > 0)
    bucket_ = std::make_unique<core::TokenBucket>(options.rate_limit_per_second, 1.0, clock_);
  if (options.max_connections > 0)
    connections_ = std::make_unique<std::counting_semaphore<>>(options.max_connections);
  patch_uploads_ = options.patch_uploads;
}

long DistributionRegistry::requests() const {
  std::lock_guard<std::mutex> g(mu_);
  return requests_;
}

std::optional<long> DistributionRegistry::rate_limit_remaining() const {
  std::lock_guard<std::mutex> g(mu_);
  return rate_limit_remaining_;
}

std::optional<long> DistributionRegistry::rate_limit_limit() const {
  std::lock_guard<std::mutex> g(mu_);
  return rate_limit_limit_;
}

std::chrono::steady_clock::time_point DistributionRegistry::paused_until() const {
  std::lock_guard<std::mutex> g(mu_);
  return paused_until_;
}

core::Result<HttpResponse> DistributionRegistry::DoLimited(const HttpRequest& req) {
  SlotGuard slot(connections_.get());
  for (;;) {
    std::chrono::steady_clock::time_point until;
    {
      std::lock_guard<std::mutex> g(mu_);
      until = paused_until_;
    }
    if (clock_->Now() < until) {
      clock_->SleepUntil(until);
      continue;  // the pause may have been extended meanwhile
    }
    if (bucket_) bucket_->Take();
    // A pause that began while this request waited for its token applies to it too.
    std::lock_guard<std::mutex> g(mu_);
    if (clock_->Now() >= paused_until_) break;
  }
  auto r = http_->Do(req);
  std::lock_guard<std::mutex> g(mu_);
  ++requests_;
  if (r.ok()) ObserveLimitsLocked(*r);
  return r;
}

void DistributionRegistry::ObserveLimitsLocked(const HttpResponse& answer) {
  // Docker Hub (docs.docker.com/docker-hub/download-rate-limit): "RateLimit-Remaining:
  // 76;w=21600". Concurrent answers arrive out of order: the lowest count is the latest.
  if (auto remaining = ParseRateLimitHeader(answer.Header("ratelimit-remaining"))) {
    rate_limit_remaining_ = std::min(*remaining, rate_limit_remaining_.value_or(*remaining));
  }
  if (auto limit = ParseRateLimitHeader(answer.Header("ratelimit-limit"))) rate_limit_limit_ = limit;
  if (answer.status != 429 && answer.status != 503) return;
  auto retry_after = RetryAfterOf(answer);
  if (!retry_after || retry_after->count() == 0) return;
  // Longer than crossdock waits: the request fails instead (WaitsTooLong), nobody pauses.
  if (*retry_after > retry_.max_retry_after) return;
  // The server asked the whole client to wait: every request to the endpoint does.
  auto until = clock_->Now() + std::min<std::chrono::milliseconds>(*retry_after,
                                                                    retry_.max_retry_after);
  paused_until_ = std::max(paused_until_, until);
}

core::Result<std::string> DistributionRegistry::UrlOnEndpoint(const std::string& request_url,
                                                             const std::string& ref,
                                                             const std::string& header,
                                                             const std::string& what) const {
  std::string where = what + " at endpoint \"" + name_ + "\"";
  if (ref.empty())
    return core::Status::Internal(where + ": the registry answered without a " + header +
                                  " header");
  std::string url = ResolveReference(request_url, ref);
  auto origin = ParseOrigin(url);
  // Written on the configured base URL, so every request names the endpoint alike.
  if (origin && origin_ && *origin == *origin_) return base_url_ + std::string(PathAndQuery(url));
  if (!origin)
    return core::Status::Internal(where + ": the registry's " + header +
                                  " header is not a usable http(s) URL: \"" +
                                  core::ShowName(ref) + "\"; nothing was sent to it");
  // A URL a registry hands out is followed only on the endpoint's own origin: the
  // request carries the endpoint's credentials (the token realm is the exception,
  // which gets only what the token protocol sends it).
  return core::Status::PermissionDenied(
      where + ": the registry's " + header + " header points to " + origin->ToString() +
      ", not to the endpoint's own origin " + (origin_ ? origin_->ToString() : base_url_) +
      "; crossdock sends nothing there, since the endpoint's credentials go only to its own "
      "URL. If the registry is behind a proxy, check the address it believes it is served at "
      "(docker-registry: http.host; X-Forwarded-Proto and Host)");
}

core::Status DistributionRegistry::ForEachPage(
    const std::string& first_path, const std::vector<std::string>& scopes, const std::string& what,
    const std::function<core::Status(const HttpResponse&)>& page) {
  const std::string where = what + " at endpoint \"" + name_ + "\"";
  std::string url = Url(first_path);
  std::unordered_set<std::string> fetched;
  for (int pages = 0;; ++pages) {
    if (!fetched.insert(url).second)
      return core::Status::Internal(
          where + ": the registry's next-page Link leads back to a page already fetched (" +
          core::ShowName(PathAndQuery(url)) + ") after " + std::to_string(pages) +
          (pages == 1 ? " page" : " pages") +
          "; following it would never end, so the listing failed. The registry's pagination is "
          "broken: report it to whoever runs it");
    if (pages == kMaxListPages)
      return core::Status::Internal(
          where + ": the registry still sends next-page links after " +
          std::to_string(kMaxListPages) + " pages (10 million entries at 1,000 a page), the "
          "most crossdock follows, so the listing failed");
    HttpRequest req;
    req.url = url;
    req.max_body_size = kMaxListPageSize;
    auto r = Send(req, scopes);
    if (!r.ok()) return r.status();
    if (r->body_too_large && r->status == 200)
      return core::Status::Internal(where + ": a page of the answer is larger than " +
                                    std::to_string(kMaxListPageSize >> 20) +
                                    " MiB, the most crossdock reads; it was not read further");
    CROSSDOCK_RETURN_IF_ERROR(page(*r));
    // Link: </v2/_catalog?last=x&n=1000>; rel="next"
    std::string next = ParseNextLink(r->Header("link"));
    if (next.empty()) return core::Status::Ok();
    auto next_url = UrlOnEndpoint(url, next, "next-page Link", what);
    if (!next_url.ok()) return next_url.status();
    url = *next_url;
  }
}

core::Status DistributionRegistry::CheckNames(const std::string& op, const std::string& repo,
                                              const std::string& ref, RefKind kind) const {
  auto refuse = [&](const std::string& what, const std::string& name, const std::string& rule) {
    return core::Status::InvalidArgument(op + " at endpoint \"" + name_ + "\": " + what + " \"" +
                                         core::ShowName(name) + "\" is not valid (" + rule +
                                         "); nothing was sent");
  };
  if (!core::IsValidRepositoryName(repo))
    return refuse("repository name", repo,
                  "lowercase letters and digits, '.', '_', '__' or '-' between them, components "
                  "separated by '/', at most 255 characters");
  const bool digest_ok = core::IsValidDigest(ref);
  if (kind == RefKind::kDigest && !digest_ok)
    return refuse("digest", ref, "sha256: and 64 lowercase hex digits");
  if (kind == RefKind::kTagOrDigest && !digest_ok && !core::IsValidTag(ref))
    return refuse("tag", ref,
                  "up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'");
  return core::Status::Ok();
}

core::Status DistributionRegistry::ManifestTooLarge(const std::string& repo,
                                                    const std::string& ref) const {
  return core::Status::InvalidArgument(
      "manifest " + repo + core::RefSuffix(ref) + " at endpoint \"" + name_ + "\" is larger than " +
      std::to_string(kMaxManifestSize >> 20) +
      " MiB, the most any registry accepts (distribution's own limit), so it cannot be copied; "
      "crossdock stopped reading it");
}

core::Status DistributionRegistry::ErrorFor(const HttpResponse& resp,
                                            const std::string& what) const {
  std::string detail = ErrorMessageOf(resp.body);
  std::string where = what + " at endpoint \"" + name_ + "\"";
  std::string suffix = detail.empty() ? "" : ": " + detail;
  switch (resp.status) {
    case 401:
      return core::Status::Unauthenticated(
          where + ": HTTP 401, credentials were rejected" + suffix +
          "; check the endpoint's username and password");
    case 403:
      return core::Status::PermissionDenied(where + ": HTTP 403, access denied" + suffix +
                                            "; the account lacks the needed permission");
    case 404:
      return core::Status::NotFound(where + ": HTTP 404, not found" + suffix);
    case 429: {
      std::string wait;
      if (auto after = RetryAfterOf(resp))
        wait = "; the registry asks to wait " + std::to_string(after->count()) + " s" +
               (WaitsTooLong(resp) ? ", longer than crossdock waits (" +
                                         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                            retry_.max_retry_after)
                                                            .count()) +
                                         " s): run again later"
                                   : "");
      return core::Status::Unavailable(where + ": HTTP 429, rate limited" + suffix + wait);
    }
    default:
      if (resp.status >= 500)
        return core::Status::Unavailable(where + ": HTTP " + std::to_string(resp.status) +
                                         ", registry error" + suffix);
      return core::Status::Internal(where + ": unexpected HTTP " + std::to_string(resp.status) +
                                    suffix);
  }
}

bool DistributionRegistry::WaitsTooLong(const HttpResponse& answer) const {
  if (answer.status != 429 && answer.status != 503) return false;
  auto after = RetryAfterOf(answer);
  return after && *after > retry_.max_retry_after;
}

core::Result<HttpResponse> DistributionRegistry::DoWithRetries(const HttpRequest& req) {
  core::Result<HttpResponse> r = core::Status::Internal("no attempt");
  for (int attempt = 1;; ++attempt) {
    r = DoLimited(req);
    bool transient = !r.ok() || (core::IsRetryableHttpStatus(r->status) && !WaitsTooLong(*r));
    if (!transient || attempt >= retry_.max_attempts) return r;
    BackOff(attempt, r);
  }
}

core::Status DistributionRegistry::EnsurePinged() {
  // The answer holds until ping_expires_: for good, except a transient failure, which
  // is asked again a while later (`crossdock run` keeps its registries for days).
  auto known = [&] { return pinged_ && clock_->Now() < ping_expires_; };
  {
    std::lock_guard<std::mutex> g(mu_);
    if (known()) return ping_status_;
  }
  // One ping per registry: concurrent first requests wait for it.
  std::lock_guard<std::mutex> once(ping_once_mu_);
  {
    std::lock_guard<std::mutex> g(mu_);
    if (known()) return ping_status_;
  }
  HttpRequest req;
  req.url = Url("/v2/");
  // Retried like every other request: one 500 or 429 must not fail every rule.
  auto r = DoWithRetries(req);
  core::Status st;
  Challenge ch;
  if (!r.ok()) {
    st = r.status().WithContext("cannot reach endpoint \"" + name_ + "\"");
  } else if (r->status == 401) {
    ch = ParseChallenge(r->Header("www-authenticate"));
    if (ch.scheme != "basic" && ch.scheme != "bearer") {
      st = core::Status::Unauthenticated("endpoint \"" + name_ +
                                         "\" asks for an unsupported authentication scheme \"" +
                                         ch.scheme + "\"");
    } else if (ch.scheme == "bearer" && ch.params["realm"].empty()) {
      st = core::Status::Unauthenticated("endpoint \"" + name_ +
                                         "\" sent a bearer challenge without a realm");
    }
  } else if (r->status >= 300 && r->status != 404) {
    // 404: some registries serve only /v2/<name>/…; anything else is worth saying.
    st = ErrorFor(*r, "GET /v2/");
  }
  std::lock_guard<std::mutex> g(mu_);
  pinged_ = true;
  ping_status_ = st;
  challenge_ = ch;
  ping_expires_ = st.code() == core::Code::kUnavailable
                      ? clock_->Now() + kPingFailureMemory
                      : std::chrono::steady_clock::time_point::max();
  return ping_status_;
}

core::Result<DistributionRegistry::Token> DistributionRegistry::FetchToken(
    const std::vector<std::string>& scopes) {
  std::string realm, service;
  {
    std::lock_guard<std::mutex> g(mu_);
    realm = challenge_.params["realm"];
    service = challenge_.params["service"];
  }
  std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  url += "service=" + UrlEncode(service);
  for (const auto& s : scopes) url += "&scope=" + UrlEncode(s);
  HttpRequest req;
  req.url = url;
  auto login = Login("");
  if (!login.ok()) return login.status();
  const Credentials& creds = *login;
  const bool identity_token = creds.username == kIdentityTokenUser;
  // Credentials (a whole private key for GCR, refresh tokens, cloud logins) go only
  // where the registry's own scheme would take them: never from https down to plain
  // http, except on this machine.
  if (!creds.username.empty() && origin_ && origin_->scheme == "https") {
    const auto to = ParseOrigin(realm);
    if (!to || (to->scheme != "https" && !IsLoopbackHost(to->host)))
      return core::Status::PermissionDenied(
          "endpoint \"" + name_ + "\" (" + base_url_ + ") names the token realm " +
          realm.substr(0, realm.find_first_of("?#")) +
          " in its Bearer challenge, which is not https: crossdock does not send the "
          "endpoint's credentials there in clear from an https registry; have the registry "
          "name an https realm (or give the endpoint an http:// url if the whole registry "
          "really is plain http)");
  }
  if (identity_token) {
    // An identity token (`docker login`'s "identitytoken", a helper's "<token>" user)
    // is an OAuth2 refresh token, exchanged at the realm by POST (distribution
    // docs/spec/auth/oauth.md; docker/cli does the same).
    req.method = "POST";
    req.url = realm;
    req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
    req.body = "grant_type=refresh_token&client_id=crossdock&service=" + UrlEncode(service) +
               "&refresh_token=" + UrlEncode(creds.password);
    if (!scopes.empty()) req.body += "&scope=" + UrlEncode(Join(scopes, " "));
  } else if (!creds.username.empty()) {
    req.headers.push_back({"Authorization", BasicAuthorization(creds)});
  }
  auto r = DoWithRetries(req);
  std::string what = "token request to the auth server of endpoint \"" + name_ + "\"";
  if (!r.ok()) return r.status().WithContext(what);
  // An OAuth server refuses a refresh token with 400 invalid_grant (RFC 6749 §5.2).
  if (r->status == 401 || r->status == 403 ||
      (r->status == 400 && identity_token && !ParseOAuthError(r->body).error.empty())) {
    // The server's words (ACR's error code, an OAuth error), never what was sent.
    std::string detail = ErrorMessageOf(r->body);
    for (size_t at; !creds.password.empty() && (at = detail.find(creds.password)) != std::string::npos;)
      detail.replace(at, creds.password.size(), "…");
    const std::string advice =
        !refused_advice_.empty() ? refused_advice_
        : identity_token
            ? "the identity token (an OAuth refresh token" +
                  (creds.source.empty() ? "" : ", from " + creds.source) +
                  ") was rejected: it may have expired or been revoked; log in again for a "
                  "new one"
            : "credentials were rejected; check the endpoint's username and password";
    return core::Status::Unauthenticated(what + " was refused (HTTP " + std::to_string(r->status) +
                                         (detail.empty() ? "" : ", " + detail) + "): " + advice);
  }
  if (r->status != 200)
    return core::Status::Unavailable(what + " failed with HTTP " + std::to_string(r->status));
  if (r->body_too_large)
    return core::Status::Internal(what + " answered more than " +
                                  std::to_string(kDefaultMaxBodySize >> 20) +
                                  " MiB, which is not a token");
  auto answer = ParseTokenAnswer(r->body);
  if (!answer.ok()) return core::Status::Unavailable(what + " " + answer.status().message());
  // Refresh from expires_in, shortly before it runs out.
  const long expires_in = answer->expires_in;
  double margin = std::min(10.0, expires_in * 0.2);
  Token t;
  t.value = answer->token;
  t.refresh_at = clock_->Now() +
                 std::chrono::milliseconds(static_cast<long>((expires_in - margin) * 1000));
  return t;
}

core::Result<std::string> DistributionRegistry::AuthorizationFor(
    const std::vector<std::string>& scopes, const std::string& rejected) {
  std::string scheme, key;
  {
    std::lock_guard<std::mutex> g(mu_);
    scheme = challenge_.scheme;
    key = challenge_.params["realm"] + " " + challenge_.params["service"] + " " + Join(scopes, " ");
  }
  if (scheme == "basic") {
    auto login = Login(rejected);
    if (!login.ok()) return login.status();
    return login->username.empty() ? std::string() : BasicAuthorization(*login);
  }
  if (scheme != "bearer") return std::string();

  // A token is good until shortly before it expires, unless the registry refused it.
  auto usable = [&](const TokenSlot& t) {
    return !t.value.empty() && clock_->Now() < t.refresh_at && "Bearer " + t.value != rejected;
  };
  TokenSlot* slot;
  long seen;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto& owned = tokens_[key];
    if (!owned) owned = std::make_unique<TokenSlot>();
    slot = owned.get();
    if (usable(*slot)) return "Bearer " + slot->value;
    seen = slot->fetches;
  }
  // Single flight: one caller asks the token server for this (realm, service,
  // scopes); the others wait for its answer, token or error, and share it.
  std::lock_guard<std::mutex> fetching(slot->fetch_mu);
  {
    std::lock_guard<std::mutex> g(mu_);
    if (slot->fetches != seen) {
      if (usable(*slot)) return "Bearer " + slot->value;
      if (!slot->last_error.ok()) return slot->last_error;
    }
  }
  auto t = FetchToken(scopes);
  std::lock_guard<std::mutex> g(mu_);
  ++slot->fetches;
  slot->last_error = t.status();
  if (!t.ok()) return t.status();
  slot->value = t->value;
  slot->refresh_at = t->refresh_at;
  return "Bearer " + t->value;
}

core::Result<Credentials> DistributionRegistry::Login(const std::string& rejected) const {
  if (login_) return login_(rejected);
  return creds_;
}

void DistributionRegistry::BackOff(int attempt, const core::Result<HttpResponse>& r) {
  auto retry_after = r.ok() ? RetryAfterOf(*r) : std::nullopt;
  // A Retry-After on a 429 or 503 paused the whole endpoint (DoLimited waits it out).
  if (retry_after && retry_after->count() > 0 && (r->status == 429 || r->status == 503)) return;
  clock_->SleepFor(retry_.Delay(attempt + 1, core::Jitter(), retry_after));
}

core::Result<HttpResponse> DistributionRegistry::Send(HttpRequest req,
                                                      const std::vector<std::string>& scopes) {
  CROSSDOCK_RETURN_IF_ERROR(EnsurePinged());
  // An HTTP error answer never reaches body_sink, so only an upload's body (or a
  // download cut off by the transport) rules out sending the request again.
  const bool replayable = !req.body_source && !req.body_sink;
  const bool replayable_answer = !req.body_source;
  const size_t base_headers = req.headers.size();
  bool refreshed = false;
  for (int attempt = 1;; ++attempt) {
    auto auth = AuthorizationFor(scopes, "");
    if (!auth.ok()) return auth.status();
    req.headers.resize(base_headers);
    if (!auth->empty()) req.headers.push_back({"Authorization", *auth});
    auto r = DoLimited(req);
    if (r.ok() && r->status == 401 && !refreshed) {
      Challenge ch = ParseChallenge(r->Header("www-authenticate"));
      if ((ch.scheme == "bearer" && ch.params["error"] != "insufficient_scope") ||
          (ch.scheme == "basic" && login_ && !auth->empty())) {
        // Expired or revoked token (or login): fetch a new one and try again, once.
        refreshed = true;
        auto fresh = AuthorizationFor(scopes, *auth);
        if (!fresh.ok()) return fresh.status();
        if (replayable_answer) {
          --attempt;
          continue;
        }
        // The upload's body is spent: the caller starts it over, with the new token.
        return core::Status::Unavailable(
            req.method + " " + req.url + " at endpoint \"" + name_ +
            "\": HTTP 401, the token expired during the request; a new one was fetched for "
            "the next attempt");
      }
      return r;
    }
    bool transient = !r.ok() || (core::IsRetryableHttpStatus(r->status) && !WaitsTooLong(*r));
    bool may_repeat = r.ok() ? replayable_answer : replayable;
    if (!transient || !may_repeat || attempt >= retry_.max_attempts) return r;
    BackOff(attempt, r);
  }
}

core::Status DistributionRegistry::Ping() {
  CROSSDOCK_RETURN_IF_ERROR(EnsurePinged());
  // Prove the credentials: a catalog-scoped token (bearer) or an authenticated
  // /v2/ (basic). Anonymous registries need nothing more.
  HttpRequest req;
  req.url = Url("/v2/");
  auto r = Send(req, {"registry:catalog:*"});
  if (!r.ok()) return r.status();
  if (r->status == 401) return ErrorFor(*r, "GET /v2/");
  return core::Status::Ok();
}

core::Result<std::vector<std::string>> DistributionRegistry::ListRepositories() {
  std::vector<std::string> out;
  const std::string what = "listing repositories (GET /v2/_catalog)";
  core::Status st = ForEachPage(
      "/v2/_catalog?n=1000", {"registry:catalog:*"}, what, [&](const HttpResponse& r) {
        if (r.status != 200) return ErrorFor(r, what);
        auto j = nlohmann::json::parse(r.body, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("repositories"))
          return core::Status::Internal("endpoint \"" + name_ +
                                        "\" answered GET /v2/_catalog with something that is not "
                                        "a repository list");
        if (j["repositories"].is_array())
          for (const auto& v : j["repositories"])
            if (v.is_string()) out.push_back(v.get<std::string>());
        return core::Status::Ok();
      });
  if (!st.ok()) return st;
  return out;
}

core::Result<std::vector<std::string>> DistributionRegistry::ListTags(const std::string& repo) {
  CROSSDOCK_RETURN_IF_ERROR(CheckNames("listing tags", repo));
  std::vector<std::string> out;
  const std::string what = "listing tags of \"" + repo + "\"";
  core::Status st = ForEachPage(
      "/v2/" + repo + "/tags/list?n=1000", {PullScope(repo)}, what, [&](const HttpResponse& r) {
        if (r.status == 404)
          return core::Status::NotFound("repository \"" + repo +
                                        "\" does not exist at endpoint \"" + name_ + "\"");
        if (r.status != 200) return ErrorFor(r, what);
        auto j = nlohmann::json::parse(r.body, nullptr, false);
        if (j.is_discarded() || !j.is_object())
          return core::Status::Internal("endpoint \"" + name_ + "\" answered the tag list of \"" +
                                        repo + "\" with something that is not JSON");
        if (j.contains("tags") && j["tags"].is_array())
          for (const auto& v : j["tags"])
            if (v.is_string()) out.push_back(v.get<std::string>());
        return core::Status::Ok();
      });
  if (!st.ok()) return st;
  return out;
}

core::Result<std::optional<ManifestHead>> DistributionRegistry::HeadManifest(
    const std::string& repo, const std::string& ref) {
  CROSSDOCK_RETURN_IF_ERROR(CheckNames("HEAD manifest", repo, ref, RefKind::kTagOrDigest));
  HttpRequest req;
  req.method = "HEAD";
  req.url = Url("/v2/" + repo + "/manifests/" + ref);
  req.headers.push_back({"Accept", kManifestAccept});
  auto r = Send(req, {PullScope(repo)});
  if (!r.ok()) return r.status();
  if (r->status == 404) return std::optional<ManifestHead>();
  if (r->status != 200) return ErrorFor(*r, "HEAD manifest " + repo + ":" + ref);
  ManifestHead h;
  h.digest = r->Header("docker-content-digest");
  h.media_type = MediaTypeOf(*r, "");
  std::string len = r->Header("content-length");
  h.size = len.empty() ? 0 : std::atoll(len.c_str());
  if (h.size > kMaxManifestSize) return ManifestTooLarge(repo, ref);
  if (!core::IsValidDigest(h.digest)) {
    // Some registries omit the digest on HEAD: compute it from the body.
    auto m = GetManifest(repo, ref);
    if (!m.ok()) return m.status();
    h.digest = m->digest;
    h.media_type = m->media_type;
    h.size = static_cast<std::int64_t>(m->bytes.size());
  }
  return std::optional<ManifestHead>(h);
}

core::Result<Manifest> DistributionRegistry::GetManifest(const std::string& repo,
                                                         const std::string& ref) {
  CROSSDOCK_RETURN_IF_ERROR(CheckNames("GET manifest", repo, ref, RefKind::kTagOrDigest));
  HttpRequest req;
  req.url = Url("/v2/" + repo + "/manifests/" + ref);
  req.headers.push_back({"Accept", kManifestAccept});
  req.max_body_size = kMaxManifestSize;
  auto r = Send(req, {PullScope(repo)});
  if (!r.ok()) return r.status();
  if (r->status == 200 && r->body_too_large) return ManifestTooLarge(repo, ref);
  if (r->status == 404)
    return core::Status::NotFound("manifest " + repo + ":" + ref + " not found at endpoint \"" +
                                  name_ + "\"");
  if (r->status != 200) return ErrorFor(*r, "GET manifest " + repo + ":" + ref);
  Manifest m;
  m.bytes = std::move(r->body);
  m.digest = core::Sha256Digest(m.bytes);
  m.media_type = MediaTypeOf(*r, m.bytes);
  if (m.media_type == kDockerSchema1Signed || m.media_type == kDockerSchema1)
    return core::Status::InvalidArgument(
        "manifest " + repo + ":" + ref + " at endpoint \"" + name_ +
        "\" is Docker schema 1, which cannot be copied with its digest preserved; re-push it "
        "as Docker v2 or OCI");
  std::string expected = core::IsValidDigest(ref) ? ref : r->Header("docker-content-digest");
  if (!expected.empty() && expected != m.digest)
    return core::Status::DataLoss("manifest " + repo + ":" + ref + " from endpoint \"" + name_ +
                                  "\" has digest " + m.digest + " but the registry said " +
                                  expected + "; refusing to copy it");
  return m;
}

core::Status DistributionRegistry::PutManifest(const std::string& repo, const std::string& ref,
                                               const Manifest& manifest) {
  CROSSDOCK_RETURN_IF_ERROR(CheckNames("PUT manifest", repo, ref, RefKind::kTagOrDigest));
  HttpRequest req;
  req.method = "PUT";
  req.url = Url("/v2/" + repo + "/manifests/" + ref);
  req.headers.push_back({"Content-Type", manifest.media_type});
  req.body = manifest.bytes;
  auto r = Send(req, {PushScope(repo)});
  if (!r.ok()) return r.status();
  if (r->status != 201 && r->status != 200 && r->status != 202)
    return ErrorFor(*r, "PUT manifest " + repo + ":" + ref);
  std::string got = r->Header("docker-content-digest");
  if (got.empty()) {
    // The spec has registries report Docker-Content-Digest, and docker-registry does;
    // one that does not is asked what the reference now holds, so a manifest altered
    // on the way is noticed all the same.
    auto h = HeadManifest(repo, ref);
    if (h.ok() && *h) got = (*h)->digest;
  }
  if (!got.empty() && got != manifest.digest)
    return core::Status::DataLoss("endpoint \"" + name_ + "\" stored manifest " + repo + ":" +
                                  ref + " as " + got + " instead of " + manifest.digest);
  return core::Status::Ok();
}

core::Status DistributionRegistry::DeleteManifest(const std::string& repo,
                                                  const std::string& digest) {
  CROSSDOCK_RETURN_IF_ERROR(CheckNames("DELETE manifest", repo, digest, RefKind::kDigest));
  HttpRequest req;
  req.method = "DELETE";
  req.url = Url("/v2/" + repo + "/manifests/" + digest);
  auto r = Send(req, {"repository:" + repo + ":delete"});
  if (!r.ok()) return r.status();
  if (r->status == 202 || r->status == 200) return core::Status::Ok();
  if (r->status == 405)
    return core::Status::PermissionDenied(
        "endpoint \"" + name_ + "\" does not allow deleting manifests (HTTP 405); enable "
        "deletion on the registry (docker-registry: storage.delete.enabled)");
  return ErrorFor(*r, "DELETE manifest " + repo + "@" + digest);
}

core::Result<std::optional<std::vector<ManifestHead>>> DistributionRegistry::ListReferrers(
    const std::string& repo, const std::string& digest) {
  CROSSDOCK_RETURN_IF_ERROR(CheckNames("listing referrers", repo, digest, RefKind::kDigest));
  using Answer = std::optional<std::vector<ManifestHead>>;
  bool known = false;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (referrers_unsupported_) return Answer();
    known = referrers_known_;
  }
  // Until one answer says whether the API exists, one caller asks and the others
  // wait for it: a registry without the API gets one probe, not one per worker.
  std::unique_lock<std::mutex> probe(referrers_probe_mu_, std::defer_lock);
  if (!known) {
    probe.lock();
    std::lock_guard<std::mutex> g(mu_);
    if (referrers_unsupported_) return Answer();
    if (referrers_known_) probe.unlock();
  }
  // OCI distribution spec 1.1 "Listing Referrers": a registry with the API answers
  // 200 and an image index (empty when nothing refers to DIGEST); one without it 404.
  HttpRequest req;
  req.url = Url("/v2/" + repo + "/referrers/" + digest);
  req.headers.push_back({"Accept", kOciIndex});
  req.max_body_size = kMaxManifestSize;
  auto r = Send(req, {PullScope(repo)});
  if (!r.ok()) return r.status();
  if (r->status == 200 && r->body_too_large)
    return core::Status::InvalidArgument("the referrers of " + repo + "@" + digest +
                                         " at endpoint \"" + name_ + "\" are listed in an index "
                                         "larger than 4 MiB, the most crossdock reads");
  if (r->status == 404) {
    std::lock_guard<std::mutex> g(mu_);
    referrers_unsupported_ = true;
    referrers_known_ = true;
    return Answer();
  }
  if (r->status == 200) {
    std::lock_guard<std::mutex> g(mu_);
    referrers_known_ = true;
  }
  if (r->status != 200) return ErrorFor(*r, "listing referrers of " + repo + "@" + digest);
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("manifests") || !j["manifests"].is_array())
    return core::Status::Internal("endpoint \"" + name_ + "\" answered the referrers of " + repo +
                                  "@" + digest + " with something that is not an image index");
  std::vector<ManifestHead> out;
  for (const auto& d : j["manifests"]) {
    ManifestHead h;
    h.digest = d.value("digest", "");
    h.media_type = d.value("mediaType", "");
    h.size = d.contains("size") && d["size"].is_number_integer() ? d["size"].get<std::int64_t>() : 0;
    h.artifact_type = d.value("artifactType", "");
    if (!core::IsValidDigest(h.digest))
      return core::Status::Internal("endpoint \"" + name_ + "\" listed a referrer of " + repo +
                                    "@" + digest + " with an invalid digest");
    out.push_back(h);
  }
  return Answer(std::move(out));
}

core::Result<bool> DistributionRegistry::BlobExists(const std::string& repo,
                                                    const std::string& digest) {
  CROSSDOCK_RETURN_IF_ERROR(CheckNames("HEAD blob", repo, digest, RefKind::kDigest));
  HttpRequest req;
  req.method = "HEAD";
  req.url = Url("/v2/" + repo + "/blobs/" + digest);
  auto r = Send(req, {PullScope(repo)});
  if (!r.ok()) return r.status();
  if (r->status == 200) return true;
  if (r->status == 404) return false;
  return ErrorFor(*r, "HEAD blob " + repo + "@" + digest);
}

core::Result<bool> DistributionRegistry::MountBlob(const std::string& repo,
                                                   const std::string& digest,
                                                   const std::string& from_repo) {
  CROSSDOCK_RETURN_IF_ERROR(CheckNames("mounting blob", repo, digest, RefKind::kDigest));
  CROSSDOCK_RETURN_IF_ERROR(CheckNames("mounting blob", from_repo));
  HttpRequest req;
  req.method = "POST";
  req.url = Url("/v2/" + repo + "/blobs/uploads/?mount=" + UrlEncode(digest) +
                "&from=" + UrlEncode(from_repo));
  auto r = Send(req, {PushScope(repo), PullScope(from_repo)});
  if (!r.ok()) return r.status();
  if (r->status == 201) return true;
  if (r->status == 202) {
    // The registry opened an upload instead of mounting: cancel it, on this
    // endpoint only.
    auto loc = UrlOnEndpoint(req.url, r->Header("location"), "Location",
                             "mounting blob " + digest + " into \"" + repo + "\"");
    if (!loc.ok()) return loc.status();
    HttpRequest del;
    del.method = "DELETE";
    del.url = *loc;
    (void)Send(del, {PushScope(repo)});
    return false;
  }
  return ErrorFor(*r, "mounting blob " + digest + " into " + repo);
}

core::Status DistributionRegistry::GetBlob(const std::string& repo, const std::string& digest,
                                           const BlobSink& sink) {
  CROSSDOCK_RETURN_IF_ERROR(CheckNames("GET blob", repo, digest, RefKind::kDigest));
  HttpRequest req;
  req.url = Url("/v2/" + repo + "/blobs/" + digest);
  req.body_sink = sink;
  auto r = Send(req, {PullScope(repo)});
  if (!r.ok()) return r.status().WithContext("downloading blob " + digest + " of " + repo);
  if (r->status != 200) return ErrorFor(*r, "GET blob " + repo + "@" + digest);
  return core::Status::Ok();
}

core::Status DistributionRegistry::PutBlob(const std::string& repo, const std::string& digest,
                                           std::int64_t size, const BlobSource& source) {
  CROSSDOCK_RETURN_IF_ERROR(CheckNames("uploading blob", repo, digest, RefKind::kDigest));
  HttpRequest start;
  start.method = "POST";
  start.url = Url("/v2/" + repo + "/blobs/uploads/");
  auto r = Send(start, {PushScope(repo)});
  if (!r.ok()) return r.status();
  if (r->status != 202) return ErrorFor(*r, "starting an upload into " + repo);
  const std::string what = "uploading blob " + digest + " into \"" + repo + "\"";
  auto started = UrlOnEndpoint(start.url, r->Header("location"), "Location", what);
  if (!started.ok()) return started.status();
  std::string location = *started;
  auto cancel = [&] {
    HttpRequest del;
    del.method = "DELETE";
    del.url = location;
    (void)Send(del, {PushScope(repo)});
  };
  std::string sep = location.find('?') == std::string::npos ? "?" : "&";
  constexpr std::int64_t kMonolithicMax = 32ll << 20;
  HttpRequest put;
  put.method = "PUT";
  put.headers.push_back({"Content-Type", "application/octet-stream"});
  if (size >= 0 && size <= kMonolithicMax && !patch_uploads_) {
    // Small blob: one PUT carrying the body (POST + PUT in all).
    put.url = location + sep + "digest=" + UrlEncode(digest);
    put.body_source = source;
    put.body_size = size;
  } else {
    // Large or unknown size: one streamed PATCH (chunked encoding), then a PUT that
    // names the digest.
    HttpRequest patch;
    patch.method = "PATCH";
    patch.url = location;
    patch.headers.push_back({"Content-Type", "application/octet-stream"});
    patch.body_source = source;
    patch.body_size = size;
    // The distribution spec's range for a first chunk of SIZE bytes (inclusive end).
    if (size > 0) patch.headers.push_back({"Content-Range", "0-" + std::to_string(size - 1)});
    auto p = Send(patch, {PushScope(repo)});
    if (!p.ok()) {
      cancel();
      return p.status().WithContext("uploading blob " + digest + " into " + repo);
    }
    if (p->status != 202) {
      cancel();
      return ErrorFor(*p, "uploading blob " + digest + " into " + repo);
    }
    // The PATCH answer's Location, when given, is where the upload goes on.
    if (!p->Header("location").empty()) {
      auto next = UrlOnEndpoint(location, p->Header("location"), "Location", what);
      if (!next.ok()) {
        cancel();
        return next.status();
      }
      location = *next;
    }
    sep = location.find('?') == std::string::npos ? "?" : "&";
    put.url = location + sep + "digest=" + UrlEncode(digest);
  }
  auto f = Send(put, {PushScope(repo)});
  if (!f.ok()) {
    cancel();
    return f.status().WithContext("uploading blob " + digest + " into " + repo);
  }
  if (f->status == 400 && ErrorMessageOf(f->body).rfind("DIGEST_INVALID", 0) == 0) {
    cancel();
    return core::Status::DataLoss("endpoint \"" + name_ + "\" rejected blob " + digest +
                                  " of " + repo + ": content does not match its digest");
  }
  if (f->status != 201) {
    cancel();
    return ErrorFor(*f, "finishing the upload of blob " + digest + " into " + repo);
  }
  return core::Status::Ok();
}

}  // namespace crossdock::providers
