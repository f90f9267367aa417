// harbor: a loopback fake of Harbor v2.x (core + nginx) in front of a real, plain
// docker-registry that holds the data, for end-to-end tests of crossdock's Harbor provider;
// started by tests/support/vendor_fakes.cc (HarborFake). Sources are goharbor/harbor at
// c50c7ddd6e (2026-08-21): api/v2.0/swagger.yaml and the files named below; facts collected
// in ../shared/reference/vendors.md §2.
//
// Control plane (Basic credentials on every call; wrong ones make the caller anonymous,
// as src/server/middleware/security/basic_auth.go does, and the API sends no challenge):
//   GET  /api/version                    {"version":"v2.0"} (404 with --v1, as Harbor 1.x;
//                                        all of /api/v2.0 is 404 then too)
//   GET  /api/v2.0/ping                  Pong
//   GET  /api/v2.0/systeminfo            {"harbor_version":"v2.10.0-fake",...}
//   GET  /api/v2.0/users/current         {"user_id","username","sysadmin_flag",...}; 401
//                                        anonymous: how a client tells that its
//                                        credentials were wrong (handler/user.go)
//   GET  /api/v2.0/projects              ?name= (substring), ?q=name=X | name=~X |
//                                        name={'a' 'b'} | public=true (src/lib/q/builder.go),
//                                        ?public=; anonymous callers see public projects
//   HEAD /api/v2.0/projects?project_name=N   200 | 404; 401 anonymous (handler/project.go)
//   GET  /api/v2.0/projects/{name-or-id}   (registry_id only on proxy-cache projects:
//                                        go-swagger models omit zero values)
//   POST /api/v2.0/projects              {"project_name","metadata":{"public"},"registry_id"}
//                                        201 + Location /api/v2.0/projects/<id> (<name> with
//                                        X-Resource-Name-In-Location: true); 401, 403 "Only
//                                        system admin can create project" (not --admin), 400
//                                        name rules (src/pkg/project/manager.go), 409
//                                        "The project named p already exists" (pkg/project/dao)
//   GET  /api/v2.0/projects/{p}/repositories           (handler/repository.go)
//   GET  /api/v2.0/projects/{p}/repositories/{r}
//   GET  /api/v2.0/projects/{p}/repositories/{r}/artifacts[?with_tag&with_label]
//                                        (an unknown {r} is an empty list: artifacts are
//                                        counted and listed by name, handler/artifact.go)
//   GET  /api/v2.0/projects/{p}/repositories/{r}/artifacts/{reference}
//   DELETE .../artifacts/{reference}/tags/{tag}        200 (handler/artifact.go DeleteTag)
//   POST .../artifacts/{reference}/labels {"id":N}     200; 409 when added already
//   GET  /api/v2.0/labels?scope=g|p[&name=]            (handler/label.go; 400 bad scope)
//   POST /api/v2.0/labels {"name","scope":"g"}         201 + Location; system admin only
//   GET  /api/v2.0/labels/{id}
//   GET  /api/v2.0/registries            the JSON list in --registries (read at each request;
//                                        empty without the flag), paged; system admin only:
//                                        401 anonymous, 403 {"code":"FORBIDDEN","message":USER}
//                                        for other users (handler/registry.go, base.go
//                                        RequireSystemAccess)
//   GET  /api/v2.0/replication/policies  the same from --policies (handler/replication.go)
// {r} is the repository path without the project, escaped twice ("a/b" arrives as
// a%252Fb, src/lib/encode/repository): nginx decodes the path once (httplib does the same
// here), go-openapi routes on segments and unescapes the parameter, Harbor unescapes it
// again (handler/util.go unescapePathParams). So a%2Fb or a/b match no route: 404
// {"errors":[{"code":"NOT_FOUND","message":"path … was not found"}]}.
// Every list is paged: page (from 1), page_size (default 10; above 100 refused with 422 as
// go-swagger validates swagger.yaml's maximum; above --page-cap served with --page-cap
// items), X-Total-Count, and Link: </api/v2.0/...?page=2&page_size=10>; rel="next", with
// rel="prev", both in one header joined by " , " (src/lib/link.go); the URL is the
// request's raw path and its query re-encoded, sorted by key and then unescaped whole
// (handler/base.go Links). Errors are {"errors":[{"code","message"}]} (src/lib/http/error.go).
// Access (src/server/v2.0/handler/base.go RequireProjectAccess, src/common/rbac/project):
// every --user account is a maintainer of every project (pull, push, delete, tag delete,
// labels); --admin is the system admin; anonymous callers read public projects. A missing
// project answers 404 to the admin, 403 to other users, 401 to anonymous callers.
// Orders: projects by id, repositories by name, artifacts by push time newest first (then
// digest), labels by id.
//
// Data plane: /v2/... is forwarded to --upstream (blob bodies streamed both ways, upload
// Locations rewritten to this fake) once src/server/middleware/v2auth/auth.go would let
// it through:
//   - GET /v2/ needs an authenticated caller; /v2/_catalog the system admin (Basic only:
//     a token never grants the catalog, security/v2token);
//   - a GET/HEAD of a repository without an Authorization header gets the challenge
//     `Bearer realm="http://HOST/service/token",service="harbor-registry",scope="repository:p/r:pull"`;
//   - the project (first path component) must exist, else 401 UNAUTHORIZED
//     "project p not found: project p not found";
//   - the caller needs the action on the project: pull for GET/HEAD, push for
//     POST/PUT/PATCH, delete for DELETE (plus pull on the source of a mount); Basic
//     credentials are checked per request, a token grants per project, not per repository
//     (security/v2token). Refused: 401 with `Basic realm="harbor"` when the request had an
//     Authorization header (an expired or unknown token counts as none and leaves the
//     caller anonymous), the Bearer challenge above otherwise;
//   - a manifest PUT or upload POST to a proxy-cache project: 403 {"errors":[{"code":
//     "DENIED","message":"denied: can not push artifact to a proxy project: p"}]}
//     (middleware/repoproxy/proxy.go).
// Token service (src/core/service/token/{token,creator,authutils}.go):
//   GET /service/token?service=harbor-registry&scope=repository:p/r:pull,push
//     → {"token":T,"access_token":"","expires_in":S,"issued_at":RFC3339} (the empty
//     access_token is Harbor's, common/models/token.go). Each repository scope is granted
//     every action the caller has on its project, whatever was asked (pull for anonymous
//     callers on public projects, nothing on a missing project); registry:catalog:* only
//     to the admin. No scope and no valid credentials: 401. Another service: 400. Another
//     method: 405 (the beego controller has Get() only).
// Tokens are opaque random strings (Harbor's are JWTs; no client may look inside).
//
// Tag deletion removes only that tag's directory from --storage; the manifest stays and
// is listed as an untagged artifact ("tags": null) until deleted. Labels live in memory,
// per repository and digest.
//
// Listing reads --storage, not the upstream: an artifacts page (and a repository's
// artifact_count) takes the tags from the repository's tags directory, each tag's digest
// from its current link, which manifests the repository holds from its revision links,
// push times from the links' mtimes, whether the repository exists from its _layers
// directory (what the registry's catalog lists), and media type and size from
// the manifest blob (docker/registry/v2/blobs/sha256/HE/HEX/data), read once per
// repository and digest and then remembered (a digest's manifest never changes); only
// the page's items are turned into JSON; and pages after the first of an artifacts
// listing are cut from the first page's snapshot of the repository (ListingSnapshots in
// registry_front.h: kept 10 s, dropped by any write to the repository through this fake;
// page 1 is always read fresh). A HEAD and a GET per tag at the upstream on every page
// would make a page of a 2,000-artifact repository cost 4,000 requests, and reading the
// storage again for every page 20 times as much as one: crossdock's bench (`make bench`,
// vendor-noop) would time the fake instead of the client. The registry may be read-only
// (the bench's is).
//
// Not emulated: the rest of the API, robot accounts, OIDC, quotas, scanning, proxy-cache
// pulls from a remote (a proxy project's pulls read the upstream like any other),
// accessories (always null), extra_attrs, pull counts and pull times.
//
// Test hooks (not counted): GET /fake/stats {"requests","api","v2","token","by_path",
// "paths"}, POST /fake/reset-stats. Every answer is logged on stdout: METHOD TARGET STATUS.
//
// Flags: --port P (0: any), --upstream http://127.0.0.1:N, --storage DIR (the upstream's
// storage root), --user NAME:PASS (repeatable), --admin NAME (the system admin; only it
// may create projects), --project NAME[:public] (repeatable; private unless :public),
// --proxy-cache-project NAME (repeatable; registry_id 7), --registries FILE, --policies FILE
// (JSON lists as Harbor's API answers them), --v1, --token-lifetime S
// (default 1800, Harbor's 30 minutes), --page-cap N (default 100). Prints "listening on
// 127.0.0.1:P" then "ready" once it accepts connections.
#include <cerrno>
#include <fstream>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/fakes/registry_front.h"

namespace {

using namespace crossdock::fakes;

constexpr const char* kProgram = "harbor";
constexpr std::int64_t kProxyRegistryId = 7;

struct Flags : FrontFlags {
  std::string admin;
  std::vector<std::string> projects, proxy_projects;
  bool v1 = false;
  long token_lifetime = 1800;
  long page_cap = 100;
  std::string registries_file, policies_file;  // "": empty lists
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  ParseFrontFlags(kProgram, argc, argv, &flags, [&](const std::string& arg, const auto& value) {
    if (arg == "--admin") {
      flags.admin = value();
    } else if (arg == "--project") {
      flags.projects.push_back(value());
    } else if (arg == "--proxy-cache-project") {
      flags.proxy_projects.push_back(value());
    } else if (arg == "--v1") {
      flags.v1 = true;
    } else if (arg == "--token-lifetime") {
      flags.token_lifetime = FlagInt(kProgram, arg, value());
    } else if (arg == "--page-cap") {
      flags.page_cap = FlagInt(kProgram, arg, value());
    } else if (arg == "--registries") {
      flags.registries_file = value();
    } else if (arg == "--policies") {
      flags.policies_file = value();
    } else {
      return false;
    }
    return true;
  });
  if (flags.page_cap < 1) Die(kProgram, "--page-cap must be at least 1");
  return flags;
}

struct Project {
  std::int64_t id = 0;
  std::string name, owner;
  bool is_public = false;
  std::int64_t registry_id = 0;
  Clock::time_point created{};
};

struct Label {
  std::int64_t id = 0, project_id = 0;
  std::string name, description, color, scope;
  Clock::time_point created{};
};

// Who is asking: from Basic credentials on the API; on /v2/ also from a bearer token.
struct Caller {
  std::string user;          // "" for anonymous
  bool admin = false;        // the system admin
  std::optional<Grant> token;  // set when a valid token authenticated the request
  bool authenticated() const { return !user.empty(); }
};

// One artifact as Harbor's API shows it, assembled from the upstream and the storage.
struct Artifact {
  std::string digest, manifest_media_type, media_type, type;
  std::uint64_t size = 0;
  Clock::time_point push_time{};
  std::vector<std::pair<std::string, Clock::time_point>> tags;  // name, push time
  Json children = Json::array();                                 // an index's manifests
};

struct Page {
  std::int64_t number = 1, size = 10;
};

void SendError(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  Json body = {{"errors", Json::array({{{"code", code}, {"message", message}}})}};
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json; charset=utf-8");
}

// Harbor's answers to a refused API call (errors.UnauthorizedError(nil), ForbiddenError(nil)).
void Unauthorized(httplib::Response& res) { SendError(res, 401, "UNAUTHORIZED", "unauthorized"); }
void Forbidden(httplib::Response& res) { SendError(res, 403, "FORBIDDEN", "forbidden"); }

std::string HarborTime(Clock::time_point t) { return Timestamp(t, 3); }
const char* kZeroTime = "0001-01-01T00:00:00.000Z";

// Go's strconv.ParseInt for the int64 query parameters go-swagger binds.
std::optional<std::int64_t> ParseInt64(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0' || errno != 0) return std::nullopt;
  return v;
}

bool ValidProjectName(const std::string& name) {
  static const std::regex kName("^[a-z0-9]+(?:[._-][a-z0-9]+)*$");  // src/pkg/project/manager.go
  return std::regex_match(name, kName);
}

class Harbor {
 public:
  explicit Harbor(Flags flags)
      : flags_(std::move(flags)), upstream_(flags_.upstream), storage_(flags_.storage) {
    for (const std::string& u : flags_.users) accounts_.Add(kProgram, u);
    for (const std::string& spec : flags_.projects) {
      size_t colon = spec.find(':');
      std::string name = spec.substr(0, colon);
      bool is_public = colon != std::string::npos && spec.substr(colon + 1) == "public";
      if (colon != std::string::npos && !is_public) Die(kProgram, "--project wants NAME[:public], got " + spec);
      AddProject(name, is_public, 0);
    }
    for (const std::string& name : flags_.proxy_projects) AddProject(name, false, kProxyRegistryId);
  }

  void set_self(std::string self) { self_ = std::move(self); }

  void Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const std::string& path = req.path;  // decoded once, as nginx does in front of Harbor
    if (StartsWith(path, "/fake/")) {
      if (!AnswerStatsHooks(req, res, stats_)) res.status = 404;
      return;
    }
    const bool api = StartsWith(path, "/api/");
    const bool v2 = StartsWith(path, "/v2/") || path == "/v2";
    const bool token = path == "/service/token";
    stats_.Count(req, api ? "api" : v2 ? "v2" : token ? "token" : "");
    try {
      if (v2) {
        Registry(req, res, reader);
      } else if (token) {
        Token(req, res);
      } else if (api) {
        Api(req, res, reader);
      } else {
        res.status = 404;
        res.set_content("404 page not found\n", "text/plain; charset=utf-8");
      }
    } catch (const UpstreamError& e) {
      res.status = 502;
      res.set_content(std::string("harbor fake: upstream: ") + e.what() + "\n", "text/plain");
    }
  }

 private:
  // ---- identity and access ----

  Caller ApiCaller(const httplib::Request& req) const {
    Caller c;
    if (auto basic = ParseBasic(req); basic && accounts_.Check(*basic)) {
      c.user = basic->user;
      c.admin = !flags_.admin.empty() && basic->user == flags_.admin;
    }
    return c;
  }

  // The maintainer model: see the header comment. PROJECT null: it does not exist
  // (Harbor checks project id 0 then, which only the system admin passes).
  static bool CanRead(const Caller& c, const Project* project) {
    return c.admin || (project != nullptr && (project->is_public || c.authenticated()));
  }
  static bool CanWrite(const Caller& c, const Project* project) {
    return c.admin || (project != nullptr && c.authenticated());
  }

  // RequireProjectAccess: false after answering 401 or 403.
  bool RequireAccess(const Caller& c, const std::string& project, bool write, httplib::Response& res) {
    std::optional<Project> p = FindProject(project);
    const Project* pp = p ? &*p : nullptr;
    if (write ? CanWrite(c, pp) : CanRead(c, pp)) return true;
    if (!c.authenticated()) {
      Unauthorized(res);
    } else {
      Forbidden(res);
    }
    return false;
  }

  std::optional<Project> FindProject(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = projects_.find(name);
    if (it == projects_.end()) return std::nullopt;
    return it->second;
  }

  std::optional<Project> FindProjectById(std::int64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, project] : projects_) {
      if (project.id == id) return project;
    }
    return std::nullopt;
  }

  // REQUIRES: mu_ held, or the constructor running; a valid NAME not taken yet.
  void AddProject(const std::string& name, bool is_public, std::int64_t registry_id,
                  const std::string& owner = "admin") {
    if (!ValidProjectName(name)) Die(kProgram, "invalid project name " + name);
    Project p;
    p.id = next_project_id_++;
    p.name = name;
    p.owner = owner;
    p.is_public = is_public;
    p.registry_id = registry_id;
    p.created = Clock::now();
    projects_[name] = p;
  }

  std::int64_t IdOf(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = ids_.emplace(key, next_id_);
    if (inserted) ++next_id_;
    return it->second;
  }


  // ---- /service/token ----

  void Token(const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET") {  // beego: the controller has no Post()
      res.status = 405;
      return;
    }
    const Query query(RawQuery(req));
    const std::string service = query.Get("service").value_or("");
    if (service != "harbor-registry") {
      res.status = 400;
      res.set_content("Unable to handle service: " + service, "text/plain");
      return;
    }
    const Caller c = ApiCaller(req);  // wrong credentials: anonymous
    std::vector<Scope> scopes = RequestedScopes(query);
    if (!c.authenticated() && scopes.empty()) {
      res.status = 401;
      return;
    }
    Grant grant;
    grant.subject = c.user;
    grant.issued = Clock::now();
    grant.expires = grant.issued + std::chrono::seconds(flags_.token_lifetime);
    for (Scope s : scopes) {
      if (s.type == "repository") {
        size_t slash = s.name.find('/');
        if (slash == std::string::npos) {  // creator.go parseImg: "unable to parse image"
          res.status = 500;
          return;
        }
        std::optional<Project> p = FindProject(s.name.substr(0, slash));
        s.actions.clear();
        if (p && CanWrite(c, &*p)) {
          s.actions = {"pull", "push", "delete"};
        } else if (p && CanRead(c, &*p)) {
          s.actions = {"pull"};
        }
      } else if (s.type == "registry") {
        if (s.name != "catalog") {
          res.status = 500;
          return;
        }
        if (!c.admin) s.actions.clear();
      } else {
        s.actions.clear();
      }
      grant.access.push_back(s);
    }
    SendJson(res, 200, TokenAnswer(tokens_.Issue(grant), "", grant));
  }

  // ---- /v2/ ----

  void Registry(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    // The security context (src/server/middleware/security): a valid token, else valid
    // Basic credentials, else anonymous.
    Caller c;
    if (auto bearer = ParseBearer(req)) {
      auto [state, grant] = tokens_.Look(*bearer);
      if (state == TokenStore::State::kValid) {
        c.user = grant.subject;
        c.token = grant;
      }
    } else if (auto basic = ParseBasic(req); basic && accounts_.Check(*basic)) {
      c.user = basic->user;
      c.admin = !flags_.admin.empty() && basic->user == flags_.admin;
    }
    RegistryWithCaller(req, res, reader, c, req.has_header("Authorization"));
  }

  struct Access {
    enum class Target { kLogin, kCatalog, kRepository } target;
    std::string name, action;
  };

  // Whether C may do ACTION on PROJECT: a token grants per project (security/v2token),
  // credentials per the maintainer model.
  static bool Can(const Caller& c, const Project& project, const std::string& action) {
    if (c.token) {
      for (const Scope& s : c.token->access) {
        if (s.type == "repository" && s.name.substr(0, s.name.find('/')) == project.name && s.Allows(action)) {
          return true;
        }
      }
      return false;
    }
    return action == "pull" ? CanRead(c, &project) : CanWrite(c, &project);
  }

  std::string Challenge(const httplib::Request& req, const std::vector<Access>& access) const {
    if (req.has_header("Authorization") || req.path == "/v2/_catalog") return "Basic realm=\"harbor\"";
    std::string host = req.get_header_value("Host");
    std::string realm = (host.empty() ? self_ : "http://" + host) + "/service/token";
    std::vector<std::string> scopes;
    for (const Access& a : access) {
      if (a.target != Access::Target::kRepository) continue;
      scopes.push_back("repository:" + a.name + ":" + (a.action == "push" ? "pull,push" : a.action));
    }
    std::string challenge = "Bearer realm=\"" + realm + "\",service=\"harbor-registry\"";
    if (!scopes.empty()) challenge += ",scope=\"" + Join(scopes, " ") + "\"";
    return challenge;
  }

  // v2auth's refusal: 401, the challenge (possibly empty), the error's text twice.
  static void RefuseV2(httplib::Response& res, const std::string& challenge, const std::string& why) {
    res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
    res.set_header("Www-Authenticate", challenge);
    SendError(res, 401, "UNAUTHORIZED", why + ": " + why);
  }

  void RegistryWithCaller(const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader* reader, const Caller& c, bool had_authorization) {
    const RegistryPath rp = ParseRegistryPath(req.path);
    std::vector<Access> access;
    if (req.path == "/v2/") {
      access.push_back({Access::Target::kLogin, "", ""});
    } else if (rp.kind == RegistryPath::Kind::kCatalog) {
      access.push_back({Access::Target::kCatalog, "", ""});
    } else if (rp.kind != RegistryPath::Kind::kOther && rp.kind != RegistryPath::Kind::kBase &&
               req.method != "OPTIONS") {
      access.push_back({Access::Target::kRepository, rp.name, ActionFor(req.method)});
      const Query query(RawQuery(req));
      if (req.method == "POST" && query.Has("from") && ValidRepositoryName(query.Get("from").value())) {
        access.push_back({Access::Target::kRepository, query.Get("from").value(), "pull"});
      }
    }
    if (access.empty()) {
      RefuseV2(res, "", "un-recognized request: " + req.method + " " + req.path);
      return;
    }
    for (const Access& a : access) {
      switch (a.target) {
        case Access::Target::kLogin:
          if (!c.authenticated()) return RefuseV2(res, Challenge(req, access), "unauthorized");
          break;
        case Access::Target::kCatalog:
          if (!c.admin || c.token) {
            return RefuseV2(res, Challenge(req, access), "unauthorized to list catalog");
          }
          break;
        case Access::Target::kRepository: {
          if (!had_authorization && (req.method == "GET" || req.method == "HEAD")) {
            return RefuseV2(res, Challenge(req, access), "authorize header needed to send HEAD to repository");
          }
          const std::string project = a.name.substr(0, a.name.find('/'));
          std::optional<Project> p = FindProject(project);
          if (!p) return RefuseV2(res, "", "project " + project + " not found");
          if (!Can(c, *p, a.action)) {
            return RefuseV2(res, Challenge(req, access),
                            "unauthorized to access repository: " + a.name + ", action: " + a.action);
          }
          break;
        }
      }
    }
    const bool upload = (rp.kind == RegistryPath::Kind::kManifest && req.method == "PUT") ||
                        (rp.kind == RegistryPath::Kind::kUploadStart && req.method == "POST");
    if (upload) {
      std::optional<Project> p = FindProject(rp.name.substr(0, rp.name.find('/')));
      if (p && p->registry_id > 0) {
        SendError(res, 403, "DENIED", "denied: can not push artifact to a proxy project: " + p->name);
        return;
      }
    }
    upstream_.Forward(req, reader, self_, res);
    if (req.method != "GET" && req.method != "HEAD" && !rp.name.empty()) listings_.Forget(rp.name);
  }

  // ---- /api ----

  static void NoRoute(const httplib::Request& req, httplib::Response& res) {
    SendError(res, 404, "NOT_FOUND", "path " + RawPath(req) + " was not found");
  }
  static void NoMethod(const httplib::Request& req, httplib::Response& res, const std::string& allowed) {
    SendError(res, 405, "METHOD_NOT_ALLOWED",
              "method " + req.method + " is not allowed, but [" + allowed + "] are");
  }

  void Api(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    std::vector<std::string> seg = Split(req.path, '/');
    seg.erase(seg.begin());  // the empty piece before the first '/'
    const std::string& m = req.method;
    const bool get = m == "GET" || m == "HEAD";
    if (seg.size() == 2 && seg[1] == "version") {
      if (flags_.v1 || !get) {
        res.status = 404;
        res.set_content("404 page not found\n", "text/plain; charset=utf-8");
        return;
      }
      SendJson(res, 200, {{"version", "v2.0"}});
      return;
    }
    if (flags_.v1 || seg.size() < 3 || seg[1] != "v2.0") return NoRoute(req, res);
    std::vector<std::string> r(seg.begin() + 2, seg.end());
    const Caller c = ApiCaller(req);
    if (r.size() == 1 && r[0] == "ping") {
      if (!get) return NoMethod(req, res, "GET");
      res.set_content("Pong", "text/plain");
      return;
    }
    if (r.size() == 1 && r[0] == "systeminfo") {
      if (!get) return NoMethod(req, res, "GET");
      return SystemInfo(req, c, res);
    }
    if (r.size() == 2 && r[0] == "users" && r[1] == "current") {
      if (!get) return NoMethod(req, res, "GET");
      return CurrentUser(c, res);
    }
    if (r[0] == "labels") {
      if (r.size() == 1 && get) return ListLabels(req, c, res);
      if (r.size() == 1 && m == "POST") return CreateLabel(req, c, res, reader);
      if (r.size() == 2 && get) return GetLabel(r[1], res);
      return r.size() <= 2 ? NoMethod(req, res, r.size() == 1 ? "GET,POST" : "GET") : NoRoute(req, res);
    }
    if ((r.size() == 1 && r[0] == "registries") ||
        (r.size() == 2 && r[0] == "replication" && r[1] == "policies")) {
      if (!get) return NoMethod(req, res, "GET,POST");
      return ListReplicationSetup(req, c, r[0] == "registries" ? flags_.registries_file
                                                                : flags_.policies_file, res);
    }
    if (r[0] != "projects") return NoRoute(req, res);
    if (r.size() == 1) {
      if (m == "GET") return ListProjects(req, c, res);
      if (m == "HEAD") return HeadProject(req, c, res);
      if (m == "POST") return CreateProject(req, c, res, reader);
      return NoMethod(req, res, "GET,HEAD,POST");
    }
    if (r.size() == 2) return get ? GetProject(req, c, r[1], res) : NoMethod(req, res, "GET");
    if (r[2] != "repositories") return NoRoute(req, res);
    const std::string& project = r[1];
    if (r.size() == 3) return get ? ListRepositories(req, c, project, res) : NoMethod(req, res, "GET");
    // The repository parameter: unescaped by go-openapi, then by Harbor.
    std::optional<std::string> once = Unescape(r[3], false);
    std::optional<std::string> repo = once ? Unescape(*once, false) : std::nullopt;
    if (!repo) return NoRoute(req, res);
    const std::string full = project + "/" + *repo;
    if (r.size() == 4) return get ? GetRepository(c, project, full, res) : NoMethod(req, res, "GET");
    if (r[4] != "artifacts") return NoRoute(req, res);
    if (r.size() == 5) return get ? ListArtifacts(req, c, project, full, res) : NoMethod(req, res, "GET");
    const std::string& reference = r[5];
    if (r.size() == 6) return get ? GetArtifact(req, c, project, full, reference, res) : NoMethod(req, res, "GET");
    if (r.size() == 7 && r[6] == "labels") {
      return m == "POST" ? AddLabel(c, project, full, reference, res, reader) : NoMethod(req, res, "POST");
    }
    if (r.size() == 8 && r[6] == "tags") {
      return m == "DELETE" ? DeleteTag(c, project, full, reference, r[7], res) : NoMethod(req, res, "DELETE");
    }
    NoRoute(req, res);
  }

  void SystemInfo(const httplib::Request& req, const Caller& c, httplib::Response& res) {
    Json body = {{"harbor_version", "v2.10.0-fake"},
                 {"auth_mode", "db_auth"},
                 {"self_registration", false},
                 {"has_ca_root", false}};
    if (c.authenticated()) {
      std::string host = req.get_header_value("Host");
      body["registry_url"] = host.empty() ? self_.substr(7) : host;
      body["external_url"] = host.empty() ? self_ : "http://" + host;
      body["project_creation_restriction"] = "adminonly";
    }
    SendJson(res, 200, body);
  }

  // handler/user.go GetCurrentUserInfo: the way to tell wrong credentials (which leave
  // the caller anonymous everywhere else) from right ones.
  void CurrentUser(const Caller& c, httplib::Response& res) {
    if (!c.authenticated()) return Unauthorized(res);
    const std::string now = HarborTime(Clock::now());
    SendJson(res, 200,
             {{"user_id", IdOf("user " + c.user)},
              {"username", c.user},
              {"email", c.user + "@example.com"},
              {"realname", c.user},
              {"comment", ""},
              {"sysadmin_flag", c.admin},
              {"admin_role_in_auth", false},
              {"creation_time", now},
              {"update_time", now}});
  }

  // ---- replication setup ----

  // GET /api/v2.0/registries and /replication/policies: FILE's JSON list, paged, for the
  // system admin alone (RequireSystemAccess).
  void ListReplicationSetup(const httplib::Request& req, const Caller& c, const std::string& file,
                            httplib::Response& res) const {
    if (!c.authenticated()) return Unauthorized(res);
    if (!c.admin) return SendError(res, 403, "FORBIDDEN", c.user);
    Page page;
    if (!ReadPage(Query(RawQuery(req)), &page, res)) return;
    std::vector<Json> items;
    if (!file.empty()) {
      std::ifstream in(file);
      Json list = Json::parse(in, nullptr, false);
      if (!list.is_array()) return SendError(res, 500, "UNKNOWN", "harbor fake: " + file + " is not a JSON list");
      items.assign(list.begin(), list.end());
    }
    SendPage(req, res, items, page);
  }

  // ---- paging ----

  // Binds page and page_size as go-swagger does (int64; page_size at most 100,
  // swagger.yaml parameters.pageSize), then caps page_size at --page-cap. False after
  // answering 422.
  bool ReadPage(const Query& q, Page* page, httplib::Response& res) const {
    std::vector<std::string> problems;
    if (auto v = q.Get("page")) {
      if (auto n = ParseInt64(*v)) {
        page->number = *n;
      } else {
        problems.push_back("page in query must be of type int64: \"" + *v + "\"");
      }
    }
    if (auto v = q.Get("page_size")) {
      if (auto n = ParseInt64(*v)) {
        page->size = *n;
        if (*n > 100) problems.push_back("page_size in query should be less than or equal to 100");
      } else {
        problems.push_back("page_size in query must be of type int64: \"" + *v + "\"");
      }
    }
    if (!problems.empty()) {
      SendError(res, 422, "UNPROCESSABLE_ENTITY", "validation failure list:\n" + Join(problems, "\n"));
      return false;
    }
    if (page->number < 1) page->number = 1;
    if (page->size < 0) page->size = 0;
    page->size = std::min<std::int64_t>(page->size, flags_.page_cap);
    return true;
  }

  // handler/base.go Links: relative, the raw path, the query re-encoded (sorted) with
  // page and page_size set, then unescaped whole; prev before next, joined by " , ".
  static std::string Links(const httplib::Request& req, std::int64_t total, const Page& page) {
    if (page.size == 0) return "";
    const std::string path = RawPath(req);
    std::string raw_query = RawQuery(req);
    std::vector<std::string> links;
    auto link = [&](std::int64_t number, const char* rel) {
      Query q(raw_query);  // Go's ul.Query() parses what the previous link left
      q.Set("page", std::to_string(number));
      q.Set("page_size", std::to_string(page.size));
      std::string encoded = q.EncodeSorted();
      raw_query = Unescape(encoded, true).value_or(encoded);
      links.push_back("<" + path + "?" + raw_query + ">; rel=\"" + rel + "\"");
    };
    if (page.number > 1 && (page.number - 1) * page.size < total) link(page.number - 1, "prev");
    if (page.size * page.number < total) link(page.number + 1, "next");
    return Join(links, " , ");
  }

  static void SendPage(const httplib::Request& req, httplib::Response& res, const std::vector<Json>& items,
                       const Page& page) {
    SendPage(req, res, items.size(), [&](size_t i) { return items[i]; }, page);
  }

  // The same for COUNT items of which ITEM(i) builds the i-th, called only for those on
  // the page (a page of 100 of 2,000 artifacts builds 100).
  static void SendPage(const httplib::Request& req, httplib::Response& res, size_t count,
                       const std::function<Json(size_t)>& item, const Page& page) {
    const std::int64_t total = static_cast<std::int64_t>(count);
    Json body = Json::array();
    const std::int64_t first = page.size == 0 ? 0 : (page.number - 1) * page.size;
    const std::int64_t end = page.size == 0 ? total : std::min(total, page.number * page.size);
    for (std::int64_t i = first; i < end; ++i) body.push_back(item(static_cast<size_t>(i)));
    res.set_header("X-Total-Count", std::to_string(total));
    if (std::string links = Links(req, total, page); !links.empty()) res.set_header("Link", links);
    SendJson(res, 200, body);
  }

  // ---- projects ----

  // A q= term for a name (src/lib/q/builder.go parsePattern): X exact, ~X substring,
  // {a b} any of (quotes trimmed).
  static bool NameMatches(const std::string& pattern, const std::string& name) {
    if (pattern.empty()) return true;
    if (pattern[0] == '~') return name.find(pattern.substr(1)) != std::string::npos;
    if (pattern[0] == '{' && pattern.back() == '}') {
      for (std::string v : Split(pattern.substr(1, pattern.size() - 2), ' ')) {
        while (!v.empty() && (v.front() == '\'' || v.front() == '"')) v.erase(0, 1);
        while (!v.empty() && (v.back() == '\'' || v.back() == '"')) v.pop_back();
        if (!v.empty() && v == name) return true;
      }
      return false;
    }
    return (pattern[0] == '\\' ? pattern.substr(1) : pattern) == name;
  }

  // The q= keywords; nullopt after answering 400 (builder.go parseKeywords).
  static std::optional<std::map<std::string, std::string>> Keywords(const Query& query, httplib::Response& res) {
    std::map<std::string, std::string> out;
    std::string q = query.Get("q").value_or("");
    if (q.empty()) return out;
    for (const std::string& term : Split(q, ',')) {
      size_t eq = term.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == term.size()) {
        SendError(res, 400, "BAD_REQUEST", "the query string must contain \"=\" and the key/value cannot be empty");
        return std::nullopt;
      }
      out[term.substr(0, eq)] = term.substr(eq + 1);
    }
    return out;
  }

  std::vector<std::string> CatalogOf(const std::string& project) const {
    std::vector<std::string> out;
    for (const std::string& name : upstream_.Catalog()) {
      if (StartsWith(name, project + "/")) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Json ProjectJson(const Project& p, const Caller& c, const std::vector<std::string>& catalog) const {
    std::int64_t repos = 0;
    for (const std::string& name : catalog) repos += StartsWith(name, p.name + "/") ? 1 : 0;
    Json j = {{"project_id", p.id},
              {"owner_id", 1},
              {"name", p.name},
              {"creation_time", HarborTime(p.created)},
              {"update_time", HarborTime(p.created)},
              {"owner_name", p.owner},
              {"togglable", true},
              {"repo_count", repos},
              {"metadata", {{"public", p.is_public ? "true" : "false"}}}};
    // go-swagger models omit zero values (omitempty): a project that is no proxy cache
    // has no registry_id at all.
    if (p.registry_id > 0) j["registry_id"] = p.registry_id;
    if (c.authenticated()) {
      j["current_user_role_id"] = c.admin ? 1 : 4;  // projectAdmin / maintainer
      j["current_user_role_ids"] = Json::array({c.admin ? 1 : 4});
    }
    return j;
  }

  void ListProjects(const httplib::Request& req, const Caller& c, httplib::Response& res) {
    const Query query(RawQuery(req));
    Page page;
    if (!ReadPage(query, &page, res)) return;
    auto keywords = Keywords(query, res);
    if (!keywords) return;
    std::optional<bool> want_public;
    if (auto v = query.Get("public")) want_public = *v == "true" || *v == "1";
    if (keywords->count("public")) want_public = (*keywords)["public"] == "true" || (*keywords)["public"] == "1";
    const std::string fuzzy = query.Get("name").value_or("");
    std::vector<Project> projects;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [name, p] : projects_) projects.push_back(p);
    }
    std::sort(projects.begin(), projects.end(), [](const Project& a, const Project& b) { return a.id < b.id; });
    const std::vector<std::string> catalog = upstream_.Catalog();
    std::vector<Json> items;
    for (const Project& p : projects) {
      if (!c.authenticated() && !p.is_public) continue;
      if (want_public && p.is_public != *want_public) continue;
      if (!fuzzy.empty() && p.name.find(fuzzy) == std::string::npos) continue;
      if (keywords->count("name") && !NameMatches((*keywords)["name"], p.name)) continue;
      items.push_back(ProjectJson(p, c, catalog));
    }
    SendPage(req, res, items, page);
  }

  void HeadProject(const httplib::Request& req, const Caller& c, httplib::Response& res) {
    if (!c.authenticated()) return Unauthorized(res);
    const std::string name = Query(RawQuery(req)).Get("project_name").value_or("");
    if (!FindProject(name)) return SendError(res, 404, "NOT_FOUND", "project " + name + " not found");
    res.status = 200;
  }

  void GetProject(const httplib::Request& req, const Caller& c, const std::string& name_or_id,
                  httplib::Response& res) {
    const bool by_name = req.get_header_value("X-Is-Resource-Name") == "true";
    std::optional<std::int64_t> id = by_name ? std::nullopt : ParseInt64(name_or_id);
    std::optional<Project> p = id ? FindProjectById(*id) : FindProject(name_or_id);
    if (!CanRead(c, p ? &*p : nullptr)) return c.authenticated() ? Forbidden(res) : Unauthorized(res);
    if (!p) return SendError(res, 404, "NOT_FOUND", "project " + name_or_id + " not found");
    SendJson(res, 200, ProjectJson(*p, c, upstream_.Catalog()));
  }

  void CreateProject(const httplib::Request& req, const Caller& c, httplib::Response& res,
                     const httplib::ContentReader* reader) {
    const std::string body = ReadBody(reader);
    if (!c.authenticated()) return Unauthorized(res);
    if (!c.admin) return SendError(res, 403, "FORBIDDEN", "Only system admin can create project");
    Json j = Json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return SendError(res, 400, "BAD_REQUEST", "parsing project body from \"\" failed");
    }
    const std::string name = j.value("project_name", "");
    std::string is_public = "false";
    if (j.contains("public") && j["public"].is_boolean()) is_public = j["public"].get<bool>() ? "true" : "false";
    if (j.contains("metadata") && j["metadata"].is_object() && j["metadata"].contains("public")) {
      is_public = j["metadata"]["public"].is_string() ? j["metadata"]["public"].get<std::string>() : "?";
    }
    if (is_public != "true" && is_public != "false") {
      return SendError(res, 400, "BAD_REQUEST",
                       "metadata.public should only be 'true' or 'false', but got: '" + is_public + "'");
    }
    std::int64_t registry_id = 0;
    if (j.contains("registry_id") && j["registry_id"].is_number_integer()) {
      registry_id = j["registry_id"].get<std::int64_t>();
      if (registry_id <= 0) {
        return SendError(res, 400, "BAD_REQUEST",
                         std::to_string(registry_id) + " is invalid value of registry_id, it should be geater than 0");
      }
      if (registry_id != kProxyRegistryId) return SendError(res, 500, "UNKNOWN", "internal server error");
    }
    if (name.empty() || name.size() > 255) {
      return SendError(res, 400, "BAD_REQUEST",
                       "Project name " + name + " is illegal in length. (greater than 255 or less than 1)");
    }
    if (!ValidProjectName(name)) {
      return SendError(res, 400, "BAD_REQUEST", "project name is not in lower case or contains illegal characters");
    }
    std::int64_t id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (projects_.count(name)) {
        SendError(res, 409, "CONFLICT", "The project named " + name + " already exists");
        return;
      }
      AddProject(name, is_public == "true", registry_id, c.user);
      id = projects_[name].id;
    }
    std::string base = RawPath(req);
    while (!base.empty() && base.back() == '/') base.pop_back();
    const bool by_name = req.get_header_value("X-Resource-Name-In-Location") == "true";
    res.set_header("Location", base + "/" + (by_name ? name : std::to_string(id)));
    res.status = 201;
  }

  // ---- repositories and artifacts ----

  // Every artifact of REPO: its tags grouped by digest, plus the manifests whose last tag
  // went through DeleteTag and that the registry still has. Read from the storage, not
  // with a HEAD per tag at the upstream (see Storage in registry_front.h): per tag its
  // link, per artifact its revision link, and each manifest once (Describe remembers).
  std::vector<Artifact> ArtifactsOf(const std::string& repo) {
    std::map<std::string, Artifact> by_digest;
    if (auto tags = storage_.TagLinks(repo)) {
      for (auto& [tag, stored] : *tags) {
        Artifact& a = by_digest[stored.digest];
        a.digest = stored.digest;
        a.tags.emplace_back(tag, stored.pushed);
      }
    }
    std::set<std::string> untagged;
    {
      std::lock_guard<std::mutex> lock(mu_);
      untagged = untagged_[repo];
    }
    for (const std::string& digest : untagged) by_digest[digest].digest = digest;
    const std::map<std::string, Clock::time_point> revisions = storage_.Revisions(repo);
    std::vector<Artifact> out;
    for (auto& [digest, a] : by_digest) {
      auto revision = revisions.find(digest);
      if (revision != revisions.end() && Describe(repo, revision->second, &a)) out.push_back(std::move(a));
    }
    std::sort(out.begin(), out.end(), [](const Artifact& x, const Artifact& y) {
      return x.push_time != y.push_time ? x.push_time > y.push_time : x.digest < y.digest;
    });
    return out;
  }

  // What a manifest says, which its digest fixes for good (so Describe keeps it).
  struct Description {
    std::string manifest_media_type, media_type, type = "IMAGE";
    std::uint64_t size = 0;
    Json children = Json::array();
  };

  // Media types (the manifest's, and the config's as Harbor shows it), type and size
  // (manifest + config + layers, or manifest + children) of a stored manifest.
  static Description Read(const StoredManifest& stored) {
    Description d;
    d.manifest_media_type = d.media_type = stored.media_type;
    d.size = stored.body.size();
    Json m = Json::parse(stored.body, nullptr, false);
    if (m.is_discarded() || !m.is_object()) return d;
    if (m.contains("config") && m["config"].is_object()) {
      d.media_type = m["config"].value("mediaType", d.manifest_media_type);
      d.size += m["config"].value("size", std::uint64_t{0});
      const std::string& t = d.media_type;
      if (t == "application/vnd.cncf.helm.config.v1+json") {
        d.type = "CHART";
      } else if (t != "application/vnd.oci.image.config.v1+json" &&
                 t != "application/vnd.docker.container.image.v1+json") {
        d.type = "UNKNOWN";
      }
    }
    if (m.contains("layers") && m["layers"].is_array()) {
      for (const Json& l : m["layers"]) d.size += l.value("size", std::uint64_t{0});
    }
    if (m.contains("manifests") && m["manifests"].is_array()) {
      for (const Json& child : m["manifests"]) {
        d.size += child.value("size", std::uint64_t{0});
        d.children.push_back(child);
      }
    }
    return d;
  }

  // Fills in A's push time (its revision's, or its newest tag's) and what its manifest
  // says (Read; once per repository and digest). False when REPO does not hold A's
  // manifest (deleted meanwhile).
  bool Describe(const std::string& repo, Artifact* a) {
    std::optional<Clock::time_point> revision = storage_.RevisionTime(repo, a->digest);
    return revision && Describe(repo, *revision, a);
  }

  // The same when the manifest's revision link is known to have been written at REVISION.
  bool Describe(const std::string& repo, Clock::time_point revision, Artifact* a) {
    a->push_time = revision;
    for (const auto& [tag, when] : a->tags) a->push_time = std::max(a->push_time, when);
    auto apply = [a](const Description& d) {
      a->manifest_media_type = d.manifest_media_type;
      a->media_type = d.media_type;
      a->type = d.type;
      a->size = d.size;
      a->children = d.children;
    };
    const std::string key = repo + "@" + a->digest;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = described_.find(key); it != described_.end()) {
        apply(it->second);
        return true;
      }
    }
    std::optional<StoredManifest> stored = storage_.Manifest(repo, a->digest);
    if (!stored) return false;
    const Description d = Read(*stored);
    apply(d);
    std::lock_guard<std::mutex> lock(mu_);
    described_.emplace(key, d);
    return true;
  }

  Json ArtifactJson(const std::string& project_name, const std::string& repo, const Artifact& a,
                    bool with_tag, bool with_label) {
    const std::optional<Project> p = FindProject(project_name);
    const std::int64_t repo_id = IdOf("repository " + repo);
    const std::int64_t art_id = IdOf("artifact " + repo + "@" + a.digest);
    Json tags = nullptr;
    if (with_tag && !a.tags.empty()) {
      tags = Json::array();
      for (const auto& [name, when] : a.tags) {
        tags.push_back({{"id", IdOf("tag " + repo + ":" + name)},
                        {"repository_id", repo_id},
                        {"artifact_id", art_id},
                        {"name", name},
                        {"push_time", HarborTime(when)},
                        {"pull_time", kZeroTime},
                        {"immutable", false}});
      }
    }
    Json labels = nullptr;
    if (with_label) {
      std::lock_guard<std::mutex> lock(mu_);
      for (std::int64_t id : artifact_labels_[repo + "@" + a.digest]) {
        if (labels.is_null()) labels = Json::array();
        labels.push_back(LabelJson(labels_.at(id)));
      }
    }
    Json references = nullptr;
    for (const Json& child : a.children) {
      if (references.is_null()) references = Json::array();
      Json ref = {{"parent_id", art_id},
                  {"child_id", IdOf("artifact " + repo + "@" + child.value("digest", ""))},
                  {"child_digest", child.value("digest", "")}};
      if (child.contains("platform")) ref["platform"] = child["platform"];
      references.push_back(ref);
    }
    return {{"id", art_id},
            {"type", a.type},
            {"media_type", a.media_type},
            {"manifest_media_type", a.manifest_media_type},
            {"project_id", p ? p->id : 0},
            {"repository_id", repo_id},
            {"repository_name", repo},
            {"digest", a.digest},
            {"size", a.size},
            {"push_time", HarborTime(a.push_time)},
            {"pull_time", kZeroTime},
            {"tags", tags},
            {"labels", labels},
            {"references", references},
            {"accessories", nullptr},
            {"extra_attrs", nullptr},
            {"annotations", nullptr}};
  }

  Json RepositoryJson(const Project* p, const std::string& repo, const std::vector<Artifact>& artifacts) {
    Clock::time_point created = Clock::now(), updated{};
    for (const Artifact& a : artifacts) {
      created = std::min(created, a.push_time);
      updated = std::max(updated, a.push_time);
    }
    if (artifacts.empty()) updated = created;
    return {{"id", IdOf("repository " + repo)},
            {"project_id", p ? p->id : 0},
            {"name", repo},
            {"description", ""},
            {"artifact_count", artifacts.size()},
            {"pull_count", 0},
            {"creation_time", HarborTime(created)},
            {"update_time", HarborTime(updated)}};
  }

  void ListRepositories(const httplib::Request& req, const Caller& c, const std::string& project,
                        httplib::Response& res) {
    if (!RequireAccess(c, project, false, res)) return;
    std::optional<Project> p = FindProject(project);
    if (!p) return SendError(res, 404, "NOT_FOUND", "project " + project + " not found");
    const Query query(RawQuery(req));
    Page page;
    if (!ReadPage(query, &page, res)) return;
    auto keywords = Keywords(query, res);
    if (!keywords) return;
    std::vector<Json> items;
    for (const std::string& repo : CatalogOf(project)) {
      if (keywords->count("name") && !NameMatches((*keywords)["name"], repo)) continue;
      items.push_back(RepositoryJson(&*p, repo, ArtifactsOf(repo)));
    }
    SendPage(req, res, items, page);
  }

  // Whether the registry's catalog lists REPO (asked of the storage: a page of artifacts
  // should not cost a catalog walk at the registry).
  bool RepositoryExists(const std::string& repo) const { return storage_.HasRepository(repo); }

  void GetRepository(const Caller& c, const std::string& project, const std::string& repo, httplib::Response& res) {
    if (!RequireAccess(c, project, false, res)) return;
    if (!RepositoryExists(repo)) return SendError(res, 404, "NOT_FOUND", "repository " + repo + " not found");
    std::optional<Project> p = FindProject(project);
    SendJson(res, 200, RepositoryJson(p ? &*p : nullptr, repo, ArtifactsOf(repo)));
  }

  static bool BoolParam(const Query& q, const std::string& key, bool fallback) {
    std::optional<std::string> v = q.Get(key);
    if (!v) return fallback;
    return *v == "true" || *v == "1";
  }

  void ListArtifacts(const httplib::Request& req, const Caller& c, const std::string& project,
                     const std::string& repo, httplib::Response& res) {
    if (!RequireAccess(c, project, false, res)) return;
    const Query query(RawQuery(req));
    Page page;
    if (!ReadPage(query, &page, res)) return;
    const bool with_tag = BoolParam(query, "with_tag", true);
    const bool with_label = BoolParam(query, "with_label", false);
    // An unknown repository is an empty list: ListArtifacts counts and lists by name.
    // Pages after the first come from the first's snapshot (ListingSnapshots).
    const std::shared_ptr<const std::vector<Artifact>> artifacts =
        RepositoryExists(repo) ? listings_.Get(repo, page.number <= 1, [&] { return ArtifactsOf(repo); })
                               : std::make_shared<const std::vector<Artifact>>();
    SendPage(req, res, artifacts->size(),
             [&](size_t i) { return ArtifactJson(project, repo, (*artifacts)[i], with_tag, with_label); }, page);
  }

  // artifact controller GetByReference: the artifact REFERENCE (tag or digest) names;
  // nullopt after answering 404.
  std::optional<Artifact> FindArtifact(const std::string& repo, const std::string& reference, httplib::Response& res) {
    const bool digest = IsDigest(reference);
    if (!digest && !RepositoryExists(repo)) {
      SendError(res, 404, "NOT_FOUND", "repository " + repo + " not found");
      return std::nullopt;
    }
    if (!digest && !ValidTag(reference)) {
      SendError(res, 404, "NOT_FOUND", "artifact " + repo + ":" + reference + " not found");
      return std::nullopt;
    }
    ManifestHead head = upstream_.HeadManifest(repo, reference);
    if (head.status != 200) {
      SendError(res, 404, "NOT_FOUND",
                "artifact " + repo + (digest ? "@" : ":") + reference + " not found");
      return std::nullopt;
    }
    for (Artifact& a : ArtifactsOf(repo)) {
      if (a.digest == head.digest) return std::move(a);
    }
    Artifact a;  // an index's child: an artifact of its own in Harbor, without tags
    a.digest = head.digest;
    a.manifest_media_type = a.media_type = head.media_type;
    a.type = "IMAGE";
    a.push_time = Clock::now();
    Describe(repo, &a);
    return a;
  }

  void GetArtifact(const httplib::Request& req, const Caller& c, const std::string& project,
                   const std::string& repo, const std::string& reference, httplib::Response& res) {
    if (!RequireAccess(c, project, false, res)) return;
    std::optional<Artifact> a = FindArtifact(repo, reference, res);
    if (!a) return;
    const Query query(RawQuery(req));
    SendJson(res, 200, ArtifactJson(project, repo, *a, BoolParam(query, "with_tag", true),
                                    BoolParam(query, "with_label", false)));
  }

  void DeleteTag(const Caller& c, const std::string& project, const std::string& repo,
                 const std::string& reference, const std::string& tag, httplib::Response& res) {
    if (!RequireAccess(c, project, true, res)) return;
    std::optional<Artifact> a = FindArtifact(repo, reference, res);
    if (!a) return;
    bool attached = false;
    for (const auto& [name, when] : a->tags) attached |= name == tag;
    if (!attached || !storage_.DeleteTag(repo, tag)) {
      return SendError(res, 404, "NOT_FOUND",
                       "tag " + tag + " attached to artifact " +
                           std::to_string(IdOf("artifact " + repo + "@" + a->digest)) + " not found");
    }
    if (a->tags.size() == 1) {
      std::lock_guard<std::mutex> lock(mu_);
      untagged_[repo].insert(a->digest);
    }
    listings_.Forget(repo);
    res.status = 200;
  }

  // ---- labels ----

  static Json LabelJson(const Label& l) {
    return {{"id", l.id},
            {"name", l.name},
            {"description", l.description},
            {"color", l.color},
            {"scope", l.scope},
            {"project_id", l.project_id},
            {"creation_time", HarborTime(l.created)},
            {"update_time", HarborTime(l.created)}};
  }

  void ListLabels(const httplib::Request& req, const Caller& c, httplib::Response& res) {
    const Query query(RawQuery(req));
    Page page;
    if (!ReadPage(query, &page, res)) return;
    const std::string scope = query.Get("scope").value_or("");
    if (scope != "g" && scope != "p") return SendError(res, 400, "BAD_REQUEST", "invalid scope: " + scope);
    std::int64_t project_id = 0;
    if (scope == "p") {
      project_id = ParseInt64(query.Get("project_id").value_or("")).value_or(0);
      if (project_id == 0) {
        return SendError(res, 400, "BAD_REQUEST", "must with project ID when to query project labels");
      }
      std::optional<Project> p = FindProjectById(project_id);
      if (!CanRead(c, p ? &*p : nullptr)) return c.authenticated() ? Forbidden(res) : Unauthorized(res);
    }
    const std::string name = query.Get("name").value_or("");
    std::vector<Json> items;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [id, l] : labels_) {
        if (l.scope != scope || (scope == "p" && l.project_id != project_id)) continue;
        if (!name.empty() && l.name.find(name) == std::string::npos) continue;
        items.push_back(LabelJson(l));
      }
    }
    SendPage(req, res, items, page);
  }

  void GetLabel(const std::string& id_text, httplib::Response& res) {
    std::optional<std::int64_t> id = ParseInt64(id_text);
    std::lock_guard<std::mutex> lock(mu_);
    if (!id || labels_.count(*id) == 0) return SendError(res, 404, "NOT_FOUND", "label " + id_text + " not found");
    SendJson(res, 200, LabelJson(labels_.at(*id)));
  }

  void CreateLabel(const httplib::Request& req, const Caller& c, httplib::Response& res,
                   const httplib::ContentReader* reader) {
    Json j = Json::parse(ReadBody(reader), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return SendError(res, 400, "BAD_REQUEST", "invalid label body");
    Label l;
    l.name = j.value("name", "");
    l.scope = j.value("scope", "");
    l.description = j.value("description", "");
    l.color = j.value("color", "");
    l.project_id = j.contains("project_id") && j["project_id"].is_number_integer() ? j["project_id"].get<std::int64_t>() : 0;
    l.created = Clock::now();
    if (l.scope == "g") {
      l.project_id = 0;
      // RequireSystemAccess: ForbiddenError(nil).WithMessage(username)
      if (!c.authenticated()) return Unauthorized(res);
      if (!c.admin) return SendError(res, 403, "FORBIDDEN", c.user);
    } else if (l.scope == "p") {
      std::optional<Project> p = FindProjectById(l.project_id);
      if (!CanWrite(c, p ? &*p : nullptr)) return c.authenticated() ? Forbidden(res) : Unauthorized(res);
    } else {
      return SendError(res, 400, "BAD_REQUEST", "unsupported label scope");
    }
    if (l.name.empty()) return SendError(res, 400, "BAD_REQUEST", "label name is required");
    std::int64_t id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [other_id, other] : labels_) {
        if (other.name == l.name && other.scope == l.scope && other.project_id == l.project_id) {
          SendError(res, 409, "CONFLICT", "label " + l.name + " already exists");
          return;
        }
      }
      l.id = id = next_label_id_++;
      labels_[id] = l;
    }
    std::string base = RawPath(req);
    while (!base.empty() && base.back() == '/') base.pop_back();
    res.set_header("Location", base + "/" + std::to_string(id));
    res.status = 201;
  }

  void AddLabel(const Caller& c, const std::string& project, const std::string& repo, const std::string& reference,
                httplib::Response& res, const httplib::ContentReader* reader) {
    Json j = Json::parse(ReadBody(reader), nullptr, false);
    std::optional<Project> p = FindProject(project);
    if (!p) return SendError(res, 404, "NOT_FOUND", "project " + project + " not found");
    if (!RequireAccess(c, project, true, res)) return;
    if (j.is_discarded() || !j.is_object() || !j.contains("id") || !j["id"].is_number_integer()) {
      return SendError(res, 400, "BAD_REQUEST", "the label ID is required");
    }
    const std::int64_t label_id = j["id"].get<std::int64_t>();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = labels_.find(label_id);
      if (it == labels_.end()) {
        SendError(res, 404, "NOT_FOUND", "label " + std::to_string(label_id) + " not found");
        return;
      }
      if (it->second.scope == "p" && it->second.project_id != p->id) {
        SendError(res, 404, "NOT_FOUND",
                  "project id " + std::to_string(p->id) + ", label " + std::to_string(label_id) + " not found");
        return;
      }
    }
    std::optional<Artifact> a = FindArtifact(repo, reference, res);
    if (!a) return;
    const std::int64_t art_id = IdOf("artifact " + repo + "@" + a->digest);
    std::lock_guard<std::mutex> lock(mu_);
    if (!artifact_labels_[repo + "@" + a->digest].insert(label_id).second) {
      SendError(res, 409, "CONFLICT",
                "label " + std::to_string(label_id) + " is already added to the artifact " + std::to_string(art_id));
      return;
    }
    res.status = 200;
  }

  const Flags flags_;
  const Upstream upstream_;
  const Storage storage_;
  Accounts accounts_;
  TokenStore tokens_;
  RequestStats stats_;
  ListingSnapshots<Artifact> listings_;  // artifacts pages after the first
  std::string self_;  // "http://127.0.0.1:P", set before serving

  std::mutex mu_;
  std::map<std::string, Project> projects_;                         // guarded by mu_
  std::int64_t next_project_id_ = 1;                                // guarded by mu_
  std::map<std::int64_t, Label> labels_;                            // guarded by mu_
  std::int64_t next_label_id_ = 1;                                  // guarded by mu_
  std::map<std::string, std::set<std::int64_t>> artifact_labels_;   // "repo@digest"; guarded by mu_
  std::map<std::string, std::set<std::string>> untagged_;           // repo -> digests; guarded by mu_
  std::map<std::string, Description> described_;                    // "repo@digest"; guarded by mu_
  std::map<std::string, std::int64_t> ids_;                         // guarded by mu_
  std::int64_t next_id_ = 1;                                        // guarded by mu_
};

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  Harbor harbor(flags);
  return ServeFake(kProgram, flags.port, harbor);
}
