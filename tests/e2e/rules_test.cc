// End to end: Harbor-exact rule semantics (filters, naming, fan-out, referrers,
// push/pull, adopt) on real registries. One seeded source serves the suite; each
// test has its own destination(s). Results are read with curl, not crossdock.
#include <gtest/gtest.h>

#include <memory>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

class RulesTest : public ::testing::Test {
 protected:
  // Seeded once: library/nginx, library/redis, team/app/api, team/app/web, test1,
  // test12 (tags v1.0.0 v1.2.3 v2.0.0-rc1 latest), labelled/app (gold, plain),
  // charts/mychart:0.1.0 (a Helm chart as an OCI artifact), and a cosign-style
  // signature tag on library/nginx.
  static void SetUpTestSuite() {
    seed_dir_ = new TempDir("crossdock-rules");
    src_ = new Registry();
    std::string layout = seed_dir_->Sub("layout");
    uint64_t seed = 1;
    for (const char* repo : {"library/nginx", "library/redis", "team/app/api", "team/app/web",
                             "test1", "test12"}) {
      ImageSpec spec;
      spec.layers = {LayerSpec{.size = 2048, .seed = 1}, LayerSpec{.size = 1024, .seed = ++seed}};
      BuiltImage img = BuildImage(layout, repo, spec);
      Push(layout, repo, *src_, repo, "v1.0.0");
      // The other tags hold another image, so versions differ by digest.
      spec.labels = {{"v", "2"}};
      BuiltImage img2 = BuildImage(layout, std::string(repo) + "-2", spec);
      Push(layout, std::string(repo) + "-2", *src_, repo, "v1.2.3");
      PushManifestUnderTags(*src_, repo, "v1.2.3", {"v2.0.0-rc1", "latest"});
      if (std::string(repo) == "library/nginx") nginx_v123_ = img2.digest;
    }
    ImageSpec gold;
    gold.labels = {{"team", "payments"}, {"tier", "gold"}};
    BuildImage(layout, "gold", gold);
    Push(layout, "gold", *src_, "labelled/app", "gold");
    ImageSpec plain;
    plain.labels = {{"team", "payments"}};
    BuildImage(layout, "plain", plain);
    Push(layout, "plain", *src_, "labelled/app", "plain");
    ImageSpec chart;
    chart.config_media_type = "application/vnd.cncf.helm.config.v1+json";
    chart.config_json = R"({"name":"mychart","version":"0.1.0","apiVersion":"v2"})";
    BuildImage(layout, "chart", chart);
    Push(layout, "chart", *src_, "charts/mychart", "0.1.0");
    ImageSpec sig;
    sig.annotations = {{"dev.cosignproject.cosign/signature", "MEUCIQ..."}};
    sig.labels = {{"sig", "1"}};
    BuildImage(layout, "sig", sig);
    signature_tag_ = "sha256-" + nginx_v123_.substr(7) + ".sig";
    Push(layout, "sig", *src_, "library/nginx", signature_tag_);
  }
  static void TearDownTestSuite() {
    delete src_;
    delete seed_dir_;
  }

  RulesTest() : dst_(std::make_unique<Registry>()) {}

  // Writes the config: endpoints src, dst (and dst2 when given), then RULES.
  void WriteConfig(const std::string& rules, const Registry* dst2 = nullptr,
                   const std::string& settings = "") {
    std::string text = settings + "[endpoints.src]\nurl = \"" + src_->url() +
                       "\"\n[endpoints.dst]\nurl = \"" + dst_->url() + "\"\n";
    if (dst2) text += "[endpoints.dst2]\nurl = \"" + dst2->url() + "\"\n";
    WriteFile(dir_.Sub("crossdock.toml"), text + rules);
  }
  RunResult Crossdock(std::vector<std::string> args) {
    args.insert(args.end(), {"--no-color"});
    return RunCrossdock(args, {}, dir_.path());
  }
  void Apply() {
    RunResult r = Crossdock({"apply", "--auto-approve"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  static TempDir* seed_dir_;
  static Registry* src_;
  static std::string nginx_v123_, signature_tag_;
  TempDir dir_;
  std::unique_ptr<Registry> dst_;
};
TempDir* RulesTest::seed_dir_ = nullptr;
Registry* RulesTest::src_ = nullptr;
std::string RulesTest::nginx_v123_, RulesTest::signature_tag_;

using Tags = std::vector<std::string>;

TEST_F(RulesTest, NameFiltersSelectExactlyWhatHarborWould) {
  WriteConfig("[rules.lib]\nsource = \"src\"\ndestination = \"dst\"\n"
              "repositories = [\"library/**\", \"test?\"]\nexclude_repositories = [\"library/redis\"]\n"
              "tags = [\"latest\"]\ninclude_referrers = false\n");
  Apply();
  EXPECT_EQ(ListTags(*dst_, "library/nginx"), Tags{"latest"});
  EXPECT_EQ(ListTags(*dst_, "test1"), Tags{"latest"});
  EXPECT_TRUE(ListTags(*dst_, "library/redis").empty());
  EXPECT_TRUE(ListTags(*dst_, "test12").empty());  // test? matches one character only
  EXPECT_TRUE(ListTags(*dst_, "team/app/api").empty());
}

TEST_F(RulesTest, TagFiltersSemverAndKeepLatest) {
  WriteConfig("[rules.a]\nsource = \"src\"\ndestination = \"dst\"\nrepositories = [\"team/app/api\"]\n"
              "tags = [\"v*\"]\nexclude_tags = [\"*-rc*\"]\n"
              "[rules.b]\nsource = \"src\"\ndestination = \"dst\"\nrepositories = [\"team/app/web\"]\n"
              "semver = \">=1.1\"\n"
              "[rules.c]\nsource = \"src\"\ndestination = \"dst\"\nrepositories = [\"library/redis\"]\n"
              "keep_latest = 1\ntags = [\"v*\"]\n");
  Apply();
  EXPECT_EQ(ListTags(*dst_, "team/app/api"), (Tags{"v1.0.0", "v1.2.3"}));
  EXPECT_EQ(ListTags(*dst_, "team/app/web"), (Tags{"v1.2.3"}));  // rc1 is a pre-release
  EXPECT_EQ(ListTags(*dst_, "library/redis"), (Tags{"v2.0.0-rc1"}));
}

TEST_F(RulesTest, NamespaceAndFlatteningFollowHarbor) {
  WriteConfig("[rules.f1]\nsource = \"src\"\ndestination = \"dst\"\nrepositories = [\"team/**\"]\n"
              "tags = [\"latest\"]\ndest_namespace = \"mirror/x\"\nflatten = 1\n"
              "[rules.fall]\nsource = \"src\"\ndestination = \"dst\"\nrepositories = [\"library/nginx\"]\n"
              "tags = [\"latest\"]\ndest_namespace = \"flat\"\nflatten = \"all\"\ninclude_referrers = false\n");
  Apply();
  EXPECT_EQ(HeadDigest(*dst_, "mirror/x/app/api", "latest"), HeadDigest(*src_, "team/app/api", "latest"));
  EXPECT_TRUE(HeadDigest(*dst_, "mirror/x/app/web", "latest"));
  EXPECT_EQ(HeadDigest(*dst_, "flat/nginx", "latest"), nginx_v123_);
}

TEST_F(RulesTest, FlattenDeeperThanPathFailsOnlyThatRepository) {
  // "tes?1" is a pattern, so the catalog decides what it selects and only the plan can
  // tell (validate already rejects the literal "test1").
  WriteConfig("[rules.f2]\nsource = \"src\"\ndestination = \"dst\"\n"
              "repositories = [\"tes?1\", \"team/app/api\"]\ntags = [\"latest\"]\n"
              "dest_namespace = \"ns\"\nflatten = 2\n");
  RunResult r = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("rule \"f2\", repository \"test1\": cannot flatten 2 levels"),
            std::string::npos) << r.out;
  EXPECT_TRUE(HeadDigest(*dst_, "ns/api", "latest"));
}

TEST_F(RulesTest, LabelAndResourceFilters) {
  WriteConfig("[rules.gold]\nsource = \"src\"\ndestination = \"dst\"\nrepositories = [\"labelled/app\"]\n"
              "labels = [\"team=payments\", \"tier=gold\"]\n"
              "[rules.charts]\nsource = \"src\"\ndestination = \"dst\"\nresource = \"chart\"\n"
              "repositories = [\"charts/**\", \"labelled/**\"]\ndest_namespace = \"helm\"\n");
  Apply();
  EXPECT_EQ(ListTags(*dst_, "labelled/app"), Tags{"gold"});
  EXPECT_EQ(ListTags(*dst_, "helm/charts/mychart"), Tags{"0.1.0"});
  EXPECT_TRUE(ListTags(*dst_, "helm/labelled/app").empty());
  EXPECT_EQ(HeadDigest(*dst_, "helm/charts/mychart", "0.1.0"),
            HeadDigest(*src_, "charts/mychart", "0.1.0"));
}

TEST_F(RulesTest, FanOutAndSignaturesTravelWithTheirSubject) {
  Registry dst2;
  WriteConfig("[rules.fan]\nsource = \"src\"\ndestinations = [\"dst\", \"dst2\"]\n"
              "repositories = [\"library/nginx\"]\ntags = [\"v1.2.3\"]\n", &dst2);
  RunResult plan = Crossdock({"plan"});
  EXPECT_NE(plan.out.find("(signature/attestation of v1.2.3)"), std::string::npos) << plan.out;
  Apply();
  for (const Registry* d : {dst_.get(), &dst2}) {
    EXPECT_EQ(ListTags(*d, "library/nginx"), (Tags{signature_tag_, "v1.2.3"}));
    EXPECT_EQ(HeadDigest(*d, "library/nginx", signature_tag_),
              HeadDigest(*src_, "library/nginx", signature_tag_));
  }
}

TEST_F(RulesTest, HarborStylePullAndPushRelativeToHome) {
  WriteConfig("[rules.pull-from-src]\nmode = \"pull\"\nremote = \"src\"\n"
              "repositories = [\"test1\"]\ntags = [\"latest\"]\n",
              nullptr, "[settings]\nhome = \"dst\"\n");
  Apply();
  EXPECT_TRUE(HeadDigest(*dst_, "test1", "latest"));
  RunResult rules = Crossdock({"rules"});
  EXPECT_NE(rules.out.find("pull-from-src\n  src -> dst"), std::string::npos) << rules.out;
}

TEST_F(RulesTest, AdoptTakesOwnershipThenDeleteRemovesIt) {
  // The destination already holds test1:latest, pushed by hand with the same digest.
  std::string layout = dir_.Sub("layout");
  RunResult copy = RunCommand({"skopeo", "copy", "-q", "--all", "--preserve-digests",
                               "--src-tls-verify=false", "--dest-tls-verify=false",
                               "docker://" + src_->host() + "/test1:latest",
                               "docker://" + dst_->host() + "/test1:latest"});
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  WriteConfig("[rules.own]\nsource = \"src\"\ndestination = \"dst\"\nrepositories = [\"test1\"]\n"
              "tags = [\"latest\"]\nadopt = true\n");
  RunResult plan = Crossdock({"plan", "--json"});
  EXPECT_NE(plan.out.find("\"action\":\"adopt\""), std::string::npos) << plan.out;
  Apply();
  EXPECT_EQ(Crossdock({"state", "list"}).out, "dst/test1:latest\n");
  EXPECT_EQ(Crossdock({"plan", "--detailed-exitcode"}).exit_code, 0);
}

TEST_F(RulesTest, OverrideFalseNeverReplacesAnotherDigest) {
  // The destination holds test1:latest with another digest (test12's image).
  RunResult copy = RunCommand({"skopeo", "copy", "-q", "--all", "--preserve-digests",
                               "--src-tls-verify=false", "--dest-tls-verify=false",
                               "docker://" + src_->host() + "/test12:latest",
                               "docker://" + dst_->host() + "/test1:latest"});
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  auto theirs = HeadDigest(*dst_, "test1", "latest");
  WriteConfig("[rules.keep]\nsource = \"src\"\ndestination = \"dst\"\nrepositories = [\"test1\"]\n"
              "tags = [\"latest\", \"v1.0.0\"]\noverride = false\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_NE(plan.out.find("skipped: the destination holds another digest and override = false"),
            std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("Plan: 1 to copy, 0 to replace, 0 to delete. 1 skipped."),
            std::string::npos) << plan.out;
  Apply();
  EXPECT_EQ(HeadDigest(*dst_, "test1", "latest"), theirs);
  EXPECT_EQ(HeadDigest(*dst_, "test1", "v1.0.0"), HeadDigest(*src_, "test1", "v1.0.0"));
  // With override (the default) the same rule replaces it.
  WriteConfig("[rules.keep]\nsource = \"src\"\ndestination = \"dst\"\nrepositories = [\"test1\"]\n"
              "tags = [\"latest\"]\n");
  Apply();
  EXPECT_EQ(HeadDigest(*dst_, "test1", "latest"), HeadDigest(*src_, "test1", "latest"));
}

TEST_F(RulesTest, DisabledRuleIsShownAndNeverRun) {
  WriteConfig("[rules.off]\nsource = \"src\"\ndestination = \"dst\"\nenabled = false\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 0);
  EXPECT_NE(plan.out.find("Rule \"off\" is disabled (enabled = false): not planned."),
            std::string::npos) << plan.out;
  RunResult rules = Crossdock({"rules"});
  EXPECT_NE(rules.out.find("off  (disabled)"), std::string::npos) << rules.out;
}

}  // namespace
}  // namespace crossdock::testing

namespace crossdock::testing {
namespace {

// The OCI 1.1 referrers API: docker-registry 2.8 has none, so a loopback proxy that
// follows the spec serves it in front of each real registry (tests/fakes/corrupt_proxy
// --referrers), recording manifests pushed through it with a "subject".
TEST(ReferrersApiTest, ReferrersAreCopiedByDigestWithTheirSubject) {
  TempDir dir;
  Registry src, dst;
  CorruptProxy src_api(src, CorruptProxy::Options{.corrupt_blobs = false, .referrers = true});
  CorruptProxy dst_api(dst, CorruptProxy::Options{.corrupt_blobs = false, .referrers = true});
  std::string layout = dir.Sub("layout");
  BuiltImage app = BuildImage(layout, "app", ImageSpec{});
  Push(layout, "app", src, "app", "v1");
  ImageSpec sbom;
  sbom.config_media_type = "application/spdx+json";
  sbom.config_json = R"({"spdxVersion":"SPDX-2.3"})";
  sbom.subject_digest = app.digest;
  sbom.subject_media_type = app.media_type;
  sbom.subject_size = app.size;
  BuiltImage built = BuildImage(layout, "sbom", sbom);
  Push(layout, "sbom", src, "app", "sbom-upload");
  PushManifestUnderTag(src_api, "app", "sbom-upload", built.digest);  // recorded as a referrer
  HttpAnswer listed = CurlRequest(src_api, "GET", "/v2/app/referrers/" + app.digest);
  ASSERT_NE(listed.body.find(built.digest), std::string::npos) << listed.body;

  WriteFile(dir.Sub("crossdock.toml"),
            "[endpoints.src]\nurl = \"" + src_api.url() + "\"\n[endpoints.dst]\nurl = \"" +
                dst_api.url() + "\"\n[rules.r]\nsource = \"src\"\ndestination = \"dst\"\n"
                "tags = [\"v1\"]\n");
  RunResult plan = RunCrossdock({"plan", "--no-color"}, {}, dir.path());
  EXPECT_NE(plan.out.find("/app@" + built.digest), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("Plan: 2 to copy"), std::string::npos) << plan.out;
  RunResult apply = RunCrossdock({"apply", "--auto-approve"}, {}, dir.path());
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(dst, "app", built.digest), built.digest);
  EXPECT_EQ(HeadDigest(dst, "app", "v1"), app.digest);
  HttpAnswer at_dst = CurlRequest(dst_api, "GET", "/v2/app/referrers/" + app.digest);
  EXPECT_NE(at_dst.body.find(built.digest), std::string::npos) << at_dst.body;
  EXPECT_EQ(RunCrossdock({"plan", "--detailed-exitcode"}, {}, dir.path()).exit_code, 0);

  // A destination without the referrers API (docker-registry itself) gets the OCI 1.1
  // fallback tag sha256-<subject hex>: an index listing the referrers.
  Registry plain;
  WriteFile(dir.Sub("crossdock.toml"),
            "[endpoints.src]\nurl = \"" + src_api.url() + "\"\n[endpoints.plain]\nurl = \"" +
                plain.url() + "\"\n[rules.r]\nsource = \"src\"\ndestination = \"plain\"\n"
                "tags = [\"v1\"]\n");
  RunResult to_plain = RunCrossdock({"apply", "--auto-approve"}, {}, dir.path());
  ASSERT_EQ(to_plain.exit_code, 0) << to_plain.out << to_plain.err;
  std::string fallback = "sha256-" + app.digest.substr(7);
  EXPECT_EQ(ListTags(plain, "app"), (std::vector<std::string>{fallback, "v1"}));
  std::string index = SkopeoInspectRaw(plain, "app", fallback);
  EXPECT_NE(index.find(built.digest), std::string::npos) << index;
  EXPECT_NE(index.find("\"artifactType\":\"application/spdx+json\""), std::string::npos) << index;
  EXPECT_EQ(HeadDigest(plain, "app", built.digest), built.digest);
  EXPECT_EQ(RunCrossdock({"plan", "--detailed-exitcode"}, {}, dir.path()).exit_code, 0);
}

}  // namespace
}  // namespace crossdock::testing
