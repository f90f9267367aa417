// End to end: crossdock with `type = "docker-hub"` endpoints against tests/fakes/dockerhub
// (the Hub API, the registry token service and the registry on one loopback port) with a
// real docker-registry behind it; results are checked at that registry with curl and
// skopeo, never with crossdock's own client.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>

#include "tests/e2e/vendor_e2e.h"
#include "tests/support/harness.h"
#include "tests/support/vendor_fakes.h"

namespace crossdock::testing {
namespace {

class DockerHubTest : public VendorE2eTest {
 protected:
  void Start(DockerHubFake::Options options = {}) {
    hub_ = std::make_unique<DockerHubFake>(behind_, options);
    WriteFile(dir_.Sub("hub-token"), "dckr_pat_alice\n");
  }
  // [endpoints.plain], [endpoints.hub] (as alice unless ANONYMOUS; HUB_EXTRA appended),
  // then RULES.
  void WriteConfig(const std::string& rules, bool anonymous = false,
                   const std::string& hub_extra = "") {
    VendorE2eTest::WriteConfig(
        "[endpoints.hub]\ntype = \"docker-hub\"\nurl = \"" + hub_->url() + "\"\napi_url = \"" +
            hub_->api_url() + "\"\n" +
            (anonymous ? "" : "username = \"alice\"\npassword = \"file:hub-token\"\n") + hub_extra,
        rules);
  }

  std::unique_ptr<DockerHubFake> hub_;
};

TEST_F(DockerHubTest, OfficialImagesCopyOutAnonymouslyUnderLibrary) {
  Start();
  BuiltImage nginx = Seed(behind_, "library/nginx", "1.27", 1);
  Seed(behind_, "library/redis", "7", 2);
  WriteConfig("[rules.mirror]\nsource = \"hub\"\ndestination = \"plain\"\nrepositories = "
              "[\"nginx\"]\n",
              /*anonymous=*/true);
  RunResult plan = Crossdock({"plan", "--json"});
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("\"source_repository\":\"library/nginx\""), std::string::npos) << plan.out;
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(plain_, "library/nginx", "1.27"), nginx.digest);
  EXPECT_EQ(ListTags(plain_, "library/redis"), std::vector<std::string>{});
  EXPECT_EQ(CountRequests(hub_->GetStats(), "POST /v2/auth/token"), 0);  // anonymous: no Hub token
}

TEST_F(DockerHubTest, CopyInCreatesTheRepositoryAndANoOpPlanListsOnly) {
  Start();
  BuiltImage app = Seed(plain_, "alice/app", "v1", 11);
  for (const char* t : {"v2", "v3"}) PushManifestUnderTag(plain_, "alice/app", "v1", t);
  WriteConfig("[rules.in]\nsource = \"plain\"\ndestination = \"hub\"\nrepositories = [\"alice/*\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("  + namespace hub/alice/app\n"), std::string::npos) << plan.out;
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  for (const char* t : {"v1", "v2", "v3"}) EXPECT_EQ(HeadDigest(behind_, "alice/app", t), app.digest);
  EXPECT_EQ(CountRequests(hub_->GetStats(), "POST /v2/namespaces/alice/repositories"), 1);

  hub_->ResetStats();
  RunResult noop = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(noop.exit_code, 0) << noop.out << noop.err;
  const FakeStats stats = hub_->GetStats();
  EXPECT_EQ(CountRequests(stats, "HEAD /v2/alice/app/manifests/"), 0) << ::testing::PrintToString(stats.paths);
  EXPECT_LE(stats.requests, 4) << ::testing::PrintToString(stats.paths);
}

TEST_F(DockerHubTest, ExpiredHubTokenIsRenewedAndThePlanGoesOn) {
  DockerHubFake::Options o;
  o.token_lifetime = 1;
  Start(o);
  for (int i = 0; i < 6; ++i) Seed(behind_, "alice/app" + std::to_string(i), "v1", 20 + i);
  // One request at a time, four a second: the listing (a namespace page, then a tag
  // page per repository) outlives one-second Hub tokens, and no request waits in line
  // long enough for its token to expire first.
  WriteConfig("[settings]\nparallelism = 1\n\n[rules.out]\nsource = \"hub\"\ndestination = "
              "\"plain\"\nrepositories = [\"alice/*\"]\n",
              false, "rate_limit = \"4/s\"\n");
  RunResult plan = Crossdock({"plan"});
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("Plan: 6 to copy"), std::string::npos) << plan.out;
  EXPECT_GE(CountRequests(hub_->GetStats(), "POST /v2/auth/token"), 2)
      << ::testing::PrintToString(hub_->GetStats().paths);
}

TEST_F(DockerHubTest, HubApi429IsWaitedOutAsTheHubAsks) {
  for (bool x_retry_after : {false, true}) {
    DockerHubFake::Options o;
    o.api_429 = 2;
    o.x_retry_after = x_retry_after;
    Start(o);
    Seed(behind_, "alice/app", "v1", 30 + x_retry_after);
    WriteConfig("[rules.out]\nsource = \"hub\"\ndestination = \"plain\"\nrepositories = [\"alice/*\"]\n");
    RunResult apply = Crossdock({"apply", "--auto-approve"});
    ASSERT_EQ(apply.exit_code, 0) << x_retry_after << apply.out << apply.err;
    EXPECT_TRUE(HeadDigest(plain_, "alice/app", "v1"));
  }
}

TEST_F(DockerHubTest, PullLimitIsWarnedOfAndAnApplyMeetingItPausesAndResumes) {
  DockerHubFake::Options o;
  o.pull_limit = 2;
  o.retry_after = 2;
  Start(o);
  for (int i = 1; i <= 4; ++i) Seed(behind_, "alice/app", "v" + std::to_string(i), 40 + i);
  WriteConfig("[settings]\nparallelism = 1\n\n[rules.out]\nsource = \"hub\"\ndestination = "
              "\"plain\"\nrepositories = [\"alice/*\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_NE(plan.out.find("endpoint \"hub\" allows 2 more pulls in its rate-limit window"),
            std::string::npos)
      << plan.out;
  // The third manifest GET meets the limit (429, Retry-After: 2): once the fake has
  // said so, the budget comes back, and the apply must go on after its pause.
  auto apply = std::async(std::launch::async, [&] { return Crossdock({"apply", "--auto-approve"}); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (hub_->log().find(" 429") == std::string::npos &&
         apply.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready &&
         std::chrono::steady_clock::now() < deadline) {
  }
  hub_->SetPullBudget(100);
  RunResult done = apply.get();
  EXPECT_NE(hub_->log().find(" 429"), std::string::npos) << "the limit was never met";
  EXPECT_EQ(done.exit_code, 0) << done.out << done.err;
  for (int i = 1; i <= 4; ++i)
    EXPECT_TRUE(HeadDigest(plain_, "alice/app", "v" + std::to_string(i))) << i;
}

TEST_F(DockerHubTest, DeleteThroughTheHubApiKeepsOtherTags) {
  Start();
  BuiltImage app = Seed(plain_, "alice/app", "v1", 50);
  PushManifestUnderTag(plain_, "alice/app", "v1", "latest");
  WriteConfig("[rules.in]\nsource = \"plain\"\ndestination = \"hub\"\nrepositories = "
              "[\"alice/*\"]\ndelete = true\n");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  WriteConfig("[rules.in]\nsource = \"plain\"\ndestination = \"hub\"\nrepositories = "
              "[\"alice/*\"]\ntags = [\"v1\"]\ndelete = true\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(ListTags(behind_, "alice/app"), std::vector<std::string>{"v1"});
  EXPECT_EQ(HeadDigest(behind_, "alice/app", "v1"), app.digest);
}

TEST_F(DockerHubTest, WrongTokenIsAClearErrorAndNeverShown) {
  Start();
  WriteFile(dir_.Sub("hub-token"), "dckr_pat_wrong\n");
  WriteConfig("[rules.out]\nsource = \"hub\"\ndestination = \"plain\"\nrepositories = [\"alice/*\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE(plan.out.find("the Hub refused the username and secret"), std::string::npos) << plan.out;
  EXPECT_EQ((plan.out + plan.err).find("dckr_pat_wrong"), std::string::npos);
  RunResult test = Crossdock({"endpoint", "test", "hub"});
  EXPECT_EQ(test.exit_code, 1);
}

TEST_F(DockerHubTest, PathRuleAndMissingNamespaceAreReported) {
  Start();
  Seed(plain_, "team/sub/app", "v1", 60);
  WriteConfig("[rules.in]\nsource = \"plain\"\ndestination = \"hub\"\nrepositories = [\"team/**\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE(plan.out.find("takes repository names of exactly 2 path components (Docker Hub "
                          "repositories are NAMESPACE/NAME)"),
            std::string::npos)
      << plan.out;
}

}  // namespace
}  // namespace crossdock::testing
