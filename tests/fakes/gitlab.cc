// gitlab: a loopback fake of GitLab — the GitLab host (REST API v4 and the registry's token
// realm /jwt/auth) and its container registry on one port — in front of a real, plain
// docker-registry that holds the data, for end-to-end tests of crossdock's GitLab
// provider; started by tests/support/vendor_fakes.cc (GitLabFake). Sources are gitlabhq/
// gitlabhq doc/api/container_registry.md, doc/api/projects.md, doc/api/rest/_index.md
// (pagination), lib/api/project_container_repositories.rb, lib/container_registry/path.rb,
// lib/gitlab/pagination/offset_header_builder.rb, and docs.gitlab.com
// user/packages/container_registry/authenticate_with_container_registry; facts collected in
// ../shared/reference/vendors.md §9. "[?]" marks a behaviour no source pins.
//
// Accounts and projects: --user NAME:PAT (a username and a personal access token with the
// api and registry scopes); --project FULL/PATH (e.g. group/sub/app) an existing private
// project whose groups (group, group/sub) exist too; every --user is a maintainer of
// every project (pull, push, delete), nobody else sees them.
//
// Token realm (JwtController#auth, Auth::ContainerRegistryAuthenticationService):
//   GET /jwt/auth?service=container_registry&scope=repository:PATH:pull,push  (Basic
//     NAME:PAT, or nothing) → 200 {"token":T} (no expires_in [?]), valid --token-lifetime s
//     (GitLab's container_registry_token_expire_delay, 5 min; 15 on GitLab.com).
//     Wrong credentials: 401 {"errors":[{"code":"UNAUTHORIZED","message":"HTTP Basic:
//     Access denied. …"}]} [?: the message is longer]; another service: 404; anonymous
//     without a scope: 403 {"errors":[{"code":"DENIED","message":"access forbidden"}]}.
//     Scopes are downscoped, never refused: a repository scope gets the requested actions
//     (pull, push, delete) when PATH is a project's path or up to two levels below one
//     (group/app, group/app/x, group/app/x/y for project group/app; ContainerRegistry::Path
//     looks the project up among the path and its first two parents, gitlab-org/gitlab
//     !102063) and the caller is a member; nothing otherwise. registry:catalog:* is the
//     instance admin's only: never granted here.
//
// Registry (/v2/, GitLab's container registry, a distribution fork with token auth): without
// credentials 401 `Bearer realm="http://127.0.0.1:P/jwt/auth",service="container_registry"
// [,scope="…"]`; an unknown or expired token adds error="invalid_token"; a token without the
// needed action error="insufficient_scope" (distribution's registry/auth/token). Body
// {"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":…}]}.
// Tokens are per repository. Unlike GitLab, Basic credentials of a --user account are
// accepted on /v2/ directly (what the harness's curl helpers send), with the rights the
// realm grants. /v2/_catalog is refused (admin only). Everything else under /v2/ is
// forwarded to --upstream (blob bodies streamed both ways, upload Locations rewritten).
//
// API v4 (PRIVATE-TOKEN: PAT or Authorization: Bearer PAT; a wrong one is 401
// {"message":"401 Unauthorized"} everywhere; without one the caller is anonymous, who sees
// no project: 404 as for any private project, and an empty /projects):
//   GET /api/v4/user                                   the token's user; 401 anonymous
//   GET /api/v4/projects?membership=&search=&search_namespaces=&order_by=&sort=
//       (default order created_at desc; order_by id|name|path|created_at|updated_at|
//       last_activity_at, sort asc|desc, anything else 400 {"error":"order_by does not have
//       a valid value"})
//   GET /api/v4/projects/:id        :id a number or the URL-encoded full path (a%2Fb; an
//       unencoded slash matches no route: 404 {"error":"404 Not Found"}); 404 {"message":
//       "404 Project Not Found"}; {"id","name","path","path_with_namespace",
//       "namespace":{…},"container_registry_enabled":true,
//       "container_registry_access_level":"enabled","container_registry_image_prefix",…}
//   GET /api/v4/groups/:id          404 {"message":"404 Group Not Found"}
//   GET /api/v4/groups/:id/projects?include_subgroups=true&search=
//   GET /api/v4/projects/:id/registry/repositories[?tags=true&tags_count=true]
//       → [{"id","name","path","project_id","location","created_at",
//       "cleanup_policy_started_at","status"}] by id; the project path's own repository
//       has name "" (container_registry.md). A repository appears once the registry has it
//       (something was pushed; GitLab creates the record at push-token time [?]).
//   GET /api/v4/projects/:id/registry/repositories/:rid/tags → [{"name","path","location"}]
//       by name, no digest (Kaminari.paginate_array(repository.tags)); an :rid of another
//       project is 404 {"message":"404 Not found"} [?]
//   GET …/tags/:tag → {"name","path","location","revision" (the config digest's hex),
//       "short_revision","digest","created_at" (the config's),"total_size" (layers)}; an
//       index has null revision, created_at and total_size [?]; 404 {"message":"404 Tag
//       Not Found"}
//   DELETE …/tags/:tag → 200 (that tag alone, from --storage); 403 {"message":"403
//       Forbidden"} [?: body] for a --protected-tag (protected_container_tags.md)
// Lists are offset-paged (lib/gitlab/pagination/offset_header_builder.rb): page (from 1),
// per_page (default 20, served at most --per-page-cap, GitLab's max 100; a non-integer is
// 400 {"error":"per_page is invalid"}), headers X-Page, X-Per-Page, X-Next-Page and
// X-Prev-Page ("" at the ends), X-Total, X-Total-Pages (at least 1), and Link with
// rel="prev", "next", "first", "last" in that order, joined by ", ", absolute URLs whose
// query is the request's parameters plus the route's (id, repository_id) with page set,
// sorted by key and escaped as Rails' to_query does; GitLab's also carry every declared
// parameter's default [?: not emulated].
//   --api-429 N: the first N API requests answer 429 "Retry later\n" (text/plain, Rack::Attack's
//   throttled response) with Retry-After: 1 and RateLimit-* headers.
//
// Tag listings and details read --storage, not the upstream (see Storage in
// registry_front.h): tags from the repository's tags directory, digests from their links,
// sizes and revisions from the manifest and config blobs (read once per digest).
// Tokens are opaque random strings (GitLab's are JWTs).
// Not emulated: groups' and users' own registries listing (GET /groups/:id/registry/
// repositories), bulk tag deletion, repository deletion, keyset pagination, deploy and job
// tokens, public or internal projects, the RateLimit-* headers of answers that pass.
//
// Test hooks (not counted): GET /fake/stats {"requests","api","v2","token","by_path",
// "paths"}, POST /fake/reset-stats. Every answer is logged on stdout: METHOD TARGET STATUS.
//
// Flags: --port P (0: any), --upstream http://127.0.0.1:N, --storage DIR (the upstream's
// storage root), --user NAME:PAT (repeatable), --project FULL/PATH (repeatable),
// --token-lifetime S (default 300), --per-page-cap N (default 100), --api-429 N,
// --protected-tag TAG (repeatable). Prints "listening on 127.0.0.1:P" then "ready" once it
// accepts connections.
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "tests/fakes/registry_front.h"

namespace {

using namespace crossdock::fakes;

constexpr const char* kProgram = "gitlab";
constexpr const char* kService = "container_registry";

struct Flags : FrontFlags {
  std::vector<std::string> projects;
  std::set<std::string> protected_tags;
  long token_lifetime = 300;
  long per_page_cap = 100;
  long api_429 = 0;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  ParseFrontFlags(kProgram, argc, argv, &flags, [&](const std::string& arg, const auto& value) {
    if (arg == "--project") {
      flags.projects.push_back(value());
    } else if (arg == "--protected-tag") {
      flags.protected_tags.insert(value());
    } else if (arg == "--token-lifetime") {
      flags.token_lifetime = FlagInt(kProgram, arg, value());
    } else if (arg == "--per-page-cap") {
      flags.per_page_cap = FlagInt(kProgram, arg, value());
    } else if (arg == "--api-429") {
      flags.api_429 = FlagInt(kProgram, arg, value());
    } else {
      return false;
    }
    return true;
  });
  if (flags.per_page_cap < 1) Die(kProgram, "--per-page-cap must be at least 1");
  return flags;
}

struct Group {
  std::int64_t id = 0, parent_id = 0;
  std::string full_path;
};

struct Project {
  std::int64_t id = 0;
  std::string full_path;  // path_with_namespace
  std::int64_t namespace_id = 0;
  Clock::time_point created{};
};

// A registry repository: a path the registry holds, under a project.
struct RegistryRepo {
  std::int64_t id = 0;
  std::string path;
  std::int64_t project_id = 0;
  std::string name;  // the path below the project's, "" for the project's own
  Clock::time_point created{};
};

// What a manifest says about the tag details, which its digest fixes for good.
struct Details {
  std::optional<std::string> revision, created_at;
  std::optional<std::uint64_t> total_size;
};

std::string Last(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// GitLab's API times: "2019-01-10T13:38:57.391Z".
std::string GitLabTime(Clock::time_point t) { return Timestamp(t, 3); }

void Message(httplib::Response& res, int status, const std::string& message) {
  SendJson(res, status, {{"message", message}});
}
void ErrorMessage(httplib::Response& res, int status, const std::string& error) {
  SendJson(res, status, {{"error", error}});
}

class GitLab {
 public:
  explicit GitLab(Flags flags) : flags_(std::move(flags)), upstream_(flags_.upstream), storage_(flags_.storage) {
    for (const std::string& u : flags_.users) {
      accounts_.Add(kProgram, u);
      const size_t colon = u.find(':');
      users_.push_back(u.substr(0, colon));
      tokens_by_pat_[u.substr(colon + 1)] = u.substr(0, colon);
    }
    const Clock::time_point now = Clock::now();
    for (const std::string& path : flags_.projects) {
      if (!ValidRepositoryName(path) || path.find('/') == std::string::npos) {
        Die(kProgram, "--project wants GROUP/…/PROJECT in lower case, got " + path);
      }
      std::vector<std::string> parts = Split(path, '/');
      std::int64_t parent = 0;
      for (size_t i = 1; i < parts.size(); ++i) {
        const std::string group = Join(std::vector<std::string>(parts.begin(), parts.begin() + i), "/");
        auto it = groups_.find(group);
        if (it == groups_.end()) {
          it = groups_.emplace(group, Group{next_group_id_++, parent, group}).first;
        }
        parent = it->second.id;
      }
      if (FindProjectLocked(path)) Die(kProgram, "--project " + path + " given twice");
      // Created a second apart, newest last: "created_at desc" is a strict order.
      projects_.push_back(
          Project{next_project_id_++, path, parent,
                  now - std::chrono::seconds(static_cast<long>(flags_.projects.size() - projects_.size()))});
    }
    api_429_left_ = flags_.api_429;
  }

  void set_self(std::string self) {
    self_ = std::move(self);
    host_ = self_.substr(self_.find("//") + 2);
  }

  void Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const std::string& path = req.path;
    if (StartsWith(path, "/fake/")) {
      if (!AnswerStatsHooks(req, res, stats_)) res.status = 404;
      return;
    }
    try {
      if (path == "/jwt/auth") {
        stats_.Count(req, "token");
        Token(req, res);
      } else if (StartsWith(path, "/v2/") || path == "/v2") {
        stats_.Count(req, "v2");
        Registry(req, res, reader);
      } else if (StartsWith(path, "/api/")) {
        stats_.Count(req, "api");
        Api(req, res);
      } else {
        stats_.Count(req, "");
        res.status = 404;
        res.set_content("404 Not Found\n", "text/plain");
      }
    } catch (const UpstreamError& e) {
      res.status = 502;
      res.set_content(std::string("gitlab fake: upstream: ") + e.what() + "\n", "text/plain");
    }
  }

 private:
  // ---- projects and rights ----

  // REQUIRES: mu_ held or the constructor running. Projects never change after start.
  const Project* FindProjectLocked(const std::string& path) const {
    for (const Project& p : projects_) {
      if (Lower(p.full_path) == Lower(path)) return &p;
    }
    return nullptr;
  }
  const Project* FindProject(const std::string& path) const { return FindProjectLocked(path); }
  const Project* FindProjectById(std::int64_t id) const {
    for (const Project& p : projects_) {
      if (p.id == id) return &p;
    }
    return nullptr;
  }

  // ContainerRegistry::Path#repository_project: the project whose path is PATH or one of
  // its first two parents (the most specific one); null when PATH has a single component
  // or no project owns it.
  const Project* OwningProject(const std::string& path) const {
    std::vector<std::string> nodes = Split(path, '/');
    if (nodes.size() < 2) return nullptr;
    for (size_t length = nodes.size(); length >= 2 && length + 2 >= nodes.size(); --length) {
      const std::string candidate = Join(std::vector<std::string>(nodes.begin(), nodes.begin() + length), "/");
      if (const Project* p = FindProject(candidate)) return p;
    }
    return nullptr;
  }

  // What USER ("" anonymous) may do to the registry repository PATH: a member of the
  // owning project pulls, pushes and deletes.
  std::set<std::string> Rights(const std::string& user, const std::string& path) const {
    if (user.empty() || !ValidRepositoryName(path) || OwningProject(path) == nullptr) return {};
    return {"pull", "push", "delete"};
  }

  // ---- /jwt/auth ----

  void Token(const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET") {
      res.status = 404;
      return;
    }
    std::string user;
    if (req.has_header("Authorization")) {
      std::optional<Credentials> basic = ParseBasic(req);
      if (!basic || !accounts_.Check(*basic)) {
        SendJson(res, 401,
                 {{"errors", Json::array({{{"code", "UNAUTHORIZED"},
                                           {"message",
                                            "HTTP Basic: Access denied. If a password was provided for Git "
                                            "authentication, the password was incorrect or you're required to use a "
                                            "token instead of a password. If a token was provided, it was either "
                                            "incorrect, expired, or improperly scoped."}}})}});
        return;
      }
      user = basic->user;
    }
    const Query query(RawQuery(req));
    if (query.Get("service").value_or("") != kService) {
      res.status = 404;
      return;
    }
    const std::vector<Scope> scopes = RequestedScopes(query);
    if (user.empty() && scopes.empty()) {
      SendJson(res, 403, {{"errors", Json::array({{{"code", "DENIED"}, {"message", "access forbidden"}}})}});
      return;
    }
    Grant grant;
    grant.subject = user;
    grant.issued = Clock::now();
    grant.expires = grant.issued + std::chrono::seconds(flags_.token_lifetime);
    for (const Scope& s : scopes) {
      Scope granted{s.type, s.name, {}};
      if (s.type == "repository") {
        std::set<std::string> rights = Rights(user, s.name);
        for (const std::string& a : s.actions) {
          if (rights.count(a)) granted.actions.push_back(a);
        }
      }
      grant.access.push_back(granted);
    }
    SendJson(res, 200, {{"token", registry_tokens_.Issue(grant)}});
  }

  // ---- /v2/ ----

  std::string Challenge(const std::string& scope, const std::string& error) const {
    std::string c = "Bearer realm=\"" + self_ + "/jwt/auth\",service=\"" + kService + "\"";
    if (!scope.empty()) c += ",scope=\"" + scope + "\"";
    if (!error.empty()) c += ",error=\"" + error + "\"";
    return c;
  }

  void Registry(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const RegistryPath rp = ParseRegistryPath(req.path);
    using Kind = RegistryPath::Kind;
    if (rp.kind == Kind::kOther) {
      SendJson(res, 404,
               {{"errors", Json::array({{{"code", "NAME_INVALID"}, {"message", "invalid repository name"}}})}});
      return;
    }
    std::string action, scope;
    if (rp.kind == Kind::kCatalog) {
      action = "*";
      scope = "registry:catalog:*";
    } else if (rp.kind != Kind::kBase) {
      action = ActionFor(req.method);
      scope = "repository:" + rp.name + ":" + (action == "push" ? "pull,push" : action);
    }
    auto refuse = [&](const std::string& error) {
      Json detail = nullptr;
      if (!rp.name.empty()) {
        detail = Json::array({{{"Type", "repository"}, {"Class", ""}, {"Name", rp.name}, {"Action", action}}});
      } else if (rp.kind == Kind::kCatalog) {
        detail = Json::array({{{"Type", "registry"}, {"Class", ""}, {"Name", "catalog"}, {"Action", "*"}}});
      }
      res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
      res.set_header("WWW-Authenticate", Challenge(scope, error));
      SendJson(
          res, 401,
          {{"errors",
            Json::array({{{"code", "UNAUTHORIZED"}, {"message", "authentication required"}, {"detail", detail}}})}});
    };
    bool allowed = false;
    if (auto bearer = ParseBearer(req)) {
      auto [state, grant] = registry_tokens_.Look(*bearer);
      if (state != TokenStore::State::kValid) return refuse("invalid_token");
      allowed = action.empty();
      for (const Scope& s : grant.access) {
        if (rp.kind != Kind::kCatalog && s.type == "repository" && s.name == rp.name && s.Allows(action)) {
          allowed = true;
        }
      }
    } else if (req.has_header("Authorization")) {
      std::optional<Credentials> basic = ParseBasic(req);
      if (!basic || !accounts_.Check(*basic)) return refuse("");
      allowed = action.empty() || (rp.kind != Kind::kCatalog && Rights(basic->user, rp.name).count(action) > 0);
    } else {
      return refuse("");
    }
    if (!allowed) return refuse("insufficient_scope");
    upstream_.Forward(req, reader, self_, res);
  }

  // ---- /api/v4 ----

  // --api-429: true after answering 429 as Rack::Attack's throttled responder does.
  bool Throttle(httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (api_429_left_ <= 0) return false;
      --api_429_left_;
    }
    const std::time_t reset = std::time(nullptr) + 1;
    char when[64];
    std::tm tm{};
    gmtime_r(&reset, &tm);
    std::strftime(when, sizeof when, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    res.set_header("Retry-After", "1");
    res.set_header("RateLimit-Name", "throttle_authenticated_api");
    res.set_header("RateLimit-Limit", "60");
    res.set_header("RateLimit-Observed", "61");
    res.set_header("RateLimit-Remaining", "0");
    res.set_header("RateLimit-Reset", "1");
    res.set_header("RateLimit-ResetTime", when);
    res.status = 429;
    res.set_content("Retry later\n", "text/plain");
    return true;
  }

  // The API caller: "" anonymous; nullopt after answering 401 for a wrong token.
  std::optional<std::string> ApiUser(const httplib::Request& req, httplib::Response& res) const {
    std::string token = req.get_header_value("PRIVATE-TOKEN");
    if (token.empty()) {
      if (auto bearer = ParseBearer(req)) token = *bearer;
    }
    if (token.empty() && !req.has_header("PRIVATE-TOKEN")) return std::string();
    auto it = tokens_by_pat_.find(token);
    if (it == tokens_by_pat_.end()) {
      Message(res, 401, "401 Unauthorized");
      return std::nullopt;
    }
    return it->second;
  }

  void Api(const httplib::Request& req, httplib::Response& res) {
    if (Throttle(res)) return;
    std::optional<std::string> user = ApiUser(req, res);
    if (!user) return;
    // Route on the raw path, segment by segment: an encoded slash stays inside its segment.
    std::vector<std::string> seg;
    for (const std::string& raw : Split(RawPath(req), '/')) {
      std::optional<std::string> s = Unescape(raw, false);
      if (!s) return ErrorMessage(res, 404, "404 Not Found");
      seg.push_back(*s);
    }
    seg.erase(seg.begin());  // before the first '/'
    if (seg.size() < 3 || seg[0] != "api" || seg[1] != "v4") return ErrorMessage(res, 404, "404 Not Found");
    seg.erase(seg.begin(), seg.begin() + 2);
    if (!seg.empty() && seg.back().empty()) seg.pop_back();
    const bool get = req.method == "GET" || req.method == "HEAD";
    auto no_method = [&]() { ErrorMessage(res, 405, "405 Not Allowed"); };
    const size_t n = seg.size();
    if (n == 1 && seg[0] == "user") return get ? CurrentUser(res, *user) : no_method();
    if (seg[0] == "groups" && n >= 2 && n <= 3) {
      const Group* g = *user == "" ? nullptr : FindGroup(seg[1]);
      if (n == 3 && seg[2] != "projects") return ErrorMessage(res, 404, "404 Not Found");
      if (!get) return no_method();
      if (g == nullptr) return Message(res, 404, "404 Group Not Found");
      return n == 2 ? SendJson(res, 200, GroupJson(*g)) : GroupProjects(req, res, *g, seg[1]);
    }
    if (seg[0] != "projects") return ErrorMessage(res, 404, "404 Not Found");
    if (n == 1) return get ? ListProjects(req, res, *user) : no_method();
    const bool known_route = n == 2 || (n >= 4 && n <= 7 && seg[2] == "registry" && seg[3] == "repositories" &&
                                        (n <= 5 || seg[5] == "tags"));
    if (!known_route) return ErrorMessage(res, 404, "404 Not Found");
    const Project* p = *user == "" ? nullptr : FindProjectByIdOrPath(seg[1]);
    if (n == 2) {
      if (!get) return no_method();
      if (p == nullptr) return Message(res, 404, "404 Project Not Found");
      return SendJson(res, 200, ProjectJson(*p));
    }
    if (n == 4) {
      if (!get) return no_method();
      if (p == nullptr) return Message(res, 404, "404 Project Not Found");
      return ListRegistryRepositories(req, res, *p, seg[1]);
    }
    if (n == 5) {  // DELETE …/repositories/:rid (async repository deletion) is not emulated
      return no_method();
    }
    if (p == nullptr) return Message(res, 404, "404 Project Not Found");
    char* end = nullptr;
    const long long rid = std::strtoll(seg[4].c_str(), &end, 10);
    if (seg[4].empty() || *end != '\0') return ErrorMessage(res, 400, "repository_id is invalid");
    std::optional<RegistryRepo> repo = FindRegistryRepo(*p, rid);
    if (n == 6) {
      if (!get) return no_method();  // bulk deletion is not emulated
      if (!repo) return Message(res, 404, "404 Not found");
      return ListTags(req, res, *repo, seg[1]);
    }
    if (!repo) return Message(res, 404, "404 Not found");
    if (get) return GetTag(res, *repo, seg[6]);
    if (req.method == "DELETE") return DeleteTag(res, *repo, seg[6]);
    no_method();
  }

  const Group* FindGroup(const std::string& id_or_path) const {
    char* end = nullptr;
    const long long id = std::strtoll(id_or_path.c_str(), &end, 10);
    const bool numeric = !id_or_path.empty() && *end == '\0';
    for (const auto& [path, g] : groups_) {
      if (numeric ? g.id == id : Lower(path) == Lower(id_or_path)) return &g;
    }
    return nullptr;
  }

  const Project* FindProjectByIdOrPath(const std::string& id_or_path) const {
    char* end = nullptr;
    const long long id = std::strtoll(id_or_path.c_str(), &end, 10);
    if (!id_or_path.empty() && *end == '\0') return FindProjectById(id);
    return FindProject(id_or_path);
  }

  void CurrentUser(httplib::Response& res, const std::string& user) {
    if (user.empty()) return Message(res, 401, "401 Unauthorized");
    std::int64_t id = 1;
    for (size_t i = 0; i < users_.size(); ++i) {
      if (users_[i] == user) id = static_cast<std::int64_t>(i) + 1;
    }
    SendJson(res, 200,
             {{"id", id},
              {"username", user},
              {"name", user},
              {"state", "active"},
              {"locked", false},
              {"avatar_url", nullptr},
              {"web_url", self_ + "/" + user},
              {"email", user + "@example.com"},
              {"is_admin", false}});
  }

  Json GroupJson(const Group& g) const {
    return {{"id", g.id},
            {"name", Last(g.full_path)},
            {"path", Last(g.full_path)},
            {"full_name", Join(Split(g.full_path, '/'), " / ")},
            {"full_path", g.full_path},
            {"parent_id", g.parent_id == 0 ? Json(nullptr) : Json(g.parent_id)},
            {"visibility", "private"},
            {"web_url", self_ + "/groups/" + g.full_path}};
  }

  Json ProjectJson(const Project& p) const {
    const std::string ns_path = p.full_path.substr(0, p.full_path.rfind('/'));
    const Group& g = groups_.at(ns_path);
    const std::string created = GitLabTime(p.created);
    return {{"id", p.id},
            {"description", ""},
            {"name", Last(p.full_path)},
            {"name_with_namespace", Join(Split(p.full_path, '/'), " / ")},
            {"path", Last(p.full_path)},
            {"path_with_namespace", p.full_path},
            {"created_at", created},
            {"updated_at", created},
            {"last_activity_at", created},
            {"default_branch", "main"},
            {"tag_list", Json::array()},
            {"topics", Json::array()},
            {"ssh_url_to_repo", "git@" + host_ + ":" + p.full_path + ".git"},
            {"http_url_to_repo", self_ + "/" + p.full_path + ".git"},
            {"web_url", self_ + "/" + p.full_path},
            {"visibility", "private"},
            {"archived", false},
            {"empty_repo", true},
            {"namespace",
             {{"id", g.id},
              {"name", Last(g.full_path)},
              {"path", Last(g.full_path)},
              {"kind", "group"},
              {"full_path", g.full_path},
              {"parent_id", g.parent_id == 0 ? Json(nullptr) : Json(g.parent_id)},
              {"web_url", self_ + "/groups/" + g.full_path}}},
            {"container_registry_enabled", true},
            {"container_registry_access_level", "enabled"},
            {"container_registry_image_prefix", host_ + "/" + p.full_path}};
  }

  // ---- paging ----

  // lib/gitlab/pagination/offset_header_builder.rb over Kaminari: headers and the COUNT
  // items' page of which ITEM(i) builds the i-th. ROUTE holds the route's parameters,
  // which Grape's params (and so the Link's query) include.
  void SendPage(const httplib::Request& req, httplib::Response& res,
                const std::vector<std::pair<std::string, std::string>>& route, size_t count,
                const std::function<Json(size_t)>& item) {
    const Query query(RawQuery(req));
    auto integer = [&](const char* key, long fallback) -> std::optional<long> {
      std::optional<std::string> v = query.Get(key);
      if (!v) return fallback;
      char* end = nullptr;
      long n = std::strtol(v->c_str(), &end, 10);
      if (v->empty() || *end != '\0') return std::nullopt;
      return n;
    };
    std::optional<long> page = integer("page", 1), per_page = integer("per_page", 20);
    if (!page) return ErrorMessage(res, 400, "page is invalid");
    if (!per_page) return ErrorMessage(res, 400, "per_page is invalid");
    const long current = std::max(1L, *page);
    const long limit = std::min(*per_page > 0 ? *per_page : 20L, flags_.per_page_cap);
    const long total = static_cast<long>(count);
    const long total_pages = std::max(1L, (total + limit - 1) / limit);
    const bool out_of_range = current > total_pages;
    // 0: no such page (plain longs: g++ -O2 warns about std::optional<long> here).
    const long next = current < total_pages && !out_of_range ? current + 1 : 0;
    const long prev = current > 1 && !out_of_range ? current - 1 : 0;

    auto href = [&](long number) {
      Query q(RawQuery(req));
      for (const auto& [k, v] : route) q.Set(k, v);
      q.Set("page", std::to_string(number));
      q.Set("per_page", query.Get("per_page").value_or("20"));
      return self_ + RawPath(req) + "?" + q.EncodeSorted();
    };
    std::vector<std::string> links;
    if (prev) links.push_back("<" + href(prev) + ">; rel=\"prev\"");
    if (next) links.push_back("<" + href(next) + ">; rel=\"next\"");
    links.push_back("<" + href(1) + ">; rel=\"first\"");
    links.push_back("<" + href(total_pages) + ">; rel=\"last\"");
    res.set_header("X-Per-Page", std::to_string(limit));
    res.set_header("X-Page", std::to_string(current));
    res.set_header("X-Next-Page", next ? std::to_string(next) : "");
    res.set_header("X-Prev-Page", prev ? std::to_string(prev) : "");
    res.set_header("Link", Join(links, ", "));
    res.set_header("X-Total", std::to_string(total));
    res.set_header("X-Total-Pages", std::to_string(total_pages));
    Json body = Json::array();
    for (long i = (current - 1) * limit; i < total && i < current * limit; ++i)
      body.push_back(item(static_cast<size_t>(i)));
    SendJson(res, 200, body);
  }

  // ---- projects ----

  // Filters and orders PROJECTS as GET /projects does (search, order_by, sort), then
  // sends the page (or a 400).
  void SendProjects(const httplib::Request& req, httplib::Response& res, std::vector<const Project*> projects,
                    const std::vector<std::pair<std::string, std::string>>& route) {
    const Query q(RawQuery(req));
    const std::string order_by = q.Get("order_by").value_or("created_at");
    const std::string sort = q.Get("sort").value_or("desc");
    static const std::set<std::string> kOrders = {"id", "name", "path", "created_at", "updated_at", "last_activity_at"};
    if (!kOrders.count(order_by)) return ErrorMessage(res, 400, "order_by does not have a valid value");
    if (sort != "asc" && sort != "desc") return ErrorMessage(res, 400, "sort does not have a valid value");
    const std::string search = Lower(q.Get("search").value_or(""));
    const bool namespaces = q.Get("search_namespaces").value_or("") == "true";
    std::vector<const Project*> kept;
    for (const Project* p : projects) {
      if (!search.empty()) {
        const std::string name = Lower(Last(p->full_path));
        const bool hit = name.find(search) != std::string::npos ||
                         (namespaces && Lower(p->full_path).find(search) != std::string::npos);
        if (!hit) continue;
      }
      kept.push_back(p);
    }
    auto less = [&](const Project* a, const Project* b) {
      if ((order_by == "name" || order_by == "path") && Last(a->full_path) != Last(b->full_path)) {
        return Last(a->full_path) < Last(b->full_path);
      }
      return a->id < b->id;  // created, updated and last active in id order here
    };
    std::sort(kept.begin(), kept.end(),
              [&](const Project* a, const Project* b) { return sort == "asc" ? less(a, b) : less(b, a); });
    SendPage(req, res, route, kept.size(), [&](size_t i) { return ProjectJson(*kept[i]); });
  }

  void ListProjects(const httplib::Request& req, httplib::Response& res, const std::string& user) {
    std::vector<const Project*> projects;
    if (!user.empty()) {  // a member of all of them; anonymous callers see no private project
      for (const Project& p : projects_) projects.push_back(&p);
    }
    SendProjects(req, res, projects, {});
  }

  void GroupProjects(const httplib::Request& req, httplib::Response& res, const Group& g, const std::string& id) {
    const bool subgroups = Query(RawQuery(req)).Get("include_subgroups").value_or("") == "true";
    std::vector<const Project*> projects;
    for (const Project& p : projects_) {
      const std::string ns_path = p.full_path.substr(0, p.full_path.rfind('/'));
      if (ns_path == g.full_path || (subgroups && StartsWith(ns_path, g.full_path + "/"))) projects.push_back(&p);
    }
    SendProjects(req, res, projects, {{"id", id}});
  }

  // ---- registry repositories and tags ----

  // The registry repositories of P, by id: what the registry holds under P's path (and
  // that P, not a deeper project, owns), each given an id the first time it is seen.
  std::vector<RegistryRepo> RepositoriesOf(const Project& p) {
    std::vector<std::string> paths;
    for (const std::string& path : upstream_.Catalog()) {
      const Project* owner = OwningProject(path);
      if (owner != nullptr && owner->id == p.id) paths.push_back(path);
    }
    std::vector<RegistryRepo> out;
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& path : paths) {
      auto it = repos_.find(path);
      if (it == repos_.end()) {
        const std::string name = path.size() > p.full_path.size() ? path.substr(p.full_path.size() + 1) : "";
        it = repos_.emplace(path, RegistryRepo{next_repo_id_++, path, p.id, name, Clock::now()}).first;
      }
      out.push_back(it->second);
    }
    std::sort(out.begin(), out.end(), [](const RegistryRepo& a, const RegistryRepo& b) { return a.id < b.id; });
    return out;
  }

  std::optional<RegistryRepo> FindRegistryRepo(const Project& p, long long rid) {
    for (const RegistryRepo& r : RepositoriesOf(p)) {
      if (r.id == rid) return r;
    }
    return std::nullopt;
  }

  // PATH's tags by name (ContainerRepository#tags sorts them).
  std::vector<std::string> TagNames(const std::string& path) const {
    std::vector<std::string> names;
    if (auto links = storage_.TagLinks(path)) {
      for (const auto& [name, tag] : *links) names.push_back(name);
    }
    return names;
  }

  Json TagJson(const RegistryRepo& r, const std::string& tag) const {
    return {{"name", tag}, {"path", r.path + ":" + tag}, {"location", host_ + "/" + r.path + ":" + tag}};
  }

  static std::optional<bool> BoolParam(const Query& q, const std::string& key) {
    std::optional<std::string> v = q.Get(key);
    if (!v) return false;
    if (*v == "true" || *v == "1" || *v == "yes") return true;
    if (*v == "false" || *v == "0" || *v == "no") return false;
    return std::nullopt;
  }

  void ListRegistryRepositories(const httplib::Request& req, httplib::Response& res, const Project& p,
                                const std::string& id) {
    const Query q(RawQuery(req));
    std::optional<bool> tags = BoolParam(q, "tags"), tags_count = BoolParam(q, "tags_count");
    if (!tags) return ErrorMessage(res, 400, "tags is invalid");
    if (!tags_count) return ErrorMessage(res, 400, "tags_count is invalid");
    const std::vector<RegistryRepo> repos = RepositoriesOf(p);
    SendPage(req, res, {{"id", id}}, repos.size(), [&](size_t i) {
      const RegistryRepo& r = repos[i];
      Json j = {{"id", r.id},
                {"name", r.name},
                {"path", r.path},
                {"project_id", r.project_id},
                {"location", host_ + "/" + r.path},
                {"created_at", GitLabTime(r.created)},
                {"cleanup_policy_started_at", nullptr},
                {"status", nullptr}};
      if (*tags || *tags_count) {
        const std::vector<std::string> names = TagNames(r.path);
        if (*tags_count) j["tags_count"] = names.size();
        if (*tags) {
          Json list = Json::array();
          for (const std::string& t : names) list.push_back(TagJson(r, t));
          j["tags"] = list;
        }
      }
      return j;
    });
  }

  void ListTags(const httplib::Request& req, httplib::Response& res, const RegistryRepo& r, const std::string& id) {
    const std::vector<std::string> names = TagNames(r.path);
    SendPage(req, res, {{"id", id}, {"repository_id", std::to_string(r.id)}}, names.size(),
             [&](size_t i) { return TagJson(r, names[i]); });
  }

  // The details a tag's manifest gives (ContainerRegistry::Tag): read once per digest.
  Details Describe(const std::string& path, const std::string& digest) {
    const std::string key = path + "@" + digest;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = described_.find(key); it != described_.end()) return it->second;
    }
    Details d;
    std::optional<StoredManifest> stored = storage_.Manifest(path, digest);
    Json m = stored ? Json::parse(stored->body, nullptr, false) : Json();
    if (m.is_object() && m.contains("config") && m["config"].is_object()) {
      const std::string config = m["config"].value("digest", "");
      if (IsDigest(config)) d.revision = config.substr(7);
      std::uint64_t size = 0;
      if (m.contains("layers") && m["layers"].is_array()) {
        for (const Json& l : m["layers"]) size += l.value("size", std::uint64_t{0});
      }
      d.total_size = size;
      if (std::optional<std::string> blob = storage_.SmallBlob(path, config)) {
        Json c = Json::parse(*blob, nullptr, false);
        if (c.is_object() && c.contains("created") && c["created"].is_string())
          d.created_at = c["created"].get<std::string>();
      }
    }
    if (stored) {
      std::lock_guard<std::mutex> lock(mu_);
      described_[key] = d;
    }
    return d;
  }

  void GetTag(httplib::Response& res, const RegistryRepo& r, const std::string& tag) {
    std::optional<StoredTag> stored = storage_.Tag(r.path, tag);
    if (!stored) return Message(res, 404, "404 Tag Not Found");
    const Details d = Describe(r.path, stored->digest);
    Json j = TagJson(r, tag);
    j["revision"] = d.revision ? Json(*d.revision) : Json(nullptr);
    j["short_revision"] = d.revision ? Json(d.revision->substr(0, 9)) : Json(nullptr);
    j["digest"] = stored->digest;
    j["created_at"] = d.created_at ? Json(*d.created_at) : Json(nullptr);
    j["total_size"] = d.total_size ? Json(*d.total_size) : Json(nullptr);
    SendJson(res, 200, j);
  }

  void DeleteTag(httplib::Response& res, const RegistryRepo& r, const std::string& tag) {
    if (!storage_.Tag(r.path, tag)) return Message(res, 404, "404 Tag Not Found");
    if (flags_.protected_tags.count(tag)) return Message(res, 403, "403 Forbidden");
    if (!storage_.DeleteTag(r.path, tag)) return Message(res, 404, "404 Tag Not Found");
    res.status = 200;
  }

  const Flags flags_;
  const Upstream upstream_;
  const Storage storage_;
  Accounts accounts_;
  std::vector<std::string> users_;                          // fixed at start
  std::map<std::string, std::string> tokens_by_pat_;        // PAT -> user; fixed at start
  std::map<std::string, Group> groups_;                     // full path -> group; fixed at start
  std::vector<Project> projects_;                           // fixed at start
  std::int64_t next_group_id_ = 100, next_project_id_ = 1;  // the constructor's
  TokenStore registry_tokens_;
  RequestStats stats_;
  std::string self_, host_;  // "http://127.0.0.1:P" and "127.0.0.1:P", set before serving

  std::mutex mu_;
  std::map<std::string, RegistryRepo> repos_;  // path -> repository; guarded by mu_
  std::int64_t next_repo_id_ = 1;              // guarded by mu_
  std::map<std::string, Details> described_;   // "path@digest"; guarded by mu_
  long api_429_left_ = 0;                      // guarded by mu_
};

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  GitLab gitlab(flags);
  return ServeFake(kProgram, flags.port, gitlab);
}
