// aliacr: a loopback fake of Alibaba Cloud Container Registry — the OpenAPI of the
// personal edition (2016-06-07, ROA signature) and of enterprise instances (2018-12-01,
// RPC signature 1.0), the registry's token realm and the registry on one port — in front
// of a real, plain docker-registry that holds the data, for end-to-end tests of
// crossdock's ali-acr provider; started by tests/support/ali_fake.cc (AliFake). Sources:
// goharbor/harbor src/pkg/reg/adapter/aliacr/ (which calls it uses, the challenge's
// service, paging by total), aliyun/alibaba-cloud-sdk-go sdk/auth/ (the ROA string to
// sign), Alibaba Cloud's "Request signatures" (RPC) and API references (GetRepoTags,
// ListRepoTag…: the answers' fields), ../shared/reference/vendors.md §6. "[?]" marks
// what no source pins. Signatures are checked here with this file's own code, not
// crossdock's.
//
// Accounts. --access-key AK:SECRET is a RAM AccessKey pair allowed everything;
// --user NAME:PASS is the registry's own login (the account's fixed registry password),
// which the harness's skopeo and curl helpers use. The OpenAPI hands out temporary
// logins (user cr_temp_user, a random token) valid --temp-token-lifetime s; the realm
// takes them or a --user login.
//
// Registry: /v2/ answers 401 `Bearer realm="http://127.0.0.1:P/auth",service="S"` with S
// = "registry.aliyuncs.com:REGION:26842" for the personal edition, or
// "registry.aliyuncs.com:REGION:china:INSTANCE" with --instance cri-… (Harbor's
// parseRegistryService reads both). GET /auth?service=S&scope=… with Basic → 200
// {"token","expires_in"} granting the scopes asked; wrong credentials 401
// {"errors":[{"code":"UNAUTHORIZED"…}]}. Registry requests take the token, or Basic of a
// login directly (the fake's allowance for the harness). A write into a namespace that
// does not exist is 403 DENIED [?: wording] (crossdock never pushes there: the plan
// refuses). The rest is forwarded to --upstream.
//
// OpenAPI, personal edition (ROA). Every request must carry Date (RFC 2616, within 15
// minutes of the fake's clock [?: the window], else 400 InvalidTimeStamp.Expired),
// Content-MD5 (of the body), x-acs-signature-method HMAC-SHA1, x-acs-signature-version
// 1.0, x-acs-signature-nonce (never twice: 400 SignatureNonceUsed) and
// `Authorization: acs AK:SIGNATURE` = base64(HMAC-SHA1(SECRET, METHOD\nAccept\n
// Content-MD5\nContent-Type\nDate\n + sorted "x-acs-name:value\n" + path[?sorted query]))
// (an empty header left out); an unknown AK is 404 InvalidAccessKeyId.NotFound [?: the
// status], a wrong signature 400 SignatureDoesNotMatch. Errors are {"code","message",
// "requestId"} [?: the casing]. Answers wrap their payload in "data":
//   GET /tokens → {"data":{"authorizationToken","tempUserName","expireDate"(ms)}}
//   GET /namespace → {"data":{"namespaces":[{"namespace","authorizeType","namespaceStatus"}]}}
//   GET /repos/NS?Page=&PageSize= → {"data":{"page","pageSize","total","repos":[{"repoName",
//       "repoNamespace","repoType","repoStatus","summary"}]}}; 404 NAMESPACE_NOT_EXIST
//   GET /repos/NS/NAME/tags?Page=&PageSize= → {"data":{"page","pageSize","total","tags":
//       [{"tag","digest" (bare hex, as the reference's example),"imageId","imageSize",
//       "status","imageCreate","imageUpdate"}]}}; 404 REPO_NOT_EXIST
// OpenAPI, enterprise edition (RPC, GET /?Action=…): the parameters AccessKeyId, Action,
// Format, Version (2018-12-01), SignatureMethod, SignatureVersion, SignatureNonce (never
// twice), Timestamp (ISO 8601 UTC, within 15 minutes) and Signature = base64(HMAC-SHA1(
// SECRET + "&", "GET&%2F&" + percent-encoded sorted canonical query)); errors are
// {"RequestId","HostId","Code","Message","Recommend"} with 400/404 as above. InstanceId
// must be --instance (else 200 {"IsSuccess":false,"Code":"INSTANCE_NOT_EXIST"} [?]).
//   GetAuthorizationToken → {"IsSuccess":true,"Code":"success","TempUsername",
//       "AuthorizationToken","ExpireTime"(ms)}
//   ListNamespace(PageNo,PageSize) → {"Namespaces":[{"NamespaceName","NamespaceId",…}],
//       "TotalCount" (a string),"PageNo","PageSize","IsSuccess","Code"}
//   ListRepository(RepoNamespaceName,RepoStatus,PageNo,PageSize) → {"Repositories":
//       [{"RepoName","RepoNamespaceName","RepoId","RepoStatus",…}],…}
//   ListRepoTag(RepoId,PageNo,PageSize) → {"Images":[{"Tag","Digest","ImageId",…}],…}
// Pages hold min(PageSize asked, --page-size) entries (a page size is always answered).
// Namespaces: those of --namespace, and the first component of every repository the
// registry holds. Repositories are the registry's NS/NAME ones (two components).
//
// Test hooks (not counted): GET /fake/stats, POST /fake/reset-stats. Every answer is
// logged on stdout: METHOD TARGET STATUS.
//
// Flags: --port P, --upstream URL, --storage DIR, --user NAME:PASS (repeatable),
// --access-key AK:SECRET (repeatable), --region R (default cn-hangzhou), --instance ID
// (an enterprise instance "cri-…"; default: the personal edition), --namespace NS
// (repeatable), --temp-token-lifetime S (default 3600), --token-lifetime S (default 300),
// --page-size N (default 100), --clock-offset S (the fake's clock runs S seconds ahead
// of the machine's, to show a skewed client). Prints "listening on 127.0.0.1:P" then
// "ready" once it accepts connections.
#include <openssl/hmac.h>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "tests/fakes/registry_front.h"

namespace {

using namespace crossdock::fakes;

constexpr const char* kProgram = "aliacr";
constexpr std::chrono::minutes kSkew{15};

struct Flags : FrontFlags {
  std::vector<std::string> access_keys, namespaces;
  std::string region = "cn-hangzhou", instance;
  long temp_token_lifetime = 3600, token_lifetime = 300, page_size = 100, clock_offset = 0;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  ParseFrontFlags(kProgram, argc, argv, &flags, [&](const std::string& arg, const auto& value) {
    if (arg == "--access-key") {
      flags.access_keys.push_back(value());
    } else if (arg == "--namespace") {
      flags.namespaces.push_back(value());
    } else if (arg == "--region") {
      flags.region = value();
    } else if (arg == "--instance") {
      flags.instance = value();
    } else if (arg == "--temp-token-lifetime") {
      flags.temp_token_lifetime = FlagInt(kProgram, arg, value());
    } else if (arg == "--token-lifetime") {
      flags.token_lifetime = FlagInt(kProgram, arg, value());
    } else if (arg == "--page-size") {
      flags.page_size = FlagInt(kProgram, arg, value());
    } else if (arg == "--clock-offset") {
      flags.clock_offset = FlagInt(kProgram, arg, value());
    } else {
      return false;
    }
    return true;
  });
  if (flags.page_size < 1) Die(kProgram, "--page-size must be at least 1");
  if (!flags.instance.empty() && !StartsWith(flags.instance, "cri-")) Die(kProgram, "--instance wants cri-…");
  return flags;
}

// ---- this fake's own signature arithmetic ----

std::string B64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

std::string HmacSha1(const std::string& key, const std::string& text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(text.data()),
       text.size(), mac, &len);
  return B64(mac, len);
}

std::string Md5Base64(const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr);
  return B64(md, len);
}

// The documentation's recipe: form-encode (Java's URLEncoder, Go's QueryEscape), then
// '+' → %20, '*' → %2A, %7E → '~' (QueryEscape already leaves '~' and escapes '*').
std::string PercentEncode(const std::string& s) {
  std::string q = QueryEscape(s), out;
  for (char c : q) out += c == '+' ? std::string("%20") : std::string(1, c);
  return out;
}

std::optional<Clock::time_point> ParseTime(const std::string& text, const char* format) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), format, &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return Clock::from_time_t(timegm(&tm));
}

long long Millis(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string RandomToken() {
  Grant g;
  g.expires = Clock::now() + std::chrono::hours(1);
  static TokenStore scratch;
  return scratch.Issue(g);  // 48 hex digits
}

class AliAcr {
 public:
  explicit AliAcr(Flags flags) : flags_(std::move(flags)), upstream_(flags_.upstream), storage_(flags_.storage) {
    for (const std::string& u : flags_.users) accounts_.Add(kProgram, u);
    for (const std::string& k : flags_.access_keys) {
      size_t colon = k.find(':');
      if (colon == std::string::npos || colon == 0) Die(kProgram, "--access-key wants AK:SECRET");
      secrets_[k.substr(0, colon)] = k.substr(colon + 1);
    }
    for (const std::string& ns : flags_.namespaces) namespaces_.insert(ns);
  }

  void set_self(std::string self) { self_ = std::move(self); }

  void Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const std::string& path = req.path;
    if (StartsWith(path, "/fake/")) {
      if (!AnswerStatsHooks(req, res, stats_)) res.status = 404;
      return;
    }
    try {
      if (path == "/auth") {
        stats_.Count(req, "token");
        Token(req, res);
      } else if (StartsWith(path, "/v2/") || path == "/v2") {
        stats_.Count(req, "v2");
        Registry(req, res, reader);
      } else if (path == "/" && req.has_param("Action")) {
        stats_.Count(req, "api");
        Rpc(req, res);
      } else if (path == "/tokens" || path == "/namespace" || StartsWith(path, "/repos/")) {
        stats_.Count(req, "api");
        Roa(req, res, reader);
      } else {
        stats_.Count(req, "");
        res.status = 404;
        res.set_content("404 page not found\n", "text/plain");
      }
    } catch (const UpstreamError& e) {
      res.status = 502;
      res.set_content(std::string("aliacr fake: upstream: ") + e.what() + "\n", "text/plain");
    }
  }

 private:
  Clock::time_point Now() const { return Clock::now() + std::chrono::seconds(flags_.clock_offset); }

  std::string Service() const {
    return flags_.instance.empty() ? "registry.aliyuncs.com:" + flags_.region + ":26842"
                                   : "registry.aliyuncs.com:" + flags_.region + ":china:" + flags_.instance;
  }

  // ---- namespaces and repositories, from the registry ----

  void Sync() {
    const std::vector<std::string> names = upstream_.Catalog();
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& full : names) namespaces_.insert(full.substr(0, full.find('/')));
  }
  bool NamespaceExists(const std::string& ns) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (namespaces_.count(ns)) return true;
    }
    Sync();
    std::lock_guard<std::mutex> lock(mu_);
    return namespaces_.count(ns) > 0;
  }
  std::vector<std::string> Namespaces() {
    Sync();
    std::lock_guard<std::mutex> lock(mu_);
    return {namespaces_.begin(), namespaces_.end()};
  }
  // The NAMEs of the registry's NS/NAME repositories.
  std::vector<std::string> RepoNames(const std::string& ns) {
    std::vector<std::string> out;
    for (const std::string& full : upstream_.Catalog()) {
      if (!StartsWith(full, ns + "/")) continue;
      const std::string name = full.substr(ns.size() + 1);
      if (name.find('/') == std::string::npos) out.push_back(name);
    }
    return out;
  }
  static std::string RepoId(const std::string& full) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(full.data(), full.size(), md, &len, EVP_sha256(), nullptr);
    static const char* kHex = "0123456789abcdef";
    std::string id = "crr-";
    for (int i = 0; i < 8; ++i) {
      id += kHex[md[i] >> 4];
      id += kHex[md[i] & 15];
    }
    return id;
  }

  // ---- temporary logins ----

  Json IssueTempLogin(long long* expire_ms) {
    const std::string token = RandomToken();
    const Clock::time_point expires = Clock::now() + std::chrono::seconds(flags_.temp_token_lifetime);
    {
      std::lock_guard<std::mutex> lock(mu_);
      temp_logins_[token] = expires;
    }
    *expire_ms = Millis(expires);
    return token;
  }
  bool CheckLogin(const Credentials& c) {
    if (accounts_.Check(c)) return true;
    if (c.user != "cr_temp_user") return false;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = temp_logins_.find(c.password);
    return it != temp_logins_.end() && Clock::now() < it->second;
  }

  // ---- the realm and the registry ----

  void Token(const httplib::Request& req, httplib::Response& res) {
    std::optional<Credentials> basic = ParseBasic(req);
    if (!basic || !CheckLogin(*basic)) {
      SendJson(res, 401, {{"errors", Json::array({{{"code", "UNAUTHORIZED"}, {"message", "authentication required"},
                                                   {"detail", nullptr}}})}});
      return;
    }
    Grant grant;
    grant.subject = basic->user;
    grant.issued = Clock::now();
    grant.expires = grant.issued + std::chrono::seconds(flags_.token_lifetime);
    for (const Scope& s : RequestedScopes(Query(RawQuery(req))))
      if (s.type == "repository" && ValidRepositoryName(s.name)) grant.access.push_back(s);
    SendJson(res, 200, {{"token", tokens_.Issue(grant)}, {"expires_in", flags_.token_lifetime}});
  }

  void Unauthorized(httplib::Response& res, const std::string& scope) const {
    std::string challenge = "Bearer realm=\"" + self_ + "/auth\",service=\"" + Service() + "\"";
    if (!scope.empty()) challenge += ",scope=\"" + scope + "\"";
    res.set_header("WWW-Authenticate", challenge);
    res.set_header("Docker-Distribution-API-Version", "registry/2.0");
    SendJson(res, 401, {{"errors", Json::array({{{"code", "UNAUTHORIZED"}, {"message", "authentication required"},
                                                 {"detail", nullptr}}})}});
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
      if (state != TokenStore::State::kValid) return Unauthorized(res, scope);
      authenticated = true;
      for (const Scope& s : grant.access) allowed |= s.name == rp.name && s.Allows(action);
    } else if (auto basic = ParseBasic(req)) {
      if (!CheckLogin(*basic)) return Unauthorized(res, scope);
      authenticated = allowed = true;
    }
    if (rp.kind == Kind::kBase) {
      if (!authenticated) return Unauthorized(res, "");
      SendJson(res, 200, Json::object());
      return;
    }
    if (rp.kind == Kind::kCatalog || rp.kind == Kind::kOther) {
      SendJson(res, 404, {{"errors", Json::array({{{"code", "UNSUPPORTED"}, {"message", "not supported"}}})}});
      return;
    }
    if (!allowed) return Unauthorized(res, scope);
    const std::string ns = rp.name.substr(0, rp.name.find('/'));
    if (action != "pull" && !NamespaceExists(ns)) {
      SendJson(res, 403, {{"errors", Json::array({{{"code", "DENIED"},
                                                   {"message", "requested access to the resource is denied"},
                                                   {"detail", nullptr}}})}});
      return;
    }
    upstream_.Forward(req, reader, self_, res);
  }

  // ---- the OpenAPI ----

  std::string RequestId() { return "FAKE-" + std::to_string(++request_ids_); }

  void RoaError(httplib::Response& res, int status, const std::string& code, const std::string& message) {
    SendJson(res, status, {{"code", code}, {"message", message}, {"requestId", RequestId()}});
  }
  void RpcError(httplib::Response& res, int status, const std::string& code, const std::string& message) {
    SendJson(res, status,
             {{"RequestId", RequestId()},
              {"HostId", "cr." + flags_.region + ".aliyuncs.com"},
              {"Code", code},
              {"Message", message},
              {"Recommend", "https://api.aliyun.com/troubleshoot?q=" + code}});
  }
  // Whether NONCE is new (and now used).
  bool FreshNonce(const std::string& nonce) {
    std::lock_guard<std::mutex> lock(mu_);
    return !nonce.empty() && nonces_.insert(nonce).second;
  }
  bool Skewed(Clock::time_point t) const {
    const auto d = Now() - t;
    return d > kSkew || d < -kSkew;
  }

  // The page (1-based PAGE of SIZE) of ITEMS.
  template <typename T>
  static std::vector<T> PageOf(const std::vector<T>& items, long page, long size) {
    std::vector<T> out;
    for (long i = (page - 1) * size; i >= 0 && i < static_cast<long>(items.size()) && i < page * size; ++i)
      out.push_back(items[static_cast<size_t>(i)]);
    return out;
  }
  long Size(const std::string& asked) const {
    long n = std::atol(asked.c_str());
    return std::min(n > 0 ? n : 30L, flags_.page_size);  // [?] the default of 30
  }

  void Roa(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const std::string body = ReadBody(reader);
    const std::string auth = req.get_header_value("Authorization");
    if (!StartsWith(auth, "acs ") || auth.find(':') == std::string::npos)
      return RoaError(res, 400, "MissingAuthorization", "Authorization is mandatory for this action.");
    const std::string ak = auth.substr(4, auth.find(':') - 4), signature = auth.substr(auth.find(':') + 1);
    auto secret = secrets_.find(ak);
    if (secret == secrets_.end())
      return RoaError(res, 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
    std::optional<Clock::time_point> date = ParseTime(req.get_header_value("Date"), "%a, %d %b %Y %H:%M:%S GMT");
    if (!date) return RoaError(res, 400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.");
    if (Skewed(*date)) return RoaError(res, 400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.");
    if (req.get_header_value("x-acs-signature-method") != "HMAC-SHA1" ||
        req.get_header_value("x-acs-signature-version") != "1.0")
      return RoaError(res, 400, "InvalidSignatureMethod", "Specified signature method is not supported.");
    if (req.get_header_value("Content-MD5") != Md5Base64(body))
      return RoaError(res, 400, "InvalidContentMD5", "Specified Content-MD5 does not match the body.");
    std::string text = req.method + "\n";
    for (const char* h : {"Accept", "Content-MD5", "Content-Type", "Date"}) {
      const std::string v = req.get_header_value(h);
      if (!v.empty()) text += v + "\n";
    }
    std::map<std::string, std::string> acs;  // httplib keeps the names as sent; compare lowercased
    for (const auto& [name, value] : req.headers) {
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      if (StartsWith(lower, "x-acs-")) acs[lower] = value;
    }
    for (const auto& [name, value] : acs) text += name + ":" + value + "\n";
    text += RawPath(req);
    std::map<std::string, std::string> query;
    const Query parsed(RawQuery(req));
    for (const auto& [k, v] : req.params) query[k] = parsed.Get(k).value_or(v);
    char sep = '?';
    for (const auto& [k, v] : query) {
      text += sep + k + (v.empty() ? "" : "=" + v);
      sep = '&';
    }
    if (HmacSha1(secret->second, text) != signature)
      return RoaError(res, 400, "SignatureDoesNotMatch",
                      "Specified signature is not matched with our calculation. server string to sign is:" + text);
    if (!FreshNonce(req.get_header_value("x-acs-signature-nonce")))
      return RoaError(res, 400, "SignatureNonceUsed", "Specified signature nonce was used already.");
    if (req.method != "GET") return RoaError(res, 405, "MethodNotAllowed", "Only GET is served by this fake.");

    const std::string path = req.path;
    if (path == "/tokens") {
      long long expire_ms = 0;
      Json token = IssueTempLogin(&expire_ms);
      return SendJson(res, 200, {{"data", {{"authorizationToken", token}, {"tempUserName", "cr_temp_user"},
                                           {"expireDate", expire_ms}}},
                                 {"requestId", RequestId()}});
    }
    if (path == "/namespace") {
      Json list = Json::array();
      for (const std::string& ns : Namespaces())
        list.push_back({{"namespace", ns}, {"authorizeType", "ADMIN"}, {"namespaceStatus", "NORMAL"}});
      return SendJson(res, 200, {{"data", {{"namespaces", list}}}, {"requestId", RequestId()}});
    }
    const std::vector<std::string> parts = Split(path.substr(std::string("/repos/").size()), '/');
    const long page = std::max(1L, std::atol(query["Page"].c_str()));
    const long size = Size(query["PageSize"]);
    if (parts.size() == 1) {
      if (!NamespaceExists(parts[0])) return RoaError(res, 404, "NAMESPACE_NOT_EXIST", "namespace not exist");
      const std::vector<std::string> names = RepoNames(parts[0]);
      Json repos = Json::array();
      for (const std::string& name : PageOf(names, page, size))
        repos.push_back({{"repoName", name}, {"repoNamespace", parts[0]}, {"repoType", "PRIVATE"},
                         {"repoStatus", "NORMAL"}, {"summary", ""}, {"regionId", flags_.region}});
      return SendJson(res, 200, {{"data", {{"page", page}, {"pageSize", size}, {"total", names.size()},
                                           {"repos", repos}}},
                                 {"requestId", RequestId()}});
    }
    if (parts.size() == 3 && parts[2] == "tags") {
      const std::string full = parts[0] + "/" + parts[1];
      auto links = storage_.TagLinks(full);
      if (!links) return RoaError(res, 404, "REPO_NOT_EXIST", "repo not exist");
      Json tags = Json::array();
      for (const auto& [tag, stored] : PageOf(*links, page, size))
        tags.push_back({{"tag", tag}, {"digest", stored.digest.substr(7)}, {"imageId", stored.digest.substr(7)},
                        {"imageSize", 0}, {"status", "NORMAL"}, {"imageCreate", Millis(stored.pushed)},
                        {"imageUpdate", Millis(stored.pushed)}});
      return SendJson(res, 200, {{"data", {{"page", page}, {"pageSize", size}, {"total", links->size()},
                                           {"tags", tags}}},
                                 {"requestId", RequestId()}});
    }
    RoaError(res, 404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.");
  }

  void Rpc(const httplib::Request& req, httplib::Response& res) {
    std::map<std::string, std::string> params;
    const Query parsed(RawQuery(req));
    for (const auto& [k, v] : req.params) params[k] = parsed.Get(k).value_or(v);
    for (const char* required : {"AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce",
                                 "Timestamp", "Version", "Format"}) {
      if (params[required].empty())
        return RpcError(res, 400, "MissingParameter", std::string("The input parameter \"") + required +
                                                          "\" that is mandatory for processing this request is not supplied.");
    }
    auto secret = secrets_.find(params["AccessKeyId"]);
    if (secret == secrets_.end())
      return RpcError(res, 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
    std::optional<Clock::time_point> ts = ParseTime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ");
    if (!ts) return RpcError(res, 400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.");
    if (Skewed(*ts)) return RpcError(res, 400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.");
    if (params["SignatureMethod"] != "HMAC-SHA1" || params["SignatureVersion"] != "1.0")
      return RpcError(res, 400, "InvalidSignatureMethod", "Specified signature method is not supported.");
    const std::string signature = params["Signature"];
    params.erase("Signature");
    std::string canonical;
    for (const auto& [k, v] : params) canonical += (canonical.empty() ? "" : "&") + PercentEncode(k) + "=" + PercentEncode(v);
    const std::string text = req.method + "&" + PercentEncode("/") + "&" + PercentEncode(canonical);
    if (HmacSha1(secret->second + "&", text) != signature)
      return RpcError(res, 400, "SignatureDoesNotMatch",
                      "Specified signature is not matched with our calculation. server string to sign is:" + text);
    if (!FreshNonce(params["SignatureNonce"]))
      return RpcError(res, 400, "SignatureNonceUsed", "Specified signature nonce was used already.");
    if (params["Version"] != "2018-12-01")
      return RpcError(res, 400, "InvalidVersion", "Specified parameter Version is not valid.");
    auto ok = [&](Json j) {
      j["RequestId"] = RequestId();
      j["IsSuccess"] = true;
      j["Code"] = "success";
      SendJson(res, 200, j);
    };
    if (flags_.instance.empty() || params["InstanceId"] != flags_.instance)
      return SendJson(res, 200, {{"RequestId", RequestId()}, {"IsSuccess", false}, {"Code", "INSTANCE_NOT_EXIST"}});
    const std::string action = params["Action"];
    const long page = std::max(1L, std::atol(params["PageNo"].c_str()));
    const long size = Size(params["PageSize"]);
    if (action == "GetAuthorizationToken") {
      long long expire_ms = 0;
      Json token = IssueTempLogin(&expire_ms);
      return ok({{"TempUsername", "cr_temp_user"}, {"AuthorizationToken", token}, {"ExpireTime", expire_ms}});
    }
    if (action == "ListNamespace") {
      const std::vector<std::string> all = Namespaces();
      Json list = Json::array();
      for (const std::string& ns : PageOf(all, page, size))
        list.push_back({{"NamespaceName", ns}, {"NamespaceId", "crn-" + RepoId(ns).substr(4)},
                        {"NamespaceStatus", "NORMAL"}, {"AutoCreateRepo", true}, {"DefaultRepoType", "PRIVATE"},
                        {"InstanceId", flags_.instance}});
      return ok({{"Namespaces", list}, {"TotalCount", std::to_string(all.size())}, {"PageNo", page}, {"PageSize", size}});
    }
    if (action == "ListRepository") {
      const std::string ns = params["RepoNamespaceName"];
      if (!NamespaceExists(ns))
        return SendJson(res, 200, {{"RequestId", RequestId()}, {"IsSuccess", false}, {"Code", "NAMESPACE_NOT_EXIST"}});
      const std::vector<std::string> names = RepoNames(ns);
      Json list = Json::array();
      for (const std::string& name : PageOf(names, page, size)) {
        list.push_back({{"RepoName", name}, {"RepoNamespaceName", ns}, {"RepoId", RepoId(ns + "/" + name)},
                        {"RepoStatus", "NORMAL"}, {"RepoType", "PRIVATE"}, {"InstanceId", flags_.instance}});
        std::lock_guard<std::mutex> lock(mu_);
        repo_ids_[RepoId(ns + "/" + name)] = ns + "/" + name;
      }
      return ok({{"Repositories", list}, {"TotalCount", std::to_string(names.size())}, {"PageNo", page},
                 {"PageSize", size}});
    }
    if (action == "ListRepoTag") {
      std::string full;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = repo_ids_.find(params["RepoId"]);
        if (it != repo_ids_.end()) full = it->second;
      }
      if (full.empty()) {  // an id not listed through this fake yet
        for (const std::string& name : upstream_.Catalog())
          if (RepoId(name) == params["RepoId"]) full = name;
      }
      auto links = full.empty() ? std::nullopt : storage_.TagLinks(full);
      if (!links) return SendJson(res, 200, {{"RequestId", RequestId()}, {"IsSuccess", false}, {"Code", "REPO_NOT_EXIST"}});
      Json list = Json::array();
      for (const auto& [tag, stored] : PageOf(*links, page, size))
        list.push_back({{"Tag", tag}, {"Digest", stored.digest.substr(7)}, {"ImageId", stored.digest.substr(7)},
                        {"ImageSize", 0}, {"Status", "NORMAL"}, {"ImageCreate", std::to_string(Millis(stored.pushed))},
                        {"ImageUpdate", std::to_string(Millis(stored.pushed))}});
      return ok({{"Images", list}, {"TotalCount", std::to_string(links->size())}, {"PageNo", page}, {"PageSize", size}});
    }
    RpcError(res, 404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.");
  }

  const Flags flags_;
  const Upstream upstream_;
  const Storage storage_;
  Accounts accounts_;
  std::map<std::string, std::string> secrets_;  // AK -> secret; fixed at start
  TokenStore tokens_;
  RequestStats stats_;
  std::string self_;  // set before serving

  std::mutex mu_;
  std::set<std::string> namespaces_;                       // guarded by mu_
  std::map<std::string, Clock::time_point> temp_logins_;   // token -> expiry; guarded by mu_
  std::set<std::string> nonces_;                           // guarded by mu_
  std::map<std::string, std::string> repo_ids_;            // RepoId -> NS/NAME; guarded by mu_
  std::atomic<long> request_ids_{0};
};

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  AliAcr fake(flags);
  return ServeFake(kProgram, flags.port, fake);
}
