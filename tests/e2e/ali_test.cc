// End to end: crossdock with `type = "ali-acr"` endpoints against tests/fakes/aliacr (the
// personal edition's ROA OpenAPI and an enterprise instance's RPC OpenAPI, both checking
// signatures with their own code, the temporary registry login and the registry) with a
// real docker-registry behind it; results are checked at that registry and with skopeo,
// never with crossdock's own client.
#include <gtest/gtest.h>

#include "tests/e2e/vendor_e2e.h"
#include "tests/support/ali_fake.h"
#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

class AliTest : public VendorE2eTest {
 protected:
  void Start(AliFake::Options o = {}) { ali_ = std::make_unique<AliFake>(behind_, o); }
  // [endpoints.ali] with the fake's AccessKey pair (SECRET overrides the secret), the
  // OpenAPI pointed at the fake.
  std::string AliEndpoint(const std::string& secret = "") {
    WriteFile(dir_.Sub("ali-secret"), secret.empty() ? ali_->options().access_key_secret : secret);
    return "[endpoints.ali]\ntype = \"ali-acr\"\nurl = \"" + ali_->url() + "\"\napi_url = \"" + ali_->url() +
           "\"\nusername = \"" + ali_->options().access_key_id + "\"\npassword = \"file:ali-secret\"\n";
  }
  static std::string RuleIn(const std::string& patterns) {
    return "[rules.in]\nsource = \"plain\"\ndestination = \"ali\"\nrepositories = [" + patterns + "]\n";
  }
  static std::string RuleOut(const std::string& patterns) {
    return "[rules.out]\nsource = \"ali\"\ndestination = \"plain\"\nrepositories = [" + patterns + "]\n";
  }
  std::unique_ptr<AliFake> ali_;
};

TEST_F(AliTest, CopyIntoAnExistingNamespaceAndANoOpPlanReadsTheListing) {
  AliFake::Options o;
  o.page_size = 1;  // every listing pages
  Start(o);
  BuiltImage app = Seed(plain_, "team/app", "v1", 1);
  PushManifestUnderTag(plain_, "team/app", "v1", "latest");
  WriteConfig(AliEndpoint(), RuleIn("\"team/**\""));
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(behind_, "team/app", "v1"), app.digest);
  EXPECT_EQ(HeadDigest(behind_, "team/app", "latest"), app.digest);
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(*ali_, "team/app", "v1")), app.digest);

  ali_->ResetStats();
  RunResult plan = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  const FakeStats stats = ali_->GetStats();
  EXPECT_EQ(CountRequests(stats, "HEAD /v2/"), 0) << ::testing::PrintToString(stats.paths);
  EXPECT_EQ(CountRequests(stats, "GET /repos/team/app/tags?Page=2&PageSize=100"), 1)
      << ::testing::PrintToString(stats.paths);
}

TEST_F(AliTest, AMissingNamespaceIsRefusedInThePlan) {
  Start();
  Seed(plain_, "other/app", "v1", 2);
  WriteConfig(AliEndpoint(), RuleIn("\"other/**\""));
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE(plan.out.find("rule \"in\", repository \"other/app\": namespace \"other\" does not exist at endpoint "
                          "\"ali\" (Alibaba Cloud ACR, cn-hangzhou); create it in the Container Registry console "
                          "first: crossdock does not create ACR namespaces"),
            std::string::npos)
      << plan.out << plan.err;
  EXPECT_EQ(plan.out.find("+ namespace"), std::string::npos) << plan.out;
  Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(ListTags(behind_, "other/app"), std::vector<std::string>{});
}

TEST_F(AliTest, ListingAsASourceWithDigests) {
  Start();
  BuiltImage tool = Seed(*ali_, "team/tool", "v1", 3);
  BuiltImage lib = Seed(*ali_, "team/lib", "2.0", 4);
  WriteConfig(AliEndpoint(), RuleOut("\"team/**\""));
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(plain_, "team/tool", "v1"), tool.digest);
  EXPECT_EQ(HeadDigest(plain_, "team/lib", "2.0"), lib.digest);
  const FakeStats stats = ali_->GetStats();
  EXPECT_GE(CountRequests(stats, "GET /repos/team?Page=1"), 1) << ::testing::PrintToString(stats.paths);
  EXPECT_GE(CountRequests(stats, "GET /tokens"), 1);
  EXPECT_EQ(CountRequests(stats, "GET /v2/_catalog"), 0);
  RunResult again = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
}

TEST_F(AliTest, AWrongSecretShowsAlibabaCloudsCodeButNotTheSecret) {
  Start();
  Seed(plain_, "team/app", "v1", 5);
  const std::string wrong = "WrongSecretValueNotTheRealOne0";
  WriteConfig(AliEndpoint(wrong), RuleIn("\"team/**\""));
  RunResult test = Crossdock({"endpoint", "test", "ali"});
  EXPECT_EQ(test.exit_code, 1);
  EXPECT_NE(test.out.find("credentials: REJECTED"), std::string::npos) << test.out;
  EXPECT_NE(test.out.find("Alibaba Cloud error SignatureDoesNotMatch"), std::string::npos) << test.out;
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE((plan.out + plan.err).find("SignatureDoesNotMatch"), std::string::npos) << plan.out << plan.err;
  for (const RunResult& r : {test, plan}) EXPECT_EQ((r.out + r.err).find(wrong), std::string::npos);
  EXPECT_EQ(ListTags(behind_, "team/app"), std::vector<std::string>{});
}

TEST_F(AliTest, ClockSkewIsNamed) {
  AliFake::Options o;
  o.clock_offset = 3600;  // the fake's clock an hour ahead of this machine's
  Start(o);
  WriteConfig(AliEndpoint(), RuleOut("\"team/**\""));
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE((plan.out + plan.err).find("Alibaba Cloud error InvalidTimeStamp.Expired"), std::string::npos)
      << plan.out << plan.err;
  EXPECT_NE((plan.out + plan.err).find("check the machine's clock"), std::string::npos) << plan.out << plan.err;
}

TEST_F(AliTest, EndpointTestNamesTheEdition) {
  Start();
  WriteConfig(AliEndpoint(), RuleOut("\"team/**\""));
  RunResult test = Crossdock({"endpoint", "test", "ali"});
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("API:         Alibaba Cloud ACR personal edition API at " + ali_->url() +
                          " answered (region cn-hangzhou); 1 namespace(s) visible to AccessKey " +
                          ali_->options().access_key_id),
            std::string::npos)
      << test.out;
}

TEST_F(AliTest, EnterpriseInstanceListsAndCopiesThroughRpc) {
  AliFake::Options o;
  o.instance = "cri-e2etest0001";
  o.region = "cn-shanghai";
  o.page_size = 1;
  Start(o);
  BuiltImage app = Seed(*ali_, "team/app", "v1", 6);
  PushManifestUnderTag(behind_, "team/app", "v1", "stable");
  Seed(*ali_, "team/web", "1.0", 7);
  WriteConfig(AliEndpoint(), RuleOut("\"team/**\""));
  RunResult test = Crossdock({"endpoint", "test", "ali"});
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("Alibaba Cloud ACR enterprise instance cri-e2etest0001 API at " + ali_->url() +
                          " answered (region cn-shanghai)"),
            std::string::npos)
      << test.out;
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(plain_, "team/app", "v1"), app.digest);
  EXPECT_EQ(HeadDigest(plain_, "team/app", "stable"), app.digest);
  EXPECT_TRUE(HeadDigest(plain_, "team/web", "1.0"));
  const FakeStats stats = ali_->GetStats();
  EXPECT_GE(CountRequests(stats, "GET /?AccessKeyId="), 4) << ::testing::PrintToString(stats.paths);
  int list_repo_tag = 0;
  for (const std::string& p : stats.paths) list_repo_tag += p.find("Action=ListRepoTag") != std::string::npos;
  EXPECT_GE(list_repo_tag, 3);  // team/app's two tags on two pages, team/web's one
}

}  // namespace
}  // namespace crossdock::testing
