// dockerhub: a loopback fake of Docker Hub — the Hub API (hub.docker.com), the registry
// (registry-1.docker.io) and its token service (auth.docker.io) on one port — in front of a
// real, plain docker-registry that holds the data, for end-to-end tests of crossdock's
// Docker Hub provider; started by tests/support/vendor_fakes.cc (DockerHubFake). Facts are
// collected in ../shared/reference/vendors.md §3; "[?]" marks a behaviour no source pins.
//
// Hub API (docs.docker.com/reference/api/hub/latest/, OpenAPI docker/docs
// content/reference/api/hub/latest.yaml @ c065f80):
//   POST /v2/auth/token {"identifier","secret"} (AuthCreateAccessToken)
//        → {"access_token":T}, valid --token-lifetime seconds (the docs: 10 minutes);
//        401 {"detail":"Incorrect authentication credentials"}; 400 without both fields.
//   Hub calls take "Authorization: Bearer T" (or the legacy "JWT T"); an expired token is
//   401 {"detail":"token expired"}, an unknown one 401 {"detail":"invalid token"} (a token
//   that fails fails the call even where anonymous callers are welcome, as Django REST
//   framework authenticates before it authorizes). Without one the caller is anonymous
//   and sees public repositories only.
//   GET  /v2/namespaces/{ns}/repositories?page&page_size&name&ordering (listNamespaceRepositories)
//   POST /v2/namespaces/{ns}/repositories {"name","namespace","description",
//        "full_description","is_private"} (CreateRepository) → 201 repository_info; 401
//        anonymous; 403 {"detail":"You do not have permission to perform this action."}
//        outside the caller's namespaces; 400 for a name outside 2–255
//        ^[a-z0-9]+(?:[._-][a-z0-9]+)*$ or a body namespace other than {ns}; 409 when the
//        repository exists [?: the docs list no 409].
//   GET|HEAD /v2/namespaces/{ns}/repositories/{repo} (GetRepository, CheckRepository)
//   GET|HEAD /v2/namespaces/{ns}/repositories/{repo}/tags?page&page_size&name&ordering
//        (ListRepositoryTags) → results [{"name","digest" (the manifest's or index's),
//        "media_type","content_type","last_updated","tag_last_pushed","full_size",
//        "images":[{"architecture","os","digest","size",…}],…}]
//   GET|HEAD /v2/namespaces/{ns}/repositories/{repo}/tags/{tag} (GetRepositoryTag)
//   DELETE   /v2/namespaces/{ns}/repositories/{repo}/tags/{tag} → 204 [?: not in the docs]
//   Legacy, undocumented, what Harbor's adapter calls (src/pkg/reg/adapter/dockerhub):
//   GET /v2/repositories/{ns}/, GET /v2/repositories/{ns}/{repo}/tags/ (the same bodies),
//   DELETE /v2/repositories/{ns}/{repo}/tags/{tag}/ → 204. Trailing slashes are optional.
//   Lists are Django REST framework pages: {"count","next","previous","results"}, page from
//   1, page_size default 10, above 100 served as 100, invalid ones the default; next and
//   previous are ABSOLUTE URLs (http://HOST + the raw path + the query with page replaced,
//   re-encoded and sorted by key, rest_framework/utils/urls.py replace_query_param), the
//   previous of page 2 has no page parameter at all (remove_query_param), the last page's
//   next is null; a page past the end (or not a number) is 404 {"detail":"Invalid page."}.
//   Orders: repositories by name unless ?ordering= (name, -name, last_updated,
//   -last_updated, pull_count, -pull_count; anything else 400); tags newest first.
//   Unknown or invisible repository: 404 {"message":"object not found","errinfo":{…}}.
//   Rights: --user NAME owns namespace NAME; --org ORG:NAME gives NAME the same rights in
//   ORG. Repositories are public unless created with is_private; pushing creates a public
//   one [?].
//   --api-429 N: the first N Hub API requests (any of the above) answer 429
//   {"detail":"Rate limit exceeded","error":false} (the docs' example) with "Retry-After: 1"
//   (seconds; docs.docker.com changed from X-Retry-After in 2025-06, docker/docs#22916), or
//   with --x-retry-after "X-Retry-After: <unix time>" (what latest.yaml still describes).
//
// Registry token service (auth.docker.io; distribution's token spec,
// distribution.github.io/distribution/spec/auth/token/):
//   GET /token?service=registry.docker.io&scope=repository:ns/r:pull,push
//     Basic with a --user account (its password or PAT), or anonymous; wrong credentials
//     are 401 {"details":"incorrect username or password"}; another service 400.
//     → {"token":T,"access_token":T,"expires_in":S,"issued_at":RFC3339}, valid
//     --registry-token-lifetime seconds. Granted: the requested actions the caller has —
//     pull on public repositories that exist (anyone) and on the caller's namespaces,
//     push and delete on the caller's namespaces; never registry:catalog:*.
//
// Registry (registry-1.docker.io): /v2/... is forwarded to --upstream (blob bodies streamed
// both ways, upload Locations rewritten to this fake) once distribution's token auth
// (registry/auth/token/accesscontroller.go) would let it through: without credentials 401
// `Bearer realm="http://127.0.0.1:P/token",service="registry.docker.io"[,scope="…"]`;
// an unknown or expired token adds error="invalid_token"; a token without the needed
// action adds error="insufficient_scope"; body {"errors":[{"code":"UNAUTHORIZED",
// "message":"authentication required","detail":…}]}. Tokens are per repository. Unlike
// registry-1.docker.io, Basic credentials of a --user account are accepted on /v2/
// directly (what the harness's curl helpers send), with the same rights as the token
// service grants. A DELETE the caller may make is 405 UNSUPPORTED: Docker Hub deletes
// through the Hub API only [?].
//   --pull-limit N: manifest GET and HEAD answers carry "ratelimit-limit: N;w=21600",
//   "ratelimit-remaining: R;w=21600" and "docker-ratelimit-source: 127.0.0.1", R being N
//   less the manifest GETs so far (a HEAD is no pull; docs.docker.com/docker-hub/usage/pulls/);
//   a manifest GET with nothing left is 429 {"errors":[{"code":"TOOMANYREQUESTS",
//   "message":"You have reached your pull rate limit. You may increase the limit by
//   authenticating and upgrading: https://www.docker.com/increase-rate-limits"}]} with
//   "Retry-After: --retry-after". One budget for everyone (Hub's is per user or per IP).
//
// Tag deletion removes only that tag's directory from --storage (the manifest stays).
// Tag listings read --storage, not the upstream: the tags from the repository's tags
// directory, each tag's digest from its current link, which manifests the repository
// holds from its revision links, push times from the links' mtimes, whether the
// repository exists from its _layers directory (what the registry's catalog lists),
// media type, sizes and platforms from the manifest and config blobs
// (docker/registry/v2/blobs/sha256/HE/HEX/data), read once per repository and digest and
// then remembered (a digest's content never changes); only the page's tags are turned
// into JSON; and pages after the first of a tags listing are cut from the first page's
// snapshot of the repository (ListingSnapshots in registry_front.h: kept 10 s, dropped by
// any write to the repository through this fake; a request without page= or with page=1
// is always read fresh). A HEAD and GETs per tag at the upstream on every page would make
// a page of a 2,000-tag repository cost thousands of requests, and reading the storage
// again for every page 20 times as much as one: crossdock's bench (`make bench`,
// vendor-noop) would time the fake instead of the client. The registry may be read-only
// (the bench's is).
// Tokens are opaque random strings (Hub's are JWTs; no client may look inside).
// Not emulated: organizations and teams endpoints, access-token management, OATs, 2FA,
// /v2/users/login, pull counts, stars, the X-RateLimit-* headers of the Hub API, the
// OAuth2 POST /token (405, so a client falls back to GET as containerd does).
//
// Test hooks (not counted): GET /fake/stats {"requests","api","v2","token","by_path",
// "paths"}, POST /fake/reset-stats, POST /fake/pull-budget?remaining=R (R pulls left from
// now on). Every answer is logged on stdout: METHOD TARGET STATUS.
//
// Flags: --port P (0: any), --upstream http://127.0.0.1:N, --storage DIR (the upstream's
// storage root), --user NAME:PASS (repeatable), --org ORG:NAME (repeatable),
// --token-lifetime S (default 600), --registry-token-lifetime S (default 300),
// --pull-limit N (default 0: no rate-limit headers), --retry-after S (default 2),
// --api-429 N, --x-retry-after. Prints "listening on 127.0.0.1:P" then "ready" once it
// accepts connections.
#include <algorithm>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "tests/fakes/registry_front.h"

namespace {

using namespace crossdock::fakes;

constexpr const char* kProgram = "dockerhub";
constexpr const char* kService = "registry.docker.io";

struct Flags : FrontFlags {
  std::vector<std::string> orgs;
  long token_lifetime = 600, registry_token_lifetime = 300;
  long pull_limit = 0, retry_after = 2, api_429 = 0;
  bool x_retry_after = false;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  ParseFrontFlags(kProgram, argc, argv, &flags, [&](const std::string& arg, const auto& value) {
    auto number = [&]() { return FlagInt(kProgram, arg, value()); };
    if (arg == "--org") {
      flags.orgs.push_back(value());
    } else if (arg == "--token-lifetime") {
      flags.token_lifetime = number();
    } else if (arg == "--registry-token-lifetime") {
      flags.registry_token_lifetime = number();
    } else if (arg == "--pull-limit") {
      flags.pull_limit = number();
    } else if (arg == "--retry-after") {
      flags.retry_after = number();
    } else if (arg == "--api-429") {
      flags.api_429 = number();
    } else if (arg == "--x-retry-after") {
      flags.x_retry_after = true;
    } else {
      return false;
    }
    return true;
  });
  return flags;
}

// A repository created through the API (one seen only in the registry is public).
struct CreatedRepo {
  std::string description, full_description;
  bool is_private = false;
  Clock::time_point created{};
};

// One tag as the Hub API shows it.
// What a manifest says, which its digest fixes for good (so DockerHub::Describe keeps
// it): its media type, the size (sum of layers) and "images", one entry per platform
// (last_pushed is null: it is the tag's, see HubTag).
struct Description {
  std::string media_type;
  std::uint64_t size = 0;
  Json images = Json::array();
};

// One tag as the Hub API shows it.
struct HubTag {
  std::string name, digest;
  Clock::time_point pushed{};
  std::shared_ptr<const Description> described;  // never null
  Clock::time_point images_pushed{};  // every image's last_pushed: the first tag's push on the digest
};

std::string HubTime(Clock::time_point t) { return Timestamp(t, 6); }

void Detail(httplib::Response& res, int status, const std::string& detail) {
  SendJson(res, status, {{"detail", detail}});
}

void ObjectNotFound(httplib::Response& res, const std::string& ns, const std::string& repo) {
  Json errinfo = {{"namespace", ns}};
  if (!repo.empty()) errinfo["repository"] = repo;
  SendJson(res, 404, {{"message", "object not found"}, {"errinfo", errinfo}});
}

class DockerHub {
 public:
  explicit DockerHub(Flags flags)
      : flags_(std::move(flags)), upstream_(flags_.upstream), storage_(flags_.storage) {
    for (const std::string& u : flags_.users) {
      accounts_.Add(kProgram, u);
      users_.insert(u.substr(0, u.find(':')));
    }
    for (const std::string& spec : flags_.orgs) {
      size_t colon = spec.find(':');
      if (colon == std::string::npos || colon == 0) Die(kProgram, "--org wants ORG:NAME, got " + spec);
      org_members_[spec.substr(0, colon)].insert(spec.substr(colon + 1));
    }
    pulls_left_ = flags_.pull_limit;
    api_429_left_ = flags_.api_429;
  }

  void set_self(std::string self) { self_ = std::move(self); }

  void Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    if (StartsWith(req.path, "/fake/")) {
      FakeHooks(req, res);
      return;
    }
    try {
      if (req.path == "/token") {
        stats_.Count(req, "token");
        Token(req, res);
      } else if (HubRoute(req, res, reader)) {
        // counted and answered
      } else if (StartsWith(req.path, "/v2/") || req.path == "/v2") {
        stats_.Count(req, "v2");
        Registry(req, res, reader);
      } else {
        stats_.Count(req, "");
        Detail(res, 404, "Not found.");
      }
    } catch (const UpstreamError& e) {
      res.status = 502;
      res.set_content(std::string("dockerhub fake: upstream: ") + e.what() + "\n", "text/plain");
    }
  }

 private:
  // ---- rights ----

  bool Owns(const std::string& user, const std::string& ns) const {
    if (user.empty()) return false;
    if (user == ns) return true;
    auto it = org_members_.find(ns);
    return it != org_members_.end() && it->second.count(user) > 0;
  }

  std::optional<CreatedRepo> Created(const std::string& repo) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = created_.find(repo);
    if (it == created_.end()) return std::nullopt;
    return it->second;
  }

  // Docker Hub repositories are "ns/name", exactly two components.
  static bool TwoComponents(const std::string& repo) {
    return std::count(repo.begin(), repo.end(), '/') == 1;
  }

  // Whether the registry's catalog lists REPO (asked of the storage: a page of tags
  // should not cost a catalog walk at the registry).
  bool InCatalog(const std::string& repo) const { return storage_.HasRepository(repo); }

  bool Exists(const std::string& repo) { return Created(repo).has_value() || InCatalog(repo); }

  bool IsPrivate(const std::string& repo) {
    std::optional<CreatedRepo> c = Created(repo);
    return c && c->is_private;
  }

  // What USER ("" anonymous) may do to REPO on the registry: pull a public repository
  // that exists, or anything in a namespace of theirs.
  std::set<std::string> RegistryRights(const std::string& user, const std::string& repo) {
    if (!TwoComponents(repo) || !ValidRepositoryName(repo)) return {};
    const std::string ns = repo.substr(0, repo.find('/'));
    if (Owns(user, ns)) return {"pull", "push", "delete"};
    if (!IsPrivate(repo) && Exists(repo)) return {"pull"};
    return {};
  }

  // ---- /fake ----

  void FakeHooks(const httplib::Request& req, httplib::Response& res) {
    if (AnswerStatsHooks(req, res, stats_)) return;
    if (req.path == "/fake/pull-budget" && req.method == "POST") {
      std::optional<std::string> r = Query(RawQuery(req)).Get("remaining");
      if (!r) {
        res.status = 400;
        return;
      }
      std::lock_guard<std::mutex> lock(mu_);
      pulls_left_ = std::atol(r->c_str());
      SendJson(res, 200, {{"remaining", pulls_left_}});
    } else {
      res.status = 404;
    }
  }

  // ---- auth.docker.io/token ----

  void Token(const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET") {  // the OAuth2 POST form of auth.docker.io is not emulated
      res.status = 405;
      return;
    }
    const Query query(RawQuery(req));
    if (query.Get("service").value_or("") != kService) {
      SendJson(res, 400, {{"details", "invalid service"}});
      return;
    }
    std::string user;
    if (req.has_header("Authorization")) {
      std::optional<Credentials> basic = ParseBasic(req);
      if (!basic || !accounts_.Check(*basic)) {
        SendJson(res, 401, {{"details", "incorrect username or password"}});
        return;
      }
      user = basic->user;
    }
    Grant grant;
    grant.subject = user;
    grant.issued = Clock::now();
    grant.expires = grant.issued + std::chrono::seconds(flags_.registry_token_lifetime);
    for (const Scope& s : RequestedScopes(query)) {
      Scope granted{s.type, s.name, {}};
      if (s.type == "repository") {
        std::set<std::string> rights = RegistryRights(user, s.name);
        for (const std::string& a : s.actions) {
          if (rights.count(a)) granted.actions.push_back(a);
        }
      }
      grant.access.push_back(granted);
    }
    std::string token = registry_tokens_.Issue(grant);
    SendJson(res, 200, TokenAnswer(token, token, grant));
  }

  // ---- registry-1.docker.io ----

  std::string Challenge(const std::string& scope, const std::string& error) const {
    std::string c = "Bearer realm=\"" + self_ + "/token\",service=\"" + kService + "\"";
    if (!scope.empty()) c += ",scope=\"" + scope + "\"";
    if (!error.empty()) c += ",error=\"" + error + "\"";
    return c;
  }

  static void Unauthenticated(httplib::Response& res, const std::string& challenge, const RegistryPath& rp,
                              const std::string& action) {
    Json detail = nullptr;
    if (!rp.name.empty()) {
      detail = Json::array({{{"Type", "repository"}, {"Class", ""}, {"Name", rp.name}, {"Action", action}}});
    } else if (rp.kind == RegistryPath::Kind::kCatalog) {
      detail = Json::array({{{"Type", "registry"}, {"Class", ""}, {"Name", "catalog"}, {"Action", "*"}}});
    }
    res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
    res.set_header("WWW-Authenticate", challenge);
    SendJson(res, 401,
             {{"errors", Json::array({{{"code", "UNAUTHORIZED"}, {"message", "authentication required"},
                                       {"detail", detail}}})}});
  }

  void Registry(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const RegistryPath rp = ParseRegistryPath(req.path);
    if (rp.kind == RegistryPath::Kind::kOther) {
      SendJson(res, 404, {{"errors", Json::array({{{"code", "NAME_INVALID"}, {"message", "invalid repository name"}}})}});
      return;
    }
    std::string action, scope;
    if (rp.kind == RegistryPath::Kind::kCatalog) {
      action = "*";
      scope = "registry:catalog:*";
    } else if (rp.kind != RegistryPath::Kind::kBase) {
      action = ActionFor(req.method);
      scope = "repository:" + rp.name + ":" + (action == "push" ? "pull,push" : action);
    }
    auto refuse = [&](const std::string& error) {
      Unauthenticated(res, Challenge(scope, error), rp, action);
    };
    bool allowed = false;
    if (auto bearer = ParseBearer(req)) {
      auto [state, grant] = registry_tokens_.Look(*bearer);
      if (state != TokenStore::State::kValid) return refuse("invalid_token");
      allowed = action.empty();
      for (const Scope& s : grant.access) {
        if (rp.kind != RegistryPath::Kind::kCatalog && s.type == "repository" && s.name == rp.name &&
            s.Allows(action)) {
          allowed = true;
        }
      }
    } else if (req.has_header("Authorization")) {
      std::optional<Credentials> basic = ParseBasic(req);
      if (!basic || !accounts_.Check(*basic)) return refuse("");
      allowed = action.empty() ||
                (rp.kind != RegistryPath::Kind::kCatalog && RegistryRights(basic->user, rp.name).count(action) > 0);
    } else {
      return refuse("");
    }
    if (!allowed) return refuse("insufficient_scope");
    if (req.method == "DELETE") {
      SendJson(res, 405, {{"errors", Json::array({{{"code", "UNSUPPORTED"}, {"message", "The operation is unsupported."}}})}});
      return;
    }
    if (rp.kind == RegistryPath::Kind::kManifest && flags_.pull_limit > 0 &&
        (req.method == "GET" || req.method == "HEAD")) {
      long left;
      bool refused = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (req.method == "GET") {
          if (pulls_left_ <= 0) {
            refused = true;
          } else {
            --pulls_left_;
          }
        }
        left = std::max(0L, pulls_left_);
      }
      const std::string window = ";w=21600";
      res.set_header("ratelimit-limit", std::to_string(flags_.pull_limit) + window);
      res.set_header("ratelimit-remaining", std::to_string(left) + window);
      res.set_header("docker-ratelimit-source", "127.0.0.1");
      if (refused) {
        res.set_header("Retry-After", std::to_string(flags_.retry_after));
        SendJson(res, 429,
                 {{"errors", Json::array({{{"code", "TOOMANYREQUESTS"},
                                           {"message",
                                            "You have reached your pull rate limit. You may increase the limit by "
                                            "authenticating and upgrading: https://www.docker.com/increase-rate-limits"}}})}});
        return;
      }
    }
    upstream_.Forward(req, reader, self_, res);  // keeps the rate-limit headers set above
    if (req.method != "GET" && req.method != "HEAD" && !rp.name.empty()) listings_.Forget(rp.name);
  }

  // ---- hub.docker.com ----

  // The caller of a Hub API call: "" when anonymous; nullopt after answering 401 for a
  // token that is expired or unknown.
  std::optional<std::string> HubCaller(const httplib::Request& req, httplib::Response& res) {
    std::string header = req.get_header_value("Authorization");
    std::string token;
    if (auto bearer = ParseBearer(req)) {
      token = *bearer;
    } else if (header.size() > 4 && IEquals(std::string_view(header).substr(0, 4), "JWT ")) {
      token = header.substr(4);
    } else {
      return std::string();
    }
    auto [state, grant] = hub_tokens_.Look(token);
    if (state == TokenStore::State::kValid) return grant.subject;
    Detail(res, 401, state == TokenStore::State::kExpired ? "token expired" : "invalid token");
    return std::nullopt;
  }

  // Answers the request if it is one of the Hub API's; false if it is not.
  bool HubRoute(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    std::vector<std::string> seg = Split(req.path, '/');
    seg.erase(seg.begin());
    if (seg.size() > 1 && seg.back().empty()) seg.pop_back();  // the trailing slash
    if (seg.size() < 3 || seg[0] != "v2") return false;
    const std::string& m = req.method;
    const bool get = m == "GET" || m == "HEAD";
    std::function<void()> handler;
    std::string allowed;
    const size_t n = seg.size();
    if (n == 3 && seg[1] == "auth" && seg[2] == "token") {
      allowed = "POST";
      if (m == "POST") handler = [&] { CreateAccessToken(res, reader); };
    } else if (seg[1] == "namespaces" && n >= 4 && seg[3] == "repositories" && n <= 8 &&
               (n < 7 || seg[5] == "tags")) {
      const std::string ns = seg[2];
      if (n == 4) {
        allowed = "GET, POST";
        if (get) handler = [&, ns] { ListRepositories(req, res, ns); };
        if (m == "POST") handler = [&, ns] { CreateRepository(req, res, reader, ns); };
      } else if (n == 5) {
        allowed = "GET, HEAD";
        if (get) handler = [&, ns] { GetRepository(req, res, ns, seg[4]); };
      } else if (n == 6 && seg[5] == "tags") {
        allowed = "GET, HEAD";
        if (get) handler = [&, ns] { ListTags(req, res, ns, seg[4]); };
      } else if (n == 7) {
        allowed = "GET, HEAD, DELETE";
        if (get) handler = [&, ns] { GetTag(req, res, ns, seg[4], seg[6]); };
        if (m == "DELETE") handler = [&, ns] { DeleteTag(req, res, ns, seg[4], seg[6]); };
      } else {
        return false;
      }
    } else if (seg[1] == "repositories" && (n == 3 || (n == 5 && seg[4] == "tags") || (n == 6 && seg[4] == "tags"))) {
      const std::string ns = seg[2];
      if (n == 3) {
        allowed = "GET";
        if (get) handler = [&, ns] { ListRepositories(req, res, ns); };
      } else if (n == 5) {
        allowed = "GET";
        if (get) handler = [&, ns] { ListTags(req, res, ns, seg[3]); };
      } else {
        allowed = "DELETE";
        if (m == "DELETE") handler = [&, ns] { DeleteTag(req, res, ns, seg[3], seg[5]); };
      }
    } else {
      return false;
    }
    stats_.Count(req, "api");
    if (ThrottleApi(res)) {
      return true;
    }
    if (!handler) {
      Detail(res, 405, "Method \"" + m + "\" not allowed.");
      res.set_header("Allow", allowed);
      return true;
    }
    handler();
    return true;
  }

  // --api-429: true after answering 429.
  bool ThrottleApi(httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (api_429_left_ <= 0) return false;
      --api_429_left_;
    }
    if (flags_.x_retry_after) {
      res.set_header("X-Retry-After", std::to_string(std::time(nullptr) + 1));
    } else {
      res.set_header("Retry-After", "1");
    }
    SendJson(res, 429, {{"detail", "Rate limit exceeded"}, {"error", false}});
    return true;
  }

  void CreateAccessToken(httplib::Response& res, const httplib::ContentReader* reader) {
    Json j = Json::parse(ReadBody(reader), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("identifier") || !j.contains("secret") ||
        !j["identifier"].is_string() || !j["secret"].is_string()) {
      SendJson(res, 400, {{"fields", {{"identifier", {"This field is required."}}, {"secret", {"This field is required."}}}},
                          {"text", "identifier and secret are required"}});
      return;
    }
    Credentials c{j["identifier"].get<std::string>(), j["secret"].get<std::string>()};
    if (!accounts_.Check(c)) return Detail(res, 401, "Incorrect authentication credentials");
    Grant grant;
    grant.subject = c.user;
    grant.issued = Clock::now();
    grant.expires = grant.issued + std::chrono::seconds(flags_.token_lifetime);
    SendJson(res, 200, {{"access_token", hub_tokens_.Issue(grant)}});
  }

  // Namespaces Docker Hub knows: the accounts, the organizations and whoever has
  // repositories.
  bool KnownNamespace(const std::string& ns, const std::vector<std::string>& catalog) {
    if (users_.count(ns) || org_members_.count(ns)) return true;
    for (const std::string& r : catalog) {
      if (StartsWith(r, ns + "/") && TwoComponents(r)) return true;
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, repo] : created_) {
      if (StartsWith(name, ns + "/")) return true;
    }
    return false;
  }

  // The tags of REPO as the Hub shows them, newest first (then by name). Read from the
  // storage, not with a HEAD per tag at the upstream (see Storage in registry_front.h):
  // per tag its link and its manifest's revision link, and each manifest once (Describe
  // remembers).
  std::vector<HubTag> TagsOf(const std::string& repo) {
    std::vector<HubTag> out;
    std::optional<std::vector<std::pair<std::string, StoredTag>>> tags = storage_.TagLinks(repo);
    if (!tags) return out;
    const std::map<std::string, Clock::time_point> revisions = storage_.Revisions(repo);
    std::map<std::string, Clock::time_point> first_push;  // by digest, in tag order
    for (auto& [name, stored] : *tags) {
      if (!revisions.count(stored.digest)) continue;  // the manifest is gone
      std::shared_ptr<const Description> d = Describe(repo, stored.digest);
      if (!d) continue;
      HubTag t;
      t.name = name;
      t.digest = stored.digest;
      t.pushed = stored.pushed;
      t.described = std::move(d);
      t.images_pushed = first_push.emplace(stored.digest, stored.pushed).first->second;
      out.push_back(std::move(t));
    }
    std::sort(out.begin(), out.end(), [](const HubTag& a, const HubTag& b) {
      return a.pushed != b.pushed ? a.pushed > b.pushed : a.name < b.name;
    });
    return out;
  }

  // The Description of REPO's manifest DIGEST, read from the storage once per repository
  // and digest; null when REPO does not hold that manifest.
  std::shared_ptr<const Description> Describe(const std::string& repo, const std::string& digest) {
    const std::string key = repo + "@" + digest;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = described_.find(key); it != described_.end()) return it->second;
    }
    std::optional<StoredManifest> stored = storage_.Manifest(repo, digest);
    if (!stored) return nullptr;
    auto d = std::make_shared<Description>();
    d->media_type = stored->media_type;
    Json m = Json::parse(stored->body, nullptr, false);
    auto image = [&](const Json& manifest, const std::string& image_digest, Json platform) {
      std::uint64_t size = 0;
      if (manifest.contains("layers") && manifest["layers"].is_array()) {
        for (const Json& l : manifest["layers"]) size += l.value("size", std::uint64_t{0});
      }
      if (platform.is_null() && manifest.contains("config") && manifest["config"].is_object()) {
        std::optional<std::string> config = storage_.SmallBlob(repo, manifest["config"].value("digest", ""));
        platform = config ? Json::parse(*config, nullptr, false) : Json();
        if (!platform.is_object()) platform = Json::object();
      }
      Json entry = {{"architecture", platform.value("architecture", "")},
                    {"os", platform.value("os", "")},
                    {"digest", image_digest},
                    {"size", size},
                    {"status", "active"},
                    {"last_pushed", nullptr},
                    {"last_pulled", nullptr}};
      if (platform.contains("variant")) entry["variant"] = platform["variant"];
      d->images.push_back(entry);
      d->size += size;
    };
    if (m.is_object() && m.contains("manifests") && m["manifests"].is_array()) {
      for (const Json& child : m["manifests"]) {
        const std::string child_digest = child.value("digest", "");
        std::optional<StoredManifest> child_stored = storage_.Manifest(repo, child_digest);
        Json cm = child_stored ? Json::parse(child_stored->body, nullptr, false) : Json();
        image(cm.is_object() ? cm : Json::object(), child_digest,
              child.contains("platform") ? child["platform"] : Json::object());
      }
    } else if (m.is_object()) {
      image(m, digest, nullptr);
    }
    std::lock_guard<std::mutex> lock(mu_);
    return described_.emplace(key, std::move(d)).first->second;
  }

  Json TagJson(const std::string& repo, const HubTag& t, const std::string& user) const {
    Json images = t.described->images;
    for (Json& image : images) image["last_pushed"] = HubTime(t.images_pushed);
    return {{"creator", 1},
            {"id", std::hash<std::string>{}(repo + ":" + t.name) % 1000000000},
            {"images", images},
            {"last_updated", HubTime(t.pushed)},
            {"last_updater", 1},
            {"last_updater_username", user},
            {"name", t.name},
            {"repository", std::hash<std::string>{}(repo) % 1000000000},
            {"full_size", t.described->size},
            {"v2", true},
            {"tag_status", "active"},
            {"tag_last_pulled", nullptr},
            {"tag_last_pushed", HubTime(t.pushed)},
            {"media_type", t.described->media_type},
            {"content_type", "image"},
            {"digest", t.digest}};
  }

  Json RepositoryJson(const std::string& ns, const std::string& name, const std::vector<HubTag>& tags) {
    std::optional<CreatedRepo> c = Created(ns + "/" + name);
    Clock::time_point registered = c ? c->created : Clock::now();
    std::optional<Clock::time_point> updated;
    std::set<std::string> media_types;
    std::uint64_t storage = 0;
    for (const HubTag& t : tags) {
      registered = std::min(registered, t.pushed);
      updated = std::max(updated.value_or(t.pushed), t.pushed);
      media_types.insert(t.described->media_type);
      storage += t.described->size;
    }
    if (!updated && c) updated = c->created;
    return {{"name", name},
            {"namespace", ns},
            {"repository_type", "image"},
            {"status", 1},
            {"status_description", "active"},
            {"description", c ? c->description : ""},
            {"full_description", c ? c->full_description : ""},
            {"is_private", c && c->is_private},
            {"is_automated", false},
            {"star_count", 0},
            {"pull_count", 0},
            {"collaborator_count", 0},
            {"hub_user", ns},
            {"has_starred", false},
            {"last_updated", updated ? Json(HubTime(*updated)) : Json(nullptr)},
            {"last_modified", updated ? Json(HubTime(*updated)) : Json(nullptr)},
            {"date_registered", HubTime(registered)},
            {"affiliation", ""},
            {"media_types", media_types},
            {"content_types", tags.empty() ? Json::array() : Json::array({"image"})},
            {"categories", Json::array()},
            {"immutable_tags_settings", {{"enabled", false}, {"rules", Json::array()}}},
            {"storage_size", storage},
            {"source", nullptr}};
  }

  // A Django REST framework page of ITEMS (rest_framework/pagination.py
  // PageNumberPagination with page_size 10, max_page_size 100).
  void SendPage(const httplib::Request& req, httplib::Response& res, const std::vector<Json>& items) {
    SendPage(req, res, items.size(), [&](size_t i) { return items[i]; });
  }

  // The same for COUNT items of which ITEM(i) builds the i-th, called only for those on
  // the page (a page of 100 of 2,000 tags builds 100).
  void SendPage(const httplib::Request& req, httplib::Response& res, size_t item_count,
                const std::function<Json(size_t)>& item) {
    const Query query(RawQuery(req));
    std::int64_t size = 10;
    if (auto v = query.Get("page_size")) {
      char* end = nullptr;
      long long n = std::strtoll(v->c_str(), &end, 10);
      if (!v->empty() && *end == '\0' && n > 0) size = std::min<long long>(n, 100);
    }
    const std::int64_t count = static_cast<std::int64_t>(item_count);
    const std::int64_t pages = std::max<std::int64_t>(1, (count + size - 1) / size);
    std::int64_t page = 1;
    if (auto v = query.Get("page")) {
      char* end = nullptr;
      long long n = std::strtoll(v->c_str(), &end, 10);
      if (*v == "last") {
        n = pages;
      } else if (v->empty() || *end != '\0') {
        n = 0;
      }
      if (n < 1 || n > pages) return Detail(res, 404, "Invalid page.");
      page = n;
    }
    std::string host = req.get_header_value("Host");
    const std::string base = (host.empty() ? self_ : "http://" + host) + RawPath(req);
    auto url = [&](std::optional<std::int64_t> number) {
      Query q(RawQuery(req));
      if (number) {
        q.Set("page", std::to_string(*number));
      } else {
        q.Erase("page");
      }
      std::string encoded = q.EncodeSorted();
      return Json(base + (encoded.empty() ? "" : "?" + encoded));
    };
    Json results = Json::array();
    for (std::int64_t i = (page - 1) * size; i < count && i < page * size; ++i) {
      results.push_back(item(static_cast<size_t>(i)));
    }
    SendJson(res, 200,
             {{"count", count},
              {"next", page < pages ? url(page + 1) : Json(nullptr)},
              {"previous", page > 1 ? url(page - 1 == 1 ? std::nullopt : std::optional<std::int64_t>(page - 1))
                                    : Json(nullptr)},
              {"results", results}});
  }

  void ListRepositories(const httplib::Request& req, httplib::Response& res, const std::string& ns) {
    std::optional<std::string> caller = HubCaller(req, res);
    if (!caller) return;
    const Query query(RawQuery(req));
    const std::string ordering = query.Get("ordering").value_or("name");
    static const std::set<std::string> kOrderings = {"name",         "-name",      "last_updated",
                                                     "-last_updated", "pull_count", "-pull_count"};
    if (!kOrderings.count(ordering)) {
      SendJson(res, 400,
               {{"fields", {{"ordering", {"Invalid ordering value. Must be one of: name, -name, last_updated, "
                                          "-last_updated, pull_count, -pull_count"}}}},
                {"text", "Invalid ordering value"}});
      return;
    }
    const std::vector<std::string> catalog = upstream_.Catalog();
    if (!KnownNamespace(ns, catalog)) return ObjectNotFound(res, ns, "");
    std::set<std::string> names;
    for (const std::string& r : catalog) {
      if (StartsWith(r, ns + "/") && TwoComponents(r)) names.insert(r.substr(ns.size() + 1));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [full, repo] : created_) {
        if (StartsWith(full, ns + "/")) names.insert(full.substr(ns.size() + 1));
      }
    }
    const std::string filter = query.Get("name").value_or("");
    std::vector<Json> items;
    for (const std::string& name : names) {
      if (!filter.empty() && name.find(filter) == std::string::npos) continue;
      if (IsPrivate(ns + "/" + name) && !Owns(*caller, ns)) continue;
      items.push_back(RepositoryJson(ns, name, TagsOf(ns + "/" + name)));
    }
    const bool desc = ordering[0] == '-';
    const std::string key = desc ? ordering.substr(1) : ordering;
    std::stable_sort(items.begin(), items.end(), [&](const Json& a, const Json& b) {
      std::string x = key == "last_updated" ? a["last_updated"].dump() : a["name"].get<std::string>();
      std::string y = key == "last_updated" ? b["last_updated"].dump() : b["name"].get<std::string>();
      if (key == "pull_count") return false;  // all zero
      return desc ? x > y : x < y;
    });
    SendPage(req, res, items);
  }

  // Whether CALLER may see NS/NAME; answers 404 when not (or when it does not exist).
  bool Visible(httplib::Response& res, const std::string& caller, const std::string& ns, const std::string& name) {
    const std::string repo = ns + "/" + name;
    if (!ValidRepositoryName(repo) || !Exists(repo) || (IsPrivate(repo) && !Owns(caller, ns))) {
      ObjectNotFound(res, ns, name);
      return false;
    }
    return true;
  }

  void GetRepository(const httplib::Request& req, httplib::Response& res, const std::string& ns,
                     const std::string& name) {
    std::optional<std::string> caller = HubCaller(req, res);
    if (!caller || !Visible(res, *caller, ns, name)) return;
    SendJson(res, 200, RepositoryJson(ns, name, TagsOf(ns + "/" + name)));
  }

  void ListTags(const httplib::Request& req, httplib::Response& res, const std::string& ns, const std::string& name) {
    std::optional<std::string> caller = HubCaller(req, res);
    if (!caller || !Visible(res, *caller, ns, name)) return;
    const std::string filter = Query(RawQuery(req)).Get("name").value_or("");
    const std::string repo = ns + "/" + name;
    // Pages after the first come from the first's snapshot (ListingSnapshots).
    const std::optional<std::string> page = Query(RawQuery(req)).Get("page");
    const std::shared_ptr<const std::vector<HubTag>> all =
        listings_.Get(repo, !page || *page == "1", [&] { return TagsOf(repo); });
    std::vector<const HubTag*> tags;
    for (const HubTag& t : *all) {
      if (filter.empty() || t.name.find(filter) != std::string::npos) tags.push_back(&t);
    }
    SendPage(req, res, tags.size(), [&](size_t i) { return TagJson(repo, *tags[i], ns); });
  }

  void GetTag(const httplib::Request& req, httplib::Response& res, const std::string& ns, const std::string& name,
              const std::string& tag) {
    std::optional<std::string> caller = HubCaller(req, res);
    if (!caller || !Visible(res, *caller, ns, name)) return;
    for (const HubTag& t : TagsOf(ns + "/" + name)) {
      if (t.name == tag) return SendJson(res, 200, TagJson(ns + "/" + name, t, ns));
    }
    ObjectNotFound(res, ns, name);
  }

  void DeleteTag(const httplib::Request& req, httplib::Response& res, const std::string& ns, const std::string& name,
                 const std::string& tag) {
    std::optional<std::string> caller = HubCaller(req, res);
    if (!caller) return;
    if (caller->empty()) return Detail(res, 401, "Authentication credentials were not provided.");
    if (!Owns(*caller, ns)) return Detail(res, 403, "You do not have permission to perform this action.");
    if (!storage_.DeleteTag(ns + "/" + name, tag)) return ObjectNotFound(res, ns, name);
    listings_.Forget(ns + "/" + name);
    res.status = 204;
  }

  void CreateRepository(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader,
                        const std::string& ns) {
    Json j = Json::parse(ReadBody(reader), nullptr, false);
    std::optional<std::string> caller = HubCaller(req, res);
    if (!caller) return;
    if (caller->empty()) return Detail(res, 401, "Authentication credentials were not provided.");
    if (!KnownNamespace(ns, upstream_.Catalog())) return ObjectNotFound(res, ns, "");
    if (!Owns(*caller, ns)) return Detail(res, 403, "You do not have permission to perform this action.");
    if (j.is_discarded() || !j.is_object()) {
      SendJson(res, 400, {{"fields", Json::object()}, {"text", "invalid request body"}});
      return;
    }
    const std::string name = j.contains("name") && j["name"].is_string() ? j["name"].get<std::string>() : "";
    static const std::regex kName("^[a-z0-9]+(?:[._-][a-z0-9]+)*$");
    if (name.size() < 2 || name.size() > 255 || !std::regex_match(name, kName)) {
      SendJson(res, 400,
               {{"fields", {{"name", {"Must be 2-255 characters long and may only include alphanumeric characters, "
                                      "periods (.), underscores (_), or hyphens (-). Letters must be lowercase."}}}},
                {"text", "invalid repository name"}});
      return;
    }
    if (j.contains("namespace") && j["namespace"].is_string() && j["namespace"].get<std::string>() != ns) {
      SendJson(res, 400, {{"fields", {{"namespace", {"does not match the namespace of the path"}}}},
                          {"text", "invalid namespace"}});
      return;
    }
    const std::string repo = ns + "/" + name;
    if (InCatalog(repo)) {
      SendJson(res, 409, {{"message", "repository " + repo + " already exists"}, {"errinfo", Json::object()}});
      return;
    }
    CreatedRepo created;
    created.description = j.value("description", "");
    created.full_description = j.value("full_description", "");
    created.is_private = j.value("is_private", false);
    created.created = Clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!created_.emplace(repo, created).second) {
        SendJson(res, 409, {{"message", "repository " + repo + " already exists"}, {"errinfo", Json::object()}});
        return;
      }
    }
    SendJson(res, 201, RepositoryJson(ns, name, {}));
  }

  const Flags flags_;
  const Upstream upstream_;
  const Storage storage_;
  Accounts accounts_;
  std::set<std::string> users_;
  std::map<std::string, std::set<std::string>> org_members_;  // org -> users; fixed at start
  TokenStore hub_tokens_, registry_tokens_;
  RequestStats stats_;
  ListingSnapshots<HubTag> listings_;  // tags pages after the first
  std::string self_;  // "http://127.0.0.1:P", set before serving

  std::mutex mu_;
  std::map<std::string, CreatedRepo> created_;  // "ns/name"; guarded by mu_
  std::map<std::string, std::shared_ptr<const Description>> described_;  // "repo@digest"; guarded by mu_
  long pulls_left_ = 0;                         // guarded by mu_
  long api_429_left_ = 0;                       // guarded by mu_
};

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  DockerHub hub(flags);
  return ServeFake(kProgram, flags.port, hub);
}
