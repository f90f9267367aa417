// EcrRegistry against a scripted ECR (FakeHttp): the signed JSON 1.1 calls, the registry
// login from GetAuthorizationToken and its renewal, ListImages pages, repositories as
// namespaces, BatchDeleteImage failures and AWS's error codes with what to do. The
// end-to-end tests run it against tests/fakes/ecr, which checks the signatures.
#include "providers/aws/ecr.h"

#include <nlohmann/json.hpp>

#include "core/encoding.h"
#include "providers/credentials.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

using nlohmann::json;
using WallTime = std::chrono::system_clock::time_point;

constexpr const char* kD1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
constexpr const char* kD2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

std::string B64(const std::string& in) { return core::Base64Encode(in); }

std::string HeaderOf(const HttpRequest& req, const std::string& name) {
  for (const auto& [k, v] : req.headers)
    if (k == name) return v;
  return "";
}

HttpResponse AwsError(const std::string& type, const std::string& message) {
  return Answer(400, {{"content-type", "application/x-amz-json-1.1"}},
                json{{"__type", type}, {"message", message}}.dump());
}

// An ECR API at http://ecr-api.test and its registry at http://registry.test: ANSWER
// gets each API call (operation, body); the registry takes Basic AWS:<the current
// password> and answers 200 to everything else.
class EcrTest : public FakeClockRegistryTest {
 protected:
  using Api = std::function<HttpResponse(const std::string& op, const json& body)>;

  void SetUp() override { now_ = WallTime(std::chrono::seconds(1440938160)); }

  void Serve(Api api) {
    api_ = std::move(api);
    http_ = std::make_unique<FakeHttp>(&clock_, [this](const HttpRequest& req) {
      if (Starts(req.url, "http://ecr-api.test/")) {
        std::string target = HeaderOf(req, "X-Amz-Target");
        const std::string prefix = "AmazonEC2ContainerRegistry_V20150921.";
        if (!Starts(target, prefix)) return Answer(400, {}, R"({"__type":"UnknownOperationException"})");
        calls_.push_back({target.substr(prefix.size()), json::parse(req.body)});
        requests_.push_back(req);
        return api_(calls_.back().first, calls_.back().second);
      }
      const std::string auth = HeaderOf(req, "Authorization");
      if (auth != "Basic " + B64("AWS:" + password_))
        return Answer(401, {{"www-authenticate",
                             "Basic realm=\"https://registry.test/\",service=\"ecr.amazonaws.com\""}});
      if (req.method == "HEAD")
        return Answer(200, {{"docker-content-digest", kD1},
                            {"content-type", "application/vnd.oci.image.manifest.v1+json"}});
      return Answer(200);
    });
  }

  // A GetAuthorizationToken answer for PASSWORD, expiring LIFETIME after now_.
  HttpResponse Token(const std::string& password, std::chrono::seconds lifetime) {
    const double expires =
        std::chrono::duration<double>((now_ + lifetime).time_since_epoch()).count();
    return Answer(200, {},
                  json{{"authorizationData",
                        {{{"authorizationToken", B64("AWS:" + password)},
                          {"expiresAt", expires},
                          {"proxyEndpoint", "https://registry.test"}}}}}
                      .dump());
  }

  std::unique_ptr<EcrRegistry> Ecr(std::string registry_id = "", std::string token = "") {
    EcrRegistry::Options o;
    o.region = "us-west-2";
    o.registry_id = std::move(registry_id);
    o.keys = {"AKIDEXAMPLE", kSecret, std::move(token)};
    o.keys_source = "the endpoint's username and password";
    o.now = [this] { return now_; };
    return std::make_unique<EcrRegistry>(Make(http_.get(), "http://registry.test", {"AWS", "", "x"}),
                                         "http://ecr-api.test", std::move(o));
  }

  int Calls(const std::string& op) const {
    return static_cast<int>(std::count_if(calls_.begin(), calls_.end(),
                                          [&](const auto& c) { return c.first == op; }));
  }

  WallTime now_;
  std::string password_ = "pw1";
  Api api_;
  std::unique_ptr<FakeHttp> http_;
  std::vector<std::pair<std::string, json>> calls_;
  std::vector<HttpRequest> requests_;
};

TEST_F(EcrTest, ApiCallsAreSignedJson11ForServiceEcr) {
  Serve([&](const std::string&, const json&) { return Token("pw1", std::chrono::hours(12)); });
  auto ecr = Ecr("123456789012", "session-token");
  ASSERT_TRUE(ecr->Ping().ok());
  ASSERT_EQ(requests_.size(), 1u);
  const HttpRequest& req = requests_[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "http://ecr-api.test/");
  EXPECT_EQ(HeaderOf(req, "Host"), "ecr-api.test");
  EXPECT_EQ(HeaderOf(req, "Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(HeaderOf(req, "X-Amz-Target"), "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken");
  EXPECT_EQ(HeaderOf(req, "X-Amz-Date"), "20150830T123600Z");
  EXPECT_EQ(HeaderOf(req, "X-Amz-Security-Token"), "session-token");
  EXPECT_EQ(json::parse(req.body), (json{{"registryIds", {"123456789012"}}}));
  // The signature itself is SignV4's (sigv4_test.cc); here, what it covers.
  EXPECT_TRUE(Starts(HeaderOf(req, "Authorization"),
                     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-west-2/ecr/aws4_request, "
                     "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
                     "Signature="))
      << HeaderOf(req, "Authorization");
  for (const auto& s : http_->sent())
    for (const auto& [k, v] : s.headers) EXPECT_EQ(v.find(kSecret), std::string::npos) << k;
}

TEST_F(EcrTest, RegistryLoginIsReusedThenRenewedShortlyBeforeItExpires) {
  int issued = 0;
  Serve([&](const std::string& op, const json&) {
    EXPECT_EQ(op, "GetAuthorizationToken");
    password_ = "pw" + std::to_string(++issued);
    return Token(password_, std::chrono::hours(12));
  });
  auto ecr = Ecr();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ecr->HeadManifest("team/app", "v1").ok());
  EXPECT_EQ(issued, 1);
  now_ += std::chrono::hours(12) - std::chrono::minutes(6);  // still 6 minutes left
  ASSERT_TRUE(ecr->HeadManifest("team/app", "v1").ok());
  EXPECT_EQ(issued, 1);
  now_ += std::chrono::minutes(2);  // 4 minutes left: within the 5-minute margin
  auto h = ecr->HeadManifest("team/app", "v1");
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(issued, 2);
  int basic_pw2 = 0;
  for (const auto& s : http_->sent())
    for (const auto& [k, v] : s.headers) basic_pw2 += k == "Authorization" && v == "Basic " + B64("AWS:pw2");
  EXPECT_EQ(basic_pw2, 1);
}

TEST_F(EcrTest, RegistryRefusingTheLoginGetsANewOneOnce) {
  int issued = 0;
  Serve([&](const std::string&, const json&) {
    ++issued;
    return Token("pw" + std::to_string(issued), std::chrono::hours(12));
  });
  auto ecr = Ecr();
  password_ = "pw1";
  ASSERT_TRUE(ecr->HeadManifest("team/app", "v1").ok());
  password_ = "pw2";  // the registry no longer takes pw1 (revoked, or clocks apart)
  auto h = ecr->HeadManifest("team/app", "v1");
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(issued, 2);
  password_ = "never";
  auto refused = ecr->HeadManifest("team/app", "v1");
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(issued, 3);  // once per refusal, not in a loop
}

TEST_F(EcrTest, ErrorsShowAwsCodeAndSayWhatToDoWithoutTheSecret) {
  struct Case {
    HttpResponse answer;
    core::Code code;
    std::string says;
  };
  std::vector<Case> cases = {
      {AwsError("UnrecognizedClientException", "The security token included in the request is invalid."),
       core::Code::kUnauthenticated,
       "GetAuthorizationToken at endpoint \"src\" (ECR API at http://ecr-api.test): HTTP 400, "
       "UnrecognizedClientException: The security token included in the request is invalid.; AWS "
       "does not know the access key id AKIDEXAMPLE (from the endpoint's username and password): "
       "check the endpoint's username (the access key id), and AWS_SESSION_TOKEN for temporary keys"},
      {AwsError("InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service "
                "documentation for details."),
       core::Code::kUnauthenticated,
       "; the secret access key does not belong to access key AKIDEXAMPLE (from the endpoint's "
       "username and password): check the endpoint's password (the secret access key)"},
      {AwsError("InvalidSignatureException",
                "Signature expired: 20150830T123600Z is now earlier than 20150830T140000Z "
                "(20150830T141500Z - 15 min.)"),
       core::Code::kUnauthenticated,
       "HTTP 400, InvalidSignatureException: Signature expired: 20150830T123600Z is now earlier "
       "than 20150830T140000Z (20150830T141500Z - 15 min.); AWS refuses a request signed more "
       "than 15 minutes away from its own time, and this one was signed at 20150830T123600Z by "
       "this machine's clock: check the machine's clock (NTP, timedatectl)"},
      {Answer(400, {{"x-amzn-errortype", "ThrottlingException:http://internal.amazon.com/"}},
              R"({"message":"Rate exceeded"})"),
       core::Code::kUnavailable, "HTTP 400, ThrottlingException: Rate exceeded; AWS throttles"},
  };
  for (const auto& c : cases) {
    Serve([&](const std::string&, const json&) { return c.answer; });
    core::Status st = Ecr()->Ping();
    EXPECT_EQ(st.code(), c.code) << st.message();
    EXPECT_NE(st.message().find(c.says), std::string::npos) << st.message();
    EXPECT_EQ(st.message().find(kSecret), std::string::npos);
  }
}

TEST_F(EcrTest, TagsAndDigestsFromListImagesPages) {
  Serve([&](const std::string& op, const json& body) {
    EXPECT_EQ(op, "ListImages");
    EXPECT_EQ(body.at("maxResults"), 1000);
    EXPECT_EQ(body.at("filter"), (json{{"tagStatus", "TAGGED"}}));
    EXPECT_EQ(body.at("registryId"), "123456789012");
    if (body.at("repositoryName") == "missing")
      return AwsError("RepositoryNotFoundException",
                      "The repository with name 'missing' does not exist in the registry with id "
                      "'123456789012'");
    if (!body.contains("nextToken"))
      return Answer(200, {}, json{{"imageIds", {{{"imageDigest", kD1}, {"imageTag", "v1"}}}},
                                  {"nextToken", "page2"}}.dump());
    EXPECT_EQ(body.at("nextToken"), "page2");
    return Answer(200, {}, json{{"imageIds", {{{"imageDigest", kD2}, {"imageTag", "v2"}},
                                              {{"imageDigest", kD1}, {"imageTag", "latest"}}}}}
                               .dump());
  });
  auto ecr = Ecr("123456789012");
  EXPECT_TRUE(ecr->ListingHasDigests());
  auto l = ecr->ListTagsWithDigests("team/app");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->tags, (std::vector<std::string>{"v1", "v2", "latest"}));
  EXPECT_EQ(l->digests.at("v2"), kD2);
  EXPECT_EQ(l->digests.at("latest"), kD1);
  auto missing = ecr->ListTags("missing");
  EXPECT_EQ(missing.status().code(), core::Code::kNotFound) << missing.status().message();
  // A listed repository exists: no DescribeRepositories for it.
  auto ns = ecr->CheckNamespace("team/app");
  ASSERT_TRUE(ns.ok());
  EXPECT_TRUE(ns->exists);
  EXPECT_EQ(Calls("DescribeRepositories"), 0);
}

TEST_F(EcrTest, RepositoriesFromDescribeRepositoriesPages) {
  Serve([&](const std::string& op, const json& body) {
    EXPECT_EQ(op, "DescribeRepositories");
    EXPECT_EQ(body.at("maxResults"), 1000);
    if (!body.contains("nextToken"))
      return Answer(200, {}, json{{"repositories", {{{"repositoryName", "a"}}}}, {"nextToken", "t"}}.dump());
    return Answer(200, {}, json{{"repositories", {{{"repositoryName", "team/b"}}}}}.dump());
  });
  auto repos = Ecr()->ListRepositories();
  ASSERT_TRUE(repos.ok()) << repos.status().message();
  EXPECT_EQ(*repos, (std::vector<std::string>{"a", "team/b"}));
}

TEST_F(EcrTest, EachRepositoryIsANamespaceCreatedBeforeTheFirstPush) {
  std::set<std::string> existing = {"raced"};
  Serve([&](const std::string& op, const json& body) {
    if (op == "DescribeRepositories") {
      const std::string r = body.at("repositoryNames").at(0);
      if (!existing.count(r) || r == "raced")
        return AwsError("RepositoryNotFoundException", "The repository with name '" + r + "' does not exist");
      return Answer(200, {}, json{{"repositories", {{{"repositoryName", r}}}}}.dump());
    }
    EXPECT_EQ(op, "CreateRepository");
    const std::string r = body.at("repositoryName");
    if (existing.count(r))
      return AwsError("RepositoryAlreadyExistsException", "The repository with name '" + r + "' already exists");
    existing.insert(r);
    return Answer(200, {}, json{{"repository", {{"repositoryName", r}}}}.dump());
  });
  auto ecr = Ecr();
  auto ns = ecr->CheckNamespace("team/app");
  ASSERT_TRUE(ns.ok()) << ns.status().message();
  EXPECT_EQ(ns->name, "team/app");
  EXPECT_FALSE(ns->exists);
  EXPECT_EQ(ns->refusal, "");
  ASSERT_TRUE(ecr->EnsureNamespace("team/app").ok());
  EXPECT_EQ(Calls("CreateRepository"), 1);
  ASSERT_TRUE(ecr->EnsureNamespace("team/app").ok());  // known now: no call
  EXPECT_EQ(Calls("CreateRepository"), 1);
  core::Status raced = ecr->EnsureNamespace("raced");
  EXPECT_TRUE(raced.ok()) << raced.message();
}

TEST_F(EcrTest, CreateRepositoryDeniedNamesThePermission) {
  Serve([&](const std::string& op, const json&) {
    if (op == "DescribeRepositories") return AwsError("RepositoryNotFoundException", "not there");
    return AwsError("AccessDeniedException",
                    "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
                    "ecr:CreateRepository on resource: arn:aws:ecr:us-west-2:123456789012:"
                    "repository/team/app because no identity-based policy allows the "
                    "ecr:CreateRepository action");
  });
  core::Status st = Ecr()->EnsureNamespace("team/app");
  EXPECT_EQ(st.code(), core::Code::kPermissionDenied);
  EXPECT_NE(st.message().find("CreateRepository \"team/app\" at endpoint \"src\" (ECR API at "
                              "http://ecr-api.test): HTTP 400, AccessDeniedException: User: "),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("; the access key AKIDEXAMPLE lacks the IAM permission "
                              "ecr:CreateRepository: grant it to its user or role, or create the "
                              "repository \"team/app\" in ECR first; nothing was pushed to it"),
            std::string::npos)
      << st.message();
}

TEST_F(EcrTest, BatchDeleteImageByTagAndItsFailures) {
  Serve([&](const std::string& op, const json& body) {
    EXPECT_EQ(op, "BatchDeleteImage");
    const json id = body.at("imageIds").at(0);
    if (id == json{{"imageTag", "v1"}})
      return Answer(200, {}, json{{"imageIds", {{{"imageDigest", kD1}, {"imageTag", "v1"}}}},
                                  {"failures", json::array()}}.dump());
    if (id == json{{"imageTag", "gone"}})
      return Answer(200, {}, json{{"imageIds", json::array()},
                                  {"failures", {{{"imageId", id}, {"failureCode", "ImageNotFound"},
                                                 {"failureReason", "Requested image not found"}}}}}
                                 .dump());
    return Answer(200, {}, json{{"imageIds", json::array()},
                                {"failures", {{{"imageId", id},
                                               {"failureCode", "ImageReferencedByManifestList"},
                                               {"failureReason", "Requested image referenced by manifest list"}}}}}
                               .dump());
  });
  auto ecr = Ecr();
  EXPECT_TRUE(ecr->DeletesTagsAlone());
  EXPECT_TRUE(ecr->DeleteTag("team/app", "v1", kD1).ok());
  core::Status gone = ecr->DeleteTag("team/app", "gone", kD1);
  EXPECT_EQ(gone.code(), core::Code::kNotFound);
  core::Status refused = ecr->DeleteManifest("team/app", kD2);
  EXPECT_EQ(refused.code(), core::Code::kConflict);
  EXPECT_EQ(refused.message(),
            std::string("BatchDeleteImage \"team/app@") + kD2 +
                "\" at endpoint \"src\" (ECR API at http://ecr-api.test): not deleted, "
                "ImageReferencedByManifestList: Requested image referenced by manifest list; an "
                "image index in the repository still names it");
  EXPECT_EQ(calls_.back().second.at("imageIds"), (json{{{"imageDigest", kD2}}}));
}

TEST_F(EcrTest, ControlPlaneCheckLogsInAndListsOnePage) {
  Serve([&](const std::string& op, const json&) {
    if (op == "GetAuthorizationToken") return Token("pw1", std::chrono::hours(12));
    return Answer(200, {}, json{{"repositories", {{{"repositoryName", "a"}}, {{"repositoryName", "b"}}}}}.dump());
  });
  auto seen = Ecr()->CheckControlPlane();
  ASSERT_TRUE(seen.ok()) << seen.status().message();
  EXPECT_EQ(*seen,
            "ECR API at http://ecr-api.test (region us-west-2) signed as access key AKIDEXAMPLE: "
            "GetAuthorizationToken answered (registry login valid until 2015-08-31T00:36:00Z), "
            "DescribeRepositories listed 2 repositories");
}

TEST(EcrTokenTest, AuthorizationTokenIsBase64UserColonPassword) {
  auto c = DecodeEcrAuthorizationToken(B64("AWS:secret-pw"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->username, "AWS");
  EXPECT_EQ(c->password, "secret-pw");
  auto bad = DecodeEcrAuthorizationToken(B64("no-colon-here"));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("no-colon"), std::string::npos);
  EXPECT_FALSE(DecodeEcrAuthorizationToken("%%%").ok());
}

// The access key of an aws-ecr endpoint: its username and password, else the
// environment, never an auth file.
class EcrKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lookup_.getenv = [this](const char* k) -> const char* {
      auto it = env_.find(k);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
    endpoint_.name = "ecr";
    endpoint_.type = "aws-ecr";
    endpoint_.url = "https://123456789012.dkr.ecr.us-east-1.amazonaws.com";
  }
  std::map<std::string, std::string> env_;
  CredentialLookup lookup_;
  core::Endpoint endpoint_;
};

TEST_F(EcrKeysTest, FromTheEnvironmentSayingSo) {
  env_ = {{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", kSecret}};
  auto c = FindCredentials(endpoint_, lookup_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->username, "AKIDENV");
  EXPECT_EQ(c->password, kSecret);
  EXPECT_EQ(c->source, "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)");
  env_["AWS_SESSION_TOKEN"] = "tok";
  EXPECT_EQ(FindCredentials(endpoint_, lookup_)->source,
            "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)");
}

TEST_F(EcrKeysTest, TheEndpointsOwnKeysComeFirst) {
  env_ = {{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "env-secret"}, {"ECR_SECRET", kSecret}};
  endpoint_.username = "AKIDCONF";
  endpoint_.password = {"env:ECR_SECRET", {}};
  setenv("ECR_SECRET", kSecret, 1);  // core::ResolveSecret reads the process's environment
  auto c = FindCredentials(endpoint_, lookup_);
  unsetenv("ECR_SECRET");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->username, "AKIDCONF");
  EXPECT_EQ(c->password, kSecret);
  EXPECT_EQ(c->source, "the endpoint's username and password");
}

TEST_F(EcrKeysTest, MissingKeysSayWhatToSet) {
  env_ = {{"AWS_ACCESS_KEY_ID", "AKIDENV"}};
  auto c = FindCredentials(endpoint_, lookup_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "endpoint \"ecr\" (aws-ecr) has no username and password, and AWS_SECRET_ACCESS_KEY "
            "is not set in the environment; set the endpoint's username (the access key id) and "
            "password (the secret access key, e.g. password = \"env:NAME\"), or export "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  endpoint_.username = "AKIDCONF";
  EXPECT_EQ(FindCredentials(endpoint_, lookup_).status().message(),
            "endpoint \"ecr\" (aws-ecr) has a username (the access key id) but no password (the "
            "secret access key)");
}

}  // namespace
}  // namespace crossdock::providers
