// End to end: hostile input outside the registry client (issue 10): altered plan
// files, patterns built to exhaust the matcher, secrets validate cannot resolve.
// Results are checked with the registry's own API (tests/e2e/harness.h).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/e2e/harness.h"

namespace crossdock::testing {
namespace {

class LimitsTest : public ::testing::Test {
 protected:
  LimitsTest() : config_(dir_.Sub("crossdock.toml")), layout_(dir_.Sub("layout")) {}

  // One rule "lib" from src to dst; RULE_EXTRA holds more of its keys.
  void WriteConfig(const std::string& rule_extra) {
    WriteFile(config_, "[endpoints.src]\nurl = \"" + src_.url() + "\"\n\n"
                       "[endpoints.dst]\nurl = \"" + dst_.url() + "\"\n\n"
                       "[rules.lib]\nsource = \"src\"\ndestination = \"dst\"\n"
                       "repositories = [\"lib/**\"]\n" + rule_extra);
  }

  std::string SeedInto(const Registry& registry, const std::string& repo, const std::string& tag,
                       uint64_t seed) {
    ImageSpec spec;
    spec.layers = {LayerSpec{.size = 1024, .seed = seed}};
    spec.labels = {{"seed", std::to_string(seed)}};
    const std::string name = "img" + std::to_string(seed);
    BuiltImage img = BuildImage(layout_, name, spec);
    Push(layout_, name, registry, repo, tag);
    return img.digest;
  }

  RunResult Crossdock(std::vector<std::string> args, int timeout_s = 120) {
    args.insert(args.end(), {"-c", config_});
    return RunCrossdock(args, {}, dir_.path(), timeout_s);
  }

  TempDir dir_;
  Registry src_, dst_;
  std::string config_, layout_;
};

// A plan file is input too: an altered one named other/victim through
// "lib/../other/victim", which curl's dot-segment removal made real.
TEST_F(LimitsTest, AnAlteredPlanFileIsRefusedNamingTheFileAndChangesNothing) {
  const std::string prod = SeedInto(dst_, "other/victim", "prod", 71);  // not crossdock's
  SeedInto(src_, "lib/app", "v1", 72);
  WriteConfig("");
  const std::string planfile = dir_.Sub("plan.json");
  RunResult plan = Crossdock({"plan", "--out", planfile});
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  std::string text = ReadFile(planfile);
  const std::string from = "\"destination_repository\": \"lib/app\"";
  const size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, from.size(), "\"destination_repository\": \"lib/../other/victim\"");
  WriteFile(planfile, text);

  RunResult apply = Crossdock({"apply", planfile});
  EXPECT_EQ(apply.exit_code, 1) << apply.out << apply.err;
  EXPECT_EQ(apply.err,
            "Error: " + planfile +
                ": change 1: repository \"lib/../other/victim\" is not a valid repository name: "
                "lowercase letters and digits, separated by '.', '_', \"__\" or '-', in "
                "components joined by '/', at most 255 characters; the file was altered or "
                "damaged since it was made, so nothing of it is applied: make a new plan with "
                "`crossdock plan --out FILE`\n");
  EXPECT_EQ(ListTags(dst_, "other/victim"), std::vector<std::string>{"prod"});
  EXPECT_EQ(HeadDigest(dst_, "other/victim", "prod"), prod);
  EXPECT_TRUE(ListTags(dst_, "lib/app").empty());
}

// validate accepted secrets plan and apply could not resolve. No registry is needed.
TEST(ValidateSecretsTest, UnresolvableSecretsAreReportedAtTheirPositionsWithoutTheirValues) {
  TempDir dir;
  const std::string value = "e2e-s3cr3t";
  WriteFile(dir.Sub("shared-pw"), value + "\n");
  ASSERT_EQ(chmod(dir.Sub("shared-pw").c_str(), 0640), 0);
  const std::string config = dir.Sub("crossdock.toml");
  const std::string endpoints =
      "[endpoints.src]\nurl = \"http://127.0.0.1:5001\"\nusername = \"u\"\n"
      "password = \"env:CROSSDOCK_E2E_UNSET\"\n\n"
      "[endpoints.dst]\nurl = \"http://127.0.0.1:5002\"\nusername = \"u\"\n"
      "password = \"file:shared-pw\"\n\n";
  const std::string rule =
      "[rules.r]\nsource = \"src\"\ndestination = \"dst\"\nrepositories = [\"lib/**\"]\n";
  WriteFile(config, endpoints + rule);
  RunResult warned = RunCrossdock({"validate", "-c", config}, {}, dir.path(), 60);
  EXPECT_EQ(warned.exit_code, 0) << warned.err;
  EXPECT_EQ(warned.err,
            config + ":4:12: warning: password of endpoint \"src\": environment variable "
                     "CROSSDOCK_E2E_UNSET is not set here; set it wherever plan, apply and serve "
                     "run\n" +
                config + ":9:12: warning: password of endpoint \"dst\": secret file " +
                dir.Sub("shared-pw") +
                " is readable by group or others (mode 0640); make it readable by its owner "
                "only (chmod 600)\n");
  EXPECT_EQ(warned.out, "The configuration is valid: 2 endpoints, 1 rule.\n");

  WriteFile(config, endpoints + "[endpoints.dr]\nurl = \"http://127.0.0.1:5003\"\n"
                                "username = \"u\"\npassword = \"file:/nonexistent/crossdock-pw\"\n\n" +
                        rule);
  RunResult missing = RunCrossdock({"validate", "-c", config}, {}, dir.path(), 60);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find(config + ":14:12: error: password of endpoint \"dr\": cannot read "
                                      "secret file /nonexistent/crossdock-pw: No such file or "
                                      "directory; plan, apply and serve need it: fix the path or "
                                      "the file\n"),
            std::string::npos)
      << missing.err;
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ((warned.out + warned.err + missing.out + missing.err).find(value), std::string::npos);
}

}  // namespace
}  // namespace crossdock::testing
