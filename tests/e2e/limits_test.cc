// End to end: hostile input outside the registry client (issue 10): altered plan
// files, patterns built to exhaust the matcher, secrets validate cannot resolve.
// Results are checked with the registry's own API (tests/support/harness.h).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

class LimitsTest : public ::testing::Test {
 protected:
  LimitsTest() : config_(dir_.Sub("crossdock.toml")), layout_(dir_.Sub("layout")) {}

  // One rule "lib" from src to dst; RULE_EXTRA holds more of its keys.
  void WriteConfig(const std::string& rule_extra) {
    WriteFile(config_, "[endpoints.src]\nurl = \"" + src_.url() +
                           "\"\n\n"
                           "[endpoints.dst]\nurl = \"" +
                           dst_.url() +
                           "\"\n\n"
                           "[rules.lib]\nsource = \"src\"\ndestination = \"dst\"\n"
                           "repositories = [\"lib/**\"]\n" +
                           rule_extra);
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

  // `plan --out PLANFILE`, then FROM replaced by TO in it, as an attacker or a damaged
  // disk would.
  void PlanAndAlter(const std::string& planfile, const std::string& from, const std::string& to) {
    RunResult plan = Crossdock({"plan", "--out", planfile});
    ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
    std::string text = ReadFile(planfile);
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << text;
    text.replace(at, from.size(), to);
    WriteFile(planfile, text);
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
  ASSERT_NO_FATAL_FAILURE(PlanAndAlter(planfile, "\"destination_repository\": \"lib/app\"",
                                       "\"destination_repository\": \"lib/../other/victim\""));

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

// Issue 11: a plan file stored actions as the enum's number, cast back unchecked; now
// by name, and a word apply does not know is refused before anything is done.
TEST_F(LimitsTest, APlanFileWithAnUnknownActionIsRefusedAndChangesNothing) {
  SeedInto(src_, "lib/app", "v1", 73);
  WriteConfig("");
  const std::string planfile = dir_.Sub("plan.json");
  ASSERT_NO_FATAL_FAILURE(
      PlanAndAlter(planfile, "\"action\": \"create\"", "\"action\": \"obliterate\""));

  RunResult apply = Crossdock({"apply", planfile});
  EXPECT_EQ(apply.exit_code, 1) << apply.out << apply.err;
  EXPECT_EQ(apply.err, "Error: " + planfile +
                           " is not a crossdock plan file (unknown action \"obliterate\"); make "
                           "one with `crossdock plan --out FILE`\n");
  EXPECT_TRUE(ListTags(dst_, "lib/app").empty());
}

// Issue 11: flags take the config's Go durations, and every command checks
// --parallelism the same way.
TEST_F(LimitsTest, FlagsTakeGoDurationsAndEveryCommandChecksParallelism) {
  const std::string digest = SeedInto(src_, "lib/app", "v1", 74);
  WriteConfig("");
  RunResult apply = Crossdock({"apply", "--auto-approve", "--lock-timeout", "1h30m"});
  EXPECT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), digest);
  RunResult stop = Crossdock({"stop", "999", "--wait", "1h30m"});
  EXPECT_EQ(stop.exit_code, 1);
  EXPECT_EQ(stop.err.find("is not a duration"), std::string::npos) << stop.err;
  RunResult bad = Crossdock({"stop", "999", "--wait", "1h30"});
  EXPECT_EQ(bad.err, "Error: --wait \"1h30\" is not a duration; use e.g. 30s, 5m or 1h30m\n");
  for (std::vector<std::string> args : {std::vector<std::string>{"plan"}, {"apply"}, {"run"},
                                        {"retry", "1"}}) {
    args.insert(args.end(), {"--parallelism", "0"});
    RunResult r = Crossdock(args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("Error: --parallelism 0 is out of range: use 1 to 256\n"),
              std::string::npos)
        << args[0] << ": " << r.err;
  }
}

// A pattern of 20,000 nested '{' passed validate, then crashed plan (SIGSEGV).
TEST(PatternLimitsTest, ValidateRefusesPatternsBeyondTheLimits) {
  TempDir dir;
  const std::string config = dir.Sub("crossdock.toml");
  WriteFile(config,
            "[endpoints.src]\nurl = \"http://127.0.0.1:5001\"\n\n"
            "[endpoints.dst]\nurl = \"http://127.0.0.1:5002\"\n\n"
            "[rules.r]\nsource = \"src\"\ndestination = \"dst\"\n"
            "repositories = [\"lib/**\"]\ntags = [\"" +
                std::string(20000, '{') + "v" + std::string(20000, '}') + "\"]\n");
  RunResult validate = RunCrossdock({"validate", "-c", config}, {}, dir.path(), 60);
  EXPECT_EQ(validate.exit_code, 1) << validate.out << validate.err;
  EXPECT_EQ(validate.err, config + ":11:9: error: invalid pattern \"" + std::string(80, '{') +
                              "\"… in \"tags\" of rule \"r\": the pattern is 40001 bytes long; "
                              "patterns may be at most 1024 bytes\n");
  RunResult plan = RunCrossdock({"plan", "-c", config}, {}, dir.path(), 60);
  EXPECT_EQ(plan.exit_code, 1) << plan.out << plan.err;  // refused the same way, no crash
}

// The heaviest kind of pattern the limits allow, over 300 tags of the longest kind:
// matching takes minutes even without backtracking, so the signal lands in it. Before issue 10 the
// matcher backtracked for hours and never looked at the signal.
TEST_F(LimitsTest, OneSigtermEndsAPlanThatIsMatchingTags) {
  Registry src(Registry::Options{.access_log = true});
  SeedInto(src, "lib/app", "base", 81);
  std::vector<std::string> tags;
  for (int i = 0; i < 300; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "t%04d", i);
    tags.push_back(name + std::string(123, 'a'));  // 128 characters, the most a tag has
  }
  PushManifestUnderTags(src, "lib/app", "base", tags);
  std::string heavy;
  while (heavy.size() + 4 < 1024) heavy += "{,*}";
  heavy += "b";
  WriteFile(config_, "[endpoints.src]\nurl = \"" + src.url() +
                         "\"\n\n"
                         "[endpoints.dst]\nurl = \"" +
                         dst_.url() +
                         "\"\n\n"
                         "[rules.lib]\nsource = \"src\"\ndestination = \"dst\"\n"
                         "repositories = [\"lib/app\"]\ntags = [\"" +
                         heavy + "\"]\n");
  RunResult valid = Crossdock({"validate"});
  ASSERT_EQ(valid.exit_code, 0) << valid.err;

  Process plan({CrossdockBin(), "plan", "-c", config_}, dir_.Sub("plan.log"), {}, dir_.path());
  // The listing has been answered: from here on, plan matches tags.
  const auto listed = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (src.log().find("/v2/lib/app/tags/list") == std::string::npos &&
         std::chrono::steady_clock::now() < listed && plan.Running())
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_NE(src.log().find("/v2/lib/app/tags/list"), std::string::npos) << plan.log();
  ASSERT_TRUE(plan.Running()) << plan.log();
  ASSERT_EQ(::kill(plan.pid(), SIGTERM), 0);
  const auto signalled = std::chrono::steady_clock::now();
  // Generous for a loaded machine; it takes well under a second.
  std::optional<int> code = plan.WaitFor(std::chrono::seconds(10));
  RecordProperty("exit_ms_after_sigterm",
                 static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - signalled)
                                      .count()));
  ASSERT_TRUE(code.has_value()) << "plan still running 10 s after SIGTERM\n" << plan.log();
  EXPECT_EQ(*code, 130) << plan.log();
  EXPECT_NE(plan.log().find("Error: plan interrupted"), std::string::npos) << plan.log();
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
            config +
                ":4:12: warning: password of endpoint \"src\": environment variable "
                "CROSSDOCK_E2E_UNSET is not set here; set it wherever plan, apply and serve "
                "run\n" +
                config + ":9:12: warning: password of endpoint \"dst\": secret file " +
                dir.Sub("shared-pw") +
                " is readable by group or others (mode 0640); make it readable by its owner "
                "only (chmod 600)\n");
  EXPECT_EQ(warned.out, "The configuration is valid: 2 endpoints, 1 rule.\n");

  WriteFile(config, endpoints +
                        "[endpoints.dr]\nurl = \"http://127.0.0.1:5003\"\n"
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
