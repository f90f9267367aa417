// quay: a loopback fake of Quay (quay.io, Red Hat Quay) — its API v1, its registry token
// endpoint and its registry on one port — in front of a real, plain docker-registry that
// holds the data, for end-to-end tests of crossdock's Quay provider; started by
// tests/support/vendor_fakes.cc (QuayFake). Sources are quay/quay at ffba0c70e2 (2026-08-21),
// the files named below; facts collected in ../shared/reference/vendors.md §10. "[?]" marks
// a behaviour no source pins.
//
// Accounts and rights. --user NAME:CLI_PASSWORD is a user (namespace NAME) and the
// account_name/docker_cli_password of the json_file secret Harbor's adapter takes;
// --oauth-token TOKEN:NAME an OAuth2 token of NAME with the user:admin and repo:* scopes;
// --org ORG:MEMBER an organization and a member of its owners team. A user administers
// its own namespace and every organization it owns (so it may read, write, create and
// administer repositories there: auth/permissions.py); everyone reads public
// repositories. Repositories a push creates are private (CREATE_PRIVATE_REPO_ON_PUSH,
// config.py); a repository the fake first meets in the registry's storage (seeded behind
// its back) is public, so that tests have public ones [a fake's choice].
//
// Registry token endpoint (endpoints/v2/v2auth.py generate_registry_jwt):
//   GET /v2/auth?service=127.0.0.1:P&scope=repository:ns/repo:pull,push  (Basic NAME:PASS,
//     or $oauthtoken:TOKEN as auth/credentials.py allows; or nothing)
//     → 200 {"token":T} (no expires_in; valid --token-lifetime s, Quay's 1 h).
//     Wrong credentials: 401 {"errors":[{"code":"UNAUTHORIZED","message":"Invalid Username
//     or Password","detail":{}}]}; no credentials and no scope: 401 "access to the
//     requested resource is not authorized". A scope that is not
//     repository:NAME:ACTIONS (so registry:catalog:* too) is 400 INVALID_REQUEST "Unable to
//     decode repository and actions: …"; a name outside REPOSITORY_NAME_EXTENDED_REGEX 400
//     NAME_INVALID. Scopes are downscoped, never refused: no actions at all when the
//     namespace does not exist (CREATE_NAMESPACE_ON_PUSH is false); push when the caller
//     administers the namespace, creating the repository (private) if missing; pull when it
//     administers the namespace or the repository is public; * for administrators. A token
//     asked for another service than 127.0.0.1:P is issued but never accepted (its JWT
//     audience would not match SERVER_HOSTNAME).
//
// Registry (/v2/, endpoints/v2/__init__.py, auth/registry_jwt_auth.py): /v2/ answers
// "true", 200 with a valid token and 401 without, both with `WWW-Authenticate: Bearer
// realm="http://127.0.0.1:P/v2/auth",service="127.0.0.1:P"` (get_auth_headers). A bad or
// expired token is 401 {"error":"Invalid bearer token: …"} (util/http.py abort). Tokens
// grant per repository: a request without the action is 401 UNAUTHORIZED "access to the
// requested resource is not authorized" with the challenge plus
// scope="repository:ns/repo:pull" (reads) or ":pull,push" (writes, DELETE included:
// require_repo_write). Public repositories are readable without any token (allow_public).
// Unlike quay.io, Basic credentials of a --user account are accepted on /v2/ directly
// (what the harness's curl helpers and skopeo's fallback send), with the rights the token
// endpoint would grant; wrong ones are 401 as a bad token is.
//   /v2/_catalog is Quay's own (endpoints/v2/catalog.py): the repositories the caller may
//   read (none for anonymous callers: FEATURE_PUBLIC_CATALOG off), by id, n per page
//   (n capped at --page-size, Quay's max(V2_PAGINATION_SIZE, 100); a bad n is 1), and
//   `Link: </v2/_catalog?n=N&next_page=OPAQUE>; rel="next"` — relative, because
//   paginate() builds it with os.path.join(get_app_url(), url_for(...)) and url_for's
//   absolute path wins; an unknown next_page (or last=) starts over, as a token that
//   fails to decrypt does.
//   DELETE /v2/<repo>/manifests/<tag> removes that tag alone and answers 202
//   (manifest.py delete_manifest_by_tag); a digest DELETE goes upstream.
//   --manifest-put-202 (default; --no-manifest-put-202 turns it off): a manifest PUT that
//   the registry answers 201 is answered 202 instead, as older Quay releases did and as
//   Harbor's quay adapter tolerates; quay/quay @ ffba0c70e2 answers 201
//   (manifest.py _write_manifest_and_log).
//   Everything else under /v2/ is forwarded to --upstream (blob bodies streamed both ways,
//   upload Locations rewritten to this fake).
//
// API v1 (endpoints/api/*.py; Authorization: Bearer OAUTH_TOKEN, auth/oauth.py; an
// unknown token leaves the caller anonymous, Basic is not read). Errors are
// application/problem+json style (endpoints/exception.py): {"detail","error_message",
// "error_type","title","type":"http://HOST/api/v1/error/<type>","status"}; a refusal is
// 401 invalid_token "Requires authentication" anonymous, 403 insufficient_scope
// "Unauthorized" for a user (Unauthorized).
//   GET  /api/v1/user/                   user_view; 401 anonymous (user.py)
//   GET  /api/v1/organization/ORG        org_view; 404 for a user or nothing (organization.py)
//   POST /api/v1/organization/ {"name","email"}  → 201 "Created"; 401 anonymous; 400
//        "Missing JSON body"; 400 "A user or organization with this name already exists";
//        400 "Invalid email address"; with --captcha (FEATURE_RECAPTCHA, the creator not
//        whitelisted) 400 {"message":"Are you a bot? If not, please revalidate the
//        captcha."} — that plain body is what the code returns; 400 "Invalid namespace N:
//        Namespace must match expression …" (util/validation.py); 400 "Email has already
//        been used: E" (data/model/organization.py). The creator joins the owners team.
//   GET  /api/v1/repository?namespace=NS[&public=true][&last_modified=true][&next_page=T]
//        → {"repositories":[{"namespace","name","description","is_public","kind",
//        "state","is_starred"}],"next_page"?} by id, --page-size (Quay: 100) per page; one
//        of namespace, starred, public is required (400); anonymous callers see public
//        repositories only with public=true (data/model/repository.py
//        get_visible_repositories).
//   POST /api/v1/repository {"repository","visibility","description","namespace"?} → 201
//        {"namespace","name","kind"}; 400 "Repository already exists", "Invalid repository
//        name" (repository.py RepositoryList.post)
//   GET  /api/v1/repository/NS/REPO      details with "tags" (active tags by name)
//   POST /api/v1/repository/NS/REPO/changevisibility {"visibility"} → {"success":true}
//   GET  /api/v1/repository/NS/REPO/tag/?limit=N&page=P&onlyActiveTags=true[&specificTag=]
//        [&filter_tag_name=like:X|eq:X] → {"tags":[{"name","reversion","start_ts",
//        "manifest_digest","is_manifest_list","size","last_modified" (RFC 2822),
//        "end_ts"/"expiration" for a past tag, the is_sparse/child_* fields for a list}],
//        "page","has_additional"}; limit default 50, clamped to 1..min(100, --page-size)
//        (tag.py ListRepositoryTags); newest first, then by name (data/model/oci/tag.py).
//        Without onlyActiveTags the history is listed too: the tags deleted through this
//        fake and the digests a tag pointed at before a manifest PUT through this fake.
//   DELETE /api/v1/repository/NS/REPO/tag/TAG → 204 (that tag alone, from --storage); 404
//        for a missing repository or tag.
// Read routes need read permission or a public repository, write routes write, admin routes
// admin (require_repo_read/write/admin): a refusal is 401/403 even for a missing
// repository; a permitted caller gets 404 for one. Nested repository names (ns/a/b) are
// allowed everywhere (FEATURE_EXTENDED_REPOSITORY_NAMES). Trailing slashes on /user/,
// /organization/ and /tag/ are optional (Flask would redirect with 308).
//
// Listings read --storage, not the upstream (see Storage in registry_front.h): tags from
// the repository's tags directory, digests from their links, push times from the links'
// mtimes, media types and sizes from the manifest blobs (read once per repository and
// digest). The registry may be read-only.
// Tokens and page tokens are opaque random strings (Quay's are JWTs and Fernet tokens).
// Not emulated: robots, teams beyond owners, starring, popularity, quotas, mirroring,
// proxy cache, builds, app-specific tokens, the 429 of nginx's limit_req, the tag history
// of tags moved or deleted behind the fake's back.
//
// Test hooks (not counted): GET /fake/stats {"requests","api","v2","token","by_path",
// "paths"}, POST /fake/reset-stats. Every answer is logged on stdout: METHOD TARGET STATUS.
//
// Flags: --port P (0: any), --upstream http://127.0.0.1:N, --storage DIR (the upstream's
// storage root), --user NAME:CLI_PASSWORD (repeatable), --oauth-token TOKEN:NAME
// (repeatable), --org ORG:MEMBER (repeatable), --captcha, --token-lifetime S (default
// 3600), --[no-]manifest-put-202 (default on), --page-size N (default 100). Prints
// "listening on 127.0.0.1:P" then "ready" once it accepts connections.
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "tests/fakes/registry_front.h"

namespace {

using namespace crossdock::fakes;

constexpr const char* kProgram = "quay";

struct Flags : FrontFlags {
  std::vector<std::string> oauth_tokens, orgs;
  bool captcha = false;
  bool manifest_put_202 = true;
  long token_lifetime = 3600;
  long page_size = 100;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  ParseFrontFlags(kProgram, argc, argv, &flags, [&](const std::string& arg, const auto& value) {
    if (arg == "--oauth-token") {
      flags.oauth_tokens.push_back(value());
    } else if (arg == "--org") {
      flags.orgs.push_back(value());
    } else if (arg == "--captcha") {
      flags.captcha = true;
    } else if (arg == "--manifest-put-202") {
      flags.manifest_put_202 = true;
    } else if (arg == "--no-manifest-put-202") {
      flags.manifest_put_202 = false;
    } else if (arg == "--token-lifetime") {
      flags.token_lifetime = FlagInt(kProgram, arg, value());
    } else if (arg == "--page-size") {
      flags.page_size = FlagInt(kProgram, arg, value());
    } else {
      return false;
    }
    return true;
  });
  if (flags.page_size < 1) Die(kProgram, "--page-size must be at least 1");
  return flags;
}

// "a:b" split at the first colon; dies naming FLAG when there is none or a side is empty.
std::pair<std::string, std::string> Pair(const std::string& flag, const std::string& spec, const char* shape) {
  size_t colon = spec.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
    Die(kProgram, flag + " wants " + shape + ", got " + spec);
  }
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

// A user or an organization (Quay keeps both in its User table).
struct Namespace {
  bool organization = false;
  std::string email;
  std::set<std::string> owners;  // organizations: the owners team
};

struct Repo {
  std::int64_t id = 0;
  std::string ns, name;  // name may hold '/'
  std::string description;
  bool is_public = false;
};

// A tag as the API lists it: alive (end unset) or a past one.
struct TagEntry {
  std::string name, digest;
  Clock::time_point start{};
  std::optional<Clock::time_point> end;
};

// What a manifest says, which its digest fixes for good.
struct Description {
  bool is_list = false;
  std::optional<std::uint64_t> layers_size;  // null for a list [?]
  std::vector<std::string> children;
};

// util/names.py: REPOSITORY_NAME_EXTENDED_REGEX (the part after the namespace).
bool ValidQuayRepoName(const std::string& name) {
  static const std::regex kName("^(?=.{0,255}$)[a-z0-9][\\.a-z0-9_-]*(?:\\/[a-z0-9][\\.a-z0-9_-]*)*$");
  return std::regex_match(name, kName);
}

// util/validation.py validate_username; "" when valid, else why not.
std::string NamespaceProblem(const std::string& name) {
  static const std::regex kName("^([a-z0-9]+(?:[._-][a-z0-9]+)*)$");
  if (!std::regex_match(name, kName)) return "Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$";
  if (name.size() < 2 || name.size() > 255) return "Namespace must be between 2 and 255 characters in length";
  return "";
}

// util/validation.py validate_email.
bool ValidEmail(const std::string& email) {
  if (email.empty() || email.size() > 254) return false;
  std::vector<std::string> parts = Split(email, '@');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) return false;
  std::vector<std::string> labels = Split(parts[1], '.');
  if (labels.size() < 2) return false;
  for (const std::string& l : labels) {
    if (l.empty()) return false;
  }
  return true;
}

// parse_namespace_repository: the namespace is the first component ("library" when
// there is only one), the repository the rest.
std::pair<std::string, std::string> SplitName(const std::string& full) {
  size_t slash = full.find('/');
  if (slash == std::string::npos) return {"library", full};
  return {full.substr(0, slash), full.substr(slash + 1)};
}

// email.utils.formatdate(timegm(...)): "Fri, 09 Nov 2001 01:08:47 -0000".
std::string Rfc2822(Clock::time_point t) {
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t secs = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d -0000", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::int64_t UnixSeconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A registry error body: {"errors":[{"code","message","detail"}]} (endpoints/v2/errors.py).
void V2Error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  SendJson(res, status,
           {{"errors", Json::array({{{"code", code}, {"message", message}, {"detail", Json::object()}}})}});
}

class Quay {
 public:
  explicit Quay(Flags flags) : flags_(std::move(flags)), upstream_(flags_.upstream), storage_(flags_.storage) {
    for (const std::string& u : flags_.users) {
      accounts_.Add(kProgram, u);
      const std::string name = u.substr(0, u.find(':'));
      namespaces_[name] = Namespace{false, name + "@example.com", {}};
    }
    for (const std::string& spec : flags_.oauth_tokens) {
      auto [token, user] = Pair("--oauth-token", spec, "TOKEN:NAME");
      if (!accounts_.Has(user)) Die(kProgram, "--oauth-token names " + user + ", who is no --user");
      oauth_[token] = user;
    }
    for (const std::string& spec : flags_.orgs) {
      auto [org, member] = Pair("--org", spec, "ORG:MEMBER");
      if (!accounts_.Has(member)) Die(kProgram, "--org names " + member + ", who is no --user");
      if (auto it = namespaces_.find(org); it != namespaces_.end() && !it->second.organization) {
        Die(kProgram, "--org " + org + " is a user's name");
      }
      Namespace& ns = namespaces_[org];
      ns.organization = true;
      if (ns.email.empty()) ns.email = org + "@example.com";
      ns.owners.insert(member);
    }
  }

  void set_self(std::string self) {
    self_ = std::move(self);
    host_ = self_.substr(self_.find("//") + 2);
    // v2auth.py SCOPE_REGEX_TEMPLATE with re.escape(SERVER_HOSTNAME).
    std::string escaped;
    for (char ch : host_) {
      if (std::string_view(".^$|?*+()[]{}\\/").find(ch) != std::string_view::npos) escaped += '\\';
      escaped += ch;
    }
    scope_regex_ = std::regex("^repository:((?:" + escaped +
                              "\\/)?((?:[\\.a-zA-Z0-9_\\-]+\\/)*[\\.a-zA-Z0-9_\\-]+)):"
                              "((?:push|pull|\\*)(?:,(?:push|pull|\\*))*)$");
  }

  void Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const std::string& path = req.path;
    if (StartsWith(path, "/fake/")) {
      if (!AnswerStatsHooks(req, res, stats_)) res.status = 404;
      return;
    }
    try {
      if (path == "/v2/auth") {
        stats_.Count(req, "token");
        Token(req, res);
      } else if (StartsWith(path, "/v2/") || path == "/v2") {
        stats_.Count(req, "v2");
        Registry(req, res, reader);
      } else if (StartsWith(path, "/api/")) {
        stats_.Count(req, "api");
        Api(req, res, reader);
      } else {
        stats_.Count(req, "");
        res.status = 404;
        res.set_content("404 Not Found\n", "text/plain");
      }
    } catch (const UpstreamError& e) {
      res.status = 502;
      res.set_content(std::string("quay fake: upstream: ") + e.what() + "\n", "text/plain");
    }
  }

 private:
  // ---- namespaces, repositories, rights ----

  // Adds the repositories the registry holds that the fake has not met yet (public, see
  // the header comment), in the catalog's order.
  void Sync() {
    const std::vector<std::string> names = upstream_.Catalog();
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& full : names) {
      if (repos_.count(full)) continue;
      auto [ns, name] = SplitName(full);
      repos_[full] = Repo{next_repo_id_++, ns, name, "", true};
    }
  }

  // REQUIRES: mu_ held.
  bool NamespaceExistsLocked(const std::string& ns) const { return namespaces_.count(ns) > 0; }

  // Whether USER owns NS: its own namespace or an organization whose owners it is in.
  // REQUIRES: mu_ held.
  bool AdministersLocked(const std::string& user, const std::string& ns) const {
    if (user.empty()) return false;
    auto it = namespaces_.find(ns);
    if (it == namespaces_.end()) return false;
    return it->second.organization ? it->second.owners.count(user) > 0 : ns == user;
  }
  bool Administers(const std::string& user, const std::string& ns) {
    std::lock_guard<std::mutex> lock(mu_);
    return AdministersLocked(user, ns);
  }

  std::optional<Repo> FindRepo(const std::string& full) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = repos_.find(full);
    if (it == repos_.end()) return std::nullopt;
    return it->second;
  }

  // _authorize_or_downscope_request: the actions of REQUESTED that USER ("" anonymous)
  // gets on FULL, creating the repository (private) when push is granted and it is
  // missing. REQUIRES: Sync() called recently; a valid name.
  std::vector<std::string> Authorize(const std::string& user, const std::string& full,
                                     const std::vector<std::string>& requested) {
    auto has = [&](const char* a) { return std::find(requested.begin(), requested.end(), a) != requested.end(); };
    const auto [ns, name] = SplitName(full);
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    if (!NamespaceExistsLocked(ns)) return out;
    const bool admin = AdministersLocked(user, ns);
    auto it = repos_.find(full);
    if (has("push") && admin) {
      if (it == repos_.end()) {
        it = repos_.emplace(full, Repo{next_repo_id_++, ns, name, "", false}).first;
      }
      out.push_back("push");
    }
    if (has("pull") && (admin || (it != repos_.end() && it->second.is_public))) out.push_back("pull");
    if (has("*") && admin) out.push_back("*");
    return out;
  }

  // ---- /v2/auth ----

  std::string Challenge(const std::string& repository, const std::string& actions) const {
    std::string c = "Bearer realm=\"" + self_ + "/v2/auth\",service=\"" + host_ + "\"";
    if (!repository.empty()) c += ",scope=\"repository:" + repository + (actions.empty() ? "" : ":" + actions) + "\"";
    return c;
  }

  // handle_registry_v2_exception: the error, and the auth headers on a 401.
  void RegistryError(httplib::Response& res, int status, const std::string& code, const std::string& message,
                     const std::string& repository = "", const std::string& actions = "") const {
    if (status == 401) {
      res.set_header("WWW-Authenticate", Challenge(repository, actions));
      res.set_header("Docker-Distribution-API-Version", "registry/2.0");
    }
    V2Error(res, status, code, message);
  }

  // The user of Basic NAME:PASS or $oauthtoken:TOKEN; nullopt when not valid.
  std::optional<std::string> BasicUser(const Credentials& c) const {
    if (c.user == "$oauthtoken") {
      auto it = oauth_.find(c.password);
      if (it == oauth_.end()) return std::nullopt;
      return it->second;
    }
    if (!accounts_.Check(c)) return std::nullopt;
    return c.user;
  }

  void Token(const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET") {
      res.status = 405;
      return;
    }
    const Query query(RawQuery(req));
    std::string user;
    if (req.has_header("Authorization")) {
      std::optional<Credentials> basic = ParseBasic(req);
      std::optional<std::string> who = basic ? BasicUser(*basic) : std::nullopt;
      if (!who) return RegistryError(res, 401, "UNAUTHORIZED", "Invalid Username or Password");
      user = *who;
    }
    const std::vector<std::string> scopes = query.GetAll("scope");
    if (user.empty() && scopes.empty()) {
      return RegistryError(res, 401, "UNAUTHORIZED", "access to the requested resource is not authorized");
    }
    Grant grant;
    grant.subject = user;
    grant.issued = Clock::now();
    grant.expires = grant.issued + std::chrono::seconds(flags_.token_lifetime);
    bool synced = false;
    for (const std::string& scope : scopes) {
      if (scope.empty()) continue;
      std::smatch m;
      if (!std::regex_match(scope, m, scope_regex_)) {
        return RegistryError(res, 400, "INVALID_REQUEST", "Unable to decode repository and actions: " + scope);
      }
      const std::string full = m[2].str();  // without the optional hostname
      const auto [ns, name] = SplitName(full);
      if (!ValidQuayRepoName(name)) {
        return RegistryError(res, 400, "NAME_INVALID", "Invalid repository name: " + full);
      }
      if (!synced) {
        Sync();
        synced = true;
      }
      Scope granted{"repository", full, Authorize(user, full, Split(m[3].str(), ','))};
      grant.access.push_back(granted);
    }
    if (query.Get("service").value_or("") != host_) grant.expires = grant.issued;  // wrong audience
    SendJson(res, 200, {{"token", tokens_.Issue(grant)}});
  }

  // ---- /v2/ ----

  // Who a registry request is from: "" anonymous, nullopt after answering 401.
  struct RegistryCaller {
    std::string user;
    std::optional<Grant> token;
  };

  std::optional<RegistryCaller> Identify(const httplib::Request& req, httplib::Response& res,
                                         const std::string& repository, const std::string& actions) {
    RegistryCaller c;
    if (!req.has_header("Authorization")) return c;
    std::string why = "Invalid bearer token: missing bearer token";
    if (auto bearer = ParseBearer(req)) {
      auto [state, grant] = tokens_.Look(*bearer);
      if (state == TokenStore::State::kValid) {
        c.user = grant.subject;
        c.token = grant;
        return c;
      }
      why = state == TokenStore::State::kExpired ? "Invalid bearer token: Signature has expired"
                                                 : "Invalid bearer token: Invalid token";
    } else if (auto basic = ParseBasic(req)) {
      if (auto who = BasicUser(*basic)) {  // the fake's own allowance, see the header
        c.user = *who;
        return c;
      }
    }
    res.set_header("WWW-Authenticate", Challenge(repository, actions));
    res.set_header("Docker-Distribution-API-Version", "registry/2.0");
    SendJson(res, 401, {{"error", why}});
    return std::nullopt;
  }

  void Registry(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const RegistryPath rp = ParseRegistryPath(req.path);
    using Kind = RegistryPath::Kind;
    const bool read = req.method == "GET" || req.method == "HEAD";
    const std::string action = read ? "pull" : "push";
    const std::string actions = read ? "pull" : "pull,push";
    const bool repository = rp.kind != Kind::kBase && rp.kind != Kind::kCatalog && rp.kind != Kind::kOther;
    std::optional<RegistryCaller> c = Identify(req, res, repository ? rp.name : "", repository ? actions : "");
    if (!c) return;
    if (rp.kind == Kind::kBase) {
      res.set_header("WWW-Authenticate", Challenge("", ""));
      res.set_header("Docker-Distribution-API-Version", "registry/2.0");
      res.set_header("X-Sparse-Manifest-Support", "false");
      res.status = c->user.empty() && !c->token ? 401 : 200;
      res.set_content("true", "text/html; charset=utf-8");
      return;
    }
    if (rp.kind == Kind::kCatalog) return Catalog(req, res, c->user);
    if (rp.kind == Kind::kOther) return V2Error(res, 404, "NAME_INVALID", "invalid repository name");
    if (!ValidQuayRepoName(SplitName(rp.name).second)) {
      return V2Error(res, 400, "NAME_INVALID", "invalid repository name");
    }
    // A token decides alone (no catalog walk per request); Basic credentials and
    // allow_public need the repository table.
    bool allowed = false;
    if (c->token) {
      for (const Scope& s : c->token->access) {
        if (s.name == rp.name && s.Allows(action)) allowed = true;
      }
    } else if (!c->user.empty()) {
      Sync();
      allowed = !Authorize(c->user, rp.name, {action}).empty();
    }
    if (!allowed && read) {  // allow_public
      Sync();
      std::optional<Repo> r = FindRepo(rp.name);
      allowed = r && r->is_public;
    }
    if (!allowed) {
      return RegistryError(res, 401, "UNAUTHORIZED", "access to the requested resource is not authorized", rp.name,
                           actions);
    }
    if (rp.kind == Kind::kManifest && req.method == "DELETE" && !IsDigest(rp.reference)) {
      return DeleteTagByName(res, rp.name, rp.reference);
    }
    std::optional<StoredTag> before;
    const bool put_tag = rp.kind == Kind::kManifest && req.method == "PUT" && !IsDigest(rp.reference);
    if (put_tag) before = storage_.Tag(rp.name, rp.reference);
    upstream_.Forward(req, reader, self_, res);
    if (rp.kind == Kind::kManifest && req.method == "PUT" && res.status == 201) {
      if (flags_.manifest_put_202) res.status = 202;
      if (before) {
        std::optional<StoredTag> after = storage_.Tag(rp.name, rp.reference);
        if (after && after->digest != before->digest) RecordPast(rp.name, rp.reference, *before);
      }
    }
  }

  // manifest.py delete_manifest_by_tag.
  void DeleteTagByName(httplib::Response& res, const std::string& full, const std::string& tag) {
    Sync();
    if (!FindRepo(full)) return V2Error(res, 404, "NAME_UNKNOWN", "repository not found");
    std::optional<StoredTag> stored = storage_.Tag(full, tag);
    if (!stored || !storage_.DeleteTag(full, tag)) return V2Error(res, 404, "MANIFEST_UNKNOWN", "manifest unknown");
    RecordPast(full, tag, *stored);
    res.status = 202;
  }

  void RecordPast(const std::string& full, const std::string& tag, const StoredTag& stored) {
    std::lock_guard<std::mutex> lock(mu_);
    past_[full].push_back(TagEntry{tag, stored.digest, stored.pushed, Clock::now()});
  }

  // The repositories USER may read, by id.
  std::vector<Repo> Readable(const std::string& user) {
    std::vector<Repo> out;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [full, r] : repos_) {
      if (AdministersLocked(user, r.ns)) out.push_back(r);
    }
    std::sort(out.begin(), out.end(), [](const Repo& a, const Repo& b) { return a.id < b.id; });
    return out;
  }

  // An opaque page token that stands for START_ID ("start_id" in Quay's encrypted JSON).
  std::string PageToken(std::int64_t start_id) {
    Grant g;
    g.subject = std::to_string(start_id);
    g.issued = Clock::now();
    g.expires = g.issued + std::chrono::hours(48);  // util/pagination.py _PAGE_TOKEN_TTL
    return page_tokens_.Issue(g);
  }
  std::optional<std::int64_t> PageStart(const std::optional<std::string>& token) const {
    if (!token) return std::nullopt;
    auto [state, grant] = page_tokens_.Look(*token);
    if (state != TokenStore::State::kValid) return std::nullopt;
    return std::stoll(grant.subject);
  }

  void Catalog(const httplib::Request& req, httplib::Response& res, const std::string& user) {
    const Query query(RawQuery(req));
    long requested = flags_.page_size;
    if (auto n = query.Get("n")) {
      char* end = nullptr;
      requested = std::strtol(n->c_str(), &end, 10);
      if (n->empty() || *end != '\0') requested = 0;
    }
    const long limit = std::max(std::min(requested, flags_.page_size), 1L);
    std::optional<std::string> token = query.Get("next_page");
    if (!token) token = query.Get("last");
    const std::optional<std::int64_t> start = PageStart(token);
    std::vector<Repo> page;
    if (!user.empty()) {
      Sync();
      for (const Repo& r : Readable(user)) {
        if (start && r.id < *start) continue;
        page.push_back(r);
        if (static_cast<long>(page.size()) > limit) break;
      }
    }
    Json names = Json::array();
    for (size_t i = 0; i < page.size() && static_cast<long>(i) < limit; ++i) {
      names.push_back(page[i].ns + "/" + page[i].name);
    }
    if (static_cast<long>(page.size()) > limit) {
      res.set_header("Link", "</v2/_catalog?n=" + std::to_string(limit) + "&next_page=" + PageToken(page.back().id) +
                                 ">; rel=\"next\"");
    }
    SendJson(res, 200, {{"repositories", names}});
  }

  // ---- /api/v1 ----

  void ApiError(httplib::Response& res, int status, const std::string& type, const std::string& description,
                Json payload = Json::object()) const {
    payload["detail"] = description;
    payload["error_message"] = description;
    payload["error_type"] = type;
    payload["title"] = type;
    payload["type"] = self_ + "/api/v1/error/" + type;
    payload["status"] = status;
    SendJson(res, status, payload, "application/problem+json");
  }
  void InvalidRequest(httplib::Response& res, const std::string& message) const {
    ApiError(res, 400, "invalid_request", message);
  }
  void NotFound(httplib::Response& res) const { ApiError(res, 404, "not_found", "Not Found"); }
  // endpoints/exception.py Unauthorized.
  void Refuse(httplib::Response& res, const std::string& user) const {
    if (user.empty()) return ApiError(res, 401, "invalid_token", "Requires authentication");
    ApiError(res, 403, "insufficient_scope", "Unauthorized");
  }

  std::string ApiUser(const httplib::Request& req) const {
    if (auto bearer = ParseBearer(req)) {
      auto it = oauth_.find(*bearer);
      if (it != oauth_.end()) return it->second;
    }
    return "";
  }

  void Api(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const std::string& path = req.path;
    const std::string& m = req.method;
    const std::string user = ApiUser(req);
    auto no_method = [&]() {
      res.status = 405;
      SendJson(res, 405, {{"message", "The method is not allowed for the requested URL."}});
    };
    if (path == "/api/v1/user/" || path == "/api/v1/user") {
      return m == "GET" ? CurrentUser(res, user) : no_method();
    }
    if (path == "/api/v1/organization/" || path == "/api/v1/organization") {
      return m == "POST" ? CreateOrganization(res, reader, user) : no_method();
    }
    if (StartsWith(path, "/api/v1/organization/")) {
      std::string org = path.substr(std::string("/api/v1/organization/").size());
      if (!org.empty() && org.back() == '/') org.pop_back();
      if (org.empty() || org.find('/') != std::string::npos) return NotFound(res);
      return m == "GET" ? GetOrganization(res, org, user) : no_method();
    }
    if (path == "/api/v1/repository") {
      if (m == "GET") return ListRepositories(req, res, user);
      if (m == "POST") return CreateRepository(res, reader, user);
      return no_method();
    }
    const std::string prefix = "/api/v1/repository/";
    if (!StartsWith(path, prefix)) return NotFound(res);
    const std::string rest = path.substr(prefix.size());
    static const std::regex kTagList("^(.+)/tag/?$");
    static const std::regex kTag("^(.+)/tag/([^/]+)$");
    static const std::regex kVisibility("^(.+)/changevisibility$");
    std::smatch mt;
    if (std::regex_match(rest, mt, kTagList)) {
      return m == "GET" ? ListTags(req, res, user, mt[1].str()) : no_method();
    }
    if (std::regex_match(rest, mt, kTag)) {
      return m == "DELETE" ? DeleteTag(res, user, mt[1].str(), mt[2].str()) : no_method();
    }
    if (std::regex_match(rest, mt, kVisibility)) {
      return m == "POST" ? ChangeVisibility(res, reader, user, mt[1].str()) : no_method();
    }
    return m == "GET" ? GetRepository(req, res, user, rest) : no_method();
  }

  void CurrentUser(httplib::Response& res, const std::string& user) {
    if (user.empty()) return Refuse(res, user);
    Json orgs = Json::array();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [name, ns] : namespaces_) {
        if (!ns.organization || !ns.owners.count(user)) continue;
        orgs.push_back({{"name", name},
                        {"can_create_repo", true},
                        {"public", false},
                        {"is_org_admin", true},
                        {"preferred_namespace", false}});
      }
    }
    SendJson(res, 200,
             {{"anonymous", false},
              {"username", user},
              {"can_create_repo", true},
              {"is_me", true},
              {"verified", true},
              {"email", user + "@example.com"},
              {"logins", Json::array()},
              {"organizations", orgs},
              {"super_user", false},
              {"tag_expiration_s", 1209600}});
  }

  void GetOrganization(httplib::Response& res, const std::string& org, const std::string& user) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = namespaces_.find(org);
    if (it == namespaces_.end() || !it->second.organization) return NotFound(res);
    const bool member = it->second.owners.count(user) > 0;
    Json view = {{"name", org}, {"email", member ? it->second.email : ""}, {"is_admin", member}, {"is_member", member}};
    if (member) {
      view["teams"] = {{"owners",
                        {{"name", "owners"},
                         {"description", ""},
                         {"role", "admin"},
                         {"can_view", true},
                         {"repo_count", 0},
                         {"member_count", it->second.owners.size()},
                         {"is_synced", false}}}};
      view["ordered_teams"] = Json::array({"owners"});
      view["tag_expiration_s"] = 1209600;
      view["is_free_account"] = true;
    }
    SendJson(res, 200, view);
  }

  // organization.py OrganizationList.post, in its order.
  void CreateOrganization(httplib::Response& res, const httplib::ContentReader* reader, const std::string& user) {
    const std::string body = ReadBody(reader);
    if (user.empty()) return Refuse(res, user);  // require_user_admin
    Json j = Json::parse(body, nullptr, false);
    if (j.is_discarded() || j.is_null()) return InvalidRequest(res, "Missing JSON body");
    if (!j.is_object() || !j.contains("name")) return InvalidRequest(res, "'name' is a required property");
    for (const char* key : {"name", "email", "contact_email", "recaptcha_response"}) {
      if (j.contains(key) && !j[key].is_string()) {
        return InvalidRequest(res, j[key].dump() + " is not of type 'string'");
      }
    }
    const std::string name = j["name"].get<std::string>();
    std::string email = j.value("contact_email", "");
    if (email.empty()) email = j.value("email", "");
    std::lock_guard<std::mutex> lock(mu_);
    if (namespaces_.count(name)) {
      return InvalidRequest(res, "A user or organization with this name already exists");
    }
    if (!email.empty() && !ValidEmail(email)) return InvalidRequest(res, "Invalid email address");
    if (flags_.captcha) {
      SendJson(res, 400, {{"message", "Are you a bot? If not, please revalidate the captcha."}});
      return;
    }
    if (std::string why = NamespaceProblem(name); !why.empty()) {
      return InvalidRequest(res, "Invalid namespace " + name + ": " + why);
    }
    if (!email.empty()) {
      for (const auto& [other, ns] : namespaces_) {
        if (ns.email == email) return InvalidRequest(res, "Email has already been used: " + email);
      }
    }
    namespaces_[name] = Namespace{true, email.empty() ? name + "@example.com" : email, {user}};
    res.status = 201;
    res.set_content("\"Created\"\n", "application/json");
  }

  static bool Truthy(const std::optional<std::string>& v) {
    if (!v) return false;
    std::string s = *v;
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
    return s == "true" || s == "1" || s == "yes" || s == "y" || s == "t";
  }

  // The repository's tags, newest first then by name: the alive ones from the storage
  // and, unless ACTIVE_ONLY, the past ones this fake saw go.
  std::vector<TagEntry> TagsOf(const std::string& full, bool active_only) {
    std::vector<TagEntry> out;
    if (auto links = storage_.TagLinks(full)) {
      for (auto& [name, t] : *links) out.push_back(TagEntry{name, t.digest, t.pushed, std::nullopt});
    }
    if (!active_only) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = past_.find(full);
      if (it != past_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
    }
    std::sort(out.begin(), out.end(), [](const TagEntry& a, const TagEntry& b) {
      return a.start != b.start ? a.start > b.start : a.name < b.name;
    });
    return out;
  }

  // What the manifest FULL@DIGEST says; read once, then remembered.
  std::optional<Description> Describe(const std::string& full, const std::string& digest) {
    const std::string key = full + "@" + digest;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = described_.find(key); it != described_.end()) return it->second;
    }
    std::optional<StoredManifest> stored = storage_.Manifest(full, digest);
    if (!stored) return std::nullopt;
    Json m = Json::parse(stored->body, nullptr, false);
    Description d;
    if (m.is_object() && m.contains("manifests") && m["manifests"].is_array()) {
      d.is_list = true;
      for (const Json& child : m["manifests"]) d.children.push_back(child.value("digest", ""));
    } else if (m.is_object()) {
      std::uint64_t size = 0;
      if (m.contains("layers") && m["layers"].is_array()) {
        for (const Json& l : m["layers"]) size += l.value("size", std::uint64_t{0});
      }
      d.layers_size = size;
    }
    std::lock_guard<std::mutex> lock(mu_);
    described_[key] = d;
    return d;
  }

  // tag.py _tag_dict.
  Json TagJson(const std::string& full, const TagEntry& t) {
    std::optional<Description> d = Describe(full, t.digest);
    Json j = {{"name", t.name}, {"reversion", false}, {"start_ts", UnixSeconds(t.start)}};
    if (t.end) j["end_ts"] = UnixSeconds(*t.end);
    j["manifest_digest"] = t.digest;
    j["is_manifest_list"] = d && d->is_list;
    j["size"] = d && d->layers_size ? Json(*d->layers_size) : Json(nullptr);
    j["last_modified"] = Rfc2822(t.start);
    if (t.end) j["expiration"] = Rfc2822(*t.end);
    if (d && d->is_list) {
      Json presence = Json::object();
      int present = 0;
      for (const std::string& child : d->children) {
        const bool here = storage_.RevisionTime(full, child).has_value();
        presence[child] = here;
        present += here ? 1 : 0;
      }
      j["is_sparse"] = present < static_cast<int>(d->children.size());
      j["child_manifest_count"] = d->children.size();
      j["present_child_count"] = present;
      j["child_manifests_presence"] = presence;
    }
    return j;
  }

  // require_repo_read/write/admin: true when USER may; else answers 401/403 and false.
  bool RequireRepo(httplib::Response& res, const std::string& user, const std::string& full, bool write) {
    const std::string ns = SplitName(full).first;
    if (Administers(user, ns)) return true;
    if (!write) {
      Sync();
      std::optional<Repo> r = FindRepo(full);
      if (r && r->is_public) return true;
    }
    Refuse(res, user);
    return false;
  }

  // The repository FULL after Sync(); nullopt after answering 404.
  std::optional<Repo> LookupRepo(httplib::Response& res, const std::string& full) {
    Sync();
    std::optional<Repo> r = FindRepo(full);
    if (!r) NotFound(res);
    return r;
  }

  // reqparse's int: nullopt after answering 400.
  std::optional<long> IntParam(httplib::Response& res, const Query& q, const std::string& key, long fallback,
                               const std::string& help) {
    std::optional<std::string> v = q.Get(key);
    if (!v) return fallback;
    char* end = nullptr;
    long n = std::strtol(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0') {
      SendJson(res, 400, {{"message", {{key, help + " invalid literal for int() with base 10: '" + *v + "'"}}}});
      return std::nullopt;
    }
    return n;
  }

  void ListTags(const httplib::Request& req, httplib::Response& res, const std::string& user, const std::string& full) {
    if (!RequireRepo(res, user, full, false)) return;
    if (!LookupRepo(res, full)) return;
    const Query q(RawQuery(req));
    std::optional<long> page = IntParam(res, q, "page", 1, "Page index for the results. Default 1.");
    if (!page) return;
    std::optional<long> limit =
        IntParam(res, q, "limit", 50, "Limit to the number of results to return per page. Max 100.");
    if (!limit) return;
    const long p = std::max(1L, *page);
    const long size = std::min(std::min(100L, flags_.page_size), std::max(1L, *limit));
    const std::string specific = q.Get("specificTag").value_or("");
    const std::string filter = q.Get("filter_tag_name").value_or("");
    std::string like, eq;
    if (!filter.empty()) {
      if (StartsWith(filter, "like:")) {
        like = filter.substr(5);
      } else if (StartsWith(filter, "eq:")) {
        eq = filter.substr(3);
      } else {
        SendJson(res, 400, {{"message", "Invalid filter_tag_name: " + filter}});  // [?]
        return;
      }
    }
    std::vector<TagEntry> tags;
    for (TagEntry& t : TagsOf(full, Truthy(q.Get("onlyActiveTags")))) {
      if (!specific.empty() && t.name != specific) continue;
      if (!like.empty() && t.name.find(like) == std::string::npos) continue;
      if (!eq.empty() && t.name != eq) continue;
      tags.push_back(std::move(t));
    }
    Json items = Json::array();
    const size_t first = static_cast<size_t>((p - 1) * size);
    for (size_t i = first; i < tags.size() && i < first + static_cast<size_t>(size); ++i) {
      items.push_back(TagJson(full, tags[i]));
    }
    SendJson(res, 200,
             {{"tags", items}, {"page", p}, {"has_additional", tags.size() > first + static_cast<size_t>(size)}});
  }

  void DeleteTag(httplib::Response& res, const std::string& user, const std::string& full, const std::string& tag) {
    if (!RequireRepo(res, user, full, true)) return;
    if (!LookupRepo(res, full)) return;
    std::optional<StoredTag> stored = storage_.Tag(full, tag);
    if (!stored || !storage_.DeleteTag(full, tag)) return NotFound(res);
    RecordPast(full, tag, *stored);
    res.status = 204;
  }

  Json RepoJson(const Repo& r, const std::string& user) {
    return {{"namespace", r.ns},
            {"name", r.name},
            {"description", r.description},
            {"is_public", r.is_public},
            {"kind", "image"},
            {"state", "NORMAL"},
            {"is_starred", false},
            {"can_write", Administers(user, r.ns)},
            {"can_admin", Administers(user, r.ns)}};
  }

  void GetRepository(const httplib::Request& req, httplib::Response& res, const std::string& user,
                     const std::string& full) {
    if (!RequireRepo(res, user, full, false)) return;
    std::optional<Repo> r = LookupRepo(res, full);
    if (!r) return;
    Json j = RepoJson(*r, user);
    bool is_org;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = namespaces_.find(r->ns);
      is_org = it != namespaces_.end() && it->second.organization;
    }
    j["is_organization"] = is_org;
    j["trust_enabled"] = false;
    j["tag_expiration_s"] = 1209600;
    const Query q(RawQuery(req));
    if (!q.Has("includeTags") || Truthy(q.Get("includeTags"))) {
      Json tags = Json::object();
      for (const TagEntry& t : TagsOf(full, true)) {
        std::optional<Description> d = Describe(full, t.digest);
        tags[t.name] = {{"name", t.name},
                        {"size", d && d->layers_size ? Json(*d->layers_size) : Json(nullptr)},
                        {"last_modified", Rfc2822(t.start)},
                        {"manifest_digest", t.digest}};
      }
      j["tags"] = tags;
    }
    SendJson(res, 200, j);
  }

  void ChangeVisibility(httplib::Response& res, const httplib::ContentReader* reader, const std::string& user,
                        const std::string& full) {
    Json j = Json::parse(ReadBody(reader), nullptr, false);
    if (!RequireRepo(res, user, full, true)) return;
    if (!LookupRepo(res, full)) return;
    if (j.is_discarded() || !j.is_object() || !j.contains("visibility") || !j["visibility"].is_string() ||
        (j["visibility"] != "public" && j["visibility"] != "private")) {
      return InvalidRequest(res, "'visibility' must be one of ['public', 'private']");
    }
    std::lock_guard<std::mutex> lock(mu_);
    repos_[full].is_public = j["visibility"] == "public";
    SendJson(res, 200, {{"success", true}});
  }

  void ListRepositories(const httplib::Request& req, httplib::Response& res, const std::string& user) {
    const Query q(RawQuery(req));
    const std::string ns = q.Get("namespace").value_or("");
    const bool is_public = Truthy(q.Get("public"));
    const bool starred = Truthy(q.Get("starred"));
    if (ns.empty() && !starred && !is_public) {
      return InvalidRequest(res, "namespace, starred or public are required for this API call");
    }
    if (starred && user.empty()) {
      res.status = 400;
      return;
    }
    const std::optional<std::int64_t> start = PageStart(q.Get("next_page"));
    Sync();
    std::vector<Repo> visible;
    if (!starred) {  // nothing is ever starred here
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [full, r] : repos_) {
        if (!ns.empty() && r.ns != ns) continue;
        if (!((is_public && r.is_public) || AdministersLocked(user, r.ns))) continue;
        if (start && r.id < *start) continue;
        visible.push_back(r);
      }
    }
    std::sort(visible.begin(), visible.end(), [](const Repo& a, const Repo& b) { return a.id < b.id; });
    const size_t limit = static_cast<size_t>(std::min(flags_.page_size, 100L));
    const bool last_modified = Truthy(q.Get("last_modified"));
    Json items = Json::array();
    for (size_t i = 0; i < visible.size() && i < limit; ++i) {
      Json j = RepoJson(visible[i], user);
      j.erase("can_write");
      j.erase("can_admin");
      if (user.empty()) j.erase("is_starred");
      if (last_modified) {
        std::vector<TagEntry> tags = TagsOf(visible[i].ns + "/" + visible[i].name, true);
        j["last_modified"] = tags.empty() ? Json(nullptr) : Json(UnixSeconds(tags.front().start));
      }
      items.push_back(j);
    }
    Json body = {{"repositories", items}};
    if (visible.size() > limit) body["next_page"] = PageToken(visible[limit].id);
    SendJson(res, 200, body);
  }

  void CreateRepository(httplib::Response& res, const httplib::ContentReader* reader, const std::string& user) {
    Json j = Json::parse(ReadBody(reader), nullptr, false);
    if (j.is_discarded() || j.is_null()) return InvalidRequest(res, "Missing JSON body");
    for (const char* key : {"repository", "visibility", "description"}) {
      if (!j.is_object() || !j.contains(key))
        return InvalidRequest(res, std::string("'") + key + "' is a required property");
      if (!j[key].is_string()) return InvalidRequest(res, j[key].dump() + " is not of type 'string'");
    }
    if (j["visibility"] != "public" && j["visibility"] != "private") {
      return InvalidRequest(res, j["visibility"].dump() + " is not one of ['public', 'private']");
    }
    if (user.empty() && !j.contains("namespace"))
      return InvalidRequest(res, "Must provide a namespace or must be logged in.");
    const std::string ns =
        j.contains("namespace") && j["namespace"].is_string() ? j["namespace"].get<std::string>() : user;
    const std::string name = j["repository"].get<std::string>();
    if (!Administers(user, ns)) return Refuse(res, user);
    Sync();
    std::lock_guard<std::mutex> lock(mu_);
    const std::string full = ns + "/" + name;
    if (repos_.count(full)) return InvalidRequest(res, "Repository already exists");
    if (!ValidQuayRepoName(name)) return InvalidRequest(res, "Invalid repository name");
    repos_[full] = Repo{next_repo_id_++, ns, name, j["description"].get<std::string>(), j["visibility"] == "public"};
    SendJson(res, 201, {{"namespace", ns}, {"name", name}, {"kind", "image"}});
  }

  const Flags flags_;
  const Upstream upstream_;
  const Storage storage_;
  Accounts accounts_;
  std::map<std::string, std::string> oauth_;  // token -> user; fixed at start
  TokenStore tokens_, page_tokens_;
  RequestStats stats_;
  std::string self_, host_;  // "http://127.0.0.1:P" and "127.0.0.1:P", set before serving
  std::regex scope_regex_;   // set before serving

  std::mutex mu_;
  std::map<std::string, Namespace> namespaces_;        // guarded by mu_
  std::map<std::string, Repo> repos_;                  // "ns/name"; guarded by mu_
  std::int64_t next_repo_id_ = 1;                      // guarded by mu_
  std::map<std::string, std::vector<TagEntry>> past_;  // "ns/name"; guarded by mu_
  std::map<std::string, Description> described_;       // "ns/name@digest"; guarded by mu_
};

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  Quay quay(flags);
  return ServeFake(kProgram, flags.port, quay);
}
