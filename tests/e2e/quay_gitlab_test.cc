// End to end: crossdock with `type = "quay"` and `type = "gitlab"` endpoints against
// tests/fakes/quay and tests/fakes/gitlab (each vendor's API, token service and
// authorization checks) with a real docker-registry behind them; results are checked at
// that registry with curl and skopeo, never with crossdock's own client.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/e2e/vendor_e2e.h"
#include "tests/support/harness.h"
#include "tests/support/vendor_fakes.h"

namespace crossdock::testing {
namespace {

// ---------------------------------------------------------------- Quay ----

class QuayTest : public VendorE2eTest {
 protected:
  void Start(QuayFake::Options o) { quay_ = std::make_unique<QuayFake>(behind_, o); }
  static QuayFake::Options WithToken() {
    QuayFake::Options o;
    o.oauth_tokens = {{"quay-oauth-alice", "alice"}};
    o.orgs = {{"acme", "alice"}};
    return o;
  }
  // [endpoints.quay] with alice's json_file secret (SECRET overrides it).
  std::string QuayEndpoint(const std::string& secret = "") {
    WriteFile(dir_.Sub("quay.json"), secret.empty() ? quay_->JsonFileSecret("alice") : secret);
    return "[endpoints.quay]\ntype = \"quay\"\nurl = \"" + quay_->url() +
           "\"\npassword = \"file:quay.json\"\n";
  }
  std::unique_ptr<QuayFake> quay_;
};

TEST_F(QuayTest, CopyInAndANoOpPlanListsTagsThroughTheRestApi) {
  Start(WithToken());
  BuiltImage app = Seed(plain_, "acme/app", "v1", 1);
  PushManifestUnderTag(plain_, "acme/app", "v1", "latest");
  WriteConfig(QuayEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"quay\"\nrepositories = [\"acme/**\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(behind_, "acme/app", "v1"), app.digest);
  EXPECT_EQ(HeadDigest(behind_, "acme/app", "latest"), app.digest);
  quay_->ResetStats();
  RunResult plan = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_EQ(CountRequests(quay_->GetStats(), "HEAD /v2/"), 0) << ::testing::PrintToString(quay_->GetStats().paths);
  EXPECT_GE(CountRequests(quay_->GetStats(), "GET /api/v1/repository/acme/app/tag/"), 1);
}

TEST_F(QuayTest, MissingOrganisationIsCreatedWithTheTokenAndRefusedWithout) {
  Start(WithToken());
  Seed(plain_, "newteam/app", "v1", 2);
  WriteConfig(QuayEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"quay\"\nrepositories = [\"newteam/**\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_NE(plan.out.find("  + namespace quay/newteam\n"), std::string::npos) << plan.out;
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_TRUE(HeadDigest(behind_, "newteam/app", "v1"));

  // Without an oauth2_token the plan says what to do, per repository.
  Seed(plain_, "other/app", "v1", 3);
  WriteConfig(QuayEndpoint(R"({"account_name":"alice","docker_cli_password":"alice-cli-password"})"),
              "[rules.in]\nsource = \"plain\"\ndestination = \"quay\"\nrepositories = [\"other/**\"]\n");
  RunResult refused = Crossdock({"plan"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.out.find("rule \"in\", repository \"other/app\": create the organization "
                             "\"other\" on 127.0.0.1 first, or add an oauth2_token"),
            std::string::npos)
      << refused.out;
}

TEST_F(QuayTest, CaptchaBecomesWhatToDo) {
  QuayFake::Options o = WithToken();
  o.captcha = true;
  Start(o);
  Seed(plain_, "botcheck/app", "v1", 4);
  WriteConfig(QuayEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"quay\"\nrepositories = [\"botcheck/**\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(apply.exit_code, 1);
  EXPECT_NE((apply.out + apply.err).find("create the organization \"botcheck\" on 127.0.0.1 first: it "
                                         "asks a captcha"),
            std::string::npos)
      << apply.out << apply.err;
  EXPECT_EQ(ListTags(behind_, "botcheck/app"), std::vector<std::string>{});
}

TEST_F(QuayTest, CopyOutAndDeleteTheTagAloneThroughTheRestApi) {
  Start(WithToken());
  BuiltImage app = Seed(*quay_, "acme/tool", "v1", 5);
  PushManifestUnderTag(behind_, "acme/tool", "v1", "latest");  // (the harness wants a 201)
  WriteConfig(QuayEndpoint(), "[rules.out]\nsource = \"quay\"\ndestination = \"plain\"\nrepositories = [\"acme/tool\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(plain_, "acme/tool", "latest"), app.digest);

  Seed(plain_, "acme/svc", "v1", 6);
  PushManifestUnderTag(plain_, "acme/svc", "v1", "latest");
  WriteConfig(QuayEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"quay\"\nrepositories = [\"acme/svc\"]\ndelete = true\n");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  WriteConfig(QuayEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"quay\"\nrepositories = [\"acme/svc\"]\ntags = [\"v1\"]\ndelete = true\n");
  RunResult del = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_EQ(ListTags(behind_, "acme/svc"), std::vector<std::string>{"v1"});
}

TEST_F(QuayTest, SecretThatIsNotJsonAndWrongPasswordAreClearErrors) {
  Start(WithToken());
  WriteConfig(QuayEndpoint("{\"account_name\": alice-secret-stuff}"),
              "[rules.out]\nsource = \"quay\"\ndestination = \"plain\"\nrepositories = [\"acme/tool\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE(plan.err.find("password of endpoint \"quay\" is not JSON (error at line 1, column 18)"),
            std::string::npos)
      << plan.err;
  EXPECT_EQ((plan.out + plan.err).find("alice-secret-stuff"), std::string::npos);

  WriteConfig(QuayEndpoint(R"({"account_name":"alice","docker_cli_password":"wrong-pw"})"),
              "[rules.out]\nsource = \"quay\"\ndestination = \"plain\"\nrepositories = [\"acme/tool\"]\n");
  RunResult test = Crossdock({"endpoint", "test", "quay"});
  EXPECT_EQ(test.exit_code, 1);
  EXPECT_NE(test.out.find("credentials: REJECTED"), std::string::npos) << test.out;
  EXPECT_EQ((test.out + test.err).find("wrong-pw"), std::string::npos);
}

// ---------------------------------------------------------------- GitLab ----

class GitLabTest : public VendorE2eTest {
 protected:
  void Start(GitLabFake::Options o = {}) {
    if (o.projects == std::vector<std::string>{"group/app"}) o.projects = {"group/app", "group/sub/lib"};
    gitlab_ = std::make_unique<GitLabFake>(behind_, o);
    WriteFile(dir_.Sub("gitlab-token"), "glpat-alice\n");
  }
  // api_url is left out: found from the registry's token realm.
  std::string GitLabEndpoint() {
    return "[endpoints.gitlab]\ntype = \"gitlab\"\nurl = \"" + gitlab_->url() +
           "\"\nusername = \"alice\"\npassword = \"file:gitlab-token\"\n";
  }
  std::unique_ptr<GitLabFake> gitlab_;
};

TEST_F(GitLabTest, CopyInUnderAProjectAndRefuseWhatGitLabWould) {
  Start();
  BuiltImage web = Seed(plain_, "group/app/web", "v1", 11);
  Seed(plain_, "group/app/a/b/c", "v1", 12);
  Seed(plain_, "nogroup/app", "v1", 13);
  WriteConfig(GitLabEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"gitlab\"\n"
                                "repositories = [\"group/**\", \"nogroup/**\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE(plan.out.find("repository \"group/app/a/b/c\": \"group/app/a/b/c\" goes 3 levels below "
                          "GitLab project \"group/app\", which takes at most 2"),
            std::string::npos)
      << plan.out;
  EXPECT_NE(plan.out.find("repository \"nogroup/app\": no GitLab project holds \"nogroup/app\""),
            std::string::npos)
      << plan.out;
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(HeadDigest(behind_, "group/app/web", "v1"), web.digest);
  EXPECT_EQ(ListTags(behind_, "group/app/a/b/c"), std::vector<std::string>{});
  EXPECT_EQ(ListTags(behind_, "nogroup/app"), std::vector<std::string>{});
}

TEST_F(GitLabTest, CopyOutListsTheGroupsProjectsThroughTheApi) {
  Start();
  BuiltImage web = Seed(*gitlab_, "group/app/web", "v1", 21);
  BuiltImage lib = Seed(*gitlab_, "group/sub/lib", "2.0", 22);
  WriteConfig(GitLabEndpoint(), "[rules.out]\nsource = \"gitlab\"\ndestination = \"plain\"\n"
                                "repositories = [\"group/**\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(plain_, "group/app/web", "v1"), web.digest);
  EXPECT_EQ(HeadDigest(plain_, "group/sub/lib", "2.0"), lib.digest);
  EXPECT_GE(CountRequests(gitlab_->GetStats(), "GET /api/v4/groups/group/projects"), 1)
      << ::testing::PrintToString(gitlab_->GetStats().paths);
}

TEST_F(GitLabTest, DeleteThroughTheApiAndAProtectedTagIsReported) {
  GitLabFake::Options o;
  o.protected_tags = {"keep"};
  Start(o);
  Seed(plain_, "group/app/web", "v1", 31);
  for (const char* t : {"latest", "keep"}) PushManifestUnderTag(plain_, "group/app/web", "v1", t);
  WriteConfig(GitLabEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"gitlab\"\n"
                                "repositories = [\"group/app/web\"]\ndelete = true\n");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  WriteConfig(GitLabEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"gitlab\"\n"
                                "repositories = [\"group/app/web\"]\ntags = [\"v1\"]\ndelete = true\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(apply.exit_code, 1) << apply.out << apply.err;
  EXPECT_NE((apply.out + apply.err).find("a protected tag"), std::string::npos) << apply.out << apply.err;
  EXPECT_EQ(ListTags(behind_, "group/app/web"), (std::vector<std::string>{"keep", "v1"}));
}

TEST_F(GitLabTest, Api429IsWaitedOutAndAWrongTokenIsAClearError) {
  GitLabFake::Options o;
  o.api_429 = 2;
  Start(o);
  Seed(*gitlab_, "group/app/web", "v1", 41);
  WriteConfig(GitLabEndpoint(), "[rules.out]\nsource = \"gitlab\"\ndestination = \"plain\"\n"
                                "repositories = [\"group/**\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_TRUE(HeadDigest(plain_, "group/app/web", "v1"));

  WriteFile(dir_.Sub("gitlab-token"), "glpat-wrong\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE(plan.out.find("HTTP 401"), std::string::npos) << plan.out;
  EXPECT_EQ((plan.out + plan.err).find("glpat-wrong"), std::string::npos);
}

}  // namespace
}  // namespace crossdock::testing
