// End to end: hostile input outside the registry client (issue 10): altered plan
// files, patterns built to exhaust the matcher, secrets validate cannot resolve.
// Results are checked with the registry's own API (tests/e2e/harness.h).
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace crossdock::testing
