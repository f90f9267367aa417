// End to end: crossdock with `type = "harbor"` endpoints against tests/fakes/harbor (Harbor's
// API v2.0, its token service and its authorization checks) with a real docker-registry
// behind it; results are checked straight at that registry and through the fake with
// curl and skopeo, never with crossdock's own client.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "tests/e2e/vendor_e2e.h"
#include "tests/support/harness.h"
#include "tests/support/vendor_fakes.h"

namespace crossdock::testing {
namespace {

HarborFake::Options TwoUsers() {
  HarborFake::Options o;
  o.users = {{"admin", "Harbor12345"}, {"dev", "dev-pw"}};
  o.projects = {"library:public", "apps"};
  o.proxy_cache_projects = {"hub-cache"};
  return o;
}

class HarborTest : public ::testing::Test {
 protected:
  HarborTest() : harbor_(behind_, TwoUsers()) {
    config_ = dir_.Sub("crossdock.toml");
    WriteFile(dir_.Sub("harbor-password"), "Harbor12345\n");
  }

  // [endpoints.plain] (a registry of its own), [endpoints.harbor] as USER, then RULES.
  void WriteConfig(const std::string& rules, const std::string& user = "admin",
                   const std::string& password_file = "harbor-password") {
    WriteFile(config_, "[endpoints.plain]\nurl = \"" + plain_.url() +
                           "\"\n\n[endpoints.harbor]\ntype = \"harbor\"\nurl = \"" + harbor_.url() +
                           "\"\nusername = \"" + user + "\"\npassword = \"file:" + password_file +
                           "\"\n\n" + rules);
  }
  RunResult Crossdock(std::vector<std::string> args) {
    args.insert(args.end(), {"-c", config_, "--no-color"});
    return RunCrossdock(args, {{"HOME", dir_.path()}}, dir_.path());
  }
  BuiltImage SeedPlain(const std::string& repo, const std::string& tag, uint64_t seed) {
    BuiltImage img = BuildImage(dir_.Sub("layout"), repo + tag, SmallVendorImage(seed));
    Push(dir_.Sub("layout"), repo + tag, plain_, repo, tag);
    return img;
  }
  BuiltImage SeedHarbor(const std::string& repo, const std::string& tag, uint64_t seed) {
    BuiltImage img = BuildImage(dir_.Sub("layout"), "h" + std::to_string(seed), SmallVendorImage(seed));
    Push(dir_.Sub("layout"), "h" + std::to_string(seed), harbor_, repo, tag);
    return img;
  }

  TempDir dir_;
  Registry plain_;
  Registry behind_;  // the data Harbor's fake serves
  HarborFake harbor_;
  std::string config_;
};

TEST_F(HarborTest, CopyInCreatesTheMissingProjectShownInThePlan) {
  BuiltImage app = SeedPlain("web/app", "v1", 1);
  BuiltImage tool = SeedPlain("web/tool", "v1", 2);
  WriteConfig("[rules.in]\nsource = \"plain\"\ndestination = \"harbor\"\nrepositories = [\"web/**\"]\n");

  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  const size_t ns = plan.out.find("  + namespace harbor/web\n");
  ASSERT_NE(ns, std::string::npos) << plan.out;
  EXPECT_LT(ns, plan.out.find("/web/app:v1"));
  EXPECT_EQ(plan.out.find("+ namespace", ns + 3), std::string::npos) << "once: " << plan.out;
  EXPECT_NE(plan.out.find("Plan: 2 to copy, 0 to replace, 0 to delete. 1 namespace to create."),
            std::string::npos)
      << plan.out;
  RunResult json = Crossdock({"plan", "--json"});
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["namespaces"],
            nlohmann::json::parse(R"([{"endpoint":"harbor","namespace":"web","rule":"in"}])"));

  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  // The project exists in Harbor's API, and the data is in the registry behind it.
  HttpAnswer project = CurlRequest(harbor_, "GET", "/api/v2.0/projects/web");
  EXPECT_EQ(project.status, 200) << project.body;
  EXPECT_EQ(HeadDigest(behind_, "web/app", "v1"), app.digest);
  EXPECT_EQ(HeadDigest(behind_, "web/tool", "v1"), tool.digest);
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(harbor_, "web/app", "v1")), app.digest);

  RunResult again = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("No changes."), std::string::npos) << again.out;
}

TEST_F(HarborTest, CopyOutListsThroughTheApiWithoutAHeadPerTag) {
  BuiltImage v1 = SeedHarbor("apps/api", "v1", 11);
  SeedHarbor("apps/api", "v2", 12);
  PushManifestUnderTag(harbor_, "apps/api", "v1", "stable");
  // A proxy cache (Harbor refuses pushes there; its content comes from upstream): never
  // a source.
  BuildImage(dir_.Sub("layout"), "cached", SmallVendorImage(13));
  Push(dir_.Sub("layout"), "cached", behind_, "hub-cache/library/nginx", "1.27");
  WriteConfig("[rules.out]\nsource = \"harbor\"\ndestination = \"plain\"\n");
  harbor_.ResetStats();

  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(plain_, "apps/api", "v1"), v1.digest);
  EXPECT_EQ(HeadDigest(plain_, "apps/api", "stable"), v1.digest);
  EXPECT_TRUE(HeadDigest(plain_, "apps/api", "v2"));
  EXPECT_EQ(ListTags(plain_, "hub-cache/library/nginx"), std::vector<std::string>{});

  // A no-op plan: the API's pages, no manifest HEAD at Harbor. Besides them: the /v2/
  // ping proving the credentials (with its token) and one referrers probe.
  harbor_.ResetStats();
  RunResult plan = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  FakeStats stats = harbor_.GetStats();
  for (const auto& p : stats.paths) EXPECT_EQ(p.find("/manifests/"), std::string::npos) << p;
  EXPECT_LE(stats.requests, 12) << ::testing::PrintToString(stats.paths);
}

TEST_F(HarborTest, HarborLabelsSelectArtifactsWithoutReadingThem) {
  SeedHarbor("apps/api", "v1", 21);
  SeedHarbor("apps/api", "v2", 22);
  harbor_.AddLabel("apps", "api", "v2", "release");
  WriteConfig("[rules.out]\nsource = \"harbor\"\ndestination = \"plain\"\nrepositories = "
              "[\"apps/**\"]\nlabels = [\"release\"]\n");
  harbor_.ResetStats();
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("/apps/api:v2"), std::string::npos) << plan.out;
  EXPECT_EQ(plan.out.find("/apps/api:v1"), std::string::npos) << plan.out;
  // v2 is settled by Harbor's label; only v1's manifest is read (for its own labels).
  int manifest_gets = 0;
  for (const auto& p : harbor_.GetStats().paths)
    manifest_gets += p.starts_with("GET /v2/apps/api/manifests/");
  EXPECT_EQ(manifest_gets, 1) << ::testing::PrintToString(harbor_.GetStats().paths);
}

TEST_F(HarborTest, DeleteRemovesTheTagAloneThroughTheTagApi) {
  BuiltImage app = SeedPlain("web/app", "v1", 31);
  PushManifestUnderTag(plain_, "web/app", "v1", "latest");
  WriteConfig("[rules.in]\nsource = \"plain\"\ndestination = \"harbor\"\nrepositories = "
              "[\"web/**\"]\ndelete = true\n");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  ASSERT_EQ(ListTags(behind_, "web/app"), (std::vector<std::string>{"latest", "v1"}));
  // "latest" is no longer selected; "v1" holds the same digest and must stay (a plain
  // registry could only delete both, by digest).
  WriteConfig("[rules.in]\nsource = \"plain\"\ndestination = \"harbor\"\nrepositories = "
              "[\"web/**\"]\ntags = [\"v1\"]\ndelete = true\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_NE(plan.out.find("- " + harbor_.host() + "/web/app:latest"), std::string::npos) << plan.out;
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(ListTags(behind_, "web/app"), std::vector<std::string>{"v1"});
  EXPECT_EQ(HeadDigest(behind_, "web/app", "v1"), app.digest);
}

TEST_F(HarborTest, AccountThatMayNotCreateProjectsGetsWhatToDo) {
  SeedPlain("web/app", "v1", 41);
  WriteFile(dir_.Sub("dev-password"), "dev-pw\n");
  WriteConfig("[rules.in]\nsource = \"plain\"\ndestination = \"harbor\"\nrepositories = [\"web/**\"]\n",
              "dev", "dev-password");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(apply.exit_code, 1) << apply.out << apply.err;
  EXPECT_NE((apply.out + apply.err).find("create project \"web\" first"), std::string::npos)
      << apply.out << apply.err;
  EXPECT_EQ(ListTags(behind_, "web/app"), std::vector<std::string>{});
}

TEST_F(HarborTest, ProxyCacheAndOneComponentDestinationsAreErrorsPerRepository) {
  SeedPlain("web/app", "v1", 51);
  SeedPlain("solo", "v1", 52);
  WriteConfig("[rules.cache]\nsource = \"plain\"\ndestination = \"harbor\"\nrepositories = "
              "[\"web/**\"]\ndest_namespace = \"hub-cache\"\nflatten = 1\n\n[rules.solo]\nsource = "
              "\"plain\"\ndestination = \"harbor\"\nrepositories = [\"sol*\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("rule \"cache\", repository \"web/app\": project \"hub-cache\" at endpoint "
                          "\"harbor\" is a proxy-cache project"),
            std::string::npos)
      << plan.out;
  EXPECT_NE(plan.out.find("rule \"solo\", repository \"solo\": endpoint \"harbor\" takes repository "
                          "names of at least 2 path components (Harbor repositories are "
                          "PROJECT/NAME)"),
            std::string::npos)
      << plan.out;
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(ListTags(behind_, "hub-cache/app"), std::vector<std::string>{});
  EXPECT_EQ(ListTags(behind_, "solo"), std::vector<std::string>{});
}

TEST_F(HarborTest, WrongPasswordAndHarbor1AreClearErrors) {
  WriteFile(dir_.Sub("wrong"), "nope\n");
  WriteConfig("[rules.out]\nsource = \"harbor\"\ndestination = \"plain\"\n", "admin", "wrong");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE(plan.out.find("HTTP 401, credentials were rejected"), std::string::npos) << plan.out;
  EXPECT_EQ((plan.out + plan.err).find("nope"), std::string::npos);

  HarborFake::Options v1 = TwoUsers();
  v1.v1 = true;
  HarborFake old(behind_, v1);
  WriteFile(config_, "[endpoints.old]\ntype = \"harbor\"\nurl = \"" + old.url() +
                         "\"\nusername = \"admin\"\npassword = \"file:harbor-password\"\n");
  RunResult test = Crossdock({"endpoint", "test", "old"});
  EXPECT_EQ(test.exit_code, 1);
  EXPECT_NE(test.out.find("API:         FAILED"), std::string::npos) << test.out;
  EXPECT_NE(test.out.find("this is Harbor 1.x or not Harbor at all"), std::string::npos) << test.out;
}

TEST_F(HarborTest, ExpiredRegistryTokensAreRenewedMidRun) {
  HarborFake::Options o = TwoUsers();
  o.token_lifetime = 2;
  HarborFake shortlived(behind_, o);
  for (int i = 0; i < 3; ++i) SeedPlain("web/app" + std::to_string(i), "v1", 70 + i);
  // One request at a time, four a second: the copies (about ten requests each) outlive
  // several two-second tokens.
  WriteFile(config_, "[settings]\nparallelism = 1\n\n[endpoints.plain]\nurl = \"" + plain_.url() +
                         "\"\n\n[endpoints.harbor]\ntype = \"harbor\"\nurl = \"" + shortlived.url() +
                         "\"\nusername = \"admin\"\npassword = \"file:harbor-password\"\nrate_limit = "
                         "\"4/s\"\n\n[rules.in]\nsource = \"plain\"\ndestination = \"harbor\"\n"
                         "repositories = [\"web/**\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(HeadDigest(behind_, "web/app" + std::to_string(i), "v1"));
  EXPECT_GE(shortlived.GetStats().token, 2) << ::testing::PrintToString(shortlived.GetStats().paths);
}

TEST_F(HarborTest, UnreachableApiUrlIsNamed) {
  const int closed = FreePort();
  WriteFile(config_, "[endpoints.plain]\nurl = \"" + plain_.url() +
                         "\"\n\n[endpoints.harbor]\ntype = \"harbor\"\nurl = \"" + harbor_.url() +
                         "\"\napi_url = \"http://127.0.0.1:" + std::to_string(closed) +
                         "\"\nusername = \"admin\"\npassword = \"file:harbor-password\"\n\n"
                         "[rules.out]\nsource = \"harbor\"\ndestination = \"plain\"\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_NE(plan.out.find("(Harbor API at http://127.0.0.1:" + std::to_string(closed) + ")"),
            std::string::npos)
      << plan.out << plan.err;
}

TEST_F(HarborTest, EndpointTestChecksTheApi) {
  WriteConfig("");
  RunResult test = Crossdock({"endpoint", "test", "harbor"});
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("API:         Harbor API v2.0 at " + harbor_.url() + " answered; "),
            std::string::npos)
      << test.out;
  EXPECT_NE(test.out.find("to user \"admin\""), std::string::npos) << test.out;
}

}  // namespace
}  // namespace crossdock::testing
