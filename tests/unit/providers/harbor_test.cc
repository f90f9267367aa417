// HarborRegistry against a scripted Harbor API (FakeHttp): what it asks, in which
// form (double-escaped repository names, Basic auth, paging), and what it makes of
// the answers. The end-to-end tests run it against tests/fakes/harbor.
#include "providers/harbor/harbor.h"

#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

constexpr const char* kD1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
constexpr const char* kD2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

class HarborTest : public FakeClockRegistryTest {
 protected:
  using Route = std::function<std::optional<HttpResponse>(const HttpRequest&)>;
  void SetUp() override {
    http_ = std::make_unique<FakeHttp>(&clock_, [this](const HttpRequest& req) {
      if (Ends(req.url, "/api/version")) return Answer(200, {}, R"({"version":"v2.0"})");
      if (Ends(req.url, "/v2/")) return Answer(200);  // the ping proving the credentials
      for (const auto& r : routes_)
        if (auto a = r(req)) return *a;
      return Answer(404, {}, R"({"errors":[{"code":"NOT_FOUND","message":"not found"}]})");
    });
  }
  std::unique_ptr<HarborRegistry> Harbor(Credentials creds = {"admin", "Harbor12345", ""}) {
    return std::make_unique<HarborRegistry>(Make(http_.get(), "http://harbor.test", creds),
                                            "http://harbor.test");
  }
  std::vector<Route> routes_;
  std::unique_ptr<FakeHttp> http_;
};

TEST_F(HarborTest, ArtifactsGiveTagsDigestsAndLabelsAcrossPagesWithDoubleEscapedNames) {
  routes_.push_back([](const HttpRequest& req) -> std::optional<HttpResponse> {
    const std::string base = "http://harbor.test/api/v2.0/projects/team/repositories/a%252Fb/artifacts";
    if (req.url == base + "?page=1&page_size=100&with_tag=true&with_label=true")
      return Answer(200, {{"link", "</api/v2.0/projects/team/repositories/a%252Fb/artifacts?page=2&page_size=100&with_tag=true&with_label=true>; rel=\"next\""}},
                    std::string(R"([{"digest":")") + kD1 +
                        R"(","tags":[{"name":"v1"},{"name":"latest"}],"labels":[{"name":"prod"}]}])");
    if (req.url == base + "?page=2&page_size=100&with_tag=true&with_label=true")
      return Answer(200, {{"link", "</api/v2.0/projects/team/repositories/a%252Fb/artifacts?page=1&page_size=100&with_tag=true&with_label=true>; rel=\"prev\""}},
                    std::string(R"([{"digest":")") + kD2 + R"(","tags":[{"name":"v2"}],"labels":null},{"digest":")" + kD1 + R"(","tags":null}])");
    return std::nullopt;
  });
  auto h = Harbor();
  auto l = h->ListTagsWithDigests("team/a/b");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->tags, (std::vector<std::string>{"v1", "latest", "v2"}));
  EXPECT_EQ(l->digests.at("latest"), kD1);
  EXPECT_EQ(l->digests.at("v2"), kD2);
  EXPECT_EQ(l->labels.at("v1"), std::vector<std::string>{"prod"});
  EXPECT_EQ(l->labels.count("v2"), 0u);
  // Every API call carries Basic credentials; Harbor's API sends no challenge.
  for (const auto& s : http_->sent()) {
    if (s.url.find("/api/") == std::string::npos) continue;
    bool basic = false;
    for (const auto& [k, v] : s.headers) basic |= k == "Authorization" && v.starts_with("Basic ");
    EXPECT_TRUE(basic) << s.url;
  }
  // version, /v2/ twice (auth discovery, then the credentials proven), two pages
  EXPECT_EQ(http_->sent().size(), 5u);
}

TEST_F(HarborTest, UnknownRepositoryIsNotFound) {
  auto l = Harbor()->ListTagsWithDigests("team/missing");
  EXPECT_EQ(l.status().code(), core::Code::kNotFound);
  EXPECT_EQ(l.status().message(), "repository \"team/missing\" does not exist at endpoint \"src\"");
}

TEST_F(HarborTest, RepositoriesComeFromProjectsAndSkipProxyCaches) {
  routes_.push_back([](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.url == "http://harbor.test/api/v2.0/projects?with_detail=false&page=1&page_size=100")
      return Answer(200, {}, R"([{"name":"team","registry_id":0},{"name":"hub-cache","registry_id":3}])");
    if (req.url == "http://harbor.test/api/v2.0/projects/team/repositories?page=1&page_size=100")
      return Answer(200, {}, R"([{"name":"team/app"},{"name":"team/tools/cli"}])");
    return std::nullopt;
  });
  auto repos = Harbor()->ListRepositories();
  ASSERT_TRUE(repos.ok()) << repos.status().message();
  EXPECT_EQ(*repos, (std::vector<std::string>{"team/app", "team/tools/cli"}));
  EXPECT_EQ(http_->Count("GET", "/projects/hub-cache"), 0);
}

TEST_F(HarborTest, NextPageLinkOffTheApiOriginIsRefused) {
  routes_.push_back([](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.url.find("/api/v2.0/projects?") != std::string::npos)
      return Answer(200, {{"link", "<http://elsewhere.test/steal?page=2>; rel=\"next\""}}, "[]");
    return std::nullopt;
  });
  auto repos = Harbor()->ListRepositories();
  EXPECT_EQ(repos.status().code(), core::Code::kPermissionDenied);
  EXPECT_EQ(http_->Count("GET", "elsewhere.test"), 0);
}

TEST_F(HarborTest, Harbor1IsRefusedWithWhatToDo) {
  http_ = std::make_unique<FakeHttp>(&clock_, [](const HttpRequest&) { return Answer(404); });
  auto l = Harbor()->ListTagsWithDigests("team/app");
  EXPECT_EQ(l.status().code(), core::Code::kInvalidArgument);
  EXPECT_EQ(l.status().message(),
            "GET /api/version at endpoint \"src\" (Harbor API at http://harbor.test): HTTP 404, so "
            "this is Harbor 1.x or not Harbor at all; crossdock speaks Harbor's API v2.0 (Harbor "
            "2.0 and later): upgrade Harbor, or use type = \"docker-registry\"");
}

TEST_F(HarborTest, MissingProjectIsCreatedAndConflictMeansSomeoneWasFirst) {
  int posts = 0;
  routes_.push_back([&](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.method == "POST" && Ends(req.url, "/api/v2.0/projects")) {
      EXPECT_EQ(req.body, R"({"metadata":{"public":"false"},"project_name":"team"})");
      return Answer(++posts == 1 ? 201 : 409);
    }
    return std::nullopt;
  });
  auto h = Harbor();
  auto ns = h->CheckNamespace("team/app");
  ASSERT_TRUE(ns.ok()) << ns.status().message();
  EXPECT_EQ(ns->name, "team");
  EXPECT_FALSE(ns->exists);
  EXPECT_EQ(ns->refusal, "");
  EXPECT_TRUE(h->EnsureNamespace("team/app").ok());
  // Created: remembered, asked no more.
  EXPECT_TRUE(h->EnsureNamespace("team/other").ok());
  EXPECT_EQ(posts, 1);
  EXPECT_TRUE(Harbor()->EnsureNamespace("team/app").ok());  // 409 from a second client
}

TEST_F(HarborTest, ProjectCreationRefusedSaysWhatToDo) {
  routes_.push_back([](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.method == "POST")
      return Answer(403, {}, R"({"errors":[{"code":"FORBIDDEN","message":"forbidden"}]})");
    return std::nullopt;
  });
  core::Status st = Harbor()->EnsureNamespace("team/app");
  EXPECT_EQ(st.code(), core::Code::kPermissionDenied);
  EXPECT_NE(st.message().find("create project \"team\" first"), std::string::npos) << st.message();
}

TEST_F(HarborTest, ProxyCacheProjectIsRefusedAsDestination) {
  routes_.push_back([](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.method == "HEAD" && Ends(req.url, "/api/v2.0/projects?project_name=hub-cache"))
      return Answer(200);
    if (Ends(req.url, "/api/v2.0/projects/hub-cache")) {
      bool by_name = false;
      for (const auto& [k, v] : req.headers) by_name |= k == "X-Is-Resource-Name" && v == "true";
      EXPECT_TRUE(by_name);
      return Answer(200, {}, R"({"name":"hub-cache","registry_id":3})");
    }
    return std::nullopt;
  });
  auto ns = Harbor()->CheckNamespace("hub-cache/library/nginx");
  ASSERT_TRUE(ns.ok());
  EXPECT_TRUE(ns->exists);
  EXPECT_EQ(ns->refusal,
            "project \"hub-cache\" at endpoint \"src\" is a proxy-cache project, which Harbor lets "
            "nobody push to; set the rule's dest_namespace to another project");
}

TEST_F(HarborTest, ProjectNameHarborRefusesIsRefusedBeforeAnyRequest) {
  auto ns = Harbor()->CheckNamespace("my__team/app");
  ASSERT_TRUE(ns.ok());
  EXPECT_NE(ns->refusal.find("cannot be a Harbor project name"), std::string::npos);
  EXPECT_TRUE(http_->sent().empty());
}

TEST_F(HarborTest, DeleteTagUsesTheTagApiAndLeavesTheArtifact) {
  routes_.push_back([](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.method == "DELETE") return Answer(200);
    return std::nullopt;
  });
  auto h = Harbor();
  EXPECT_TRUE(h->DeletesTagsAlone());
  ASSERT_TRUE(h->DeleteTag("team/a/b", "v1", kD1).ok());
  EXPECT_EQ(http_->Count("DELETE", std::string("/api/v2.0/projects/team/repositories/a%252Fb/artifacts/") +
                                       kD1 + "/tags/v1"),
            1);
  EXPECT_EQ(http_->Count("DELETE", "/v2/"), 0);
}

TEST(NextLinkTest, PicksNextAmongSeveralLinks) {
  EXPECT_EQ(ParseNextLink("</a?page=1>; rel=\"prev\" , </a?page=3>; rel=\"next\""), "/a?page=3");
  EXPECT_EQ(ParseNextLink("</a?page=1>; rel=\"prev\""), "");
  EXPECT_EQ(ParseNextLink("</v2/_catalog?last=x&n=2>; rel=\"next\""), "/v2/_catalog?last=x&n=2");
}

}  // namespace
}  // namespace crossdock::providers
