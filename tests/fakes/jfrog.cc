// jfrog: a loopback fake of JFrog Artifactory 7 with the "repository path" Docker access
// method (`<host>/v2/<repository key>/<image>`) — its REST API, its Docker API under
// /artifactory/api/docker/<key>/v2/, its token endpoint and the registry on one port — in
// front of a real, plain docker-registry that holds the data (the image KEY/IMAGE of
// Artifactory is the repository "KEY/IMAGE" there), for end-to-end tests of crossdock's
// jfrog-artifactory provider; started by tests/support/vendor_fakes2.cc (JFrogFake). Facts
// are collected in ../shared/reference/vendors.md §11; "[?]" marks a behaviour no source
// pins. Sources:
//   [rest]    jfrog.com/help/r/jfrog-rest-apis: "Create Repository" (PUT
//             /artifactory/api/repositories/{repoKey}; requires an admin user; "If a
//             repository with the specified repoKey already exists, the call fails with a
//             400 response"), "Get Repository Configuration" (non-admin users get partial
//             configuration data), "List Docker Repositories" (GET
//             /api/docker/{repo-key}/v2/_catalog?n=&last=, "Requires a user with read
//             permission", sample: {"repositories":["busybox","centos","hello-world"]},
//             names without the key), "Create Multiple Repositories" (the answer text
//             "Successfully created repository 'KEY'"), "ERROR RESPONSES" ({"errors":
//             [{"status":404,"message":"File not found."}]});
//   [harbor]  goharbor/harbor src/pkg/reg/adapter/jfrog/{adapter,client}.go and their
//             tests: GET /artifactory/api/repositories?packageType=docker →
//             [{"key","description","type":"LOCAL","url":"http://HOST/artifactory/KEY",
//             "packageType":"Docker"}]; the PUT body {"key","rclass":"local",
//             "packageType":"docker","repoLayoutRef":"simple-default"} succeeding on 200
//             only; the catalog and tags/list under /artifactory/api/docker/KEY/v2 with
//             Basic credentials, tags/list answering {"name":"nginx",...} (no key); pushes
//             by chunk: POST, PATCH with `Content-Range: 0-<size>` (the size, not size−1)
//             expecting 202, PUT ?digest= expecting 201, "PushBlob can not use naive
//             PushBlob due to MonolithicUpload, Jfrog now just support push by chunk"
//             (RTFACT-19344);
//   [issues]  a 403 is {"errors":[{"status":403,"message":"Forbidden"}]} (goharbor/harbor
//             #22218); wrong credentials 401 {"errors":[{"status":401,"message":"Bad
//             credentials"}]} (jfrog/jfrog-cli#416, #947); /api/system/ping needs no
//             credentials but refuses wrong ones (jfrog-cli#416); a missing repository is
//             400, not 404 (chef/artifactory-client#12, terraform-provider-artifactory#300);
//             a monolithic upload (POST, then PUT with the body) is 404 BLOB_UNKNOWN
//             (docker/buildx#196, containerd/containerd#3533: "jFrog is known to require
//             PATCH"); a push to a key that is no repository is 404
//             (docker/build-push-action#1115); Artifactory's challenge
//             `Bearer realm="https://H/artifactory/api/docker/KEY/v2/token",service="H",
//             scope="repository:IMAGE:pull"` on the Docker API (moby/buildkit#1130);
//   [charts]  jfrog/charts stable/artifactory: the repository path method maps
//             /v2/token to /artifactory/api/docker/null/v2/token and /v2/KEY/REST to
//             /artifactory/api/docker/KEY/v2/REST; JFrog's KB "docker login" walk-through:
//             the token endpoint answers {"token":T,"expires_in":3600} to Basic.
//
// Accounts: --user NAME:PASSWORD (repeatable); --admin NAME is an administrator. Every
// account reads and deploys to every local repository and reads remote ones; anonymous
// access is off (Artifactory's default), so calls without credentials are 401 except the
// ping. Credentials are Basic everywhere; a registry token from /v2/token is taken as
// Bearer everywhere too (on the REST API as an access token would be [?]).
//
// REST API (/artifactory/api/; errors {"errors":[{"status":N,"message":M}]}, a 401 with
// `WWW-Authenticate: Basic realm="Artifactory Realm"` [?]):
//   GET /api/system/ping                 "OK" (text/plain); no credentials needed
//   GET /api/system/version              {"version":"7.x-fake","revision","addons","license"}
//   GET /api/repositories[?type=local|remote|virtual|federated&packageType=docker|oci|…]
//       [{"key","description","type":"LOCAL"|"REMOTE","url","packageType":"Docker"|"OCI"|…}]
//       (local before remote, each by key [?]; a remote's url is its remote URL [?])
//   GET /api/repositories/KEY            the configuration ({"key","rclass","packageType",
//       "repoLayoutRef","dockerApiVersion",…} for administrators, key, rclass,
//       packageType and description for others [?]); 400 {"errors":[{"status":400,
//       "message":"Bad Request"}]} for a missing repository (the message [?])
//   PUT /api/repositories/KEY {"key","rclass","packageType","repoLayoutRef",…}
//       200 "Successfully created repository 'KEY'" (text/plain) for an administrator;
//       403 Forbidden for other users, 401 anonymous; 400 when KEY exists (case
//       insensitively: "Case insensitive repository key already exists" [?]), when the
//       body's key is not KEY, for a key outside [A-Za-z0-9][A-Za-z0-9._-]{0,63} [?],
//       or rclass other than local or remote (virtual and federated repositories are not
//       emulated).
// Docker API (/artifactory/api/docker/KEY/v2/…):
//   GET …/_catalog?n=&last=              {"repositories":[images of KEY, without "KEY/"]}
//       sorted; n per page with `Link: </artifactory/api/docker/KEY/v2/_catalog?n=N&
//       last=L>; rel="next"` as distribution writes it [?: whether Artifactory sends a
//       Link]; 404 NAME_UNKNOWN for a key that is no Docker/OCI repository [?]
//   GET …/token                          as /v2/token below
//   GET …/IMAGE/tags/list and everything else of IMAGE: as /v2/KEY/IMAGE/… (below), the
//       name in a tags/list answer without the key (as [harbor]'s test shows) and Links
//       rewritten to this path.
// Registry, repository path method:
//   GET /v2/token (and …/api/docker/KEY/v2/token) with Basic → {"token":T,"expires_in":S},
//     valid --token-lifetime s (Artifactory's 3600); the token carries the user's rights,
//     whatever scope was asked [?]. No credentials: 401 {"errors":[{"status":401,"message":
//     "Authentication is required"}]} [?]; wrong ones 401 Bad credentials.
//   /v2/ without credentials: 401 `Bearer realm="http://H/v2/token",service="H"` (H this
//     fake's host:port; with scope="repository:KEY/IMAGE:pull" (or pull,push) on an image
//     [?]); under /artifactory/api/docker/KEY/v2/ the realm is …/api/docker/KEY/v2/token and
//     the scope names IMAGE alone ([issues]). Body {"errors":[{"code":"UNAUTHORIZED",
//     "message":"authentication required","detail":null}]} [?]. A valid token or Basic
//     NAME:PASSWORD (Artifactory takes Basic on its Docker API) is let through.
//   /v2/_catalog: 404 [?] (there is no registry-wide catalog in the repository path
//     method: the first component would be the key).
//   /v2/KEY/IMAGE/…: KEY must be a Docker or OCI repository, and IMAGE not empty, else
//     404 {"errors":[{"code":"NAME_UNKNOWN","message":"Repository name not known to
//     registry.","detail":{"name":…}}]} (the body [?]); a write (POST, PUT, PATCH,
//     DELETE) to a remote repository is 405 UNSUPPORTED [?]; everything else is forwarded
//     to --upstream (blob bodies streamed both ways, upload Locations rewritten to this
//     fake), manifest DELETE by digest included (it removes every tag on the digest, as
//     the registry behind does [?: Artifactory's]).
//   Uploads. A PATCH's Content-Range must start at the upload's current offset and, with
//     --patch-quirk (the default), may end at start+length (Harbor's `0-<size>`, which
//     Artifactory takes: [harbor]) or at start+length−1 (the spec's inclusive end);
//     without it only the spec's form passes (as distribution 3 checks it). Refused: 416
//     {"errors":[{"code":"RANGE_INVALID","message":"invalid content range"}]} with Range
//     and Location. Whether Artifactory checks the start at all is not known [?]; a PATCH
//     without Content-Range (skopeo's, docker's) is never checked. --refuse-monolithic:
//     a PUT that completes an upload with a body is 404 BLOB_UNKNOWN, as Artifactory 6
//     answered buildx ([issues]; whether Artifactory 7 still does is not known, hence off
//     by default).
//
// Not emulated: virtual and federated repositories, remote repositories that fetch
// anything (a remote one serves what the registry behind holds under its key), the
// subdomain and port access methods, API keys and access tokens of their own
// (X-JFrog-Art-Api, /access/api/v1/tokens), permission targets, projects, the non-Docker package types'
// own APIs (their repositories exist but serve no /v2/), the artifact storage API
// (/api/storage) and folder deletes, Xray.
//
// Test hooks (not counted): GET /fake/stats {"requests","api","v2","token","by_path",
// "paths"}, POST /fake/reset-stats. Every answer is logged on stdout: METHOD TARGET STATUS.
//
// Flags: --port P (0: any), --upstream http://127.0.0.1:N, --storage DIR (the upstream's
// storage root), --user NAME:PASSWORD (repeatable), --admin NAME, --repo KEY:TYPE
// (repeatable; a local repository of package type docker or oci), --remote-repo KEY
// (repeatable; a remote Docker repository), --patch-quirk / --no-patch-quirk,
// --refuse-monolithic, --token-lifetime S (default 3600). Prints "listening on
// 127.0.0.1:P" then "ready" once it accepts connections.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fakes/registry_front.h"

namespace {

using namespace crossdock::fakes;

constexpr const char* kProgram = "jfrog";

struct Flags : FrontFlags {
  std::string admin;
  std::vector<std::string> repos, remote_repos;
  bool patch_quirk = true;
  bool refuse_monolithic = false;
  long token_lifetime = 3600;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  ParseFrontFlags(kProgram, argc, argv, &flags, [&](const std::string& arg, const auto& value) {
    if (arg == "--admin") {
      flags.admin = value();
    } else if (arg == "--repo") {
      flags.repos.push_back(value());
    } else if (arg == "--remote-repo") {
      flags.remote_repos.push_back(value());
    } else if (arg == "--patch-quirk") {
      flags.patch_quirk = true;
    } else if (arg == "--no-patch-quirk") {
      flags.patch_quirk = false;
    } else if (arg == "--refuse-monolithic") {
      flags.refuse_monolithic = true;
    } else if (arg == "--token-lifetime") {
      flags.token_lifetime = FlagInt(kProgram, arg, value());
    } else {
      return false;
    }
    return true;
  });
  return flags;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Artifactory's REST error body.
void RestError(httplib::Response& res, int status, const std::string& message) {
  Json body = {{"errors", Json::array({{{"status", status}, {"message", message}}})}};
  res.status = status;
  res.set_content(body.dump(2), "application/json");
}

// A registry error body ({"errors":[{"code","message","detail"}]}).
void RegistryError(httplib::Response& res, int status, const std::string& code, const std::string& message,
                   const Json& detail = nullptr) {
  res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
  SendJson(res, status, {{"errors", Json::array({{{"code", code}, {"message", message}, {"detail", detail}}})}});
}

struct Repo {
  std::string key, rclass, package_type, description;  // rclass "local"/"remote"; type lower-case
  bool docker() const { return package_type == "docker" || package_type == "oci"; }
};

// Who is asking: an account ("" anonymous), or nobody because the credentials were wrong.
struct Caller {
  std::string user;
  bool admin = false;
  bool bad_credentials = false;
};

// Where a registry request came in: /v2/KEY/… (repository path) or the Docker API.
struct Route {
  bool api = false;  // /artifactory/api/docker/KEY/v2/…
  std::string key;
};

class JFrog {
 public:
  explicit JFrog(Flags flags) : flags_(std::move(flags)), upstream_(flags_.upstream) {
    for (const std::string& u : flags_.users) accounts_.Add(kProgram, u);
    for (const std::string& spec : flags_.repos) {
      size_t colon = spec.find(':');
      const std::string key = spec.substr(0, colon);
      const std::string type = colon == std::string::npos ? "docker" : Lower(spec.substr(colon + 1));
      if (type != "docker" && type != "oci") Die(kProgram, "--repo wants KEY:docker or KEY:oci, got " + spec);
      AddRepo(Repo{key, "local", type, ""});
    }
    for (const std::string& key : flags_.remote_repos) AddRepo(Repo{key, "remote", "docker", ""});
  }

  void set_self(std::string self) { self_ = std::move(self); }

  void Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const std::string& path = req.path;
    if (StartsWith(path, "/fake/")) {
      if (!AnswerStatsHooks(req, res, stats_)) res.status = 404;
      return;
    }
    try {
      static const std::string kDockerApi = "/artifactory/api/docker/";
      if (path == "/v2/token") {
        stats_.Count(req, "token");
        Token(req, res);
      } else if (path == "/v2" || StartsWith(path, "/v2/")) {
        stats_.Count(req, "v2");
        Registry(req, res, reader, Route{});
      } else if (StartsWith(path, kDockerApi)) {
        DockerApi(req, res, reader, path.substr(kDockerApi.size()));
      } else if (StartsWith(path, "/artifactory/api/")) {
        stats_.Count(req, "api");
        Rest(req, res, reader, path.substr(17));
      } else {
        stats_.Count(req, "");
        RestError(res, 404, "Not Found");
      }
    } catch (const UpstreamError& e) {
      res.status = 502;
      res.set_content(std::string("jfrog fake: upstream: ") + e.what() + "\n", "text/plain");
    }
  }

 private:
  // ---- repositories and callers ----

  // REQUIRES: the constructor running, or mu_ held; a key not taken yet.
  void AddRepo(const Repo& repo) { repos_[Lower(repo.key)] = repo; }

  std::optional<Repo> FindRepo(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = repos_.find(Lower(key));
    if (it == repos_.end() || it->second.key != key) return std::nullopt;
    return it->second;
  }

  // The caller of a request: Basic credentials, or a registry token as Bearer.
  Caller CallerOf(const httplib::Request& req) {
    Caller c;
    if (auto bearer = ParseBearer(req)) {
      auto [state, grant] = tokens_.Look(*bearer);
      if (state != TokenStore::State::kValid) {
        c.bad_credentials = true;
        return c;
      }
      c.user = grant.subject;
    } else if (req.has_header("Authorization")) {
      std::optional<Credentials> basic = ParseBasic(req);
      if (!basic || !accounts_.Check(*basic)) {
        c.bad_credentials = true;
        return c;
      }
      c.user = basic->user;
    }
    c.admin = !c.user.empty() && c.user == flags_.admin;
    return c;
  }

  // The REST answer to a caller who is nobody: false after answering 401.
  static bool RequireUser(const Caller& c, httplib::Response& res) {
    if (!c.user.empty()) return true;
    res.set_header("WWW-Authenticate", "Basic realm=\"Artifactory Realm\"");
    RestError(res, 401, c.bad_credentials ? "Bad credentials" : "Authentication is required");
    return false;
  }

  std::string Host(const httplib::Request& req) const {
    const std::string host = req.get_header_value("Host");
    return host.empty() ? self_.substr(7) : host;
  }

  // ---- the token endpoint ----

  void Token(const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET") return RestError(res, 405, "Method Not Allowed");
    const Caller c = CallerOf(req);
    if (!RequireUser(c, res)) return;
    Grant grant;
    grant.subject = c.user;
    grant.issued = Clock::now();
    grant.expires = grant.issued + std::chrono::seconds(flags_.token_lifetime);
    SendJson(res, 200, {{"token", tokens_.Issue(grant)}, {"expires_in", flags_.token_lifetime}});
  }

  // ---- the registry ----

  void Challenge(const httplib::Request& req, httplib::Response& res, const Route& route, const std::string& scope) {
    const std::string host = Host(req);
    std::string c = "Bearer realm=\"http://" + host +
                    (route.api ? "/artifactory/api/docker/" + route.key + "/v2/token" : std::string("/v2/token")) +
                    "\",service=\"" + host + "\"";
    if (!scope.empty()) c += ",scope=\"" + scope + "\"";
    res.set_header("WWW-Authenticate", c);
    RegistryError(res, 401, "UNAUTHORIZED", "authentication required");
  }

  static void NameUnknown(httplib::Response& res, const std::string& name) {
    RegistryError(res, 404, "NAME_UNKNOWN", "Repository name not known to registry.", {{"name", name}});
  }

  // /v2/… as the repository path method serves it (ROUTE.api: reached through the Docker
  // API, whose path was rewritten to /v2/KEY/…).
  void Registry(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader,
                Route route) {
    const Caller c = CallerOf(req);
    const RegistryPath rp = ParseRegistryPath(req.path);
    const std::string key = rp.name.substr(0, rp.name.find('/'));
    const std::string image = rp.name.find('/') == std::string::npos ? "" : rp.name.substr(rp.name.find('/') + 1);
    if (!route.api) route.key = key;
    const std::string action = ActionFor(req.method);
    std::string scope;
    if (!rp.name.empty()) {
      scope = "repository:" + (route.api ? image : rp.name) + ":" + (action == "pull" ? "pull" : "pull,push");
    }
    if (c.user.empty()) return Challenge(req, res, route, scope);
    if (rp.kind == RegistryPath::Kind::kBase) {
      res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
      SendJson(res, 200, Json::object());
      return;
    }
    if (rp.kind == RegistryPath::Kind::kCatalog || rp.kind == RegistryPath::Kind::kOther) {
      return NameUnknown(res, req.path.substr(std::min<size_t>(4, req.path.size())));
    }
    std::optional<Repo> repo = FindRepo(key);
    if (!repo || !repo->docker() || image.empty()) return NameUnknown(res, rp.name);
    if (action != "pull" && repo->rclass != "local") {
      RegistryError(res, 405, "UNSUPPORTED", "The operation is unsupported.");
      return;
    }
    if (rp.kind == RegistryPath::Kind::kUpload && !Upload(req, res, rp)) return;
    upstream_.Forward(req, reader, self_, res);
    if (rp.kind == RegistryPath::Kind::kUpload) Uploaded(req, res, rp);
  }

  // The upload checks before forwarding (see the header): false after answering.
  bool Upload(const httplib::Request& req, httplib::Response& res, const RegistryPath& rp) {
    const bool sized = req.has_header("Content-Length");
    const std::uint64_t length = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
    if (req.method == "PUT" && flags_.refuse_monolithic &&
        ((sized && length > 0) || req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos)) {
      RegistryError(res, 404, "BLOB_UNKNOWN", "blob unknown to registry", Query(RawQuery(req)).Get("digest").value_or(""));
      return false;
    }
    if (req.method != "PATCH" || !req.has_header("Content-Range")) return true;
    std::uint64_t offset = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = offsets_.find(rp.reference); it != offsets_.end()) offset = it->second;
    }
    const std::string range = req.get_header_value("Content-Range");
    const size_t dash = range.find('-');
    char* end1 = nullptr;
    char* end2 = nullptr;
    const std::string first = range.substr(0, dash), last = dash == std::string::npos ? "" : range.substr(dash + 1);
    const std::uint64_t start = std::strtoull(first.c_str(), &end1, 10);
    const std::uint64_t stop = std::strtoull(last.c_str(), &end2, 10);
    bool ok = dash != std::string::npos && !first.empty() && !last.empty() && *end1 == '\0' && *end2 == '\0' &&
              start == offset;
    if (ok && sized) {
      ok = (length > 0 && stop == start + length - 1) || (flags_.patch_quirk && stop == start + length);
    }
    if (ok) return true;
    res.set_header("Location", self_ + RawPath(req));
    res.set_header("Range", "0-" + std::to_string(offset > 0 ? offset - 1 : 0));
    res.set_header("Docker-Upload-UUID", rp.reference);
    RegistryError(res, 416, "RANGE_INVALID", "invalid content range");
    return false;
  }

  // Keeps the offset of the upload session after the registry's answer.
  void Uploaded(const httplib::Request& req, const httplib::Response& res, const RegistryPath& rp) {
    std::lock_guard<std::mutex> lock(mu_);
    if (req.method == "PATCH" && res.status == 202) {
      std::uint64_t& offset = offsets_[rp.reference];
      if (req.has_header("Content-Length")) {
        offset += std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
      } else {
        const std::string range = res.get_header_value("Range");  // "0-N": N+1 bytes
        if (range.find('-') != std::string::npos) {
          offset = std::strtoull(range.substr(range.find('-') + 1).c_str(), nullptr, 10) + 1;
        }
      }
    } else if (req.method == "PUT" || req.method == "DELETE") {
      offsets_.erase(rp.reference);
    }
  }

  // ---- /artifactory/api/docker/KEY/v2/… ----

  void DockerApi(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader,
                 const std::string& rest) {
    const size_t slash = rest.find('/');
    const std::string key = rest.substr(0, slash);
    const std::string after = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (key.empty() || (after != "v2" && !StartsWith(after, "v2/"))) {
      stats_.Count(req, "api");
      return RestError(res, 404, "Not Found");
    }
    const std::string sub = after.size() > 3 ? after.substr(3) : "";  // after "v2/"
    if (sub == "token") {
      stats_.Count(req, "token");
      return Token(req, res);
    }
    stats_.Count(req, "v2");
    const Route route{true, key};
    if (sub == "_catalog") return Catalog(req, res, route);
    // The rest is /v2/KEY/… of the repository path method; the request object is ours
    // (httplib passes its own non-const local as const), so it is rewritten in place.
    auto& mutable_req = const_cast<httplib::Request&>(req);
    const std::string raw = RawPath(req);
    const std::string prefix = "/artifactory/api/docker/" + key + "/v2/";
    const std::string raw_sub = StartsWith(raw, prefix) ? raw.substr(prefix.size()) : sub;
    const std::string query = RawQuery(req);
    mutable_req.path = sub.empty() ? "/v2/" : "/v2/" + key + "/" + sub;
    mutable_req.target = (sub.empty() ? "/v2/" : "/v2/" + key + "/" + raw_sub) + (query.empty() ? "" : "?" + query);
    Registry(req, res, reader, route);
    // The Docker API speaks of IMAGE, not KEY/IMAGE.
    if (res.has_header("Link")) {
      std::string link = res.get_header_value("Link");
      const std::string from = "/v2/" + key + "/";
      if (size_t at = link.find(from); at != std::string::npos) link.replace(at, from.size(), prefix);
      res.set_header("Link", link);
    }
    if (res.status == 200 && ParseRegistryPath(req.path).kind == RegistryPath::Kind::kTags) {
      Json j = Json::parse(res.body, nullptr, false);
      if (j.is_object() && j.contains("name") && j["name"].is_string()) {
        const std::string name = j["name"].get<std::string>();
        if (StartsWith(name, key + "/")) j["name"] = name.substr(key.size() + 1);
        res.body = j.dump();
      }
    }
  }

  // GET …/api/docker/KEY/v2/_catalog?n=&last=: the images of KEY, without the key.
  void Catalog(const httplib::Request& req, httplib::Response& res, const Route& route) {
    const Caller c = CallerOf(req);
    if (c.user.empty()) return Challenge(req, res, route, "registry:catalog:*");
    std::optional<Repo> repo = FindRepo(route.key);
    if (!repo || !repo->docker()) return NameUnknown(res, route.key);
    std::vector<std::string> names;
    for (const std::string& name : upstream_.Catalog()) {
      if (StartsWith(name, route.key + "/")) names.push_back(name.substr(route.key.size() + 1));
    }
    std::sort(names.begin(), names.end());
    const Query query(RawQuery(req));
    const std::string last = query.Get("last").value_or("");
    long n = 0;
    if (auto v = query.Get("n"); v && !v->empty()) {
      char* end = nullptr;
      n = std::strtol(v->c_str(), &end, 10);
      if (*end != '\0' || n < 0) n = 0;
    }
    std::vector<std::string> page;
    bool more = false;
    for (const std::string& name : names) {
      if (!last.empty() && name <= last) continue;
      if (n > 0 && static_cast<long>(page.size()) == n) {
        more = true;
        break;
      }
      page.push_back(name);
    }
    if (more) {
      res.set_header("Link", "</artifactory/api/docker/" + route.key + "/v2/_catalog?n=" + std::to_string(n) +
                                 "&last=" + QueryEscape(page.back()) + ">; rel=\"next\"");
    }
    res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
    SendJson(res, 200, {{"repositories", page}});
  }

  // ---- /artifactory/api/… ----

  void Rest(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader,
            const std::string& rest) {
    const Caller c = CallerOf(req);
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (rest == "system/ping") {
      if (c.bad_credentials) return (void)RequireUser(c, res);
      if (!get) return RestError(res, 405, "Method Not Allowed");
      res.set_content("OK", "text/plain");
      return;
    }
    if (!RequireUser(c, res)) return;
    if (rest == "system/version") {
      if (!get) return RestError(res, 405, "Method Not Allowed");
      SendJson(res, 200, {{"version", "7.x-fake"}, {"revision", "7000000"}, {"addons", Json::array()},
                          {"license", "fake"}});
      return;
    }
    if (rest == "repositories" || rest == "repositories/") {
      if (!get) return RestError(res, 405, "Method Not Allowed");
      return ListRepositories(req, res);
    }
    if (StartsWith(rest, "repositories/") && rest.find('/', 13) == std::string::npos) {
      const std::string key = rest.substr(13);
      if (get) return GetRepository(c, key, res);
      if (req.method == "PUT") return CreateRepository(c, key, ReadBody(reader), res);
      return RestError(res, 405, "Method Not Allowed");
    }
    RestError(res, 404, "Not Found");
  }

  static std::string DisplayType(const std::string& type) {
    if (type == "docker") return "Docker";
    if (type == "oci") return "OCI";
    std::string out = type;
    if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
    return out;
  }

  std::string RepoUrl(const httplib::Request& req, const Repo& r) const {
    if (r.rclass == "remote") return "https://registry-1.docker.io/";
    return "http://" + Host(req) + "/artifactory/" + r.key;
  }

  void ListRepositories(const httplib::Request& req, httplib::Response& res) {
    const Query query(RawQuery(req));
    const std::string type = Lower(query.Get("type").value_or(""));
    const std::string package_type = Lower(query.Get("packageType").value_or(""));
    std::vector<Repo> repos;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [lower, r] : repos_) repos.push_back(r);
    }
    std::stable_sort(repos.begin(), repos.end(), [](const Repo& a, const Repo& b) {
      return a.rclass != b.rclass ? a.rclass == "local" : a.key < b.key;
    });
    Json out = Json::array();
    for (const Repo& r : repos) {
      if (!type.empty() && type != r.rclass) continue;
      if (!package_type.empty() && package_type != r.package_type) continue;
      out.push_back({{"key", r.key},
                     {"description", r.description},
                     {"type", r.rclass == "local" ? "LOCAL" : "REMOTE"},
                     {"url", RepoUrl(req, r)},
                     {"packageType", DisplayType(r.package_type)}});
    }
    res.status = 200;
    res.set_content(out.dump(2), "application/json");
  }

  void GetRepository(const Caller& c, const std::string& key, httplib::Response& res) {
    std::optional<Repo> r = FindRepo(key);
    if (!r) return RestError(res, 400, "Bad Request");
    Json j = {{"key", r->key}, {"rclass", r->rclass}, {"packageType", r->package_type}, {"description", r->description}};
    if (c.admin) {
      j["notes"] = "";
      j["includesPattern"] = "**/*";
      j["excludesPattern"] = "";
      j["repoLayoutRef"] = "simple-default";
      if (r->docker()) {
        j["dockerApiVersion"] = "V2";
        j["blockPushingSchema1"] = true;
        j["maxUniqueTags"] = 0;
      }
      if (r->rclass == "remote") j["url"] = "https://registry-1.docker.io/";
    }
    SendJson(res, 200, j);
  }

  void CreateRepository(const Caller& c, const std::string& key, const std::string& body, httplib::Response& res) {
    if (!c.admin) return RestError(res, 403, "Forbidden");
    static const std::regex kKey("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    if (!std::regex_match(key, kKey)) return RestError(res, 400, "Invalid repository key: " + key);
    Json j = Json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return RestError(res, 400, "Unable to parse the repository configuration");
    if (j.contains("key") && (!j["key"].is_string() || j["key"].get<std::string>() != key)) {
      return RestError(res, 400, "Repository key in the URL and in the configuration differ");
    }
    const std::string rclass = j.contains("rclass") && j["rclass"].is_string() ? Lower(j["rclass"].get<std::string>()) : "";
    if (rclass != "local" && rclass != "remote") {
      return RestError(res, 400, "Unsupported repository class '" + rclass + "' (the fake has local and remote)");
    }
    Repo r;
    r.key = key;
    r.rclass = rclass;
    r.package_type =
        j.contains("packageType") && j["packageType"].is_string() ? Lower(j["packageType"].get<std::string>()) : "generic";
    r.description = j.value("description", "");
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (repos_.count(Lower(key))) {
        RestError(res, 400, "Case insensitive repository key already exists");
        return;
      }
      AddRepo(r);
    }
    res.status = 200;
    res.set_content("Successfully created repository '" + key + "'", "text/plain");
  }

  const Flags flags_;
  const Upstream upstream_;
  Accounts accounts_;
  TokenStore tokens_;
  RequestStats stats_;
  std::string self_;  // "http://127.0.0.1:P", set before serving

  std::mutex mu_;
  std::map<std::string, Repo> repos_;             // lower-cased key -> repository; guarded by mu_
  std::map<std::string, std::uint64_t> offsets_;  // upload session -> bytes received; guarded by mu_
};

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  JFrog jfrog(flags);
  return ServeFake(kProgram, flags.port, jfrog);
}
