// ghcr: a loopback fake of the GitHub Container Registry — the registry (ghcr.io), its token
// endpoint and the packages part of GitHub's REST API (api.github.com) on one port — in front
// of a real, plain docker-registry that holds the data, for end-to-end tests of crossdock's
// github-ghcr provider; started by tests/support/vendor_fakes2.cc (GhcrFake). Facts are
// collected in ../shared/reference/vendors.md §12; "[?]" marks a behaviour no source pins.
// Sources:
//   [docs]    docs.github.com/rest/packages/packages ("List packages for an organization",
//             "... for a user", "... for the authenticated user's namespace", "List package
//             versions for a package owned by ...", "Delete package version for ...": 204;
//             401, 403, 404 with a BasicError {"message","documentation_url"}; classic PATs
//             need read:packages, and read:packages + delete:packages to delete);
//   [schema]  github/rest-api-description components/schemas/package (required id, name,
//             package_type, visibility, url, html_url, version_count, created_at,
//             updated_at) and package-version (id, name, url, package_html_url, created_at,
//             updated_at, metadata.container.tags);
//   [paging]  docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api:
//             per_page (default 30, at most 100), page, absolute Link URLs rel="prev",
//             "next", "last", "first" in that order;
//   [harbor]  goharbor/harbor src/pkg/reg/adapter/githubcr/adapter.go: "GHCR not support
//             /v2/_catalog, access this API will return 404 status code"; no manifest DELETE;
//   [issues]  GHCR's refusals as users quote them: a PAT without write:packages pushing,
//             "denied: permission_denied: The token provided does not match expected
//             scopes" (daltoniam/switchboard#139); no write access to the owner,
//             "denied: permission_denied: write_package" (Snowfork/snowbridge#1272,
//             mcuadros/ofelia#202); wrong credentials at login, "denied: denied" (ofelia#202);
//             deleting the last tagged version, 400 "You cannot delete the last tagged
//             version of a package. You must delete the package instead."
//             (kairos-io/kairos#4723, posit-dev/positron#15764); an unknown package, 404
//             "Package not found." (vlaurin/action-ghcr-prune#4); an upload DELETE is 405
//             (radius-project/radius#12623); the /v2/ challenge
//             `Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull"`
//             (quoted verbatim in parser tests of several clients).
//
// Accounts and rights. --user LOGIN:PAT is a user owning namespace LOGIN, whose classic
// personal access token is PAT; --org ORG:LOGIN makes LOGIN a member (with admin rights on
// its packages) of organization ORG; --pat-scopes LOGIN:SCOPE,SCOPE... gives LOGIN's PAT
// those scopes (default read:packages,write:packages,delete:packages; taken literally:
// write:packages does not imply read:packages here, although GitHub's UI ticks both [?]).
// A package is the repository path after OWNER/ (OWNER/a/b is package "a/b" of OWNER,
// "a%2Fb" in REST paths). Packages are private unless named by --public OWNER/NAME...;
// whatever the registry behind holds under OWNER/ is OWNER's package, so a push creates the
// package (private, as GitHub does for a first push not linked to a repository [?]).
// Readers of a package: the owner, the members of an owning organization, and everyone
// for public ones; writers and deleters: the owner and members.
//
// Registry (ghcr.io):
//   GET /token?service=ghcr.io&scope=repository:OWNER/IMAGE:pull,push  Basic LOGIN:PAT, or
//     nothing (anonymous) → {"token":T} (GHCR sends nothing else; valid --token-lifetime
//     s). Granted: of the actions asked, those the caller has (pull needs read:packages and
//     read access, push write:packages and write access). Wrong credentials: 403
//     {"errors":[{"code":"DENIED","message":"denied"}]} (the status [?]); another service
//     400 [?].
//   /v2/ without credentials: 401 UNAUTHORIZED with the challenge above (realm
//     http://HOST/token); with a valid token or Basic LOGIN:PAT: 200 {}.
//   /v2/_catalog: 404 {"errors":[{"code":"NOT_FOUND","message":"404 page not found"}]}
//     to everyone (the body [?]).
//   DELETE of anything under /v2/<name>/: 405 UNSUPPORTED (GHCR deletes through the REST
//     API only).
//   Other requests of a repository go to --upstream (blob bodies streamed both ways, upload
//     Locations rewritten to this fake) when the token (or, unlike ghcr.io, Basic
//     LOGIN:PAT, which the harness's curl helpers send) allows the action. Otherwise:
//     anonymous callers and tokens not asked for the action get 401 with the challenge
//     (scope of the request; error="insufficient_scope" or "invalid_token" as
//     distribution's token auth adds them); a PAT without the scope 403 DENIED
//     "permission_denied: The token provided does not match expected scopes"; a caller
//     without write access to the owner 403 DENIED "permission_denied: write_package"; one
//     without read access 403 DENIED "denied" [?].
//
// REST API (api.github.com): Authorization "Bearer PAT" or "token PAT" (or Basic LOGIN:PAT,
// which GitHub accepts too); a PAT that is not one: 401 {"message":"Bad credentials"}.
// X-GitHub-Api-Version: 2022-11-28 or 2026-03-10, anything else 400 [?: the message].
// Every answer carries x-ratelimit-limit (--rate-limit for a token, 60 for anonymous
// callers), -remaining, -used, -reset (unix time, an hour after the window opened),
// -resource: core; with nothing left, 403 "API rate limit exceeded for user ID N."
// [docs: "403 or 429"]. Answers to a PAT carry X-OAuth-Scopes, those of the packages
// endpoints X-Accepted-OAuth-Scopes too (what a classic token's answers carry).
//   GET /user                                      the token's user (401 anonymous)
//   GET /users/LOGIN, GET /orgs/ORG                {"login","id","type",...}; 404 otherwise
//   GET /users/LOGIN/packages?package_type=container[&visibility=]   a user's packages the
//   GET /orgs/ORG/packages?package_type=container                    caller may read (every
//   GET /user/packages?package_type=container      one of the caller's own namespace);
//       package_type another of npm, maven, rubygems, docker, nuget: []; missing or other:
//       400 [?]
//   GET .../packages/container/NAME                one package; 404 "Package not found."
//   GET .../packages/container/NAME/versions       one per manifest the repository holds
//       (an index's platform manifests too, untagged, as GHCR lists them), newest first,
//       name = digest, metadata.container.tags = the tags naming it
//   GET .../packages/container/NAME/versions/ID
//   DELETE .../packages/container/NAME/versions/ID   204: the manifest is deleted at the
//       registry behind (DELETE /v2/OWNER/NAME/manifests/DIGEST, which takes every tag on
//       it, as GitHub deletes the version with all its tags); 400 when it is the last
//       tagged version (or the last version) of the package; 404 unknown version [?: the
//       message]; needs read:packages and delete:packages (403 otherwise) and write access
//       (403 [?: the message]).
//   Lists are paged as [paging] says (a page past the end is []); packages by name,
//   versions newest first. Missing scopes: 403 "You need at least read:packages scope to
//   list packages." and the like [?: the wording]. Anonymous calls to packages endpoints:
//   401 "Requires authentication" [?]. Errors are {"message","documentation_url","status"}.
//   Ids are stable per process (users, organizations, packages, versions).
//
// Versions are read from --storage (the revisions and tags of the repository, their
// mtimes for created_at/updated_at), not with requests to the upstream; the package list
// from the upstream's catalog. Nothing is cached, so what is pushed shows at once.
//
// Not emulated: deleting or restoring whole packages, restoring versions, package
// settings and repository links, fine-grained tokens and GITHUB_TOKEN, GHCR's 4 MiB limit
// on a single request body, download counts (and the 5,000-download rule), the
// docker.pkg.github.com registry, GraphQL.
//
// Test hooks (not counted): GET /fake/stats {"requests","api","v2","token","by_path",
// "paths"}, POST /fake/reset-stats. Every answer is logged on stdout: METHOD TARGET STATUS.
//
// Flags: --port P (0: any), --upstream http://127.0.0.1:N, --storage DIR (the upstream's
// storage root), --user LOGIN:PAT (repeatable), --org ORG:LOGIN (repeatable), --pat-scopes
// LOGIN:SCOPES (repeatable), --public OWNER/NAME (repeatable), --token-lifetime S (default
// 300), --rate-limit N (default 5000). Prints "listening on 127.0.0.1:P" then "ready" once
// it accepts connections.
#include <dirent.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "tests/fakes/registry_front.h"

namespace {

using namespace crossdock::fakes;

constexpr const char* kProgram = "ghcr";
constexpr const char* kService = "ghcr.io";
constexpr const char* kDocs = "https://docs.github.com/rest/packages/packages";
const std::vector<std::string> kAllScopes = {"read:packages", "write:packages", "delete:packages"};

struct Flags : FrontFlags {
  std::vector<std::string> orgs, pat_scopes, public_packages;
  long token_lifetime = 300;
  long rate_limit = 5000;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  ParseFrontFlags(kProgram, argc, argv, &flags, [&](const std::string& arg, const auto& value) {
    if (arg == "--org") {
      flags.orgs.push_back(value());
    } else if (arg == "--pat-scopes") {
      flags.pat_scopes.push_back(value());
    } else if (arg == "--public") {
      flags.public_packages.push_back(value());
    } else if (arg == "--token-lifetime") {
      flags.token_lifetime = FlagInt(kProgram, arg, value());
    } else if (arg == "--rate-limit") {
      flags.rate_limit = FlagInt(kProgram, arg, value());
    } else {
      return false;
    }
    return true;
  });
  if (flags.users.empty()) Die(kProgram, "at least one --user LOGIN:PAT is needed");
  return flags;
}

std::string GitHubTime(Clock::time_point t) { return Timestamp(t, 0); }

// GitHub's error body (BasicError, with the "status" string GitHub added).
void ApiError(httplib::Response& res, int status, const std::string& message,
              const std::string& docs = kDocs) {
  SendJson(res, status,
           {{"message", message}, {"documentation_url", docs}, {"status", std::to_string(status)}},
           "application/json; charset=utf-8");
}

// A registry error body ({"errors":[{"code","message"}]}).
void RegistryError(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
  SendJson(res, status, {{"errors", Json::array({{{"code", code}, {"message", message}}})}});
}

// "a/b" -> "a%2Fb": a package name as GitHub puts it in a URL path.
std::string EncodeName(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '/') {
      out += "%2F";
    } else {
      out += c;
    }
  }
  return out;
}

// The caller of a request: a login ("" anonymous) and its PAT's scopes.
struct Caller {
  std::string login;
  std::set<std::string> scopes;
  bool has(const std::string& scope) const { return scopes.count(scope) > 0; }
};

// One package version as the storage shows it.
struct Version {
  std::string digest;
  Clock::time_point created{}, updated{};
  std::vector<std::string> tags;
};

class Ghcr {
 public:
  explicit Ghcr(Flags flags) : flags_(std::move(flags)), upstream_(flags_.upstream), storage_(flags_.storage) {
    for (const std::string& u : flags_.users) {
      accounts_.Add(kProgram, u);
      const std::string login = u.substr(0, u.find(':'));
      pats_[u.substr(u.find(':') + 1)] = login;
      scopes_[login] = std::set<std::string>(kAllScopes.begin(), kAllScopes.end());
    }
    for (const std::string& spec : flags_.orgs) {
      size_t colon = spec.find(':');
      if (colon == std::string::npos || colon == 0) Die(kProgram, "--org wants ORG:LOGIN, got " + spec);
      org_members_[spec.substr(0, colon)].insert(spec.substr(colon + 1));
    }
    for (const std::string& spec : flags_.pat_scopes) {
      size_t colon = spec.find(':');
      if (colon == std::string::npos || !scopes_.count(spec.substr(0, colon))) {
        Die(kProgram, "--pat-scopes wants LOGIN:SCOPE,... for a --user, got " + spec);
      }
      std::set<std::string>& s = scopes_[spec.substr(0, colon)];
      s.clear();
      for (const std::string& scope : Split(spec.substr(colon + 1), ',')) {
        if (!scope.empty()) s.insert(scope);
      }
    }
    for (const std::string& p : flags_.public_packages) public_.insert(p);
  }

  void set_self(std::string self) { self_ = std::move(self); }

  void Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    if (StartsWith(req.path, "/fake/")) {
      if (!AnswerStatsHooks(req, res, stats_)) res.status = 404;
      return;
    }
    try {
      if (req.path == "/token") {
        stats_.Count(req, "token");
        Token(req, res);
      } else if (StartsWith(req.path, "/v2/") || req.path == "/v2") {
        stats_.Count(req, "v2");
        Registry(req, res, reader);
      } else {
        stats_.Count(req, "api");
        Rest(req, res);
      }
    } catch (const UpstreamError& e) {
      res.status = 502;
      res.set_content(std::string("ghcr fake: upstream: ") + e.what() + "\n", "text/plain");
    }
  }

 private:
  // ---- owners and rights ----

  bool IsUser(const std::string& name) const { return scopes_.count(name) > 0; }
  bool IsOrg(const std::string& name) const { return org_members_.count(name) > 0; }

  // Whether LOGIN may read and write OWNER's packages (its own, or an organization's it
  // belongs to).
  bool Member(const std::string& login, const std::string& owner) const {
    if (login.empty()) return false;
    if (login == owner) return true;
    auto it = org_members_.find(owner);
    return it != org_members_.end() && it->second.count(login) > 0;
  }

  bool IsPublic(const std::string& repo) const { return public_.count(repo) > 0; }

  // Why CALLER may not do ACTION ("pull", "push") to REPO on the registry: "" when it may.
  std::string Refusal(const Caller& c, const std::string& repo, const std::string& action) const {
    const std::string owner = repo.substr(0, repo.find('/'));
    if (repo.find('/') == std::string::npos) return "denied";
    if (action == "pull") {
      if (IsPublic(repo) && InCatalog(repo)) return "";
      if (c.login.empty()) return "anonymous";
      if (!c.has("read:packages")) return "permission_denied: The token provided does not match expected scopes";
      return Member(c.login, owner) ? "" : "denied";
    }
    if (action == "push") {
      if (c.login.empty()) return "anonymous";
      if (!c.has("write:packages")) return "permission_denied: The token provided does not match expected scopes";
      return Member(c.login, owner) ? "" : "permission_denied: write_package";
    }
    return "denied";
  }

  bool InCatalog(const std::string& repo) const {
    for (const std::string& name : upstream_.Catalog()) {
      if (name == repo) return true;
    }
    return false;
  }

  // ---- ghcr.io/token ----

  void Token(const httplib::Request& req, httplib::Response& res) {
    const Query query(RawQuery(req));
    if (query.Get("service").value_or(kService) != kService) {
      RegistryError(res, 400, "UNSUPPORTED", "unsupported service");
      return;
    }
    Caller c;
    if (req.has_header("Authorization")) {
      std::optional<Credentials> basic = ParseBasic(req);
      if (!basic || !accounts_.Check(*basic)) {
        RegistryError(res, 403, "DENIED", "denied");
        return;
      }
      c = CallerOf(basic->user);
    }
    Grant grant;
    grant.subject = c.login;
    grant.issued = Clock::now();
    grant.expires = grant.issued + std::chrono::seconds(flags_.token_lifetime);
    for (const Scope& s : RequestedScopes(query)) {
      Scope granted{s.type, s.name, {}};
      if (s.type == "repository" && ValidRepositoryName(s.name)) {
        for (const std::string& a : s.actions) {
          if ((a == "pull" || a == "push") && Refusal(c, s.name, a).empty()) granted.actions.push_back(a);
        }
      }
      grant.access.push_back(granted);
    }
    SendJson(res, 200, {{"token", tokens_.Issue(grant)}});
  }

  Caller CallerOf(const std::string& login) const {
    Caller c;
    c.login = login;
    auto it = scopes_.find(login);
    if (it != scopes_.end()) c.scopes = it->second;
    return c;
  }

  // ---- ghcr.io/v2/ ----

  std::string Host(const httplib::Request& req) const {
    const std::string host = req.get_header_value("Host");
    return host.empty() ? self_ : "http://" + host;
  }

  void Challenge(const httplib::Request& req, httplib::Response& res, const std::string& scope,
                 const std::string& error) {
    std::string c = "Bearer realm=\"" + Host(req) + "/token\",service=\"" + kService + "\",scope=\"" + scope + "\"";
    if (!error.empty()) c += ",error=\"" + error + "\"";
    res.set_header("WWW-Authenticate", c);
    RegistryError(res, 401, "UNAUTHORIZED", "authentication required");
  }

  void Registry(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const RegistryPath rp = ParseRegistryPath(req.path);
    std::optional<Grant> token;
    Caller c;
    bool authenticated = false;
    if (auto bearer = ParseBearer(req)) {
      auto [state, grant] = tokens_.Look(*bearer);
      if (state != TokenStore::State::kValid) {
        const std::string scope = rp.name.empty() ? "repository:user/image:pull"
                                                  : "repository:" + rp.name + ":" + ActionFor(req.method);
        return Challenge(req, res, scope, "invalid_token");
      }
      token = grant;
      c = CallerOf(grant.subject);
      authenticated = true;
    } else if (req.has_header("Authorization")) {
      std::optional<Credentials> basic = ParseBasic(req);
      if (basic && accounts_.Check(*basic)) {
        c = CallerOf(basic->user);
        authenticated = true;
      }
    }
    if (rp.kind == RegistryPath::Kind::kBase) {
      if (!authenticated) return Challenge(req, res, "repository:user/image:pull", "");
      res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
      SendJson(res, 200, Json::object());
      return;
    }
    if (rp.kind == RegistryPath::Kind::kCatalog) {
      RegistryError(res, 404, "NOT_FOUND", "404 page not found");
      return;
    }
    if (rp.kind == RegistryPath::Kind::kOther) {
      RegistryError(res, 404, "NAME_INVALID", "invalid repository name");
      return;
    }
    if (req.method == "DELETE") {
      RegistryError(res, 405, "UNSUPPORTED", "The operation is unsupported.");
      return;
    }
    const std::string action = ActionFor(req.method);
    const std::string scope = "repository:" + rp.name + ":" + (action == "push" ? "pull,push" : "pull");
    std::vector<std::pair<std::string, std::string>> needed = {{rp.name, action}};
    const Query query(RawQuery(req));
    if (req.method == "POST" && query.Has("from") && ValidRepositoryName(query.Get("from").value())) {
      needed.emplace_back(query.Get("from").value(), "pull");
    }
    for (const auto& [repo, act] : needed) {
      if (!authenticated) return Challenge(req, res, scope, "");
      const std::string why = Refusal(c, repo, act);
      if (token) {
        bool granted = false;
        for (const Scope& s : token->access) granted |= s.type == "repository" && s.name == repo && s.Allows(act);
        if (granted) continue;
        // Not asked for, or asked anonymously: the client should ask again (or log in).
        if (why.empty() || why == "anonymous") return Challenge(req, res, scope, "insufficient_scope");
      } else if (why.empty()) {
        continue;
      }
      RegistryError(res, 403, "DENIED", why);
      return;
    }
    upstream_.Forward(req, reader, self_, res);
  }

  // ---- api.github.com ----

  // Rate-limit bookkeeping per caller ("" = anonymous).
  struct Window {
    long used = 0;
    std::time_t reset = 0;
  };

  // Consumes one request of KEY's window and sets the x-ratelimit-* headers; false after
  // answering 403 when nothing was left.
  bool RateLimit(const std::string& key, httplib::Response& res) {
    const long limit = key.empty() ? 60 : flags_.rate_limit;
    const std::time_t now = std::time(nullptr);
    long used;
    std::time_t reset;
    bool spent = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Window& w = windows_[key];
      if (w.reset <= now) w = Window{0, now + 3600};
      if (w.used >= limit) {
        spent = true;
      } else {
        ++w.used;
      }
      used = w.used;
      reset = w.reset;
    }
    res.set_header("x-ratelimit-limit", std::to_string(limit));
    res.set_header("x-ratelimit-remaining", std::to_string(limit - used));
    res.set_header("x-ratelimit-used", std::to_string(used));
    res.set_header("x-ratelimit-reset", std::to_string(reset));
    res.set_header("x-ratelimit-resource", "core");
    if (spent) {
      ApiError(res, 403,
               key.empty() ? "API rate limit exceeded for 127.0.0.1."
                           : "API rate limit exceeded for user ID " + std::to_string(IdOf("user " + key)) + ".",
               "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api");
    }
    return !spent;
  }

  // The REST caller from "Bearer PAT", "token PAT" or Basic LOGIN:PAT (anonymous without
  // an Authorization header); nullopt for credentials that are not an account's.
  std::optional<Caller> RestCaller(const httplib::Request& req) const {
    const std::string header = req.get_header_value("Authorization");
    if (header.empty()) return Caller{};
    std::optional<std::string> pat;
    if (auto bearer = ParseBearer(req)) {
      pat = *bearer;
    } else if (header.size() > 6 && IEquals(std::string_view(header).substr(0, 6), "token ")) {
      pat = header.substr(6);
    } else if (auto basic = ParseBasic(req); basic && accounts_.Check(*basic)) {
      return CallerOf(basic->user);
    }
    if (pat) {
      auto it = pats_.find(*pat);
      if (it != pats_.end()) return CallerOf(it->second);
    }
    return std::nullopt;
  }

  void NotFound(httplib::Response& res) { ApiError(res, 404, "Not Found", "https://docs.github.com/rest"); }

  void Rest(const httplib::Request& req, httplib::Response& res) {
    std::optional<Caller> caller = RestCaller(req);
    if (!RateLimit(caller ? caller->login : "", res)) return;
    if (!caller) return ApiError(res, 401, "Bad credentials", "https://docs.github.com/rest");
    if (!caller->login.empty()) {
      std::vector<std::string> scopes(caller->scopes.begin(), caller->scopes.end());
      res.set_header("X-OAuth-Scopes", Join(scopes, ", "));
    }
    const std::string version = req.get_header_value("X-GitHub-Api-Version");
    if (!version.empty() && version != "2022-11-28" && version != "2026-03-10") {
      ApiError(res, 400,
               "Unsupported 'X-GitHub-Api-Version' header: " + version +
                   ". The supported values are: 2022-11-28, 2026-03-10",
               "https://docs.github.com/rest/about-the-rest-api/api-versions");
      return;
    }
    // Route on the raw path: a package name arrives as one segment, "a%2Fb".
    std::vector<std::string> seg;
    for (const std::string& raw : Split(RawPath(req), '/')) {
      std::optional<std::string> s = Unescape(raw, false);
      if (!s) return NotFound(res);
      seg.push_back(*s);
    }
    seg.erase(seg.begin());
    if (!seg.empty() && seg.back().empty()) seg.pop_back();
    const bool get = req.method == "GET" || req.method == "HEAD";
    const size_t n = seg.size();
    if (n == 1 && seg[0] == "user" && get) return CurrentUser(*caller, res);
    if (n == 2 && (seg[0] == "users" || seg[0] == "orgs") && get) return Owner(seg[0], seg[1], res);
    // Where the packages are: /user/packages…, /users/X/packages…, /orgs/X/packages….
    std::string kind, owner;
    size_t at = 0;
    if (n >= 2 && seg[0] == "user" && seg[1] == "packages") {
      kind = "user";
      owner = caller->login;
      at = 2;
    } else if (n >= 3 && (seg[0] == "users" || seg[0] == "orgs") && seg[2] == "packages") {
      kind = seg[0];
      owner = seg[1];
      at = 3;
    } else {
      return NotFound(res);
    }
    const std::vector<std::string> r(seg.begin() + static_cast<long>(at), seg.end());
    if (caller->login.empty()) return ApiError(res, 401, "Requires authentication", "https://docs.github.com/rest");
    const bool remove = req.method == "DELETE" && r.size() == 4;
    res.set_header("X-Accepted-OAuth-Scopes", remove ? "delete:packages, read:packages" : "read:packages");
    if (!caller->has("read:packages")) {
      return ApiError(res, 403,
                      remove ? "You need at least read:packages and delete:packages scopes to delete package versions."
                             : "You need at least read:packages scope to list packages.");
    }
    if ((kind == "users" && !IsUser(owner)) || (kind == "orgs" && !IsOrg(owner))) return NotFound(res);
    if (r.empty()) return get ? ListPackages(req, *caller, kind, owner, res) : NotFound(res);
    if (r[0] != "container") return ApiError(res, 404, "Package not found.");
    if (r.size() == 1 || r[1].empty()) return NotFound(res);
    const std::string repo = owner + "/" + r[1];
    if (!ValidRepositoryName(repo) || !InCatalog(repo) || !(IsPublic(repo) || Member(caller->login, owner))) {
      return ApiError(res, 404, "Package not found.");
    }
    if (r.size() == 2 && get) return SendJson(res, 200, PackageJson(kind, owner, r[1], Versions(repo)));
    if (r.size() < 3 || r[2] != "versions" || r.size() > 4) return NotFound(res);
    if (r.size() == 3) return get ? ListVersions(req, kind, owner, r[1], res) : NotFound(res);
    if (get) return GetVersion(kind, owner, r[1], r[3], res);
    if (req.method == "DELETE") return DeleteVersion(*caller, kind, owner, r[1], r[3], res);
    NotFound(res);
  }

  std::string OwnerType(const std::string& name) const { return IsOrg(name) ? "Organization" : "User"; }

  Json OwnerJson(const std::string& name) {
    const std::string base = self_ + "/" + (IsOrg(name) ? "orgs" : "users") + "/" + name;
    return {{"login", name},
            {"id", IdOf("user " + name)},
            {"type", OwnerType(name)},
            {"site_admin", false},
            {"url", self_ + "/users/" + name},
            {"html_url", "https://github.com/" + name},
            {"repos_url", base + "/repos"}};
  }

  void CurrentUser(const Caller& c, httplib::Response& res) {
    if (c.login.empty()) return ApiError(res, 401, "Requires authentication", "https://docs.github.com/rest");
    Json j = OwnerJson(c.login);
    j["name"] = c.login;
    SendJson(res, 200, j);
  }

  void Owner(const std::string& kind, const std::string& name, httplib::Response& res) {
    // /users/X answers for organizations too (GitHub's users endpoint covers both); /orgs/X
    // only for organizations.
    if (!(IsOrg(name) || (kind == "users" && IsUser(name)))) return NotFound(res);
    SendJson(res, 200, OwnerJson(name));
  }

  // The packages of OWNER: every repository below OWNER/ the registry holds, by name.
  std::vector<std::string> PackagesOf(const std::string& owner) const {
    std::vector<std::string> out;
    for (const std::string& name : upstream_.Catalog()) {
      if (StartsWith(name, owner + "/")) out.push_back(name.substr(owner.size() + 1));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string PackagePath(const std::string& kind, const std::string& owner) const {
    return self_ + (kind == "orgs" ? "/orgs/" : "/users/") + owner + "/packages/container/";
  }

  Json PackageJson(const std::string& kind, const std::string& owner, const std::string& name,
                   const std::vector<Version>& versions) {
    const std::string repo = owner + "/" + name;
    Clock::time_point created = Clock::now(), updated{};
    for (const Version& v : versions) {
      created = std::min(created, v.created);
      updated = std::max(updated, v.updated);
    }
    if (versions.empty()) updated = created;
    const std::string html = std::string("https://github.com/") + (IsOrg(owner) ? "orgs/" : "users/") + owner +
                             "/packages/container/package/" + EncodeName(name);
    return {{"id", IdOf("package " + repo)},
            {"name", name},
            {"package_type", "container"},
            {"owner", OwnerJson(owner)},
            {"version_count", versions.size()},
            {"visibility", IsPublic(repo) ? "public" : "private"},
            {"url", PackagePath(kind == "user" ? "users" : kind, owner) + EncodeName(name)},
            {"created_at", GitHubTime(created)},
            {"updated_at", GitHubTime(updated)},
            {"html_url", html}};
  }

  void ListPackages(const httplib::Request& req, const Caller& c, const std::string& kind, const std::string& owner,
                    httplib::Response& res) {
    const Query query(RawQuery(req));
    const std::string type = query.Get("package_type").value_or("");
    static const std::set<std::string> kOthers = {"npm", "maven", "rubygems", "docker", "nuget"};
    if (type != "container" && !kOthers.count(type)) {
      return ApiError(res, 400, "Invalid package_type: must be one of npm, maven, rubygems, docker, nuget, container");
    }
    const std::string visibility = query.Get("visibility").value_or("");
    std::vector<std::string> names;
    if (type == "container") {
      for (const std::string& name : PackagesOf(owner)) {
        const std::string repo = owner + "/" + name;
        if (!ValidRepositoryName(repo) || !(IsPublic(repo) || Member(c.login, owner))) continue;
        if (!visibility.empty() && visibility != (IsPublic(repo) ? "public" : "private")) continue;
        names.push_back(name);
      }
    }
    SendPage(req, res, names.size(), [&](size_t i) {
      return PackageJson(kind, owner, names[i], Versions(owner + "/" + names[i]));
    });
  }

  // ---- versions ----

  // The manifests REPO holds (its revision links) with the tags naming each, newest first.
  std::vector<Version> Versions(const std::string& repo) const {
    std::map<std::string, Version> by_digest;
    const std::string dir = flags_.storage + "/docker/registry/v2/repositories/" + repo + "/_manifests/revisions/sha256";
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* e = readdir(d)) {
        const std::string digest = std::string("sha256:") + e->d_name;
        if (!IsDigest(digest)) continue;
        std::optional<Clock::time_point> when = storage_.RevisionTime(repo, digest);
        if (!when) continue;  // deleted: the link is gone, the directory stays
        by_digest[digest] = Version{digest, *when, *when, {}};
      }
      closedir(d);
    }
    if (auto tags = storage_.TagLinks(repo)) {
      for (const auto& [tag, link] : *tags) {
        auto it = by_digest.find(link.digest);
        if (it == by_digest.end()) continue;
        it->second.tags.push_back(tag);
        it->second.updated = std::max(it->second.updated, link.pushed);
      }
    }
    std::vector<Version> out;
    for (auto& [digest, v] : by_digest) out.push_back(std::move(v));
    std::sort(out.begin(), out.end(), [](const Version& a, const Version& b) {
      return a.created != b.created ? a.created > b.created : a.digest < b.digest;
    });
    return out;
  }

  Json VersionJson(const std::string& kind, const std::string& owner, const std::string& name, const Version& v) {
    const std::string repo = owner + "/" + name;
    const std::int64_t id = IdOf("version " + repo + "@" + v.digest);
    const std::string html = std::string("https://github.com/") + (IsOrg(owner) ? "orgs/" : "users/") + owner +
                             "/packages/container/" + EncodeName(name);
    return {{"id", id},
            {"name", v.digest},
            {"url", PackagePath(kind == "user" ? "users" : kind, owner) + EncodeName(name) + "/versions/" +
                        std::to_string(id)},
            {"package_html_url", html.substr(0, html.rfind('/')) + "/package/" + EncodeName(name)},
            {"html_url", html + "/" + std::to_string(id)},
            {"created_at", GitHubTime(v.created)},
            {"updated_at", GitHubTime(v.updated)},
            {"metadata", {{"package_type", "container"}, {"container", {{"tags", v.tags}}}}}};
  }

  void ListVersions(const httplib::Request& req, const std::string& kind, const std::string& owner,
                    const std::string& name, httplib::Response& res) {
    const std::vector<Version> versions = Versions(owner + "/" + name);
    SendPage(req, res, versions.size(), [&](size_t i) { return VersionJson(kind, owner, name, versions[i]); });
  }

  // The version of OWNER/NAME whose id is ID_TEXT; nullopt when there is none.
  std::optional<Version> FindVersion(const std::string& owner, const std::string& name, const std::string& id_text,
                                     std::vector<Version>* all) {
    *all = Versions(owner + "/" + name);
    for (const Version& v : *all) {
      if (std::to_string(IdOf("version " + owner + "/" + name + "@" + v.digest)) == id_text) return v;
    }
    return std::nullopt;
  }

  void GetVersion(const std::string& kind, const std::string& owner, const std::string& name,
                  const std::string& id_text, httplib::Response& res) {
    std::vector<Version> all;
    std::optional<Version> v = FindVersion(owner, name, id_text, &all);
    if (!v) return NotFound(res);
    SendJson(res, 200, VersionJson(kind, owner, name, *v));
  }

  void DeleteVersion(const Caller& c, const std::string& kind, const std::string& owner, const std::string& name,
                     const std::string& id_text, httplib::Response& res) {
    (void)kind;
    if (!c.has("delete:packages")) {
      return ApiError(res, 403, "You need at least read:packages and delete:packages scopes to delete package versions.");
    }
    if (!Member(c.login, owner)) return ApiError(res, 403, "You do not have admin access to this package.");
    std::lock_guard<std::mutex> lock(delete_mu_);  // one delete at a time: the last-version rule
    std::vector<Version> all;
    std::optional<Version> v = FindVersion(owner, name, id_text, &all);
    if (!v) return ApiError(res, 404, "Package version not found.");
    size_t tagged = 0;
    for (const Version& other : all) tagged += other.tags.empty() ? 0 : 1;
    if (!v->tags.empty() && tagged == 1) {
      return ApiError(res, 400,
                      "You cannot delete the last tagged version of a package. You must delete the package instead.");
    }
    if (all.size() == 1) {
      return ApiError(res, 400, "You cannot delete the last version of a package. You must delete the package instead.");
    }
    httplib::Client client(upstream_.origin());
    client.set_keep_alive(false);
    httplib::Result r = client.Delete(("/v2/" + owner + "/" + name + "/manifests/" + v->digest).c_str());
    if (!r) throw UpstreamError("DELETE manifest " + owner + "/" + name + "@" + v->digest + " failed");
    if (r->status != 202) {
      throw UpstreamError("DELETE manifest " + owner + "/" + name + "@" + v->digest + " answered " +
                          std::to_string(r->status) + " (is delete enabled in the registry?)");
    }
    res.status = 204;
  }

  // ---- paging ----

  // A page of COUNT items of which ITEM(i) builds the i-th, with GitHub's Link header.
  void SendPage(const httplib::Request& req, httplib::Response& res, size_t count,
                const std::function<Json(size_t)>& item) {
    const Query query(RawQuery(req));
    long per_page = 30, page = 1;
    auto number = [](const std::optional<std::string>& v, long fallback) {
      if (!v || v->empty()) return fallback;
      char* end = nullptr;
      long n = std::strtol(v->c_str(), &end, 10);
      return *end == '\0' && n > 0 ? n : fallback;
    };
    per_page = std::min(100L, number(query.Get("per_page"), 30));
    page = number(query.Get("page"), 1);
    const long total = static_cast<long>(count);
    const long last = std::max(1L, (total + per_page - 1) / per_page);
    Json body = Json::array();
    for (long i = (page - 1) * per_page; i < total && i < page * per_page; ++i) {
      body.push_back(item(static_cast<size_t>(i)));
    }
    // Absolute URLs: the request's path and its query with page moved to the end.
    std::vector<std::string> kept;
    for (const std::string& pair : Split(RawQuery(req), '&')) {
      if (!pair.empty() && pair.substr(0, pair.find('=')) != "page") kept.push_back(pair);
    }
    const std::string base = Host(req) + RawPath(req) + "?" + Join(kept, "&") + (kept.empty() ? "" : "&") + "page=";
    std::vector<std::string> links;
    auto link = [&](long n, const char* rel) { links.push_back("<" + base + std::to_string(n) + ">; rel=\"" + rel + "\""); };
    if (page > 1) link(std::min(page - 1, last), "prev");
    if (page < last) {
      link(page + 1, "next");
      link(last, "last");
    }
    if (page > 1) link(1, "first");
    if (!links.empty()) res.set_header("Link", Join(links, ", "));
    SendJson(res, 200, body, "application/json; charset=utf-8");
  }

  std::int64_t IdOf(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = ids_.emplace(key, next_id_);
    if (inserted) next_id_ += 7;  // ids of different kinds interleave, as GitHub's do
    return it->second;
  }

  const Flags flags_;
  const Upstream upstream_;
  const Storage storage_;
  Accounts accounts_;
  std::map<std::string, std::string> pats_;                    // PAT -> login; fixed at start
  std::map<std::string, std::set<std::string>> scopes_;        // login -> PAT scopes; fixed
  std::map<std::string, std::set<std::string>> org_members_;   // org -> logins; fixed
  std::set<std::string> public_;                               // "owner/name"; fixed
  TokenStore tokens_;
  RequestStats stats_;
  std::string self_;  // "http://127.0.0.1:P", set before serving

  std::mutex delete_mu_;  // serializes version deletes
  std::mutex mu_;
  std::map<std::string, Window> windows_;       // guarded by mu_
  std::map<std::string, std::int64_t> ids_;     // guarded by mu_
  std::int64_t next_id_ = 1001;                 // guarded by mu_
};

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  Ghcr ghcr(flags);
  return ServeFake(kProgram, flags.port, ghcr);
}
