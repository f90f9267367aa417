// End to end: crossdock with `type = "aws-ecr"` endpoints against tests/fakes/ecr (ECR's
// SigV4-verifying JSON 1.1 API, its registry taking only GetAuthorizationToken's login,
// and an S3-like store for blob redirects) with a real docker-registry behind it; results
// are checked at that registry with curl and skopeo, never with crossdock's own client.
#include <gtest/gtest.h>

#include "tests/e2e/vendor_e2e.h"
#include "tests/support/ecr_fake.h"
#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

class EcrTest : public VendorE2eTest {
 protected:
  void Start(EcrFake::Options o = {}) { ecr_ = std::make_unique<EcrFake>(behind_, o); }
  // [endpoints.ecr] signing as KEY (default: the fake's first key) with SECRET (default:
  // its own), taken from the environment variable ECR_SECRET; EXTRA is appended.
  std::string EcrEndpoint(const std::string& extra = "", bool with_keys = true) {
    return "[endpoints.ecr]\ntype = \"aws-ecr\"\nurl = \"" + ecr_->url() + "\"\napi_url = \"" +
           ecr_->api_url() + "\"\nregion = \"us-east-1\"\n" +
           (with_keys ? "username = \"" + key_ + "\"\npassword = \"env:ECR_SECRET\"\n" : "") + extra;
  }
  RunResult Crossdock(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.end(), {"-c", config_, "--no-color"});
    env["HOME"] = dir_.path();
    if (!env.count("ECR_SECRET")) env["ECR_SECRET"] = secret_;
    // The machine's own AWS settings stay out of these runs.
    for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})
      if (!env.count(name)) env[name] = "";
    return RunCrossdock(args, env, dir_.path());
  }
  void UseKey(const std::string& key, const std::string& secret) {
    key_ = key;
    secret_ = secret;
  }

  std::unique_ptr<EcrFake> ecr_;
  std::string key_ = EcrFake::Options{}.keys[0].name;
  std::string secret_ = EcrFake::Options{}.keys[0].password;
};

constexpr const char* kCopyIn =
    "[rules.in]\nsource = \"plain\"\ndestination = \"ecr\"\nrepositories = [\"team/**\", \"tools/**\"]\n";

TEST_F(EcrTest, CopyInCreatesEachRepositoryThenANoOpPlanListsOnly) {
  Start();
  BuiltImage app = Seed(plain_, "team/app", "v1", 1);
  PushManifestUnderTag(plain_, "team/app", "v1", "latest");
  BuiltImage cli = Seed(plain_, "tools/deep/cli", "1.0", 2);
  WriteConfig(EcrEndpoint(), kCopyIn);
  RunResult plan = Crossdock({"plan"});
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("  + namespace ecr/team/app\n"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("  + namespace ecr/tools/deep/cli\n"), std::string::npos) << plan.out;
  EXPECT_EQ(ecr_->ApiCalls("CreateRepository"), 0);  // a plan changes nothing

  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(behind_, "team/app", "v1"), app.digest);
  EXPECT_EQ(HeadDigest(behind_, "team/app", "latest"), app.digest);
  EXPECT_EQ(HeadDigest(behind_, "tools/deep/cli", "1.0"), cli.digest);
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(behind_, "tools/deep/cli", "1.0")), cli.digest);
  EXPECT_EQ(ecr_->ApiCalls("CreateRepository", 200), 2);

  ecr_->ResetStats();
  RunResult noop = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(noop.exit_code, 0) << noop.out << noop.err;
  const FakeStats stats = ecr_->GetStats();
  EXPECT_EQ(CountRequests(stats, "HEAD /v2/"), 0) << ::testing::PrintToString(stats.paths);
  EXPECT_EQ(ecr_->ApiCalls("ListImages", 200), 2);
  EXPECT_EQ(ecr_->ApiCalls("CreateRepository"), 0);
}

TEST_F(EcrTest, DeletingACopiedTagGoesThroughBatchDeleteImageAndKeepsTheOthers) {
  Start();
  BuiltImage app = Seed(plain_, "team/app", "v1", 3);
  PushManifestUnderTag(plain_, "team/app", "v1", "latest");
  WriteConfig(EcrEndpoint(), std::string(kCopyIn) + "delete = true\n");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  WriteConfig(EcrEndpoint(), std::string(kCopyIn) + "tags = [\"v1\"]\ndelete = true\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_NE(plan.out.find("  - " + ecr_->host() + "/team/app:latest"), std::string::npos) << plan.out;
  RunResult del = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_EQ(ListTags(behind_, "team/app"), std::vector<std::string>{"v1"});
  EXPECT_EQ(HeadDigest(behind_, "team/app", "v1"), app.digest);  // the tag alone went
  EXPECT_EQ(ecr_->ApiCalls("BatchDeleteImage", 200), 1);
  EXPECT_EQ(CountRequests(ecr_->GetStats(), "DELETE /v2/"), 0);
}

TEST_F(EcrTest, KeysAndSessionTokenFromTheEnvironment) {
  EcrFake::Options o;
  o.session_tokens = {{o.keys[0].name, "FQoGZXIvYXdzEXAMPLEsessiontoken"}};
  Start(o);
  Seed(plain_, "team/app", "v1", 4);
  WriteConfig(EcrEndpoint("", /*with_keys=*/false), kCopyIn);
  const std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", key_},
                                                  {"AWS_SECRET_ACCESS_KEY", secret_},
                                                  {"AWS_SESSION_TOKEN", "FQoGZXIvYXdzEXAMPLEsessiontoken"}};
  RunResult apply = Crossdock({"apply", "--auto-approve"}, env);
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_TRUE(HeadDigest(behind_, "team/app", "v1"));

  RunResult test = Crossdock({"endpoint", "test", "ecr"}, env);
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("  credentials: accepted (user " + key_ +
                          ", from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
                          "AWS_SESSION_TOKEN))\n"),
            std::string::npos)
      << test.out;
  EXPECT_EQ((test.out + test.err).find(secret_), std::string::npos);

  // Without the session token AWS does not know the temporary key.
  std::map<std::string, std::string> no_token = env;
  no_token.erase("AWS_SESSION_TOKEN");
  RunResult refused = Crossdock({"plan"}, no_token);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE((refused.out + refused.err).find("UnrecognizedClientException: The security token included in "
                                             "the request is invalid."),
            std::string::npos)
      << refused.out << refused.err;

  // Neither keys nor environment: what to set.
  RunResult none = Crossdock({"plan"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("endpoint \"ecr\" (aws-ecr) has no username and password, and "
                          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set in the environment"),
            std::string::npos)
      << none.err;
}

TEST_F(EcrTest, ExpiringRegistryLoginIsRenewedDuringTheRun) {
  EcrFake::Options o;
  o.token_lifetime = 2;  // the registry refuses (403) a login older than 2 s
  Start(o);
  for (int i = 0; i < 4; ++i) Seed(plain_, "team/app" + std::to_string(i), "v1", 10 + i);
  // One request at a time, five a second: the copies' registry requests outlast several
  // 2-second logins, so the run cannot finish on its first one.
  WriteConfig(EcrEndpoint("rate_limit = \"5/s\"\n"), "[settings]\nparallelism = 1\n\n" + std::string(kCopyIn));
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(HeadDigest(behind_, "team/app" + std::to_string(i), "v1")) << i;
  EXPECT_GE(ecr_->ApiCalls("GetAuthorizationToken", 200), 2) << ::testing::PrintToString(ecr_->GetEcrStats().api_calls);
}

TEST_F(EcrTest, WrongSecretOrUnknownKeyShowsAwsCodeAndNeverTheSecret) {
  Start();
  Seed(plain_, "team/app", "v1", 5);
  WriteConfig(EcrEndpoint(), kCopyIn);
  const std::string wrong = "wrongSecretValue/K7MDENG+bPxRfiCYEXAMPLE";
  RunResult plan = Crossdock({"plan"}, {{"ECR_SECRET", wrong}});
  EXPECT_EQ(plan.exit_code, 1);
  const std::string shown = plan.out + plan.err;
  EXPECT_NE(shown.find("HTTP 400, InvalidSignatureException: The request signature we calculated does "
                       "not match the signature you provided."),
            std::string::npos)
      << shown;
  EXPECT_NE(shown.find("the secret access key does not belong to access key " + key_ +
                       " (from the endpoint's username and password): check the endpoint's password "
                       "(the secret access key)"),
            std::string::npos)
      << shown;
  EXPECT_EQ(shown.find(wrong), std::string::npos);
  EXPECT_EQ(shown.find(secret_), std::string::npos);

  UseKey("AKIAUNKNOWNKEY000000", secret_);
  WriteConfig(EcrEndpoint(), kCopyIn);
  RunResult unknown = Crossdock({"endpoint", "test", "ecr"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.out.find("UnrecognizedClientException: The security token included in the request "
                             "is invalid.; AWS does not know the access key id AKIAUNKNOWNKEY000000"),
            std::string::npos)
      << unknown.out;
  EXPECT_EQ((unknown.out + unknown.err).find(secret_), std::string::npos);
}

TEST_F(EcrTest, MissingCreateRepositoryPermissionNamesItAndPushesNothing) {
  EcrFake::Options o;
  o.deny_create = {o.keys[0].name};
  Start(o);
  Seed(plain_, "team/app", "v1", 6);
  WriteConfig(EcrEndpoint(), kCopyIn);
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(apply.exit_code, 1);
  const std::string shown = apply.out + apply.err;
  EXPECT_NE(shown.find("AccessDeniedException: User: arn:aws:iam::123456789012:user/" + key_ +
                       " is not authorized to perform: ecr:CreateRepository"),
            std::string::npos)
      << shown;
  EXPECT_NE(shown.find("lacks the IAM permission ecr:CreateRepository: grant it to its user or role, or "
                       "create the repository \"team/app\" in ECR first; nothing was pushed to it"),
            std::string::npos)
      << shown;
  EXPECT_EQ(ListTags(behind_, "team/app"), std::vector<std::string>{});
  const FakeStats stats = ecr_->GetStats();
  EXPECT_EQ(CountRequests(stats, "POST /v2/team/app/blobs/uploads/"), 0) << ::testing::PrintToString(stats.paths);
  EXPECT_EQ(CountRequests(stats, "PUT /v2/team/app/"), 0);
}

TEST_F(EcrTest, ClockSkewIsCalledOut) {
  EcrFake::Options o;
  o.clock_skew = 3600;  // AWS's clock an hour ahead of this machine's
  Start(o);
  Seed(plain_, "team/app", "v1", 7);
  WriteConfig(EcrEndpoint(), kCopyIn);
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  const std::string shown = plan.out + plan.err;
  EXPECT_NE(shown.find("InvalidSignatureException: Signature expired: "), std::string::npos) << shown;
  EXPECT_NE(shown.find(" - 15 min.); AWS refuses a request signed more than 15 minutes away from its "
                       "own time, and this one was signed at "),
            std::string::npos)
      << shown;
  EXPECT_NE(shown.find("check the machine's clock"), std::string::npos) << shown;
}

TEST_F(EcrTest, RedirectedBlobDownloadsCarryNoCredentials) {
  EcrFake::Options o;
  o.redirect_blobs = true;
  Start(o);
  BuiltImage app = Seed(behind_, "team/app", "v1", 8);
  WriteConfig(EcrEndpoint(), "[rules.out]\nsource = \"ecr\"\ndestination = \"plain\"\nrepositories = [\"team/**\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(plain_, "team/app", "v1"), app.digest);
  const EcrFake::EcrStats stats = ecr_->GetEcrStats();
  EXPECT_GE(stats.blob_fetches, 2);  // the config and the layer, through the store
  EXPECT_EQ(stats.blob_fetches_with_authorization, 0);
}

TEST_F(EcrTest, EndpointTestLogsInAndListsOnePage) {
  Start();
  Seed(behind_, "team/app", "v1", 9);
  WriteConfig(EcrEndpoint(), kCopyIn);
  RunResult test = Crossdock({"endpoint", "test", "ecr"});
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("  credentials: accepted (user " + key_ + ", from the endpoint's username and password)\n"),
            std::string::npos)
      << test.out;
  EXPECT_NE(test.out.find("  API:         ECR API at " + ecr_->api_url() + " (region us-east-1) signed as access key " +
                          key_ + ": GetAuthorizationToken answered (registry login valid until "),
            std::string::npos)
      << test.out;
  EXPECT_NE(test.out.find("), DescribeRepositories listed 1 repository\nResult: healthy\n"), std::string::npos)
      << test.out;
  EXPECT_EQ((test.out + test.err).find(secret_), std::string::npos);
}

// The fake checked with an independent client: the AWS CLI (botocore's SigV4) logs in,
// and the registry refuses pages above 1,000 as ECR does.
TEST_F(EcrTest, FakeTakesTheAwsCliAndRefusesPagesAboveOneThousand) {
  RunResult which = RunCommand({"sh", "-c", "command -v aws"});
  if (which.exit_code != 0) GTEST_SKIP() << "the AWS CLI is not installed";
  Start();
  Seed(behind_, "team/app", "v1", 12);
  RunResult login = RunCommand({"aws", "ecr", "get-login-password", "--region", "us-east-1", "--endpoint-url",
                                ecr_->api_url()},
                               {{"AWS_ACCESS_KEY_ID", key_},
                                {"AWS_SECRET_ACCESS_KEY", secret_},
                                {"AWS_SESSION_TOKEN", ""},
                                {"AWS_CONFIG_FILE", "/dev/null"},
                                {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"},
                                {"HOME", dir_.path()}});
  ASSERT_EQ(login.exit_code, 0) << login.out << login.err;
  std::string password = login.out;
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
  EXPECT_EQ(CurlRequest(*ecr_, "GET", "/v2/_catalog?n=1000", {}, {}, "AWS:" + password).status, 200);
  HttpAnswer big = CurlRequest(*ecr_, "GET", "/v2/team/app/tags/list?n=1001", {}, {}, "AWS:" + password);
  EXPECT_EQ(big.status, 405);
  EXPECT_NE(big.body.find("\"code\":\"UNSUPPORTED\""), std::string::npos) << big.body;
  EXPECT_EQ(CurlRequest(*ecr_, "GET", "/v2/", {}, {}, "AWS:not-a-login").status, 401);

  RunResult wrong = RunCommand({"aws", "ecr", "describe-repositories", "--region", "us-east-1", "--endpoint-url",
                                ecr_->api_url()},
                               {{"AWS_ACCESS_KEY_ID", key_},
                                {"AWS_SECRET_ACCESS_KEY", "not-the-secret"},
                                {"AWS_SESSION_TOKEN", ""},
                                {"AWS_CONFIG_FILE", "/dev/null"},
                                {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"},
                                {"AWS_MAX_ATTEMPTS", "1"},
                                {"HOME", dir_.path()}});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("InvalidSignatureException"), std::string::npos) << wrong.err;
}

}  // namespace
}  // namespace crossdock::testing
