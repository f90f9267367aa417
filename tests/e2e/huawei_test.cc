// End to end: crossdock with `type = "huawei-SWR"` endpoints against tests/fakes/swr (the
// dockyard API Harbor's adapter uses, the registry token endpoint and SWR's refusal to
// push into a missing organisation) with a real docker-registry behind it; results are
// checked at that registry and with skopeo, never with crossdock's own client.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/e2e/vendor_e2e.h"
#include "tests/support/harness.h"
#include "tests/support/huawei_fake.h"

namespace crossdock::testing {
namespace {

class HuaweiTest : public VendorE2eTest {
 protected:
  void Start(HuaweiFake::Options o = {}) { swr_ = std::make_unique<HuaweiFake>(behind_, o); }
  // [endpoints.swr] logging in as the fake's account with PASSWORD (default: the login
  // key), read from a file; USERNAME overrides REGION@AK.
  std::string SwrEndpoint(const std::string& password = "", const std::string& username = "") {
    WriteFile(dir_.Sub("swr-key"), password.empty() ? swr_->password() : password);
    return "[endpoints.swr]\ntype = \"huawei-SWR\"\nurl = \"" + swr_->url() + "\"\nusername = \"" +
           (username.empty() ? swr_->username() : username) + "\"\npassword = \"file:swr-key\"\n";
  }
  static std::string RuleIn(const std::string& patterns) {
    return "[rules.in]\nsource = \"plain\"\ndestination = \"swr\"\nrepositories = [" + patterns + "]\n";
  }
  std::unique_ptr<HuaweiFake> swr_;
};

TEST_F(HuaweiTest, CopyInCreatesTheMissingOrganisation) {
  Start();
  BuiltImage app = Seed(plain_, "neworg/app", "v1", 1);
  BuiltImage lib = Seed(plain_, "team/base/lib", "2.0", 2);
  WriteConfig(SwrEndpoint(), RuleIn("\"neworg/**\", \"team/**\""));
  RunResult plan = Crossdock({"plan"});
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("  + namespace swr/neworg\n"), std::string::npos) << plan.out;
  EXPECT_EQ(plan.out.find("namespace swr/team"), std::string::npos) << plan.out;
  EXPECT_EQ(swr_->Organizations(), (std::vector<std::string>{"team"}));  // plan changes nothing

  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(swr_->Organizations(), (std::vector<std::string>{"neworg", "team"}));
  EXPECT_EQ(HeadDigest(behind_, "neworg/app", "v1"), app.digest);
  EXPECT_EQ(HeadDigest(behind_, "team/base/lib", "2.0"), lib.digest);
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(*swr_, "neworg/app", "v1")), app.digest);
  EXPECT_GE(CountRequests(swr_->GetStats(), "POST /dockyard/v2/namespaces"), 1);

  RunResult again = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
}

TEST_F(HuaweiTest, TheFakeRefusesPushesIntoAMissingOrganisationAsSwrDoes) {
  Start();
  HttpAnswer refused = CurlRequest(*swr_, "POST", "/v2/ghost/app/blobs/uploads/", {"--data", ""});
  EXPECT_EQ(refused.status, 403) << refused.body;
  HttpAnswer accepted = CurlRequest(*swr_, "POST", "/v2/team/app/blobs/uploads/", {"--data", ""});
  EXPECT_EQ(accepted.status, 202) << accepted.body;
}

TEST_F(HuaweiTest, TheSecretKeyWorksInPlaceOfTheLoginKey) {
  Start();
  BuiltImage app = Seed(plain_, "team/app", "v1", 3);
  WriteConfig(SwrEndpoint(swr_->options().sk), RuleIn("\"team/**\""));
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(behind_, "team/app", "v1"), app.digest);
  EXPECT_EQ((apply.out + apply.err).find(swr_->options().sk), std::string::npos);
  EXPECT_EQ((apply.out + apply.err).find(swr_->password()), std::string::npos);
}

TEST_F(HuaweiTest, AWrongKeyIsRejectedWithoutEchoingIt) {
  Start();
  Seed(plain_, "team/app", "v1", 4);
  const std::string wrong = std::string(64, 'a');  // a login key's shape, but not this one
  WriteConfig(SwrEndpoint(wrong), RuleIn("\"team/**\""));
  RunResult test = Crossdock({"endpoint", "test", "swr"});
  EXPECT_EQ(test.exit_code, 1);
  EXPECT_NE(test.out.find("credentials: REJECTED"), std::string::npos) << test.out;
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE((plan.out + plan.err).find("(HTTP 401): credentials were rejected; check the endpoint's "
                                       "username and password"),
            std::string::npos)
      << plan.out << plan.err;
  for (const RunResult& r : {test, plan}) EXPECT_EQ((r.out + r.err).find(wrong), std::string::npos);
  EXPECT_EQ(ListTags(behind_, "team/app"), std::vector<std::string>{});
}

TEST_F(HuaweiTest, BadUsernameAndOrganisationNamesAreClearErrors) {
  Start();
  WriteConfig(SwrEndpoint("", "AKSWRFAKE0EXAMPLE00001"), RuleIn("\"team/**\""));
  RunResult validate = Crossdock({"validate"});
  EXPECT_EQ(validate.exit_code, 1);
  EXPECT_NE(validate.err.find("crossdock.toml:7:12: error: username of endpoint \"swr\" must have the "
                              "form REGION@AK"),
            std::string::npos)
      << validate.err;

  Seed(plain_, "9lives/app", "v1", 5);  // a valid repository name, not an SWR organisation
  WriteConfig(SwrEndpoint(), RuleIn("\"9lives/**\""));
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE(plan.out.find("rule \"in\", repository \"9lives/app\": \"9lives\" cannot be an SWR "
                          "organization name"),
            std::string::npos)
      << plan.out;
}

TEST_F(HuaweiTest, EndpointTestAndListingAsASource) {
  Start();
  BuiltImage tool = Seed(*swr_, "team/tool", "v1", 6);
  BuiltImage lib = Seed(*swr_, "team/sub/lib", "1.0", 7);
  WriteConfig(SwrEndpoint(), "[rules.out]\nsource = \"swr\"\ndestination = \"plain\"\nrepositories = [\"team/**\"]\n");
  RunResult test = Crossdock({"endpoint", "test", "swr"});
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("API:         SWR dockyard API at " + swr_->url() +
                          " answered; 1 organization(s) visible to " + swr_->username()),
            std::string::npos)
      << test.out;
  swr_->ResetStats();
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(plain_, "team/tool", "v1"), tool.digest);
  EXPECT_EQ(HeadDigest(plain_, "team/sub/lib", "1.0"), lib.digest);
  EXPECT_GE(CountRequests(swr_->GetStats(), "GET /dockyard/v2/repositories?filter=center::self"), 1)
      << ::testing::PrintToString(swr_->GetStats().paths);
  EXPECT_EQ(CountRequests(swr_->GetStats(), "GET /v2/_catalog"), 0);
}

}  // namespace
}  // namespace crossdock::testing
