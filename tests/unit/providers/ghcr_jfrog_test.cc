// GhcrRegistry and JFrogRegistry against scripted APIs (FakeHttp): GHCR's packages and
// versions (tags with digests, deletion by version), Artifactory's repository keys and
// per-key catalogs. The end-to-end tests run them against tests/fakes/ghcr and jfrog.
#include "providers/ghcr/ghcr.h"
#include "providers/jfrog/jfrog.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

constexpr const char* kD1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
constexpr const char* kD2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

class GhcrTest : public FakeClockRegistryTest {
 protected:
  void SetUp() override {
    http_ = std::make_unique<FakeHttp>(&clock_, [this](const HttpRequest& req) {
      if (req.url == "http://api.test/orgs/acme") return Answer(200, {}, "{}");
      if (req.url == "http://api.test/orgs/acme/packages/container/tools%2Fcli/versions?per_page=100")
        return Answer(200, {}, std::string(R"([{"id":11,"name":")") + kD1 +
                                   R"(","metadata":{"container":{"tags":["v1","latest"]}}},{"id":12,"name":")" +
                                   kD2 + R"(","metadata":{"container":{"tags":[]}}}])");
      if (req.method == "DELETE") {
        deleted_ = req.url;
        return Answer(204);
      }
      return Answer(404, {}, R"({"message":"Not Found"})");
    });
  }
  std::unique_ptr<GhcrRegistry> Ghcr(Credentials c = {"me", "ghp_x", ""}) {
    return std::make_unique<GhcrRegistry>(Make(http_.get(), "http://ghcr.test", c), "http://api.test");
  }
  std::unique_ptr<FakeHttp> http_;
  std::string deleted_;
};

TEST_F(GhcrTest, TagsAndDigestsComeFromPackageVersions) {
  auto l = Ghcr()->ListTagsWithDigests("acme/tools/cli");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->tags, (std::vector<std::string>{"v1", "latest"}));
  EXPECT_EQ(l->digests.at("latest"), kD1);
}

TEST_F(GhcrTest, DeletingAManifestDeletesItsPackageVersion) {
  auto g = Ghcr();
  EXPECT_FALSE(g->DeletesTagsAlone());
  ASSERT_TRUE(g->DeleteManifest("acme/tools/cli", kD2).ok());
  EXPECT_EQ(deleted_, "http://api.test/orgs/acme/packages/container/tools%2Fcli/versions/12");
}

TEST_F(GhcrTest, WithoutATokenOnlyLiteralNamesWork) {
  auto g = Ghcr(Credentials{});
  EXPECT_FALSE(g->ListingHasDigests());
  auto repos = g->ListRepositoriesIn({"acme"});
  EXPECT_EQ(repos.status().code(), core::Code::kInvalidArgument);
  EXPECT_NE(repos.status().message().find("name the rule's repositories literally"), std::string::npos);
}

class JFrogTest : public FakeClockRegistryTest {
 protected:
  void SetUp() override {
    http_ = std::make_unique<FakeHttp>(&clock_, [this](const HttpRequest& req) {
      const std::string api = "http://art.test/artifactory";
      if (req.url == api + "/api/repositories")
        return Answer(200, {}, R"([{"key":"docker-local","packageType":"Docker"},{"key":"maven","packageType":"Maven"},{"key":"oci-local","packageType":"OCI"}])");
      if (req.url == api + "/api/docker/docker-local/v2/_catalog?n=1000")
        return Answer(200, {}, R"({"repositories":["app","team/tool"]})");
      if (req.url == api + "/api/docker/oci-local/v2/_catalog?n=1000")
        return Answer(200, {}, R"({"repositories":["oci-local/x"]})");
      if (req.url == api + "/api/repositories/hub-remote")
        return Answer(200, {}, R"({"key":"hub-remote","rclass":"remote"})");
      if (req.method == "PUT") {
        put_ = req.body;
        return Answer(admin_ ? 200 : 403);
      }
      return Answer(400, {}, R"({"errors":[{"status":400,"message":"Bad Request"}]})");
    });
  }
  std::unique_ptr<JFrogRegistry> JFrog() {
    return std::make_unique<JFrogRegistry>(Make(http_.get(), "http://art.test", {"u", "p", ""}),
                                           "http://art.test/artifactory");
  }
  std::unique_ptr<FakeHttp> http_;
  std::string put_;
  bool admin_ = true;
};

TEST_F(JFrogTest, ImagesOfEveryDockerAndOciKeyUnderTheirKey) {
  auto repos = JFrog()->ListRepositories();
  ASSERT_TRUE(repos.ok()) << repos.status().message();
  EXPECT_EQ(*repos, (std::vector<std::string>{"docker-local/app", "docker-local/team/tool", "oci-local/x"}));
}

TEST_F(JFrogTest, MissingKeyIsCreatedByAnAdminAndRemoteKeysAreRefused) {
  auto j = JFrog();
  auto missing = j->CheckNamespace("new-local/app");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->exists);
  ASSERT_TRUE(j->EnsureNamespace("new-local/app").ok());
  EXPECT_EQ(put_, R"({"key":"new-local","packageType":"docker","rclass":"local","repoLayoutRef":"simple-default"})");
  auto remote = j->CheckNamespace("hub-remote/library/nginx");
  EXPECT_NE(remote->refusal.find("is a remote (proxy) repository"), std::string::npos);
  admin_ = false;
  core::Status st = JFrog()->EnsureNamespace("other-local/app");
  EXPECT_NE(st.message().find("create the local Docker repository \"other-local\" first"),
            std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace crossdock::providers
