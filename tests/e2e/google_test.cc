// End to end: crossdock with `type = "google-gcr"` endpoints against tests/fakes/gcr (GCR
// or Artifact Registry, Google's OAuth token endpoint verifying RS256 assertions, Artifact
// Registry's REST API) with a real docker-registry behind it; results are checked at that
// registry with curl and skopeo, never with crossdock's own client.
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <algorithm>

#include "tests/e2e/vendor_e2e.h"
#include "tests/support/google_fake.h"
#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  out.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                                 reinterpret_cast<const unsigned char*>(in.data()),
                                                 static_cast<int>(in.size()))));
  return out;
}

class GoogleTest : public VendorE2eTest {
 protected:
  void Start(GcrFake::Options o = {}) { gcr_ = std::make_unique<GcrFake>(behind_, o); }
  static GcrFake::Options Gar() {
    GcrFake::Options o;
    o.gar_location = "us-east1";
    o.gar_repos = {"proj/docker"};
    o.page_size = 1;  // every listing pages
    return o;
  }
  // [endpoints.gcr] logged in as USERNAME with password PASSWORD (written to a file);
  // by default the service account's key file.
  std::string GcrEndpoint(const std::string& username = "_json_key", const std::string& password = "") {
    WriteFile(dir_.Sub("key.json"), password.empty() ? gcr_->KeyJson() : password);
    std::string table = "[endpoints.gcr]\ntype = \"google-gcr\"\nurl = \"" + gcr_->url() +
                        "\"\nusername = \"" + username + "\"\npassword = \"file:key.json\"\n";
    if (!gcr_->options().gar_location.empty()) table += "api_url = \"" + gcr_->gar_api_url() + "\"\n";
    return table;
  }
  std::unique_ptr<GcrFake> gcr_;
};

TEST_F(GoogleTest, CopyInAndOutWithoutAHeadPerTagThanksToTheManifestMap) {
  Start();
  BuiltImage app = Seed(plain_, "proj/app", "v1", 1);
  PushManifestUnderTag(plain_, "proj/app", "v1", "latest");
  WriteConfig(GcrEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"gcr\"\nrepositories = [\"proj/**\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(behind_, "proj/app", "v1"), app.digest);
  EXPECT_EQ(HeadDigest(behind_, "proj/app", "latest"), app.digest);
  gcr_->ResetStats();
  RunResult plan = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  FakeStats stats = gcr_->GetStats();
  EXPECT_EQ(CountRequests(stats, "HEAD /v2/"), 0) << ::testing::PrintToString(stats.paths);
  EXPECT_GE(CountRequests(stats, "GET /v2/proj/app/tags/list"), 1);

  // Out of GCR: the source's digests come from its listing too.
  BuiltImage tool = Seed(*gcr_, "proj/tool", "v2", 2);
  WriteConfig(GcrEndpoint(), "[rules.out]\nsource = \"gcr\"\ndestination = \"plain\"\nrepositories = [\"proj/tool\"]\n");
  gcr_->ResetStats();
  RunResult out = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  EXPECT_EQ(HeadDigest(plain_, "proj/tool", "v2"), tool.digest);
  EXPECT_EQ(SkopeoInspectRaw(plain_, "proj/tool", "v2"), SkopeoInspectRaw(behind_, "proj/tool", "v2"));
  EXPECT_EQ(CountRequests(gcr_->GetStats(), "HEAD /v2/proj/tool/manifests/v2"), 0)
      << ::testing::PrintToString(gcr_->GetStats().paths);
}

TEST_F(GoogleTest, TheThreeUsernamesLogIn) {
  Start();
  Seed(*gcr_, "proj/app", "v1", 3);
  const std::vector<std::pair<std::string, std::string>> logins = {
      {"_json_key", gcr_->KeyJson()},
      {"_json_key_base64", Base64(gcr_->KeyJson())},
      {"oauth2accesstoken", gcr_->options().access_token}};
  for (const auto& [user, password] : logins) {
    WriteConfig(GcrEndpoint(user, password), "");
    RunResult test = Crossdock({"endpoint", "test", "gcr"});
    EXPECT_EQ(test.exit_code, 0) << user << "\n" << test.out << test.err;
    EXPECT_NE(test.out.find("credentials: accepted (user " + user), std::string::npos) << test.out;
    WriteConfig(GcrEndpoint(user, password),
                "[rules.out]\nsource = \"gcr\"\ndestination = \"plain\"\nrepositories = [\"proj/app\"]\n");
    RunResult plan = Crossdock({"plan"});
    EXPECT_EQ(plan.exit_code, 0) << user << "\n" << plan.out << plan.err;
  }
}

TEST_F(GoogleTest, BadKeysAndUsernamesAreOneClearErrorWithoutTheSecret) {
  Start();
  const std::string rule = "[rules.out]\nsource = \"gcr\"\ndestination = \"plain\"\nrepositories = [\"proj/app\"]\n";
  WriteConfig(GcrEndpoint("_json_key", "{\n  \"type\": \"service_account\",\n  \"private_key\": MIIEsecret-bits\n}"), rule);
  RunResult not_json = Crossdock({"plan"});
  EXPECT_EQ(not_json.exit_code, 1);
  EXPECT_NE(not_json.err.find("Error: the password of endpoint \"gcr\" is not JSON (error at line 3, "
                              "column 18): with username \"_json_key\""),
            std::string::npos)
      << not_json.err;
  EXPECT_EQ((not_json.out + not_json.err).find("MIIEsecret"), std::string::npos);

  std::string garbled = gcr_->KeyJson();
  const size_t begin = garbled.find("-----BEGIN PRIVATE KEY-----\\n") + 29;
  garbled.replace(begin, 12, "AAAAsecretAA");
  WriteConfig(GcrEndpoint("_json_key", garbled), rule);
  RunResult bad_key = Crossdock({"plan"});
  EXPECT_EQ(bad_key.exit_code, 1);
  EXPECT_NE(bad_key.err.find("its private_key is not an unencrypted RSA private key in PEM that OpenSSL "
                             "can read"),
            std::string::npos)
      << bad_key.err;
  EXPECT_EQ((bad_key.out + bad_key.err).find("AAAAsecretAA"), std::string::npos);

  WriteConfig(GcrEndpoint("admin", "hunter2-secret"), rule);
  RunResult user = Crossdock({"plan"});
  EXPECT_EQ(user.exit_code, 1);
  EXPECT_NE(user.err.find("username \"admin\" of endpoint \"gcr\" is not one Google's registries take; "
                          "Google's registries take username \"_json_key\""),
            std::string::npos)
      << user.err;
  EXPECT_EQ((user.out + user.err).find("hunter2"), std::string::npos);

  // A well-formed key Google does not know: refused at the registry, not echoed.
  const std::string unknown = GcrFake::UnknownKeyJson("ci@proj.iam.gserviceaccount.com", gcr_->url() + "/token");
  WriteConfig(GcrEndpoint("_json_key", unknown), rule);
  RunResult test = Crossdock({"endpoint", "test", "gcr"});
  EXPECT_EQ(test.exit_code, 1);
  EXPECT_NE(test.out.find("credentials: REJECTED"), std::string::npos) << test.out;
  const std::string pem_line = unknown.substr(unknown.find("-----BEGIN PRIVATE KEY-----\\n") + 29, 40);
  EXPECT_EQ((test.out + test.err).find(pem_line), std::string::npos);
}

TEST_F(GoogleTest, DeleteRemovesTheTagsThenTheDigestAndLeavesADigestTaggedByOthers) {
  Start();
  BuiltImage a = Seed(plain_, "proj/svc", "v1", 4);
  PushManifestUnderTag(plain_, "proj/svc", "v1", "latest");
  BuiltImage b = Seed(plain_, "proj/svc", "v2", 5);
  WriteConfig(GcrEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"gcr\"\nrepositories = [\"proj/svc\"]\ndelete = true\n");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  PushManifestUnderTag(behind_, "proj/svc", "v2", "pinned");  // someone else's tag on b
  gcr_->ResetStats();
  WriteConfig(GcrEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"gcr\"\nrepositories = [\"proj/svc\"]\n"
                             "tags = [\"none\"]\ndelete = true\n");
  RunResult del = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_EQ(ListTags(behind_, "proj/svc"), std::vector<std::string>{"pinned"});
  EXPECT_EQ(HeadDigest(behind_, "proj/svc", a.digest), std::nullopt);  // untagged, then deleted
  EXPECT_EQ(HeadDigest(behind_, "proj/svc", "pinned"), b.digest);     // not crossdock's
  std::vector<std::string> deletes;
  for (const std::string& p : gcr_->GetStats().paths)
    if (p.starts_with("DELETE ")) deletes.push_back(p.substr(p.rfind('/') + 1));
  ASSERT_EQ(deletes.size(), 4u) << ::testing::PrintToString(deletes);  // 3 tags, then a
  auto at = [&](const std::string& what) { return std::find(deletes.begin(), deletes.end(), what) - deletes.begin(); };
  EXPECT_GT(at(a.digest), at("v1"));
  EXPECT_GT(at(a.digest), at("latest"));
  EXPECT_EQ(std::count(deletes.begin(), deletes.end(), b.digest), 0);
}

TEST_F(GoogleTest, ArtifactRegistryListsThroughRestWithATokenBoughtByAnAssertion) {
  Start(Gar());
  BuiltImage app = Seed(*gcr_, "proj/docker/app", "v1", 6);
  BuiltImage web = Seed(*gcr_, "proj/docker/team/web", "v2", 7);
  WriteConfig(GcrEndpoint(), "[rules.out]\nsource = \"gcr\"\ndestination = \"plain\"\nrepositories = [\"**\"]\n");
  gcr_->ResetStats();
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(plain_, "proj/docker/app", "v1"), app.digest);
  EXPECT_EQ(HeadDigest(plain_, "proj/docker/team/web", "v2"), web.digest);
  FakeStats stats = gcr_->GetStats();
  EXPECT_EQ(CountRequests(stats, "POST /token"), 1) << ::testing::PrintToString(stats.paths);
  EXPECT_GE(CountRequests(stats, "GET /v1/projects/proj/locations/us-east1/repositories/docker/dockerImages?pageSize=1000&pageToken="), 1);
  EXPECT_EQ(CountRequests(stats, "GET /v2/_catalog"), 0);

  RunResult test = Crossdock({"endpoint", "test", "gcr"});
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("API:         Artifact Registry API at " + gcr_->url() +
                          " answered to service account ci@proj.iam.gserviceaccount.com: 1 Docker "
                          "repository in project \"proj\" (us-east1)"),
            std::string::npos)
      << test.out;
}

TEST_F(GoogleTest, ArtifactRegistryRepositoryThatDoesNotExistIsRefusedInThePlan) {
  Start(Gar());
  Seed(plain_, "proj/nothere/app", "v1", 8);
  BuiltImage ok = Seed(plain_, "proj/docker/app", "v1", 9);
  Seed(plain_, "proj/short", "v1", 10);
  WriteConfig(GcrEndpoint(), "[rules.in]\nsource = \"plain\"\ndestination = \"gcr\"\nrepositories = [\"proj/**\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("repository \"proj/nothere/app\": Artifact Registry repository \"nothere\" of "
                          "project \"proj\" does not exist in us-east1, and crossdock does not create "
                          "repositories there: create it first (gcloud artifacts repositories create "
                          "nothere --repository-format=docker --location=us-east1 --project=proj)"),
            std::string::npos)
      << plan.out;
  EXPECT_NE(plan.out.find("Artifact Registry repositories are PROJECT/REPOSITORY/IMAGE"), std::string::npos)
      << plan.out;
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(HeadDigest(behind_, "proj/docker/app", "v1"), ok.digest);
  EXPECT_EQ(ListTags(behind_, "proj/nothere/app"), std::vector<std::string>{});
}

TEST_F(GoogleTest, AnAssertionGoogleFindsOutOfTimeSaysTheClockIsOff) {
  GcrFake::Options o = Gar();
  o.clock_skew = 3 * 3600;
  Start(o);
  Seed(*gcr_, "proj/docker/app", "v1", 11);
  WriteConfig(GcrEndpoint(), "[rules.out]\nsource = \"gcr\"\ndestination = \"plain\"\nrepositories = [\"**\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE((plan.out + plan.err).find("invalid_grant: Invalid JWT: Token must be a short-lived token (60 "
                                       "minutes) and in a reasonable timeframe"),
            std::string::npos)
      << plan.out << plan.err;
  EXPECT_NE((plan.out + plan.err).find("this machine's clock is probably off"), std::string::npos);
}

}  // namespace
}  // namespace crossdock::testing
