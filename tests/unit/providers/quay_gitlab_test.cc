// QuayRegistry and GitLabRegistry against scripted APIs (FakeHttp): the json_file
// secret, Quay's tag pages and organisations, GitLab's project lookup, depth rule and
// API discovery from the token realm. The end-to-end tests run them against
// tests/fakes/quay and tests/fakes/gitlab.
#include "providers/gitlab/gitlab.h"
#include "providers/quay/quay.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

constexpr const char* kD1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

TEST(QuaySecretTest, ParsesTheJsonFileSecret) {
  auto s = ParseQuaySecret(R"({"account_name":"org+robot","docker_cli_password":"pw","oauth2_token":"tok"})", "q");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->account_name, "org+robot");
  EXPECT_EQ(s->docker_cli_password, "pw");
  EXPECT_EQ(s->oauth2_token, "tok");
}

TEST(QuaySecretTest, NotJsonSaysWhereAndNeverWhat) {
  auto s = ParseQuaySecret("{\"account_name\":\n  sekrit-value}", "q");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), core::Code::kInvalidArgument);
  EXPECT_NE(s.status().message().find("password of endpoint \"q\" is not JSON (error at line 2, column 3)"),
            std::string::npos)
      << s.status().message();
  EXPECT_EQ(s.status().message().find("sekrit"), std::string::npos);
  auto missing = ParseQuaySecret(R"({"account_name":"a"})", "q");
  EXPECT_NE(missing.status().message().find("lacks account_name or docker_cli_password"),
            std::string::npos);
}

class QuayTest : public FakeClockRegistryTest {
 protected:
  std::unique_ptr<QuayRegistry> Quay(const std::string& api, const std::string& token) {
    return std::make_unique<QuayRegistry>(Make(http_.get(), api, {"me", "pw", ""}), api,
                                          QuaySecret{"me", "pw", token});
  }
  std::unique_ptr<FakeHttp> http_;
};

TEST_F(QuayTest, TagsWithDigestsThroughTheRestApiAcrossPages) {
  http_ = std::make_unique<FakeHttp>(&clock_, [](const HttpRequest& req) {
    if (req.url == "http://quay.test/api/v1/repository/team/app/tag/?limit=100&page=1&onlyActiveTags=true")
      return Answer(200, {}, std::string(R"({"tags":[{"name":"v1","manifest_digest":")") + kD1 + R"("}],"page":1,"has_additional":true})");
    if (req.url == "http://quay.test/api/v1/repository/team/app/tag/?limit=100&page=2&onlyActiveTags=true")
      return Answer(200, {}, std::string(R"({"tags":[{"name":"v2","manifest_digest":")") + kD1 + R"("}],"page":2,"has_additional":false})");
    return Answer(404);
  });
  auto q = Quay("http://quay.test", "tok");
  EXPECT_TRUE(q->ListingHasDigests());
  auto l = q->ListTagsWithDigests("team/app");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->tags, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(l->digests.at("v2"), kD1);
  for (const auto& s : http_->sent()) {
    bool bearer = false;
    for (const auto& [k, v] : s.headers) bearer |= k == "Authorization" && v == "Bearer tok";
    EXPECT_TRUE(bearer) << s.url;
  }
  EXPECT_FALSE(Quay("http://quay.test", "")->ListingHasDigests());
}

TEST_F(QuayTest, QuayIoOrganisationsMustBeCreatedByTheUser) {
  http_ = std::make_unique<FakeHttp>(&clock_, [](const HttpRequest&) { return Answer(404); });
  auto ns = Quay("https://quay.io", "tok")->CheckNamespace("team/app");
  ASSERT_TRUE(ns.ok());
  EXPECT_FALSE(ns->exists);
  EXPECT_EQ(ns->refusal,
            "create the organization \"team\" on quay.io first: quay.io asks a captcha of anyone "
            "creating one through its API");
  auto own = Quay("https://quay.io", "tok")->CheckNamespace("me/app");
  EXPECT_TRUE(own->exists);  // the account's own namespace
}

TEST_F(QuayTest, CaptchaAnswerBecomesWhatToDo) {
  http_ = std::make_unique<FakeHttp>(&clock_, [](const HttpRequest& req) {
    if (req.method == "POST")
      return Answer(400, {}, R"({"error_message":"Are you a bot? If not, please revalidate the captcha."})");
    return Answer(404);
  });
  core::Status st = Quay("http://quay.internal", "tok")->EnsureNamespace("team/app");
  EXPECT_EQ(st.code(), core::Code::kPermissionDenied);
  EXPECT_EQ(st.message(), "create the organization \"team\" on quay.internal first: it asks a "
                          "captcha of anyone creating one through its API");
}

class GitLabTest : public FakeClockRegistryTest {
 protected:
  void SetUp() override {
    http_ = std::make_unique<FakeHttp>(&clock_, [](const HttpRequest& req) {
      if (req.url == "http://registry.test/v2/")
        return Answer(401, {{"www-authenticate",
                             "Bearer realm=\"http://gitlab.test/jwt/auth\",service=\"container_registry\""}});
      if (req.url == "http://gitlab.test/api/v4/projects/group%2Fapp")
        return Answer(200, {}, R"({"id":7,"path_with_namespace":"group/app"})");
      return Answer(404, {}, R"({"message":"404 Project Not Found"})");
    });
  }
  std::unique_ptr<GitLabRegistry> GitLab() {
    return std::make_unique<GitLabRegistry>(Make(http_.get(), "http://registry.test", {"me", "glpat", ""}),
                                            "http://registry.test", "");
  }
  std::unique_ptr<FakeHttp> http_;
};

TEST_F(GitLabTest, ProjectFoundFromTheRealmsHostAndDepthChecked) {
  auto g = GitLab();
  auto ok = g->CheckNamespace("group/app/x/y");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->name, "group/app");
  EXPECT_EQ(ok->refusal, "");
  auto deep = g->CheckNamespace("group/app/x/y/z");
  EXPECT_EQ(deep->refusal, "\"group/app/x/y/z\" goes 3 levels below GitLab project \"group/app\", "
                           "which takes at most 2; set the rule's dest_namespace or flatten");
  auto none = g->CheckNamespace("other/app");
  EXPECT_EQ(none->refusal, "no GitLab project holds \"other/app\" at endpoint \"src\": create the "
                           "project (e.g. \"other\") first; crossdock does not create GitLab projects");
  for (const auto& s : http_->sent())
    if (s.url.find("/api/v4/") != std::string::npos) {
      bool token = false;
      for (const auto& [k, v] : s.headers) token |= k == "PRIVATE-TOKEN" && v == "glpat";
      EXPECT_TRUE(token) << s.url;
    }
}

}  // namespace
}  // namespace crossdock::providers
