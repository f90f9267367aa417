// End to end: crossdock with `type = "azure-acr"` endpoints against tests/fakes/acr (ACR's
// registry, /oauth2/token and /oauth2/exchange) with a real docker-registry behind it;
// results are checked at that registry with curl and skopeo, never with crossdock's own
// client.
#include <gtest/gtest.h>

#include "tests/e2e/vendor_e2e.h"
#include "tests/support/azure_fake.h"
#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

constexpr const char* kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";

class AzureTest : public VendorE2eTest {
 protected:
  void Start(AcrFake::Options o = {}) { acr_ = std::make_unique<AcrFake>(behind_, o); }
  // [endpoints.acr] logged in as USERNAME with PASSWORD (written to a file); by default
  // the admin user.
  std::string AcrEndpoint(const std::string& username = "", const std::string& password = "") {
    WriteFile(dir_.Sub("acr-password"), password.empty() ? acr_->password() : password);
    return "[endpoints.acr]\ntype = \"azure-acr\"\nurl = \"" + acr_->url() + "\"\nusername = \"" +
           (username.empty() ? acr_->username() : username) + "\"\npassword = \"file:acr-password\"\n";
  }
  std::unique_ptr<AcrFake> acr_;
};

TEST_F(AzureTest, AdminUserCopiesInAndOutAcrossCatalogPagesOfAnyDepth) {
  AcrFake::Options o;
  o.page_size = 1;
  Start(o);
  BuiltImage web = Seed(plain_, "team/app/web", "v1", 1);
  BuiltImage lib = Seed(plain_, "lib", "v2", 2);
  WriteConfig(AcrEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"acr\"\nrepositories = [\"**\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(behind_, "team/app/web", "v1"), web.digest);
  EXPECT_EQ(HeadDigest(behind_, "lib", "v2"), lib.digest);

  WriteConfig(AcrEndpoint(), "[rules.out]\nsource = \"acr\"\ndestination = \"plain\"\nrepositories = [\"**\"]\n"
                             "dest_namespace = \"copy\"\n");
  acr_->ResetStats();
  RunResult out = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  EXPECT_EQ(HeadDigest(plain_, "copy/team/app/web", "v1"), web.digest);
  EXPECT_EQ(HeadDigest(plain_, "copy/lib", "v2"), lib.digest);
  EXPECT_EQ(SkopeoInspectRaw(plain_, "copy/lib", "v2"), SkopeoInspectRaw(behind_, "lib", "v2"));
  EXPECT_GE(CountRequests(acr_->GetStats(), "GET /v2/_catalog?last=lib&n=1&orderby="), 1)
      << ::testing::PrintToString(acr_->GetStats().paths);
  EXPECT_EQ(CountRequests(acr_->GetStats(), "POST /oauth2/"), 0);  // Basic at the realm

  RunResult test = Crossdock({"endpoint", "test", "acr"});
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("credentials: accepted (user crossdockacr, from "), std::string::npos) << test.out;
  EXPECT_NE(test.out.find("API:         none besides the registry (ACR): Basic credentials (admin user, "
                          "service principal or repository-scoped token) at its token realm"),
            std::string::npos)
      << test.out;
}

TEST_F(AzureTest, AnAzureAdTokenIsExchangedForAnAcrRefreshToken) {
  const std::string aad = AcrFake::MakeAadToken(kTenant);
  AcrFake::Options o;
  o.aad_tokens = {{aad, kTenant}};
  Start(o);
  BuiltImage app = Seed(plain_, "app", "v1", 3);
  WriteConfig(AcrEndpoint("00000000-0000-0000-0000-000000000000", aad),
              "[rules.in]\nsource = \"plain\"\ndestination = \"acr\"\nrepositories = [\"app\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(behind_, "app", "v1"), app.digest);
  FakeStats stats = acr_->GetStats();
  EXPECT_EQ(CountRequests(stats, "POST /oauth2/exchange"), 1) << ::testing::PrintToString(stats.paths);
  EXPECT_GE(CountRequests(stats, "POST /oauth2/token"), 1);
  EXPECT_EQ(CountRequests(stats, "GET /oauth2/token"), 0);

  RunResult test = Crossdock({"endpoint", "test", "acr"});
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("API:         Azure AD access token of tenant " + std::string(kTenant) +
                          " exchanged at " + acr_->url() + "/oauth2/exchange for an ACR refresh token"),
            std::string::npos)
      << test.out;
}

TEST_F(AzureTest, AnAzureAdTokenTheRegistryRefusesOrThatExpiredIsAClearError) {
  const std::string known = AcrFake::MakeAadToken(kTenant);
  AcrFake::Options o;
  o.aad_tokens = {{known, kTenant}};
  Start(o);
  const std::string rule = "[rules.out]\nsource = \"acr\"\ndestination = \"plain\"\nrepositories = [\"**\"]\n";
  const std::string stranger = AcrFake::MakeAadToken("00000000-1111-2222-3333-444444444444");
  WriteConfig(AcrEndpoint("00000000-0000-0000-0000-000000000000", stranger), rule);
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE((plan.out + plan.err).find("exchanging the Azure AD access token of endpoint \"acr\" for an ACR "
                                       "refresh token (POST " + acr_->url() + "/oauth2/exchange): HTTP 401, "
                                       "UNAUTHORIZED: "),
            std::string::npos)
      << plan.out << plan.err;
  EXPECT_NE((plan.out + plan.err).find("az account get-access-token"), std::string::npos);
  EXPECT_EQ((plan.out + plan.err).find(stranger.substr(stranger.rfind('.') - 20)), std::string::npos);

  acr_->ResetStats();
  const std::string expired = AcrFake::MakeAadToken(kTenant, -600);
  WriteConfig(AcrEndpoint("00000000-0000-0000-0000-000000000000", expired), rule);
  RunResult late = Crossdock({"endpoint", "test", "acr"});
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_NE(late.out.find("the token expired 10 minute(s) ago, so nothing was sent"), std::string::npos) << late.out;
  EXPECT_EQ(CountRequests(acr_->GetStats(), "POST /oauth2/exchange"), 0);
}

TEST_F(AzureTest, DeleteByDigestAnswered202IsASuccess) {
  Start();
  Seed(plain_, "svc", "v1", 4);
  Seed(plain_, "svc", "v2", 5);
  WriteConfig(AcrEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"acr\"\nrepositories = [\"svc\"]\ndelete = true\n");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  const std::optional<std::string> v1 = HeadDigest(behind_, "svc", "v1");
  ASSERT_TRUE(v1);
  WriteConfig(AcrEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"acr\"\nrepositories = [\"svc\"]\n"
                             "tags = [\"v2\"]\ndelete = true\n");
  RunResult del = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_EQ(ListTags(behind_, "svc"), std::vector<std::string>{"v2"});
  EXPECT_NE(acr_->log().find("DELETE /v2/svc/manifests/" + *v1 + " 202"), std::string::npos) << acr_->log();
}

TEST_F(AzureTest, AWrongPasswordIsRefusedWithoutEchoingIt) {
  Start();
  WriteConfig(AcrEndpoint("crossdockacr", "wrong-admin-secret"),
              "[rules.out]\nsource = \"acr\"\ndestination = \"plain\"\nrepositories = [\"**\"]\n");
  RunResult test = Crossdock({"endpoint", "test", "acr"});
  EXPECT_EQ(test.exit_code, 1);
  EXPECT_NE(test.out.find("credentials: REJECTED"), std::string::npos) << test.out;
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE((plan.out + plan.err).find("credentials were rejected; check the endpoint's username and password"),
            std::string::npos)
      << plan.out << plan.err;
  EXPECT_EQ((test.out + test.err + plan.out + plan.err).find("wrong-admin-secret"), std::string::npos);
}

}  // namespace
}  // namespace crossdock::testing
