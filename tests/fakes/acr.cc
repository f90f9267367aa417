// acr: a loopback fake of Azure Container Registry — the registry and its token server
// (/oauth2/token, /oauth2/exchange) on one port — in front of a real, plain docker-registry
// that holds the data, for end-to-end tests of crossdock's azure-acr provider; started by
// tests/support/azure_fake.cc (AcrFake). Facts are collected in
// ../shared/reference/vendors.md §5; "[?]" marks a behaviour no source pins. Sources:
//   [aad]     Azure/acr docs/AAD-OAuth.md: the challenge `Bearer realm="https://R/oauth2/token",
//             service="R",scope="registry:catalog:*"`; POST /oauth2/exchange
//             grant_type=access_token&service=R&tenant=T&access_token=AAD → {"refresh_token"};
//             POST /oauth2/token grant_type=refresh_token&service=R&scope=S&refresh_token=RT
//             (scope repeatable) → {"access_token"}; GET /oauth2/token?service=R&scope=S with
//             Basic (admin user, service principal) → {"access_token"}; Basic straight on
//             /v2/ too ("Catalog listing using SP/Admin with Basic Auth"); _catalog and
//             tags/list page with n and `Link: </v2/_catalog?last=X&n=N&orderby=>; rel="next"`;
//             the refresh token's claims {"iss":"Azure Container Registry","aud":R,"exp",
//             "grant_type":"refresh_token","tenant",…}, an access token's exp − iat 4500 s;
//   [harbor]  goharbor/harbor src/pkg/reg/adapter/azurecr/: the tags/list token asked with
//             scope repository:NAME:metadata_read; a manifest DELETE answered 202.
//
// Accounts. --user NAME:PASSWORD is an admin user, a service principal (appId:secret) or a
// repository-scoped token (name:password) alike: Basic at /oauth2/token and on /v2/; every
// action on every repository [a fake's choice: scope maps and roles are not emulated].
// --aad-token TOKEN:TENANT is an Azure AD access token (a string the test made, shaped as
// a JWT of sts.windows.net) that /oauth2/exchange takes for tenant TENANT.
//
// Token server:
//   GET /oauth2/token?service=S&scope=…   Basic NAME:PASSWORD → {"access_token":T}; wrong or
//     missing credentials 401 {"errors":[{"code":"UNAUTHORIZED","message":"authentication
//     required, visit https://aka.ms/acr/authorization for more information."}]} [?: the
//     wording]. Tokens grant every action asked (metadata_read counts as pull) and live
//     --token-lifetime s (ACR's 4500).
//   POST /oauth2/exchange  form as [aad] → {"refresh_token":RT}, RT a JWT-shaped string
//     (unsigned) with the claims above, exp --refresh-token-lifetime s ahead; an AAD token
//     that is not one of --aad-token, or of another tenant than the form's, 401
//     UNAUTHORIZED; another grant_type 400 UNSUPPORTED [?]; a service other than this host
//     400 [?].
//   POST /oauth2/token  grant_type=refresh_token with an RT this fake issued (and not
//     expired) → {"access_token"}; scope may repeat, or hold several scopes separated by
//     spaces; otherwise 401 UNAUTHORIZED.
// Registry: /v2/ without credentials 401 with the challenge (scope="registry:catalog:*" on
//   _catalog, "repository:NAME:pull" and the like elsewhere); a token not granting the
//   action 401 with error="insufficient_scope". _catalog and tags/list are ACR's own
//   (the catalog from the upstream's, tags from --storage): n (default 100 [?], at most
//   --page-size), last, and the Link above. A manifest DELETE answers 202 (as the
//   upstream does). Everything else goes to --upstream.
//
// Not emulated: scope maps and repository-scoped permissions, anonymous pull, geo-
// replication, the /acr/v1/ metadata API, Helm repositories, content trust, throttling.
//
// Test hooks (not counted): GET /fake/stats, POST /fake/reset-stats, as every vendor fake.
// Flags: --port P, --upstream URL, --storage DIR, --user NAME:PASSWORD (repeatable),
// --aad-token TOKEN:TENANT (repeatable), --token-lifetime S (default 4500),
// --refresh-token-lifetime S (default 10800), --page-size N (default 100).
#include <openssl/evp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/fakes/registry_front.h"

namespace {

using namespace crossdock::fakes;

constexpr const char* kProgram = "acr";

struct Flags : FrontFlags {
  std::vector<std::string> aad_tokens;
  long token_lifetime = 4500;
  long refresh_token_lifetime = 10800;
  long page_size = 100;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  ParseFrontFlags(kProgram, argc, argv, &flags, [&](const std::string& arg, const auto& value) {
    if (arg == "--aad-token") {
      flags.aad_tokens.push_back(value());
    } else if (arg == "--token-lifetime") {
      flags.token_lifetime = FlagInt(kProgram, arg, value());
    } else if (arg == "--refresh-token-lifetime") {
      flags.refresh_token_lifetime = FlagInt(kProgram, arg, value());
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

void AcrError(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
  SendJson(res, status, {{"errors", Json::array({{{"code", code}, {"message", message}}})}});
}

void Unauthorized(httplib::Response& res) {
  AcrError(res, 401, "UNAUTHORIZED",
           "authentication required, visit https://aka.ms/acr/authorization for more information.");
}

std::string Base64Url(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  out.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                                 reinterpret_cast<const unsigned char*>(in.data()),
                                                 static_cast<int>(in.size()))));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::int64_t UnixSeconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

class Acr {
 public:
  explicit Acr(Flags flags) : flags_(std::move(flags)), upstream_(flags_.upstream), storage_(flags_.storage) {
    for (const std::string& u : flags_.users) accounts_.Add(kProgram, u);
    for (const std::string& spec : flags_.aad_tokens) {
      const size_t colon = spec.rfind(':');
      if (colon == std::string::npos || colon == 0) Die(kProgram, "--aad-token wants TOKEN:TENANT, got " + spec);
      aad_[spec.substr(0, colon)] = spec.substr(colon + 1);
    }
  }

  void set_self(std::string self) {
    self_ = std::move(self);
    host_ = self_.substr(self_.find("://") + 3);
  }

  void Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    if (StartsWith(req.path, "/fake/")) {
      if (!AnswerStatsHooks(req, res, stats_)) res.status = 404;
      return;
    }
    try {
      if (req.path == "/oauth2/token" || req.path == "/oauth2/exchange") {
        stats_.Count(req, "token");
        if (req.path == "/oauth2/exchange" && req.method == "POST") return Exchange(res, reader);
        if (req.method == "POST") return RefreshGrant(res, reader);
        return BasicGrant(req, res);
      }
      stats_.Count(req, "v2");
      Registry(req, res, reader);
    } catch (const UpstreamError& e) {
      res.status = 502;
      res.set_content(std::string("acr fake: upstream: ") + e.what() + "\n", "text/plain");
    }
  }

 private:
  // An access token for SCOPES (strings holding scopes separated by spaces).
  void IssueAccessToken(httplib::Response& res, const std::string& subject, const std::vector<std::string>& scopes) {
    Grant grant;
    grant.subject = subject;
    grant.issued = Clock::now();
    grant.expires = grant.issued + std::chrono::seconds(flags_.token_lifetime);
    for (const std::string& value : scopes) {
      for (const std::string& s : Split(value, ' ')) {
        if (auto scope = ParseScope(s)) grant.access.push_back(*scope);
      }
    }
    SendJson(res, 200, {{"access_token", access_tokens_.Issue(grant)}});
  }

  void BasicGrant(const httplib::Request& req, httplib::Response& res) {
    std::optional<Credentials> basic = ParseBasic(req);
    if (!basic || !accounts_.Check(*basic)) return Unauthorized(res);
    IssueAccessToken(res, basic->user, Query(RawQuery(req)).GetAll("scope"));
  }

  void Exchange(httplib::Response& res, const httplib::ContentReader* reader) {
    const Query form(ReadBody(reader));
    if (form.Get("grant_type").value_or("") != "access_token") {
      return AcrError(res, 400, "UNSUPPORTED", "grant type is not supported");
    }
    if (form.Get("service").value_or("") != host_) return AcrError(res, 400, "UNSUPPORTED", "service is not valid");
    auto it = aad_.find(form.Get("access_token").value_or(""));
    const std::string tenant = form.Get("tenant").value_or("");
    if (it == aad_.end() || (!tenant.empty() && tenant != it->second)) return Unauthorized(res);
    const auto now = Clock::now();
    const Json claims = {{"jti", RandomId()},
                         {"sub", "aad-user@" + it->second},
                         {"nbf", UnixSeconds(now)},
                         {"iat", UnixSeconds(now)},
                         {"exp", UnixSeconds(now) + flags_.refresh_token_lifetime},
                         {"iss", "Azure Container Registry"},
                         {"aud", host_},
                         {"version", "1.0"},
                         {"grant_type", "refresh_token"},
                         {"tenant", it->second}};
    const std::string token = Base64Url(R"({"alg":"RS256","typ":"JWT"})") + "." + Base64Url(claims.dump()) + "." +
                              Base64Url(RandomId());
    Grant grant;
    grant.subject = "aad-user@" + it->second;
    grant.issued = now;
    grant.expires = now + std::chrono::seconds(flags_.refresh_token_lifetime);
    {
      std::lock_guard<std::mutex> lock(mu_);
      refresh_tokens_[token] = grant;
    }
    SendJson(res, 200, {{"refresh_token", token}});
  }

  void RefreshGrant(httplib::Response& res, const httplib::ContentReader* reader) {
    const Query form(ReadBody(reader));
    if (form.Get("grant_type").value_or("") != "refresh_token") {
      return AcrError(res, 400, "UNSUPPORTED", "grant type is not supported");
    }
    std::string subject;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = refresh_tokens_.find(form.Get("refresh_token").value_or(""));
      if (it == refresh_tokens_.end() || Clock::now() >= it->second.expires) return Unauthorized(res);
      subject = it->second.subject;
    }
    IssueAccessToken(res, subject, form.GetAll("scope"));
  }

  std::string RandomId() const {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) Die(kProgram, "RAND_bytes failed");
    return Base64Url(std::string(reinterpret_cast<char*>(bytes), sizeof bytes));
  }

  void Challenge(const httplib::Request& req, httplib::Response& res, const std::string& scope,
                 const std::string& error) {
    const std::string host = req.get_header_value("Host").empty() ? host_ : req.get_header_value("Host");
    std::string c = "Bearer realm=\"http://" + host + "/oauth2/token\",service=\"" + host_ + "\"";
    if (!scope.empty()) c += ",scope=\"" + scope + "\"";
    if (!error.empty()) c += ",error=\"" + error + "\"";
    res.set_header("WWW-Authenticate", c);
    Unauthorized(res);
  }

  static bool Granted(const Grant& grant, const std::string& type, const std::string& name, const std::string& action) {
    for (const Scope& s : grant.access) {
      if (s.type != type || s.name != name) continue;
      if (s.Allows(action) || (action == "pull" && s.Allows("metadata_read"))) return true;
    }
    return false;
  }

  void Registry(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const RegistryPath rp = ParseRegistryPath(req.path);
    std::optional<Grant> token;
    bool authenticated = false;
    if (auto bearer = ParseBearer(req)) {
      auto [state, grant] = access_tokens_.Look(*bearer);
      if (state != TokenStore::State::kValid) return Challenge(req, res, "", "invalid_token");
      token = grant;
      authenticated = true;
    } else if (std::optional<Credentials> basic = ParseBasic(req)) {
      authenticated = accounts_.Check(*basic);
    }
    if (rp.kind == RegistryPath::Kind::kOther) return AcrError(res, 404, "NAME_INVALID", "invalid repository name");
    std::string type = "repository", name = rp.name, action = ActionFor(req.method);
    if (rp.kind == RegistryPath::Kind::kBase) type = "";
    if (rp.kind == RegistryPath::Kind::kCatalog) type = "registry", name = "catalog", action = "*";
    const std::string scope = type.empty() ? "" : type + ":" + name + ":" + action;
    if (!authenticated) return Challenge(req, res, scope, "");
    if (token && !type.empty() && !Granted(*token, type, name, action)) {
      return Challenge(req, res, scope, "insufficient_scope");
    }
    const Query q(RawQuery(req));
    if (rp.kind == RegistryPath::Kind::kBase) {
      res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
      return SendJson(res, 200, Json::object());
    }
    if (rp.kind == RegistryPath::Kind::kCatalog && req.method == "GET") {
      std::vector<std::string> names = upstream_.Catalog();
      std::sort(names.begin(), names.end());
      return Paged(res, q, "/v2/_catalog", "repositories", names, Json::object());
    }
    if (rp.kind == RegistryPath::Kind::kTags && req.method == "GET") {
      std::optional<std::vector<std::string>> tags = storage_.Tags(rp.name);
      if (!tags) return AcrError(res, 404, "NAME_UNKNOWN", "repository name not known to registry");
      return Paged(res, q, "/v2/" + rp.name + "/tags/list", "tags", *tags, {{"name", rp.name}});
    }
    upstream_.Forward(req, reader, self_, res);
  }

  // One page of ITEMS (sorted) under KEY in BODY: after `last`, n of them (default 100,
  // at most --page-size), with ACR's Link while more remain.
  void Paged(httplib::Response& res, const Query& q, const std::string& path, const std::string& key,
             const std::vector<std::string>& items, Json body) {
    const long n = std::min(flags_.page_size, std::max(1L, std::strtol(q.Get("n").value_or("100").c_str(), nullptr, 10)));
    const std::string last = q.Get("last").value_or("");
    auto it = last.empty() ? items.begin() : std::upper_bound(items.begin(), items.end(), last);
    Json page = Json::array();
    for (long i = 0; i < n && it != items.end(); ++i, ++it) page.push_back(*it);
    if (it != items.end()) {
      res.set_header("Link", "<" + path + "?last=" + QueryEscape(page.back().get<std::string>()) + "&n=" +
                                 std::to_string(n) + "&orderby=>; rel=\"next\"");
    }
    body[key] = page;
    res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
    SendJson(res, 200, body);
  }

  const Flags flags_;
  const Upstream upstream_;
  const Storage storage_;
  Accounts accounts_;
  std::map<std::string, std::string> aad_;  // AAD token -> tenant; fixed at start
  TokenStore access_tokens_;
  RequestStats stats_;
  std::string self_, host_;  // "http://127.0.0.1:P", "127.0.0.1:P"; set before serving
  std::mutex mu_;
  std::map<std::string, Grant> refresh_tokens_;  // guarded by mu_
};

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  Acr acr(flags);
  return ServeFake(kProgram, flags.port, acr);
}
