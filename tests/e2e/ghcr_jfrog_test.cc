// End to end: crossdock with `type = "github-ghcr"` and `type = "jfrog-artifactory"`
// endpoints against tests/fakes/ghcr and tests/fakes/jfrog with a real docker-registry
// behind them; results are checked at that registry with curl and skopeo, never with
// crossdock's own client.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/e2e/vendor_e2e.h"
#include "tests/support/harness.h"
#include "tests/support/vendor_fakes2.h"

namespace crossdock::testing {
namespace {

// ---------------------------------------------------------------- GHCR ----

class GhcrTest : public VendorE2eTest {
 protected:
  void Start(GhcrFake::Options o = {}) {
    ghcr_ = std::make_unique<GhcrFake>(behind_, o);
    WriteFile(dir_.Sub("ghcr-token"), "ghp_alice\n");
  }
  std::string GhcrEndpoint(bool with_token = true) {
    return "[endpoints.ghcr]\ntype = \"github-ghcr\"\nurl = \"" + ghcr_->url() + "\"\napi_url = \"" +
           ghcr_->api_url() + "\"\n" +
           (with_token ? "username = \"alice\"\npassword = \"file:ghcr-token\"\n" : "");
  }
  std::unique_ptr<GhcrFake> ghcr_;
};

TEST_F(GhcrTest, CopyOutListsPackagesAndVersionsWithoutAHeadPerTag) {
  Start();
  BuiltImage cli = Seed(*ghcr_, "alice/tools/cli", "v1", 1);
  BuiltImage web = Seed(*ghcr_, "alice/web", "2.0", 2);
  WriteConfig(GhcrEndpoint(), "[rules.out]\nsource = \"ghcr\"\ndestination = \"plain\"\nrepositories = [\"alice/**\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(plain_, "alice/tools/cli", "v1"), cli.digest);
  EXPECT_EQ(HeadDigest(plain_, "alice/web", "2.0"), web.digest);
  ghcr_->ResetStats();
  RunResult plan = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_EQ(CountRequests(ghcr_->GetStats(), "HEAD /v2/"), 0) << ::testing::PrintToString(ghcr_->GetStats().paths);
}

TEST_F(GhcrTest, CopyInCreatesThePackageAndDeleteTakesTheVersion) {
  Start();
  BuiltImage v1 = Seed(plain_, "alice/app", "v1", 11);
  Seed(plain_, "alice/app", "v2", 12);
  WriteConfig(GhcrEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"ghcr\"\nrepositories = [\"alice/app\"]\ndelete = true\n");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  EXPECT_EQ(HeadDigest(behind_, "alice/app", "v1"), v1.digest);
  WriteConfig(GhcrEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"ghcr\"\nrepositories = [\"alice/app\"]\ntags = [\"v1\"]\ndelete = true\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(ListTags(behind_, "alice/app"), std::vector<std::string>{"v1"});
  EXPECT_GE(CountRequests(ghcr_->GetStats(), "DELETE /users/alice/packages/container/app/versions/"), 1)
      << ::testing::PrintToString(ghcr_->GetStats().paths);
}

TEST_F(GhcrTest, WithoutATokenPatternsCannotListAndAMissingScopeIsNamed) {
  Start();
  Seed(*ghcr_, "alice/web", "2.0", 21);
  WriteConfig(GhcrEndpoint(false), "[rules.out]\nsource = \"ghcr\"\ndestination = \"plain\"\nrepositories = [\"alice/**\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE(plan.out.find("lists packages only with a token"), std::string::npos) << plan.out;

  GhcrFake::Options o;
  o.pat_scopes = {{"alice", {"delete:packages"}}};
  Start(o);
  WriteConfig(GhcrEndpoint(), "[rules.out]\nsource = \"ghcr\"\ndestination = \"plain\"\nrepositories = [\"alice/**\"]\n");
  RunResult scoped = Crossdock({"plan"});
  EXPECT_EQ(scoped.exit_code, 1);
  EXPECT_NE(scoped.out.find("read:packages"), std::string::npos) << scoped.out;
}

TEST_F(GhcrTest, WrongTokenIsAClearErrorAndNeverShown) {
  Start();
  WriteFile(dir_.Sub("ghcr-token"), "ghp_wrong_token\n");
  WriteConfig(GhcrEndpoint(), "[rules.out]\nsource = \"ghcr\"\ndestination = \"plain\"\nrepositories = [\"alice/**\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE(plan.out.find("HTTP 401"), std::string::npos) << plan.out;
  EXPECT_EQ((plan.out + plan.err).find("ghp_wrong_token"), std::string::npos);
  RunResult test = Crossdock({"endpoint", "test", "ghcr"});
  EXPECT_EQ(test.exit_code, 1) << test.out;
}

// ---------------------------------------------------------------- JFrog ----

class JFrogTest : public VendorE2eTest {
 protected:
  void Start(JFrogFake::Options o = {}) {
    art_ = std::make_unique<JFrogFake>(behind_, o);
    WriteFile(dir_.Sub("art-password"), o.users.front().password + "\n");
  }
  std::string ArtEndpoint(const std::string& user = "admin") {
    return "[endpoints.art]\ntype = \"jfrog-artifactory\"\nurl = \"" + art_->url() +
           "\"\nusername = \"" + user + "\"\npassword = \"file:art-password\"\n";
  }
  std::unique_ptr<JFrogFake> art_;
};

TEST_F(JFrogTest, CopyInCreatesAMissingLocalRepositoryAndRefusesARemoteOne) {
  JFrogFake::Options o;
  o.remote_repos = {"hub-remote"};
  Start(o);
  BuiltImage app = Seed(plain_, "docker-local/app", "v1", 31);
  BuiltImage fresh = Seed(plain_, "newkey/app", "v1", 32);
  Seed(plain_, "hub-remote/app", "v1", 33);
  WriteConfig(ArtEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"art\"\nrepositories = [\"docker-local/**\", \"newkey/**\", \"hub-remote/**\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_NE(plan.out.find("  + namespace art/newkey\n"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("repository \"hub-remote/app\": repository \"hub-remote\" at endpoint \"art\" "
                          "is a remote (proxy) repository"),
            std::string::npos)
      << plan.out;
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(HeadDigest(behind_, "docker-local/app", "v1"), app.digest) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(behind_, "newkey/app", "v1"), fresh.digest);
  EXPECT_EQ(ListTags(behind_, "hub-remote/app"), std::vector<std::string>{});
}

// Artifactory 6 refuses an upload finished by one PUT carrying the blob: crossdock
// uploads with PATCH to jfrog-artifactory endpoints.
TEST_F(JFrogTest, UploadsGoThroughPatchAsArtifactoryWants) {
  JFrogFake::Options o;
  o.refuse_monolithic = true;
  Start(o);
  BuiltImage app = Seed(plain_, "docker-local/app", "v1", 61);
  WriteConfig(ArtEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"art\"\nrepositories = [\"docker-local/**\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(behind_, "docker-local/app", "v1"), app.digest);
  for (const auto& b : app.blobs) EXPECT_TRUE(BlobExists(behind_, "docker-local/app", b)) << b;
  EXPECT_GE(CountRequests(art_->GetStats(), "PATCH /v2/docker-local/app/blobs/uploads/"), 1)
      << ::testing::PrintToString(art_->GetStats().paths);
}

TEST_F(JFrogTest, NonAdministratorIsToldToCreateTheRepository) {
  JFrogFake::Options o;
  o.users = {{"dev", "dev-pw"}};
  o.admin = "";
  Start(o);
  Seed(plain_, "newkey/app", "v1", 41);
  WriteConfig(ArtEndpoint("dev"), "[rules.in]\nsource = \"plain\"\ndestination = \"art\"\nrepositories = [\"newkey/**\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(apply.exit_code, 1);
  EXPECT_NE((apply.out + apply.err).find("create the local Docker repository \"newkey\" first"),
            std::string::npos)
      << apply.out << apply.err;
}

TEST_F(JFrogTest, WrongPasswordIsAClearErrorAndNeverShown) {
  Start();
  WriteFile(dir_.Sub("art-password"), "art-wrong-pw\n");
  WriteConfig(ArtEndpoint(), "[rules.out]\nsource = \"art\"\ndestination = \"plain\"\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE(plan.out.find("HTTP 401, credentials were rejected"), std::string::npos) << plan.out;
  EXPECT_EQ((plan.out + plan.err).find("art-wrong-pw"), std::string::npos);
  RunResult test = Crossdock({"endpoint", "test", "art"});
  EXPECT_EQ(test.exit_code, 1) << test.out;
}

TEST_F(JFrogTest, CopyOutListsEveryDockerKeysCatalog) {
  JFrogFake::Options o;
  o.repos = {"docker-local:docker", "oci-local:oci"};
  Start(o);
  BuiltImage a = Seed(*art_, "docker-local/team/app", "v1", 51);
  BuiltImage b = Seed(*art_, "oci-local/tool", "v2", 52);
  WriteConfig(ArtEndpoint(), "[rules.out]\nsource = \"art\"\ndestination = \"plain\"\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(plain_, "docker-local/team/app", "v1"), a.digest);
  EXPECT_EQ(HeadDigest(plain_, "oci-local/tool", "v2"), b.digest);
}

}  // namespace
}  // namespace crossdock::testing
