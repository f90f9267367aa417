// Alibaba Cloud's ROA and RPC signatures against worked examples with published
// results (aliyun/alibaba-cloud-sdk-go sdk/auth/{roa,rpc}_signature_composer_test.go and
// Alibaba Cloud's "Request signatures" documentation), and AliRegistry against scripted
// OpenAPIs (FakeHttp): both editions' listings and paging, the temporary registry login
// and its renewal, Alibaba Cloud's error codes, namespaces, and the 15-a-second pacing
// on a virtual clock. The end-to-end tests run the provider against tests/fakes/aliacr.
#include <atomic>
#include <map>
#include <set>

#include "core/config.h"
#include "core/diagnostics.h"
#include "providers/ali/ali.h"
#include "providers/ali/signature.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

using SysTime = std::chrono::system_clock::time_point;

constexpr const char* kHex1 = "1111111111111111111111111111111111111111111111111111111111111111";
constexpr const char* kHex2 = "2222222222222222222222222222222222222222222222222222222222222222";

// ---- signatures ----

TEST(AliSignatureTest, RoaStringToSignIsBuiltAsTheSdkBuildsIt) {
  // TestRoaSignatureComposer_buildRoaStringToSign: a common request has "x-acs-version:".
  RoaRequest r;
  r.path = "/users/:user";
  r.acs_headers = {{"x-acs-version", ""}};
  EXPECT_EQ(RoaStringToSign(r), "GET\nx-acs-version:\n/users/:user");
  r.accept = "application/json;charset=utf8";
  EXPECT_EQ(RoaStringToSign(r), "GET\napplication/json;charset=utf8\nx-acs-version:\n/users/:user");
  r.content_type = "application/json";
  r.acs_headers["x-acs-custom-header"] = "value";
  EXPECT_EQ(RoaStringToSign(r),
            "GET\napplication/json;charset=utf8\napplication/json\nx-acs-custom-header:value\nx-acs-version:\n"
            "/users/:user");
  r.query["q"] = "value";
  EXPECT_EQ(RoaStringToSign(r),
            "GET\napplication/json;charset=utf8\napplication/json\nx-acs-custom-header:value\nx-acs-version:\n"
            "/users/:user?q=value");
  r.query["q"] = "http://domain/?q=value&q2=value2";
  EXPECT_EQ(RoaStringToSign(r),
            "GET\napplication/json;charset=utf8\napplication/json\nx-acs-custom-header:value\nx-acs-version:\n"
            "/users/:user?q=http://domain/?q=value&q2=value2");
}

TEST(AliSignatureTest, RoaSignatureMatchesTheSdkVectors) {
  // TestRoaSignatureComposer: AccessKey accessKeyId/accessKeySecret, Date "mock date",
  // no body (Content-MD5 of nothing), Accept JSON, Content-Type the SDK's raw default.
  RoaRequest r;
  r.accept = "application/json";
  r.content_md5 = AliContentMd5("");
  r.content_type = "application/octet-stream";
  r.date = "mock date";
  r.acs_headers = {{"x-acs-signature-method", "HMAC-SHA1"},
                   {"x-acs-signature-version", "1.0"},
                   {"x-acs-version", ""}};
  r.path = "/users/:user";
  EXPECT_EQ(r.content_md5, "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ("acs accessKeyId:" + RoaSignature(RoaStringToSign(r), "accessKeySecret"),
            "acs accessKeyId:degLHXLEN6rMojj+bOlK74U9iic=");
  // TestRoaSignatureComposer2: the form body key=value, Accept XML.
  r.accept = "application/xml";
  r.content_md5 = AliContentMd5("key=value");
  r.content_type = "application/x-www-form-urlencoded";
  EXPECT_EQ(RoaSignature(RoaStringToSign(r), "accessKeySecret"), "U9uA3ftRZKixHPB08Z7Z4GOlpTY=");
}

TEST(AliSignatureTest, RpcSignatureMatchesTheDocumentedExample) {
  // "Request signatures" (RPC): DescribeRegions with AccessKey testid/testsecret.
  const std::map<std::string, std::string> params = {
      {"Timestamp", "2016-02-23T12:46:24Z"},  {"Format", "XML"},
      {"AccessKeyId", "testid"},              {"Action", "DescribeRegions"},
      {"SignatureMethod", "HMAC-SHA1"},       {"SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
      {"Version", "2014-05-26"},              {"SignatureVersion", "1.0"}};
  const std::string sts = RpcStringToSign("GET", params);
  EXPECT_EQ(sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-"
            "SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%"
            "3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26");
  EXPECT_EQ(RpcSignature(sts, "testsecret"), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
}

TEST(AliSignatureTest, RpcSignatureMatchesTheSdkVectors) {
  // TestRpcSignatureComposer_buildRpcStringToSign.
  EXPECT_EQ(RpcStringToSign("GET", {}), "GET&%2F&");
  EXPECT_EQ(RpcStringToSign("GET", {{"key", "value"}}), "GET&%2F&key%3Dvalue");
  EXPECT_EQ(RpcStringToSign("GET", {{"key", "value"}, {"q", "http://domain/?q=value&q2=value2"}}),
            "GET&%2F&key%3Dvalue%26q%3Dhttp%253A%252F%252Fdomain%252F%253Fq%253Dvalue%2526q2%253Dvalue2");
  // TestRpcSignatureComposer: a common request's parameters, several of them empty.
  const std::map<std::string, std::string> params = {
      {"Version", ""},          {"Action", ""},          {"Format", "JSON"},
      {"Timestamp", "mock date"}, {"SignatureMethod", "HMAC-SHA1"}, {"SignatureType", ""},
      {"SignatureVersion", "1.0"}, {"SignatureNonce", "MOCK_UUID"}, {"AccessKeyId", "accessKeyId"},
      {"RegionId", "regionId"}};
  EXPECT_EQ(RpcSignature(RpcStringToSign("GET", params), "accessKeySecret"), "7loPmFjvDnzOVnQeQNj85S6nFGY=");
}

TEST(AliSignatureTest, PercentEncodingAndDates) {
  EXPECT_EQ(AliPercentEncode("a b*c~d/é"), "a%20b%2Ac~d%2F%C3%A9");
  const SysTime t = std::chrono::sys_days{std::chrono::February / 23 / 2016} + std::chrono::hours(12) +
                    std::chrono::minutes(46) + std::chrono::seconds(24);
  EXPECT_EQ(AliHttpDate(t), "Tue, 23 Feb 2016 12:46:24 GMT");
  EXPECT_EQ(AliTimestamp(t), "2016-02-23T12:46:24Z");
}

// ---- the provider ----

// The query parameters of URL, decoded.
std::map<std::string, std::string> QueryOf(const std::string& url) {
  std::map<std::string, std::string> out;
  const size_t q = url.find('?');
  if (q == std::string::npos) return out;
  std::string rest = url.substr(q + 1);
  auto decode = [](const std::string& s) {
    std::string o;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        o += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        o += s[i];
      }
    }
    return o;
  };
  size_t start = 0;
  while (start <= rest.size()) {
    size_t amp = rest.find('&', start);
    std::string pair = rest.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    size_t eq = pair.find('=');
    if (!pair.empty()) out[decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : decode(pair.substr(eq + 1));
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return out;
}

std::string HeaderOf(const std::vector<std::pair<std::string, std::string>>& headers, const std::string& name) {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return "";
}

class AliTest : public FakeClockRegistryTest {
 protected:
  AliTest() { now_ = std::chrono::sys_days{std::chrono::March / 1 / 2026}; }
  long NowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now_.time_since_epoch()).count();
  }
  // An ali-acr endpoint on http://ali.test with its OpenAPI at http://api.test.
  // CLOCK: the registry's and the pacer's (default: clock_).
  core::Result<std::unique_ptr<Registry>> Make(Credentials creds = {"LTAI5tTestKey", "test-secret", "x"},
                                               core::Clock* clock = nullptr) {
    core::Endpoint ep;
    ep.name = "ali";
    ep.type = "ali-acr";
    ep.url = "http://ali.test";
    ep.api_url = "http://api.test";
    DistributionOptions options;
    options.clock = clock ? clock : &clock_;
    AliOptions ali;
    ali.wall_clock = [this] { return now_; };
    ali.nonce = [this] { return "nonce-" + std::to_string(++nonces_); };
    return NewAliRegistry(ep, std::move(creds), http_.get(), options, ali);
  }
  std::vector<FakeHttp::Sent> ApiRequests() {
    std::vector<FakeHttp::Sent> out;
    for (const auto& s : http_->sent())
      if (Starts(s.url, "http://api.test")) out.push_back(s);
    return out;
  }
  // The registry's side: a challenge naming SERVICE, a realm taking the temporary login
  // tempuser:tok<N> of the latest /tokens answer, and one manifest.
  std::optional<HttpResponse> RegistrySide(const HttpRequest& req, const std::string& service) {
    if (req.url == "http://ali.test/v2/")
      return Answer(401, {{"www-authenticate", "Bearer realm=\"http://ali.test/auth\",service=\"" + service + "\""}});
    if (Starts(req.url, "http://ali.test/auth?")) {
      realm_logins_.push_back(HeaderOf(req.headers, "Authorization"));
      return Answer(200, {}, R"({"token":"bearer-token","expires_in":300})");
    }
    if (Starts(req.url, "http://ali.test/v2/team/app/manifests/"))
      return Answer(200, {{"docker-content-digest", std::string("sha256:") + kHex1},
                          {"content-type", kOciManifest}, {"content-length", "2"}});
    return std::nullopt;
  }

  SysTime now_;
  int nonces_ = 0;
  int logins_ = 0;
  std::vector<std::string> realm_logins_;
  std::unique_ptr<FakeHttp> http_;
};

constexpr const char* kPersonal = "registry.aliyuncs.com:cn-hangzhou:26842";

TEST_F(AliTest, PersonalEditionListsThroughSignedRoaCallsAcrossPages) {
  http_ = std::make_unique<FakeHttp>(&clock_, [&](const HttpRequest& req) {
    if (auto r = RegistrySide(req, kPersonal)) return *r;
    if (req.url == "http://api.test/namespace")
      return Answer(200, {}, R"({"data":{"namespaces":[{"namespace":"team"},{"namespace":"ops"}]}})");
    if (req.url == "http://api.test/repos/team?Page=1&PageSize=100")
      return Answer(200, {}, R"({"data":{"page":1,"pageSize":2,"total":3,"repos":[
        {"repoName":"a","repoNamespace":"team"},{"repoName":"b","repoNamespace":"team"}]}})");
    if (req.url == "http://api.test/repos/team?Page=2&PageSize=100")
      return Answer(200, {}, R"({"data":{"page":2,"pageSize":2,"total":3,"repos":[{"repoName":"c","repoNamespace":"team"}]}})");
    if (req.url == "http://api.test/repos/ops?Page=1&PageSize=100")
      return Answer(200, {}, R"({"data":{"page":1,"pageSize":100,"total":0,"repos":[]}})");
    if (req.url == "http://api.test/repos/team/a/tags?Page=1&PageSize=100")
      return Answer(200, {}, std::string(R"({"data":{"page":1,"pageSize":1,"total":2,"tags":[{"tag":"v1","digest":")") +
                                 kHex1 + R"("}]}})");
    if (req.url == "http://api.test/repos/team/a/tags?Page=2&PageSize=100")
      return Answer(200, {}, std::string(R"({"data":{"page":2,"pageSize":1,"total":2,"tags":[{"tag":"v2","digest":")") +
                                 kHex2 + R"("}]}})");
    return Answer(404, {}, R"({"code":"REPO_NOT_EXIST","message":"repo not exist"})");
  });
  auto ali = Make();
  ASSERT_TRUE(ali.ok()) << ali.status().message();
  auto repos = (*ali)->ListRepositories();
  ASSERT_TRUE(repos.ok()) << repos.status().message();
  EXPECT_EQ(*repos, (std::vector<std::string>{"team/a", "team/b", "team/c"}));
  EXPECT_TRUE((*ali)->ListingHasDigests());
  auto tags = (*ali)->ListTagsWithDigests("team/a");
  ASSERT_TRUE(tags.ok()) << tags.status().message();
  EXPECT_EQ(tags->tags, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(tags->digests.at("v2"), std::string("sha256:") + kHex2);
  EXPECT_EQ((*ali)->ListTagsWithDigests("team/zzz").status().code(), core::Code::kNotFound);
  EXPECT_EQ((*ali)->ListTagsWithDigests("team/a/b").status().code(), core::Code::kNotFound);

  // Every OpenAPI call is signed over what it sends.
  ASSERT_FALSE(ApiRequests().empty());
  for (const auto& s : ApiRequests()) {
    RoaRequest r;
    r.accept = HeaderOf(s.headers, "Accept");
    r.content_md5 = HeaderOf(s.headers, "Content-MD5");
    r.content_type = HeaderOf(s.headers, "Content-Type");
    r.date = HeaderOf(s.headers, "Date");
    for (const auto& [k, v] : s.headers)
      if (k.starts_with("x-acs-")) r.acs_headers[k] = v;
    const std::string path = s.url.substr(std::string("http://api.test").size());
    r.path = path.substr(0, path.find('?'));
    for (const auto& [k, v] : QueryOf(s.url)) r.query[k] = v;
    EXPECT_EQ(r.date, "Sun, 01 Mar 2026 00:00:00 GMT");
    EXPECT_EQ(r.acs_headers["x-acs-version"], "2016-06-07");
    EXPECT_EQ(r.acs_headers["x-acs-region-id"], "cn-hangzhou");
    EXPECT_EQ(HeaderOf(s.headers, "Authorization"),
              "acs LTAI5tTestKey:" + RoaSignature(RoaStringToSign(r), "test-secret"))
        << s.url;
  }
}

TEST_F(AliTest, TheRegistryLoginIsTheTemporaryOneRenewedBeforeItExpires) {
  http_ = std::make_unique<FakeHttp>(&clock_, [&](const HttpRequest& req) {
    if (auto r = RegistrySide(req, kPersonal)) return *r;
    if (req.url == "http://api.test/tokens") {
      ++logins_;
      return Answer(200, {}, R"({"data":{"tempUserName":"cr_temp_user","authorizationToken":"tok)" +
                                 std::to_string(logins_) + R"(","expireDate":)" +
                                 std::to_string(NowMs() + 3600 * 1000) + "}}");
    }
    return Answer(404);
  });
  auto ali = Make();
  ASSERT_TRUE(ali.ok());
  auto head = (*ali)->HeadManifest("team/app", "v1");
  ASSERT_TRUE(head.ok()) << head.status().message();
  ASSERT_TRUE(head->has_value());
  ASSERT_EQ(realm_logins_.size(), 1u);
  EXPECT_EQ(realm_logins_[0], BasicAuthorization({"cr_temp_user", "tok1", ""}));
  // Within the hour: the same login, no new /tokens call.
  now_ += std::chrono::minutes(30);
  ASSERT_TRUE((*ali)->HeadManifest("team/app", "v1").ok());
  EXPECT_EQ(logins_, 1);
  // Five minutes before the end: a new one, which the next token request carries.
  now_ += std::chrono::minutes(26);
  clock_.SleepFor(std::chrono::minutes(10));  // the bearer token has expired meanwhile
  ASSERT_TRUE((*ali)->HeadManifest("team/app", "v1").ok());
  EXPECT_EQ(logins_, 2);
  ASSERT_EQ(realm_logins_.size(), 2u);
  EXPECT_EQ(realm_logins_[1], BasicAuthorization({"cr_temp_user", "tok2", ""}));
  // The stand-in login never leaves crossdock.
  for (const auto& s : http_->sent())
    EXPECT_EQ(HeaderOf(s.headers, "Authorization").find(BasicAuthorization({kAliLoginStandIn, "-", ""})),
              std::string::npos);
}

// An answer without a usable expiry (none, 0, or past) is taken to last an hour, on the
// injected wall clock: the login is not fetched again before every call.
TEST_F(AliTest, ALoginWithoutAnExpiryIsTakenToLastAnHour) {
  for (const std::string& expiry : {std::string(), std::string(R"(,"expireDate":0)"),
                                   R"(,"expireDate":)" + std::to_string(NowMs() - 1000)}) {
    logins_ = 0;
    http_ = std::make_unique<FakeHttp>(&clock_, [&](const HttpRequest& req) {
      if (auto r = RegistrySide(req, kPersonal)) return *r;
      if (req.url == "http://api.test/tokens") {
        ++logins_;
        return Answer(200, {}, R"({"data":{"tempUserName":"cr_temp_user","authorizationToken":"tok)" +
                                   std::to_string(logins_) + "\"" + expiry + "}}");
      }
      return Answer(404);
    });
    auto ali = Make();
    ASSERT_TRUE(ali.ok());
    const SysTime start = now_;
    ASSERT_TRUE((*ali)->HeadManifest("team/app", "v1").ok()) << expiry;
    ASSERT_TRUE((*ali)->HeadManifest("team/app", "v2").ok()) << expiry;
    now_ += std::chrono::minutes(50);
    ASSERT_TRUE((*ali)->HeadManifest("team/app", "v3").ok()) << expiry;
    EXPECT_EQ(logins_, 1) << expiry;
    now_ += std::chrono::minutes(6);  // within five minutes of the assumed hour
    ASSERT_TRUE((*ali)->HeadManifest("team/app", "v4").ok()) << expiry;
    EXPECT_EQ(logins_, 2) << expiry;
    now_ = start;
  }
}

TEST_F(AliTest, EnterpriseEditionListsThroughSignedRpcCalls) {
  http_ = std::make_unique<FakeHttp>(&clock_, [&](const HttpRequest& req) {
    if (auto r = RegistrySide(req, "registry.aliyuncs.com:cn-shanghai:china:cri-abc123")) return *r;
    if (!Starts(req.url, "http://api.test/?")) return Answer(404);
    auto q = QueryOf(req.url);
    const std::string action = q["Action"];
    if (q["InstanceId"] != "cri-abc123" || q["RegionId"] != "cn-shanghai" || q["Version"] != "2018-12-01")
      return Answer(400, {}, R"({"Code":"MissingParameter"})");
    if (action == "ListNamespace")
      return Answer(200, {}, R"({"IsSuccess":true,"TotalCount":"1","PageNo":1,"PageSize":100,
                                 "Namespaces":[{"NamespaceName":"team"}]})");
    if (action == "ListRepository" && q["RepoNamespaceName"] == "team" && q["RepoStatus"] == "NORMAL")
      return Answer(200, {}, R"({"IsSuccess":true,"TotalCount":"1","PageNo":1,"PageSize":100,
                                 "Repositories":[{"RepoName":"app","RepoNamespaceName":"team","RepoId":"crr-1"}]})");
    if (action == "ListRepoTag" && q["RepoId"] == "crr-1" && q["PageNo"] == "1")
      return Answer(200, {}, std::string(R"({"IsSuccess":true,"TotalCount":"2","PageNo":1,"PageSize":1,
                                 "Images":[{"Tag":"v1","Digest":")") + kHex1 + R"("}]})");
    if (action == "ListRepoTag" && q["RepoId"] == "crr-1" && q["PageNo"] == "2")
      return Answer(200, {}, std::string(R"({"IsSuccess":true,"TotalCount":"2","PageNo":2,"PageSize":1,
                                 "Images":[{"Tag":"v2","Digest":")") + kHex2 + R"("}]})");
    if (action == "GetAuthorizationToken")
      return Answer(200, {}, R"({"IsSuccess":true,"TempUsername":"cr_temp_user","AuthorizationToken":"ee-tok",
                                 "ExpireTime":)" + std::to_string(NowMs() + 3600 * 1000) + "}");
    return Answer(200, {}, R"({"IsSuccess":false,"Code":"NAMESPACE_NOT_EXIST"})");
  });
  auto ali = Make();
  ASSERT_TRUE(ali.ok());
  EXPECT_EQ(*(*ali)->ListRepositories(), (std::vector<std::string>{"team/app"}));
  auto tags = (*ali)->ListTagsWithDigests("team/app");
  ASSERT_TRUE(tags.ok()) << tags.status().message();
  EXPECT_EQ(tags->tags, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(tags->digests.at("v1"), std::string("sha256:") + kHex1);
  ASSERT_TRUE((*ali)->HeadManifest("team/app", "v1").ok());
  EXPECT_EQ(realm_logins_.at(0), BasicAuthorization({"cr_temp_user", "ee-tok", ""}));
  auto control = (*ali)->CheckControlPlane();
  ASSERT_TRUE(control.ok()) << control.status().message();
  EXPECT_EQ(*control,
            "Alibaba Cloud ACR enterprise instance cri-abc123 API at http://api.test answered (region "
            "cn-shanghai); 1 namespace(s) visible to AccessKey LTAI5tTestKey");
  std::set<std::string> nonces;
  for (const auto& s : ApiRequests()) {
    auto q = QueryOf(s.url);
    const std::string signature = q["Signature"];
    q.erase("Signature");
    EXPECT_EQ(signature, RpcSignature(RpcStringToSign("GET", q), "test-secret")) << s.url;
    EXPECT_EQ(q["Timestamp"], "2026-03-01T00:00:00Z");
    EXPECT_TRUE(nonces.insert(q["SignatureNonce"]).second) << "nonce used twice: " << s.url;
  }
}

TEST_F(AliTest, RefusalsShowAlibabaCloudsCodeAndAreNotAskedAgain) {
  std::string answer =
      R"({"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. )"
      R"(server string to sign is:GET\napplication/json\n/tokens"})";
  http_ = std::make_unique<FakeHttp>(&clock_, [&](const HttpRequest& req) {
    if (auto r = RegistrySide(req, kPersonal)) return *r;
    return Answer(400, {}, answer);
  });
  auto ali = Make();
  core::Status st = (*ali)->Ping();
  EXPECT_EQ(st.code(), core::Code::kUnauthenticated);
  EXPECT_EQ(st.message(),
            "getting a registry login (GetAuthorizationToken) at endpoint \"ali\" (Alibaba Cloud ACR API at "
            "http://api.test): HTTP 400, Alibaba Cloud error SignatureDoesNotMatch: Specified signature is not "
            "matched with our calculation.; check the endpoint's password: it must be the AccessKey secret of "
            "AccessKey ID \"LTAI5tTestKey\"");
  EXPECT_EQ(st.message().find("test-secret"), std::string::npos);
  EXPECT_EQ((*ali)->HeadManifest("team/app", "v1").status().message(), st.message());
  EXPECT_EQ(ApiRequests().size(), 1u);  // remembered, not asked again

  answer = R"({"Code":"InvalidTimeStamp.Expired","Message":"Specified time stamp or date value is expired."})";
  auto skewed = Make();
  EXPECT_NE((*skewed)->Ping().message().find("Alibaba Cloud error InvalidTimeStamp.Expired: Specified time stamp "
                                             "or date value is expired.; the request's time is too far from "
                                             "Alibaba Cloud's: check the machine's clock"),
            std::string::npos);
  answer = R"({"Code":"InvalidAccessKeyId.NotFound","Message":"Specified access key is not found."})";
  EXPECT_NE(Make().value()->Ping().message().find("InvalidAccessKeyId.NotFound"), std::string::npos);
}

TEST_F(AliTest, NamespacesMustExistAndAreNeverCreated) {
  http_ = std::make_unique<FakeHttp>(&clock_, [&](const HttpRequest& req) {
    if (auto r = RegistrySide(req, kPersonal)) return *r;
    if (req.url == "http://api.test/namespace")
      return Answer(200, {}, R"({"data":{"namespaces":[{"namespace":"team"}]}})");
    return Answer(404);
  });
  auto ali = Make();
  EXPECT_TRUE((*ali)->CheckNamespace("team/app")->exists);
  auto missing = (*ali)->CheckNamespace("other/app");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->exists);
  EXPECT_EQ(missing->refusal,
            "namespace \"other\" does not exist at endpoint \"ali\" (Alibaba Cloud ACR, cn-hangzhou); create it "
            "in the Container Registry console first: crossdock does not create ACR namespaces");
  EXPECT_EQ((*ali)->EnsureNamespace("other/app").code(), core::Code::kPermissionDenied);
  EXPECT_EQ(http_->Count("PUT", "api.test") + http_->Count("POST", "api.test"), 0);
  EXPECT_EQ((*ali)->path_rule().max_components, 2);
}

// A clock that counts the waits asked of it (a SleepUntil into the future).
class CountingClock : public FakeClock {
 public:
  void SleepUntil(TimePoint t) override {
    if (t > Now()) ++waits_;
    FakeClock::SleepUntil(t);
  }
  int waits() const { return waits_; }

 private:
  std::atomic<int> waits_{0};
};

TEST_F(AliTest, OpenApiRequestsArePacedAtFifteenASecond) {
  CountingClock counting;
  http_ = std::make_unique<FakeHttp>(&counting, [&](const HttpRequest& req) {
    if (auto r = RegistrySide(req, kPersonal)) return *r;
    return Answer(200, {}, R"({"data":{"namespaces":[]}})");
  });
  auto ali = Make({"LTAI5tTestKey", "test-secret", "x"}, &counting);
  ASSERT_TRUE(ali.ok());
  for (int i = 0; i < 31; ++i) ASSERT_TRUE((*ali)->CheckNamespace("missing/app").ok());  // one call each
  const std::vector<FakeHttp::Sent> api = ApiRequests();
  ASSERT_EQ(api.size(), 31u);
  // The first goes at once, each other one waits for its turn: 1/15 s apart.
  EXPECT_EQ(counting.waits(), 30);
  for (size_t i = 1; i < api.size(); ++i) EXPECT_GE((api[i].at - api[i - 1].at).count(), 66) << i;
  EXPECT_GE((api[30].at - api[0].at).count(), 2000 - 1);  // 30 intervals of 1/15 s
}

TEST_F(AliTest, AUsernameThatIsNoAccessKeyIdIsRefusedUpFront) {
  http_ = std::make_unique<FakeHttp>(&clock_, [](const HttpRequest&) { return Answer(500); });
  auto bad = Make({"me@example.com", "registry-password", "auths in /h/.docker/config.json"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), core::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("username of endpoint \"ali\" (from auths in /h/.docker/config.json) is "
                                        "not a RAM AccessKey ID"),
            std::string::npos);
  EXPECT_EQ(bad.status().message().find("registry-password"), std::string::npos);
  EXPECT_TRUE(http_->sent().empty());

  core::Diagnostics diags;
  core::ParseConfig(R"([endpoints.ali]
type = "ali-acr"
url = "https://registry.cn-hangzhou.aliyuncs.com"
username = "me@example.com"
password = "env:ALI_SECRET"
[rules.r]
source = "ali"
destination = "ali"
)",
                    "crossdock.toml", &diags);
  bool found = false;
  for (const auto& d : diags.items())
    found |= core::FormatDiagnostic(d).starts_with(
        "crossdock.toml:4:12: error: username of endpoint \"ali\" must be a RAM AccessKey ID");
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace crossdock::providers
