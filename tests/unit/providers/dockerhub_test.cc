// DockerHubRegistry against a scripted Hub API (FakeHttp): the token exchange and its
// renewal after a 401, the documented listings with their `next` pages, repository
// creation and tag deletion. The end-to-end tests run it against tests/fakes/dockerhub.
#include "providers/dockerhub/dockerhub.h"

#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

constexpr const char* kD1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

class DockerHubTest : public FakeClockRegistryTest {
 protected:
  using Route = std::function<std::optional<HttpResponse>(const HttpRequest&)>;
  void SetUp() override {
    http_ = std::make_unique<FakeHttp>(&clock_, [this](const HttpRequest& req) {
      if (Ends(req.url, "/v2/auth/token")) {
        ++tokens_;
        if (req.body != R"({"identifier":"me","secret":"dckr_pat_x"})") return Answer(401);
        return Answer(200, {}, "{\"access_token\":\"hub-" + std::to_string(tokens_) + "\"}");
      }
      if (req.url.find("hub.test") != std::string::npos && !expired_.empty()) {
        for (const auto& [k, v] : req.headers)
          if (k == "Authorization" && v == "Bearer " + expired_) return Answer(401);
      }
      for (const auto& r : routes_)
        if (auto a = r(req)) return *a;
      return Answer(404, {}, R"({"detail":"Object not found"})");
    });
  }
  std::unique_ptr<DockerHubRegistry> Hub(Credentials creds = {"me", "dckr_pat_x", ""}) {
    return std::make_unique<DockerHubRegistry>(Make(http_.get(), "http://registry.test", creds),
                                               "http://hub.test");
  }
  std::vector<Route> routes_;
  std::unique_ptr<FakeHttp> http_;
  int tokens_ = 0;
  std::string expired_;
};

TEST_F(DockerHubTest, TagsWithDigestsAcrossNextPages) {
  routes_.push_back([](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.url == "http://hub.test/v2/namespaces/library/repositories/nginx/tags?page_size=100")
      return Answer(200, {}, std::string(R"({"count":3,"next":"http://hub.test/v2/namespaces/library/repositories/nginx/tags?page=2&page_size=100","results":[{"name":"1.27","digest":")") + kD1 + R"("},{"name":"old"}]})");
    if (req.url == "http://hub.test/v2/namespaces/library/repositories/nginx/tags?page=2&page_size=100")
      return Answer(200, {}, std::string(R"({"count":3,"next":null,"results":[{"name":"latest","digest":")") + kD1 + R"("}]})");
    if (req.method == "HEAD") return Answer(404);
    return std::nullopt;
  });
  auto hub = Hub();
  auto l = hub->ListTagsWithDigests("library/nginx");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->tags, (std::vector<std::string>{"1.27", "old", "latest"}));
  EXPECT_EQ(l->digests.at("latest"), kD1);
  EXPECT_EQ(l->digests.count("old"), 0u);  // no digest listed: the planner HEADs it
  EXPECT_EQ(tokens_, 1);
  // The pull budget, asked of a source only: one manifest HEAD of a listed tag (HEADs
  // do not count against it), once.
  EXPECT_EQ(http_->Count("HEAD", "/manifests/"), 0);
  (void)hub->rate_limit_remaining();
  EXPECT_EQ(http_->Count("HEAD", "/v2/library/nginx/manifests/1.27"), 1);
  (void)hub->rate_limit_remaining();
  EXPECT_EQ(http_->Count("HEAD", "/manifests/"), 1);
}

TEST_F(DockerHubTest, ExpiredTokenIsRenewedOnceAndTheCallRepeated) {
  routes_.push_back([](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (Starts(req.url, "http://hub.test/v2/namespaces/me/repositories?"))
      return Answer(200, {}, R"({"next":null,"results":[{"name":"app"}]})");
    return std::nullopt;
  });
  auto hub = Hub();
  ASSERT_TRUE(hub->ListRepositoriesIn({"me"}).ok());
  expired_ = "hub-1";
  auto repos = hub->ListRepositoriesIn({"me"});
  ASSERT_TRUE(repos.ok()) << repos.status().message();
  EXPECT_EQ(*repos, std::vector<std::string>{"me/app"});
  EXPECT_EQ(tokens_, 2);
}

TEST_F(DockerHubTest, WrongSecretIsAClearError) {
  auto l = Hub({"me", "wrong", ""})->ListTagsWithDigests("me/app");
  EXPECT_EQ(l.status().code(), core::Code::kUnauthenticated);
  EXPECT_NE(l.status().message().find("the Hub refused the username and secret"), std::string::npos);
  EXPECT_EQ(l.status().message().find("wrong"), std::string::npos);
}

TEST_F(DockerHubTest, AnonymousCallersSendNoToken) {
  routes_.push_back([](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (Starts(req.url, "http://hub.test/v2/namespaces/library/repositories?"))
      return Answer(200, {}, R"({"next":null,"results":[{"name":"nginx"},{"name":"redis"}]})");
    return std::nullopt;
  });
  auto repos = Hub(Credentials{})->ListRepositoriesIn({"library"});
  ASSERT_TRUE(repos.ok()) << repos.status().message();
  EXPECT_EQ(*repos, (std::vector<std::string>{"library/nginx", "library/redis"}));
  EXPECT_EQ(tokens_, 0);
  for (const auto& s : http_->sent()) EXPECT_TRUE(s.headers.size() == 1) << s.url;  // Accept only
}

TEST_F(DockerHubTest, NoCatalogWithoutANamespace) {
  auto repos = Hub()->ListRepositories();
  EXPECT_EQ(repos.status().code(), core::Code::kInvalidArgument);
  EXPECT_NE(repos.status().message().find("\"library/*\""), std::string::npos);
}

TEST_F(DockerHubTest, MissingRepositoryIsCreatedPrivate) {
  std::string created;
  routes_.push_back([&](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.method == "POST" && Ends(req.url, "/v2/namespaces/me/repositories")) {
      created = req.body;
      return Answer(201);
    }
    return std::nullopt;
  });
  auto hub = Hub();
  auto ns = hub->CheckNamespace("me/app");
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->name, "me/app");
  EXPECT_FALSE(ns->exists);
  ASSERT_TRUE(hub->EnsureNamespace("me/app").ok());
  EXPECT_EQ(created,
            R"({"description":"replicated by crossdock","is_private":true,"name":"app","namespace":"me"})");
  EXPECT_TRUE(hub->CheckNamespace("me/app")->exists);
}

TEST_F(DockerHubTest, DeleteTagUsesTheHubApi) {
  routes_.push_back([](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.method == "DELETE") return Answer(204);
    return std::nullopt;
  });
  ASSERT_TRUE(Hub()->DeleteTag("me/app", "v1", kD1).ok());
  EXPECT_EQ(http_->Count("DELETE", "http://hub.test/v2/repositories/me/app/tags/v1/"), 1);
}

TEST_F(DockerHubTest, NamesOtherThanTwoComponentsAreRefused) {
  auto ns = Hub()->CheckNamespace("team/sub/app");
  ASSERT_TRUE(ns.ok());
  EXPECT_NE(ns->refusal.find("Docker Hub repositories are NAMESPACE/NAME"), std::string::npos);
  EXPECT_TRUE(http_->sent().empty());
}

}  // namespace
}  // namespace crossdock::providers
