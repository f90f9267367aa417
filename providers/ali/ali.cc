#include "providers/ali/ali.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <utility>

#include "core/encoding.h"
#include "providers/ali/signature.h"
#include "providers/url.h"

namespace crossdock::providers {

namespace {

// The page size asked for; the enterprise API caps pages at 100 (ListRepoTag's
// reference), the personal one answers with the pageSize it used.
constexpr int kPageSize = 100;
constexpr const char* kRoaVersion = "2016-06-07";  // Container Registry, personal edition
constexpr const char* kRpcVersion = "2018-12-01";  // Container Registry, enterprise edition
// How long a refused registry login is answered from memory before it is asked again.
constexpr std::chrono::minutes kRefusalMemory{5};
// How long a registry login is taken to last when its answer gives no expiry (expireDate,
// ExpireTime missing or 0) or one already past by this machine's clock: an hour, well
// inside the 6 hours of the console's temporary logins (the API documents none), so a
// login is fetched once an hour instead of before every call.
constexpr std::chrono::hours kAssumedLoginLifetime{1};

std::string RandomHex(int bytes) {
  std::string buf(static_cast<size_t>(bytes), '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(buf.data()), bytes);
  return core::HexEncode(buf);
}

// A number the API sends as a number or as a string (the enterprise TotalCount).
long Number(const nlohmann::json& v, long fallback) {
  if (v.is_number_integer()) return v.get<long>();
  if (v.is_string()) {
    const std::string s = v;
    if (!s.empty() && s.size() < 18 && s.find_first_not_of("0123456789") == std::string::npos)
      return std::stol(s);
  }
  return fallback;
}

std::string Text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : ""; }

// The API's digests are bare hex ("83414d…"): "sha256:…", or "" for anything else.
std::string Digest(const std::string& d) {
  const std::string hex = d.starts_with("sha256:") ? d.substr(7) : d;
  if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) return "";
  return "sha256:" + hex;
}

// NS/NAME split, or nullopt for a name of another depth.
std::optional<std::pair<std::string, std::string>> SplitRepo(const std::string& repo) {
  const size_t slash = repo.find('/');
  if (slash == std::string::npos || repo.find('/', slash + 1) != std::string::npos) return std::nullopt;
  return std::make_pair(repo.substr(0, slash), repo.substr(slash + 1));
}

// Whether more pages follow page PAGE of SIZE entries out of TOTAL (Harbor's adapter:
// stop when total <= page * pageSize).
bool MorePages(long total, long page, long size, size_t got) {
  return got > 0 && size > 0 && total > page * size;
}

}  // namespace

core::Result<HttpResponse> AliLoginRelay::Do(const HttpRequest& request) {
  static const std::string kStandIn = BasicAuthorization({kAliLoginStandIn, "-", ""});
  auto it = std::find_if(request.headers.begin(), request.headers.end(), [](const auto& h) {
    return h.first == "Authorization" && h.second == kStandIn;
  });
  if (it == request.headers.end()) return next_->Do(request);
  if (!login_) return core::Status::Internal("the ali-acr registry login is not set up");
  auto login = login_();
  if (!login.ok()) return login.status();
  HttpRequest with = request;
  for (auto& h : with.headers)
    if (h.first == "Authorization" && h.second == kStandIn) h.second = BasicAuthorization(*login);
  return next_->Do(with);
}

core::Result<std::unique_ptr<Registry>> NewAliRegistry(const core::Endpoint& endpoint, Credentials creds,
                                                       HttpClient* http, DistributionOptions options,
                                                       AliOptions ali) {
  std::string url = endpoint.url;
  // The OpenAPI's address given for the registry's: Harbor's adapter takes it too.
  static const std::regex kApiHost("^https://cr\\.([a-z0-9-]+)\\.aliyuncs\\.com$");
  std::smatch m;
  if (std::regex_match(url, m, kApiHost)) url = "https://registry." + m[1].str() + ".aliyuncs.com";
  const bool anonymous = creds.username.empty() && creds.password.empty();
  if (!anonymous && (creds.username.empty() || creds.password.empty()))
    return core::Status::InvalidArgument(
        "endpoint \"" + endpoint.name + "\" (from " + creds.source +
        ") needs both a RAM AccessKey ID (username) and its AccessKey secret (password)");
  if (!anonymous && !IsAliAccessKeyId(creds.username))
    return core::Status::InvalidArgument(
        "username of endpoint \"" + endpoint.name + "\" (from " + creds.source +
        ") is not a RAM AccessKey ID (letters and digits, e.g. \"LTAI5tExample\"): an ali-acr "
        "endpoint logs in through Alibaba Cloud's OpenAPI with an AccessKey pair, not with the "
        "registry's own login");
  if (!ali.clock) ali.clock = options.clock;
  std::unique_ptr<AliLoginRelay> relay;
  Credentials data_plane;
  HttpClient* registry_http = http;
  if (!anonymous) {
    relay = std::make_unique<AliLoginRelay>(http);
    registry_http = relay.get();
    data_plane = {kAliLoginStandIn, "-", creds.source};
  }
  AliLoginRelay* relay_ptr = relay.get();
  auto registry = std::make_unique<DistributionRegistry>(endpoint.name, url, std::move(data_plane),
                                                         registry_http, options);
  auto out = std::make_unique<AliRegistry>(std::move(registry), url, endpoint.api_url, std::move(creds),
                                           http, std::move(relay), std::move(ali));
  if (relay_ptr) {
    AliRegistry* self = out.get();
    relay_ptr->set_login([self] { return self->TemporaryLogin(); });
  }
  return std::unique_ptr<Registry>(std::move(out));
}

bool IsAliAccessKeyId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isalnum(c) != 0; });
}

AliRegistry::AliRegistry(std::unique_ptr<DistributionRegistry> registry, std::string url,
                         std::string api_url, Credentials access_key, HttpClient* http,
                         std::unique_ptr<AliLoginRelay> relay, AliOptions options)
    : VendorRegistry(std::move(registry), api_url, "Alibaba Cloud ACR"),
      url_(std::move(url)),
      api_url_override_(std::move(api_url)),
      access_key_(std::move(access_key)),
      http_(http),
      relay_(std::move(relay)),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : core::Clock::Real()),
      pacer_(options_.requests_per_second, 1.0, clock_) {}

std::chrono::system_clock::time_point AliRegistry::WallNow() const {
  return options_.wall_clock ? options_.wall_clock() : std::chrono::system_clock::now();
}

std::string AliRegistry::WhereApi(const std::string& what) const {
  std::string api;
  {
    std::lock_guard<std::mutex> lk(mu_);
    api = api_where_;
  }
  return what + " at endpoint \"" + name() + "\" (Alibaba Cloud ACR API" +
         (api.empty() ? std::string() : " at " + api) + ")";
}

long AliRegistry::requests() const {
  long api;
  {
    std::lock_guard<std::mutex> lk(mu_);
    api = api_requests_;
  }
  return VendorRegistry::requests() + api;
}

core::Result<HttpResponse> AliRegistry::Send(const std::function<HttpRequest()>& build, bool paced) {
  core::Result<HttpResponse> r = core::Status::Internal("no attempt");
  for (int attempt = 1;; ++attempt) {
    if (paced) pacer_.Take();
    HttpRequest req = build();  // signed afresh: a nonce is good for one request only
    req.max_body_size = kMaxListPageSize;
    req.follow_redirects = false;  // signed requests go to the API's own origin only
    r = http_->Do(req);
    {
      std::lock_guard<std::mutex> lk(mu_);
      ++api_requests_;
    }
    bool transient = !r.ok() || core::IsRetryableHttpStatus(r->status);
    // Alibaba Cloud's flow control answers 400 or 503 with a Throttling code.
    if (r.ok() && r->status >= 400 && r->body.find("\"Throttling") != std::string::npos) transient = true;
    if (!transient || attempt >= options_.retry.max_attempts) return r;
    std::optional<std::chrono::seconds> after;
    if (r.ok()) after = core::ParseRetryAfter(r->Header("retry-after"));
    clock_->SleepFor(options_.retry.Delay(attempt + 1, core::Jitter(), after));
  }
}

core::Result<AliRegistry::Instance> AliRegistry::Discover() {
  std::lock_guard<std::mutex> once(discover_mu_);
  if (instance_) return *instance_;
  auto r = Send(
      [&] {
        HttpRequest req;
        req.url = url_ + "/v2/";
        return req;
      },
      false);
  if (!r.ok()) return r.status().WithContext("cannot reach endpoint \"" + name() + "\"");
  Instance inst;
  // "registry.aliyuncs.com:cn-hangzhou:26842" (personal) or
  // "registry.aliyuncs.com:cn-hangzhou:china:cri-xxxxxxxx" (enterprise): Harbor's
  // parseRegistryService.
  const Challenge ch = ParseChallenge(r->Header("www-authenticate"));
  const auto service = ch.params.find("service");
  std::vector<std::string> parts;
  if (service != ch.params.end()) {
    size_t start = 0;
    for (;;) {
      const size_t colon = service->second.find(':', start);
      parts.push_back(service->second.substr(start, colon == std::string::npos ? colon : colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  if (parts.size() >= 2 && parts[0] == "registry.aliyuncs.com" && !parts[1].empty()) {
    inst.region = parts[1];
    if (parts.back().starts_with("cri-")) {
      inst.enterprise = true;
      inst.instance_id = parts.back();
    }
  } else {
    // No Alibaba Cloud challenge (an anonymous 200, say): the personal edition's host.
    static const std::regex kPersonal("^https://registry(?:-vpc|-internal)?\\.([a-z0-9-]+)\\.aliyuncs\\.com$");
    std::smatch m;
    if (!std::regex_match(url_, m, kPersonal))
      return core::Status::InvalidArgument(
          "endpoint \"" + name() + "\": the registry's /v2/ challenge names no Alibaba Cloud ACR "
          "service (\"registry.aliyuncs.com:REGION:…\"), so crossdock cannot tell its region or "
          "instance; is url the ACR registry (https://registry.REGION.aliyuncs.com or "
          "https://INSTANCE-registry.REGION.cr.aliyuncs.com)?");
    inst.region = m[1].str();
  }
  inst.api_url = api_url_override_.empty() ? "https://cr." + inst.region + ".aliyuncs.com" : api_url_override_;
  {
    std::lock_guard<std::mutex> lk(mu_);
    api_where_ = inst.api_url;
  }
  instance_ = inst;
  return inst;
}

core::Status AliRegistry::NoAccessKey(const std::string& what) const {
  return core::Status::Unauthenticated(
      what + " at endpoint \"" + name() + "\" needs Alibaba Cloud's OpenAPI, and the endpoint has no "
      "AccessKey: give it username = the RAM AccessKey ID and password = its secret");
}

core::Status AliRegistry::AliError(const HttpResponse& r, const std::string& what) const {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  std::string code = Text(Field(j, "Code"));
  if (code.empty()) code = Text(Field(j, "code"));
  std::string message = Text(Field(j, "Message"));
  if (message.empty()) message = Text(Field(j, "message"));
  // SignatureDoesNotMatch adds the server's string to sign, several lines long: one
  // line of message is what a user reads.
  if (size_t cut = message.find(" server string to sign is:"); cut != std::string::npos) message.resize(cut);
  std::replace(message.begin(), message.end(), '\n', ' ');
  const std::string base = WhereApi(what) + ": HTTP " + std::to_string(r.status) +
                           (code.empty() ? std::string()
                                         : ", Alibaba Cloud error " + code +
                                               (message.empty() ? std::string() : ": " + message));
  auto starts = [&](const char* prefix) { return code.starts_with(prefix); };
  if (starts("InvalidTimeStamp") || code == "RequestTimeTooSkewed")
    return core::Status::Unauthenticated(
        base + "; the request's time is too far from Alibaba Cloud's: check the machine's clock");
  if (code == "SignatureDoesNotMatch" || code == "IncompleteSignature")
    return core::Status::Unauthenticated(base + "; check the endpoint's password: it must be the "
                                                "AccessKey secret of AccessKey ID \"" +
                                         access_key_.username + "\"");
  if (starts("InvalidAccessKeyId"))
    return core::Status::Unauthenticated(
        base + "; check the endpoint's username: it must be an active RAM AccessKey ID");
  if (starts("Forbidden") || r.status == 403)
    return core::Status::PermissionDenied(
        base + "; the RAM user lacks a Container Registry permission (e.g. the "
               "AliyunContainerRegistryReadOnlyAccess policy, FullAccess to push)");
  if (r.status == 401) return core::Status::Unauthenticated(base);
  if (code.find("NOT_EXIST") != std::string::npos || starts("NotFound") || r.status == 404)
    return core::Status::NotFound(base);
  if (starts("Throttling") || r.status == 429 || r.status >= 500) return core::Status::Unavailable(base);
  return core::Status::Internal(base);
}

core::Result<nlohmann::json> AliRegistry::Roa(const std::string& path,
                                              const std::map<std::string, std::string>& query,
                                              const std::string& what) {
  auto inst = Discover();
  if (!inst.ok()) return inst.status();
  auto r = Send(
      [&] {
        RoaRequest s;
        s.accept = "application/json";
        s.content_md5 = AliContentMd5("");
        s.content_type = "application/json";
        s.date = AliHttpDate(WallNow());
        s.acs_headers = {{"x-acs-region-id", inst->region},
                         {"x-acs-signature-method", "HMAC-SHA1"},
                         {"x-acs-signature-nonce", options_.nonce ? options_.nonce() : RandomHex(16)},
                         {"x-acs-signature-version", "1.0"},
                         {"x-acs-version", kRoaVersion}};
        s.path = path;
        s.query = query;
        HttpRequest req;
        req.url = inst->api_url + path;
        char sep = '?';
        for (const auto& [k, v] : query) {
          req.url += sep + AliPercentEncode(k) + "=" + AliPercentEncode(v);
          sep = '&';
        }
        req.headers = {{"Accept", s.accept}, {"Content-MD5", s.content_md5},
                       {"Content-Type", s.content_type}, {"Date", s.date}};
        for (const auto& h : s.acs_headers) req.headers.push_back(h);
        req.headers.push_back({"Authorization", "acs " + access_key_.username + ":" +
                                                    RoaSignature(RoaStringToSign(s), access_key_.password)});
        return req;
      },
      true);
  if (!r.ok()) return r.status().WithContext(WhereApi(what));
  if (r->body_too_large)
    return core::Status::Internal(WhereApi(what) + ": the answer is larger than " +
                                  std::to_string(kMaxListPageSize >> 20) + " MiB, the most crossdock reads");
  if (r->status != 200) return AliError(*r, what);
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !Field(j, "data").is_object())
    return core::Status::Internal(WhereApi(what) + ": the answer is not JSON with a \"data\" object");
  return Field(j, "data");
}

core::Result<nlohmann::json> AliRegistry::Rpc(const std::string& action, std::map<std::string, std::string> params,
                                              const std::string& what) {
  auto inst = Discover();
  if (!inst.ok()) return inst.status();
  auto r = Send(
      [&] {
        std::map<std::string, std::string> p = params;
        p["Action"] = action;
        p["InstanceId"] = inst->instance_id;
        p["RegionId"] = inst->region;
        p["Format"] = "JSON";
        p["Version"] = kRpcVersion;
        p["AccessKeyId"] = access_key_.username;
        p["SignatureMethod"] = "HMAC-SHA1";
        p["SignatureVersion"] = "1.0";
        p["SignatureNonce"] = options_.nonce ? options_.nonce() : RandomHex(16);
        p["Timestamp"] = AliTimestamp(WallNow());
        const std::string signature = RpcSignature(RpcStringToSign("GET", p), access_key_.password);
        HttpRequest req;
        req.url = inst->api_url + "/";
        char sep = '?';
        for (const auto& [k, v] : p) {
          req.url += sep + AliPercentEncode(k) + "=" + AliPercentEncode(v);
          sep = '&';
        }
        req.url += "&Signature=" + AliPercentEncode(signature);
        req.headers = {{"Accept", "application/json"}};
        return req;
      },
      true);
  if (!r.ok()) return r.status().WithContext(WhereApi(what));
  if (r->body_too_large)
    return core::Status::Internal(WhereApi(what) + ": the answer is larger than " +
                                  std::to_string(kMaxListPageSize >> 20) + " MiB, the most crossdock reads");
  if (r->status != 200) return AliError(*r, what);
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return core::Status::Internal(WhereApi(what) + ": the answer is not a JSON object");
  // A refusal can come as 200 with IsSuccess false and a Code ("NAMESPACE_NOT_EXIST").
  if (Field(j, "IsSuccess").is_boolean() && !Field(j, "IsSuccess").get<bool>()) {
    HttpResponse refused = *r;
    refused.status = 200;
    return AliError(refused, what);
  }
  return j;
}

core::Result<Credentials> AliRegistry::TemporaryLogin() {
  if (access_key_.username.empty()) return Credentials{};
  std::lock_guard<std::mutex> lk(login_mu_);
  const auto now = WallNow();
  if (!login_error_.ok() && now < login_error_until_) return login_error_;
  if (login_) {
    const auto lifetime = login_->expires - login_->fetched;
    const auto margin = std::min<std::chrono::system_clock::duration>(std::chrono::minutes(5), lifetime / 2);
    if (now < login_->expires - margin) return login_->creds;
  }
  auto inst = Discover();
  if (!inst.ok()) return inst.status();
  Login fresh;
  fresh.fetched = now;
  core::Status st;
  long expires_ms = 0;
  if (!inst->enterprise) {
    auto data = Roa("/tokens", {}, "getting a registry login (GetAuthorizationToken)");
    if (data.ok()) {
      fresh.creds = {Text(Field(*data, "tempUserName")), Text(Field(*data, "authorizationToken")), ""};
      expires_ms = Number(Field(*data, "expireDate"), 0);
    } else {
      st = data.status();
    }
  } else {
    auto j = Rpc("GetAuthorizationToken", {}, "getting a registry login (GetAuthorizationToken)");
    if (j.ok()) {
      fresh.creds = {Text(Field(*j, "TempUsername")), Text(Field(*j, "AuthorizationToken")), ""};
      expires_ms = Number(Field(*j, "ExpireTime"), 0);
    } else {
      st = j.status();
    }
  }
  if (st.ok() && (fresh.creds.username.empty() || fresh.creds.password.empty()))
    st = core::Status::Internal(WhereApi("getting a registry login (GetAuthorizationToken)") +
                                ": the answer has no temporary user and token");
  if (!st.ok()) {
    if (st.code() != core::Code::kUnavailable) {
      login_error_ = st;
      login_error_until_ = now + kRefusalMemory;
    }
    return st;
  }
  fresh.creds.source = access_key_.source;
  fresh.expires = std::chrono::system_clock::time_point(std::chrono::milliseconds(expires_ms));
  if (fresh.expires <= now) fresh.expires = now + kAssumedLoginLifetime;
  login_error_ = core::Status::Ok();
  login_ = fresh;
  return fresh.creds;
}

core::Status AliRegistry::EnsureLogin() {
  if (access_key_.username.empty()) return core::Status::Ok();
  return TemporaryLogin().status();
}

core::Status AliRegistry::Ping() {
  CROSSDOCK_RETURN_IF_ERROR(EnsureLogin());
  return VendorRegistry::Ping();
}

core::Result<std::vector<std::string>> AliRegistry::Namespaces() {
  const std::string what = "listing namespaces";
  auto inst = Discover();
  if (!inst.ok()) return inst.status();
  std::vector<std::string> out;
  if (!inst->enterprise) {
    auto data = Roa("/namespace", {}, what);
    if (!data.ok()) return data.status();
    if (!Field(*data, "namespaces").is_array())
      return core::Status::Internal(WhereApi(what) + ": the answer has no \"namespaces\" list");
    for (const auto& ns : Field(*data, "namespaces"))
      if (!Text(Field(ns, "namespace")).empty()) out.push_back(Text(Field(ns, "namespace")));
    return out;
  }
  for (long page = 1;; ++page) {
    if (page > kMaxListPages) return core::Status::Internal(WhereApi(what) + ": too many pages; stopped");
    auto j = Rpc("ListNamespace", {{"PageNo", std::to_string(page)}, {"PageSize", std::to_string(kPageSize)}}, what);
    if (!j.ok()) return j.status();
    const auto& list = Field(*j, "Namespaces");
    if (!list.is_array()) return core::Status::Internal(WhereApi(what) + ": the answer has no \"Namespaces\" list");
    for (const auto& ns : list)
      if (!Text(Field(ns, "NamespaceName")).empty()) out.push_back(Text(Field(ns, "NamespaceName")));
    if (!MorePages(Number(Field(*j, "TotalCount"), 0), Number(Field(*j, "PageNo"), page),
                   Number(Field(*j, "PageSize"), kPageSize), list.size()))
      return out;
  }
}

core::Result<std::vector<AliRegistry::Repo>> AliRegistry::Repositories(const std::string& ns) {
  const std::string what = "listing the repositories of namespace \"" + ns + "\"";
  auto inst = Discover();
  if (!inst.ok()) return inst.status();
  std::vector<Repo> out;
  for (long page = 1;; ++page) {
    if (page > kMaxListPages) return core::Status::Internal(WhereApi(what) + ": too many pages; stopped");
    const std::string p = std::to_string(page), size = std::to_string(kPageSize);
    long total, page_no, page_size;
    size_t got = 0;
    if (!inst->enterprise) {
      auto data = Roa("/repos/" + ns, {{"Page", p}, {"PageSize", size}}, what);
      if (!data.ok()) return data.status();
      const auto& list = Field(*data, "repos");
      if (!list.is_array()) return core::Status::Internal(WhereApi(what) + ": the answer has no \"repos\" list");
      for (const auto& r : list) {
        const std::string repo_ns = Text(Field(r, "repoNamespace"));
        if (Text(Field(r, "repoName")).empty()) continue;
        out.push_back({repo_ns.empty() ? ns : repo_ns, Text(Field(r, "repoName")), ""});
      }
      got = list.size();
      total = Number(Field(*data, "total"), 0);
      page_no = Number(Field(*data, "page"), page);
      page_size = Number(Field(*data, "pageSize"), kPageSize);
    } else {
      auto j = Rpc("ListRepository",
                   {{"RepoNamespaceName", ns}, {"RepoStatus", "NORMAL"}, {"PageNo", p}, {"PageSize", size}}, what);
      if (!j.ok()) return j.status();
      const auto& list = Field(*j, "Repositories");
      if (!list.is_array())
        return core::Status::Internal(WhereApi(what) + ": the answer has no \"Repositories\" list");
      for (const auto& r : list) {
        const std::string repo_ns = Text(Field(r, "RepoNamespaceName"));
        if (Text(Field(r, "RepoName")).empty()) continue;
        out.push_back({repo_ns.empty() ? ns : repo_ns, Text(Field(r, "RepoName")), Text(Field(r, "RepoId"))});
      }
      got = list.size();
      total = Number(Field(*j, "TotalCount"), 0);
      page_no = Number(Field(*j, "PageNo"), page);
      page_size = Number(Field(*j, "PageSize"), kPageSize);
    }
    if (!MorePages(total, page_no, page_size, got)) break;
  }
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& r : out)
    if (!r.id.empty()) repo_ids_[r.ns + "/" + r.name] = r.id;
  return out;
}

core::Result<std::vector<std::string>> AliRegistry::ListRepositoriesIn(const std::vector<std::string>& named) {
  if (access_key_.username.empty()) return NoAccessKey("listing repositories");
  std::vector<std::string> namespaces = named;
  if (namespaces.empty()) {
    auto all = Namespaces();
    if (!all.ok()) return all.status();
    namespaces = std::move(*all);
  }
  std::vector<std::string> out;
  for (const auto& ns : namespaces) {
    auto repos = Repositories(ns);
    if (repos.status().code() == core::Code::kNotFound) continue;  // no such namespace
    if (!repos.ok()) return repos.status();
    for (const auto& r : *repos) out.push_back(r.ns + "/" + r.name);
  }
  return out;
}

core::Result<TagListing> AliRegistry::ListTagsWithDigests(const std::string& repo) {
  if (access_key_.username.empty()) {
    CROSSDOCK_RETURN_IF_ERROR(EnsureLogin());
    return VendorRegistry::ListTagsWithDigests(repo);
  }
  auto missing = [&] {
    return core::Status::NotFound("repository \"" + repo + "\" does not exist at endpoint \"" + name() + "\"");
  };
  auto split = SplitRepo(repo);
  if (!split) return missing();
  const auto& [ns, repo_name] = *split;
  auto inst = Discover();
  if (!inst.ok()) return inst.status();
  std::string repo_id;
  if (inst->enterprise) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (auto it = repo_ids_.find(repo); it != repo_ids_.end()) repo_id = it->second;
    }
    if (repo_id.empty()) {
      auto repos = Repositories(ns);
      if (repos.status().code() == core::Code::kNotFound) return missing();
      if (!repos.ok()) return repos.status();
      for (const auto& r : *repos)
        if (r.name == repo_name) repo_id = r.id;
      if (repo_id.empty()) return missing();
    }
  }
  const std::string what = "listing the tags of \"" + repo + "\"";
  TagListing listing;
  for (long page = 1;; ++page) {
    if (page > kMaxListPages) return core::Status::Internal(WhereApi(what) + ": too many pages; stopped");
    const std::string p = std::to_string(page), size = std::to_string(kPageSize);
    nlohmann::json list;
    long total, page_no, page_size;
    if (!inst->enterprise) {
      auto data = Roa("/repos/" + ns + "/" + repo_name + "/tags", {{"Page", p}, {"PageSize", size}}, what);
      if (data.status().code() == core::Code::kNotFound) return missing();
      if (!data.ok()) return data.status();
      list = Field(*data, "tags");
      total = Number(Field(*data, "total"), 0);
      page_no = Number(Field(*data, "page"), page);
      page_size = Number(Field(*data, "pageSize"), kPageSize);
      for (const auto& t : list.is_array() ? list : nlohmann::json::array()) {
        const std::string tag = Text(Field(t, "tag"));
        if (tag.empty()) continue;
        listing.tags.push_back(tag);
        if (auto d = Digest(Text(Field(t, "digest"))); !d.empty()) listing.digests[tag] = d;
      }
    } else {
      auto j = Rpc("ListRepoTag", {{"RepoId", repo_id}, {"PageNo", p}, {"PageSize", size}}, what);
      if (j.status().code() == core::Code::kNotFound) return missing();
      if (!j.ok()) return j.status();
      list = Field(*j, "Images");
      total = Number(Field(*j, "TotalCount"), 0);
      page_no = Number(Field(*j, "PageNo"), page);
      page_size = Number(Field(*j, "PageSize"), kPageSize);
      for (const auto& t : list.is_array() ? list : nlohmann::json::array()) {
        const std::string tag = Text(Field(t, "Tag"));
        if (tag.empty()) continue;
        listing.tags.push_back(tag);
        if (auto d = Digest(Text(Field(t, "Digest"))); !d.empty()) listing.digests[tag] = d;
      }
    }
    if (!list.is_array())
      return core::Status::Internal(WhereApi(what) + ": the answer has no list of tags");
    if (!MorePages(total, page_no, page_size, list.size())) return listing;
  }
}

core::Result<std::vector<std::string>> AliRegistry::ListTags(const std::string& repo) {
  auto listing = ListTagsWithDigests(repo);
  if (!listing.ok()) return listing.status();
  return std::move(listing->tags);
}

core::Result<Namespace> AliRegistry::CheckNamespace(const std::string& repo) {
  Namespace ns;
  ns.name = repo.substr(0, repo.find('/'));
  if (access_key_.username.empty()) {
    ns.refusal = "endpoint \"" + name() + "\" has no AccessKey, which pushing to Alibaba Cloud ACR "
                 "needs: give it username = the RAM AccessKey ID and password = its secret";
    return ns;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (namespaces_.count(ns.name)) return ns;
  }
  auto all = Namespaces();
  if (!all.ok()) return all.status();
  if (std::find(all->begin(), all->end(), ns.name) != all->end()) {
    std::lock_guard<std::mutex> lk(mu_);
    namespaces_[ns.name] = true;
    return ns;
  }
  auto inst = Discover();
  if (!inst.ok()) return inst.status();
  ns.exists = false;
  ns.refusal = "namespace \"" + ns.name + "\" does not exist at endpoint \"" + name() + "\" (Alibaba Cloud ACR, " +
               (inst->enterprise ? "instance " + inst->instance_id + " in " : std::string()) + inst->region +
               "); create it in the Container Registry console first: crossdock does not create ACR "
               "namespaces";
  return ns;
}

core::Status AliRegistry::EnsureNamespace(const std::string& repo) {
  auto ns = CheckNamespace(repo);
  if (!ns.ok()) return ns.status();
  if (!ns->refusal.empty()) return core::Status::PermissionDenied(ns->refusal);
  return core::Status::Ok();
}

core::Result<std::string> AliRegistry::CheckControlPlane() {
  if (access_key_.username.empty())
    return std::string("Alibaba Cloud ACR API not used: the endpoint has no AccessKey, so only "
                       "repositories named in full can be read, and nothing pushed");
  auto login = TemporaryLogin();
  if (!login.ok()) return login.status();
  auto all = Namespaces();
  if (!all.ok()) return all.status();
  auto inst = Discover();
  if (!inst.ok()) return inst.status();
  return "Alibaba Cloud ACR " +
         (inst->enterprise ? "enterprise instance " + inst->instance_id : std::string("personal edition")) +
         " API at " + inst->api_url + " answered (region " + inst->region + "); " + std::to_string(all->size()) +
         " namespace(s) visible to AccessKey " + access_key_.username;
}

// ---- the data plane, after the registry login ----

core::Result<std::optional<ManifestHead>> AliRegistry::HeadManifest(const std::string& repo,
                                                                    const std::string& ref) {
  CROSSDOCK_RETURN_IF_ERROR(EnsureLogin());
  return VendorRegistry::HeadManifest(repo, ref);
}
core::Result<Manifest> AliRegistry::GetManifest(const std::string& repo, const std::string& ref) {
  CROSSDOCK_RETURN_IF_ERROR(EnsureLogin());
  return VendorRegistry::GetManifest(repo, ref);
}
core::Status AliRegistry::PutManifest(const std::string& repo, const std::string& ref, const Manifest& manifest) {
  CROSSDOCK_RETURN_IF_ERROR(EnsureLogin());
  return VendorRegistry::PutManifest(repo, ref, manifest);
}
core::Status AliRegistry::DeleteManifest(const std::string& repo, const std::string& digest) {
  CROSSDOCK_RETURN_IF_ERROR(EnsureLogin());
  return VendorRegistry::DeleteManifest(repo, digest);
}
core::Result<std::optional<std::vector<ManifestHead>>> AliRegistry::ListReferrers(const std::string& repo,
                                                                                  const std::string& digest) {
  CROSSDOCK_RETURN_IF_ERROR(EnsureLogin());
  return VendorRegistry::ListReferrers(repo, digest);
}
core::Result<bool> AliRegistry::BlobExists(const std::string& repo, const std::string& digest) {
  CROSSDOCK_RETURN_IF_ERROR(EnsureLogin());
  return VendorRegistry::BlobExists(repo, digest);
}
core::Result<bool> AliRegistry::MountBlob(const std::string& repo, const std::string& digest,
                                          const std::string& from_repo) {
  CROSSDOCK_RETURN_IF_ERROR(EnsureLogin());
  return VendorRegistry::MountBlob(repo, digest, from_repo);
}
core::Status AliRegistry::GetBlob(const std::string& repo, const std::string& digest, const BlobSink& sink) {
  CROSSDOCK_RETURN_IF_ERROR(EnsureLogin());
  return VendorRegistry::GetBlob(repo, digest, sink);
}
core::Status AliRegistry::PutBlob(const std::string& repo, const std::string& digest, std::int64_t size,
                                  const BlobSource& source) {
  CROSSDOCK_RETURN_IF_ERROR(EnsureLogin());
  return VendorRegistry::PutBlob(repo, digest, size, source);
}

}  // namespace crossdock::providers
