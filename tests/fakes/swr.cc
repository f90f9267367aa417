// swr: a loopback fake of Huawei Cloud SWR (SoftWare Repository for Container) — the
// console ("dockyard") API Harbor's adapter uses, the registry token endpoint and the
// registry on one port — in front of a real, plain docker-registry that holds the data,
// for end-to-end tests of crossdock's huawei-SWR provider; started by
// tests/support/huawei_fake.cc (HuaweiFake). Sources: goharbor/harbor
// src/pkg/reg/adapter/huawei/{huawei_adapter,image_registry}.go (the dockyard calls and
// their JSON; Huawei documents that API nowhere), SWR's API reference (error body
// format, organisation name rule), its user guide (login command, login key) and
// ../shared/reference/vendors.md §8. "[?]" marks what no source pins.
//
// Accounts. --user REGION@AK:LOGINKEY is an IAM user's long-term login, the login key
// being hex(HMAC-SHA256(SK, AK)) (the harness computes it with the openssl CLI, so this
// fake never sees an SK). Every account may do everything in every organisation of the
// tenant (an IAM user with SWR Admin) [a fake's simplification].
//
// Registry token endpoint (Harbor's getJwtToken):
//   GET /swr/auth/v2/registry/auth?service=dockyard&scope=repository:ORG/NAME:push,pull
//     with Basic REGION@AK:LOGINKEY → 200 {"token","expires_in","issued_at"}; the token
//     grants what the scopes ask (valid names only) for --token-lifetime s. Wrong or
//     missing credentials: 401 with SWR's error body.
// Registry (/v2/): `WWW-Authenticate: Bearer realm="http://127.0.0.1:P/swr/auth/v2/
// registry/auth",service="dockyard"` on /v2/ and on every refusal [?: the service name];
// Basic credentials of an account are taken directly too (what the harness's curl
// helpers send). A write (PUT, POST, PATCH, DELETE) into an organisation that does not
// exist is 403 {"errors":[{"code":"DENIED","message":"organization ORG does not exist"}]}
// [?: SWR's wording]: SWR never creates organisations on push. Everything else is
// forwarded to --upstream (blob bodies streamed both ways, upload Locations rewritten).
//
// Dockyard API (Basic REGION@AK:LOGINKEY on every call; 401 otherwise):
//   GET  /dockyard/v2/visible/namespaces → {"namespaces":[{"id","name","creator_name",
//        "auth":7,"user_count","image_count"}]}
//   GET  /dockyard/v2/namespaces/ORG → 200 that object; 404 for a missing one
//   POST /dockyard/v2/namespaces {"namespace":"ORG"} → 201 {}; 409 when it exists; 400
//        for a name outside SWR's rule (1–64 chars, a lowercase letter first, lowercase
//        letters, digits and single '.', '_', '-' or "__" between, a letter or digit last)
//   GET  /dockyard/v2/repositories?filter=center::self → [{"name","namespace","tags":[…],
//        "category","description","size","is_public","num_images","num_download",
//        "created_at","updated_at","path","internal_path","domain_name","status",
//        "total_range"}], every repository at once (no paging, as Harbor reads it).
// Errors carry SWR's documented body, both formats at once (API reference, "Error
// Codes"): {"errors":[{"errorCode","errorMessage","detail"}],"error_code","error_msg"};
// the codes are this fake's [?].
// Organisations: those of --organization, those created through the API, and the first
// component of every repository the registry holds (seeded behind the fake's back).
//
// Test hooks (not counted): GET /fake/stats, POST /fake/reset-stats. Every answer is
// logged on stdout: METHOD TARGET STATUS.
//
// Flags: --port P, --upstream URL, --storage DIR, --user REGION@AK:LOGINKEY (repeatable),
// --organization ORG (repeatable), --token-lifetime S (default 300). Prints "listening
// on 127.0.0.1:P" then "ready" once it accepts connections.
#include <set>
#include <string>
#include <vector>

#include "tests/fakes/registry_front.h"

namespace {

using namespace crossdock::fakes;

constexpr const char* kProgram = "swr";
constexpr const char* kRealmPath = "/swr/auth/v2/registry/auth";

struct Flags : FrontFlags {
  std::vector<std::string> organizations;
  long token_lifetime = 300;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  ParseFrontFlags(kProgram, argc, argv, &flags, [&](const std::string& arg, const auto& value) {
    if (arg == "--organization") {
      flags.organizations.push_back(value());
    } else if (arg == "--token-lifetime") {
      flags.token_lifetime = FlagInt(kProgram, arg, value());
    } else {
      return false;
    }
    return true;
  });
  return flags;
}

// The organisation name rule of SWR's API reference ("Creating an Organization").
bool ValidOrganization(const std::string& name) {
  static const std::regex kName("^[a-z](?:[a-z0-9]|[._-](?=[a-z0-9])|__(?=[a-z0-9]))*$");
  return name.size() <= 64 && std::regex_match(name, kName) &&
         name.back() != '.' && name.back() != '_' && name.back() != '-';
}

// SWR's documented error body, old and new formats together.
void SwrError(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  SendJson(res, status,
           {{"errors", Json::array({{{"errorCode", code}, {"errorMessage", message}, {"detail", ""}}})},
            {"error_code", code},
            {"error_msg", message}});
}

class Swr {
 public:
  explicit Swr(Flags flags) : flags_(std::move(flags)), upstream_(flags_.upstream), storage_(flags_.storage) {
    for (const std::string& u : flags_.users) {
      accounts_.Add(kProgram, u);
      const std::string name = u.substr(0, u.find(':'));
      if (name.find('@') == std::string::npos) Die(kProgram, "--user wants REGION@AK:LOGINKEY, got " + name);
    }
    for (const std::string& org : flags_.organizations) {
      if (!ValidOrganization(org)) Die(kProgram, "--organization " + org + " breaks SWR's name rule");
      organizations_[org] = Organization{next_id_++, "fake"};
    }
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
      if (path == kRealmPath || path == std::string(kRealmPath) + "/") {
        stats_.Count(req, "token");
        Token(req, res);
      } else if (StartsWith(path, "/v2/") || path == "/v2") {
        stats_.Count(req, "v2");
        Registry(req, res, reader);
      } else if (StartsWith(path, "/dockyard/v2/")) {
        stats_.Count(req, "api");
        Dockyard(req, res, reader);
      } else {
        stats_.Count(req, "");
        res.status = 404;
        res.set_content("404 page not found\n", "text/plain");
      }
    } catch (const UpstreamError& e) {
      res.status = 502;
      res.set_content(std::string("swr fake: upstream: ") + e.what() + "\n", "text/plain");
    }
  }

 private:
  struct Organization {
    long id = 0;
    std::string creator;
  };

  // Adds the organisations of the repositories the registry holds.
  void Sync() {
    const std::vector<std::string> names = upstream_.Catalog();
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& full : names) {
      const std::string org = full.substr(0, full.find('/'));
      if (!organizations_.count(org)) organizations_[org] = Organization{next_id_++, "fake"};
    }
  }

  bool OrganizationExists(const std::string& org) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (organizations_.count(org)) return true;
    }
    Sync();
    std::lock_guard<std::mutex> lock(mu_);
    return organizations_.count(org) > 0;
  }

  // The account of the request's Basic credentials; nullopt (after answering 401) when
  // they are missing or wrong.
  std::optional<std::string> RequireAccount(const httplib::Request& req, httplib::Response& res) {
    std::optional<Credentials> basic = ParseBasic(req);
    if (basic && accounts_.Check(*basic)) return basic->user;
    SwrError(res, 401, "SVCSTG.SWR.4010001", "Authenticate Error");  // [?] the code
    return std::nullopt;
  }

  // ---- the token endpoint ----

  void Token(const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET") {
      res.status = 405;
      return;
    }
    std::optional<std::string> user = RequireAccount(req, res);
    if (!user) return;
    const Query query(RawQuery(req));
    Grant grant;
    grant.subject = *user;
    grant.issued = Clock::now();
    grant.expires = grant.issued + std::chrono::seconds(flags_.token_lifetime);
    for (const Scope& s : RequestedScopes(query)) {
      if (s.type == "repository" && ValidRepositoryName(s.name)) grant.access.push_back(s);
    }
    Json answer = TokenAnswer(tokens_.Issue(grant), "", grant);
    answer.erase("access_token");  // Harbor's jwtToken: token, expires_in, issued_at
    SendJson(res, 200, answer);
  }

  // ---- the registry ----

  std::string Challenge(const std::string& scope) const {
    std::string c = "Bearer realm=\"" + self_ + kRealmPath + "\",service=\"dockyard\"";
    if (!scope.empty()) c += ",scope=\"" + scope + "\"";
    return c;
  }

  void Unauthorized(httplib::Response& res, const std::string& scope, const std::string& message) const {
    res.set_header("WWW-Authenticate", Challenge(scope));
    res.set_header("Docker-Distribution-API-Version", "registry/2.0");
    SendJson(res, 401,
             {{"errors", Json::array({{{"code", "UNAUTHORIZED"}, {"message", message}, {"detail", nullptr}}})}});
  }

  void Registry(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const RegistryPath rp = ParseRegistryPath(req.path);
    using Kind = RegistryPath::Kind;
    const std::string action = ActionFor(req.method);
    const bool repository = rp.kind != Kind::kBase && rp.kind != Kind::kCatalog && rp.kind != Kind::kOther;
    const std::string scope = repository ? "repository:" + rp.name + ":" + action : "";
    bool allowed = false, authenticated = false;
    if (auto bearer = ParseBearer(req)) {
      auto [state, grant] = tokens_.Look(*bearer);
      if (state != TokenStore::State::kValid) return Unauthorized(res, scope, "authentication required");
      authenticated = true;
      for (const Scope& s : grant.access) allowed |= s.name == rp.name && s.Allows(action);
    } else if (auto basic = ParseBasic(req)) {
      if (!accounts_.Check(*basic)) return Unauthorized(res, scope, "authentication required");
      authenticated = allowed = true;  // the fake's allowance, see the header
    }
    if (rp.kind == Kind::kBase) {
      if (!authenticated) return Unauthorized(res, "", "authentication required");
      res.set_header("Docker-Distribution-API-Version", "registry/2.0");
      SendJson(res, 200, Json::object());
      return;
    }
    if (rp.kind == Kind::kCatalog || rp.kind == Kind::kOther) {
      SendJson(res, 404, {{"errors", Json::array({{{"code", "UNSUPPORTED"}, {"message", "not supported"}}})}});
      return;
    }
    if (!allowed) return Unauthorized(res, scope, "authentication required");
    const std::string org = rp.name.substr(0, rp.name.find('/'));
    if (action != "pull" && (rp.name.find('/') == std::string::npos || !OrganizationExists(org))) {
      SendJson(res, 403,
               {{"errors", Json::array({{{"code", "DENIED"},
                                         {"message", "organization " + org + " does not exist"},
                                         {"detail", nullptr}}})}});
      return;
    }
    upstream_.Forward(req, reader, self_, res);
  }

  // ---- the dockyard API ----

  Json OrganizationJson(const std::string& name, const Organization& o) const {
    return {{"id", o.id},          {"name", name},      {"creator_name", o.creator},
            {"auth", 7},           {"user_count", 1},   {"image_count", 0}};
  }

  void Dockyard(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    std::optional<std::string> user = RequireAccount(req, res);
    if (!user) return;
    const std::string& path = req.path;
    const std::string ns_prefix = "/dockyard/v2/namespaces/";
    if (path == "/dockyard/v2/visible/namespaces" && req.method == "GET") {
      Sync();
      Json list = Json::array();
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [name, o] : organizations_) list.push_back(OrganizationJson(name, o));
      return SendJson(res, 200, {{"namespaces", list}});
    }
    if (StartsWith(path, ns_prefix) && req.method == "GET") {
      const std::string org = path.substr(ns_prefix.size());
      if (!OrganizationExists(org)) return SwrError(res, 404, "SVCSTG.SWR.4040002", "Namespace not found");
      std::lock_guard<std::mutex> lock(mu_);
      return SendJson(res, 200, OrganizationJson(org, organizations_.at(org)));
    }
    if (path == "/dockyard/v2/namespaces" && req.method == "POST") {
      Json j = Json::parse(ReadBody(reader), nullptr, false);
      if (!j.is_object() || !j.contains("namespace") || !j["namespace"].is_string())
        return SwrError(res, 400, "SVCSTG.SWR.4001001", "Invalid request body");
      const std::string org = j["namespace"].get<std::string>();
      if (!ValidOrganization(org)) return SwrError(res, 400, "SVCSTG.SWR.4001002", "Invalid namespace name");
      if (OrganizationExists(org)) return SwrError(res, 409, "SVCSTG.SWR.4090001", "Namespace already exists");
      std::lock_guard<std::mutex> lock(mu_);
      organizations_[org] = Organization{next_id_++, user->substr(user->find('@') + 1)};
      return SendJson(res, 201, Json::object());
    }
    if (path == "/dockyard/v2/repositories" && req.method == "GET") return Repositories(req, res);
    SwrError(res, 404, "SVCSTG.SWR.4040001", "Not found");
  }

  void Repositories(const httplib::Request& req, httplib::Response& res) {
    const Query q(RawQuery(req));
    if (q.Get("filter").value_or("") != "center::self")
      return SwrError(res, 400, "SVCSTG.SWR.4001003", "Invalid filter");  // [?] other filters
    Json list = Json::array();
    for (const std::string& full : upstream_.Catalog()) {
      const size_t slash = full.find('/');
      if (slash == std::string::npos) continue;  // not an SWR name
      std::vector<std::string> tags = storage_.Tags(full).value_or(std::vector<std::string>{});
      const std::string updated = Timestamp(Clock::now(), 0);
      list.push_back({{"name", full.substr(slash + 1)},
                      {"namespace", full.substr(0, slash)},
                      {"category", "other"},
                      {"description", ""},
                      {"size", 0},
                      {"is_public", false},
                      {"num_images", tags.size()},
                      {"num_download", 0},
                      {"created_at", updated},
                      {"updated_at", updated},
                      {"logo", ""},
                      {"url", ""},
                      {"path", host_ + "/" + full},
                      {"internal_path", host_ + "/" + full},
                      {"domain_name", "fake"},
                      {"tags", tags},
                      {"status", false},
                      {"total_range", tags.size()}});
    }
    SendJson(res, 200, list);
  }

  const Flags flags_;
  const Upstream upstream_;
  const Storage storage_;
  Accounts accounts_;
  TokenStore tokens_;
  RequestStats stats_;
  std::string self_, host_;  // set before serving

  std::mutex mu_;
  std::map<std::string, Organization> organizations_;  // guarded by mu_
  long next_id_ = 1;                                   // guarded by mu_
};

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  Swr swr(flags);
  return ServeFake(kProgram, flags.port, swr);
}
