// End to end, issue 14: what a pull request review sees and what is applied after the
// merge. plan --markdown and show PLANFILE against real docker-registry processes, the
// deletion guard ([settings] max_deletes, apply --allow-deletes), and a saved plan
// refused once the config changed. Results are read straight from the registry.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

constexpr const char* kPassword = "rev1ew-s3cret";

// A plain source and a destination with basic auth (its password must appear in no
// rendering).
class ReviewTest : public ::testing::Test {
 protected:
  ReviewTest() : dst_(Registry::Options{.htpasswd_user = "admin", .htpasswd_password = kPassword}) {
    layout_ = dir_.Sub("layout");
    config_ = dir_.Sub("crossdock.toml");
    plan_ = dir_.Sub("plan.bin");
    WriteFile(dir_.Sub("password"), std::string(kPassword) + "\n");
  }

  // crossdock.toml with SETTINGS under [settings] and RULE_BODY under [rules.mirror].
  void WriteConfig(const std::string& rule_body, const std::string& settings = "") {
    WriteFile(config_, "[settings]\n" + settings + "\n[endpoints.src]\nurl = \"" + src_.url() +
                           "\"\n\n[endpoints.dst]\nurl = \"" + dst_.url() +
                           "\"\nusername = \"admin\"\npassword = \"file:password\"\n\n"
                           "[rules.mirror]\nsource = \"src\"\ndestination = \"dst\"\n" +
                           rule_body);
  }

  RunResult Crossdock(std::vector<std::string> args) {
    args.insert(args.end(), {"-c", config_, "--no-color"});
    return RunCrossdock(args, {}, dir_.path());
  }

  // show takes no config.
  RunResult Show(std::vector<std::string> args) {
    args.insert(args.begin(), "show");
    return RunCrossdock(args, {}, dir_.path());
  }

  BuiltImage Seed(const std::string& repo, const std::string& tag, uint64_t seed) {
    ImageSpec spec;
    spec.layers = {LayerSpec{.size = 2048, .seed = seed}};
    const std::string name = "img" + std::to_string(seed);
    BuiltImage img = BuildImage(layout_, name, spec);
    Push(layout_, name, src_, repo, tag);
    return img;
  }

  static void ExpectNoSecret(const RunResult& r) {
    EXPECT_EQ(r.out.find(kPassword), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find(kPassword), std::string::npos) << r.err;
  }

  TempDir dir_;
  Registry src_;
  Registry dst_;
  std::string layout_, config_, plan_;
};

TEST_F(ReviewTest, TheCommentIsThePlanShowReadsItBackAndTheReviewedPlanIsApplied) {
  BuiltImage v1 = Seed("lib/app", "v1", 1);
  BuiltImage v2 = Seed("lib/app", "v2", 2);
  WriteConfig("tags = [\"v*\"]\n");

  RunResult plan = Crossdock({"plan", "--markdown", "--out", plan_, "--detailed-exitcode"});
  ASSERT_EQ(plan.exit_code, 2) << plan.out << plan.err;
  ExpectNoSecret(plan);
  // stdout is the comment alone: the marker first, no "Saved the plan" footer.
  EXPECT_EQ(plan.out.rfind("<!-- crossdock-plan: " + config_ + " -->\n### crossdock plan\n\n"
                           "**Plan: 2 to copy, 0 to replace, 0 to delete.**\n", 0),
            0u) << plan.out;
  EXPECT_NE(plan.out.find("<details><summary>rule <code>mirror</code> (src -&gt; dst): 2 to copy</summary>"),
            std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("| copy | <code>dst/lib/app</code> | <code>v1</code> | <code>" +
                              v1.digest.substr(0, 19) + "</code> | <code>src/lib/app</code> |"),
            std::string::npos)
      << plan.out;
  EXPECT_EQ(plan.out.find("Saved the plan"), std::string::npos);

  // show renders the saved plan as plan did, in each form, without the config.
  RunResult md = Show({plan_, "--markdown"});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_EQ(md.out, plan.out);
  RunResult text = Show({plan_, "--no-color"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("Plan: 2 to copy, 0 to replace, 0 to delete."), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("crossdock apply -c " + config_ + " " + plan_), std::string::npos) << text.out;
  RunResult json = Show({plan_, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["summary"]["create"], 2);
  EXPECT_FALSE(doc.contains("deletion_guard"));
  for (const auto& r : {md, text, json}) ExpectNoSecret(r);

  RunResult apply = Crossdock({"apply", plan_, "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), v1.digest);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v2"), v2.digest);

  // Nothing left to do: the comment is one line under the marker.
  RunResult none = Crossdock({"plan", "--markdown", "--detailed-exitcode"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "<!-- crossdock-plan: " + config_ +
                          " -->\nNo changes. Destinations match the desired state.\n");
}

TEST_F(ReviewTest, APlanDeletingMoreThanMaxDeletesIsShownWithTheGuardAndAppliedOnlyWhenAllowed) {
  BuiltImage v1 = Seed("lib/app", "v1", 1);
  BuiltImage v2 = Seed("lib/app", "v2", 2);
  BuiltImage v3 = Seed("lib/app", "v3", 3);
  WriteConfig("delete = true\n", "max_deletes = 1\n");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  ASSERT_EQ(HeadDigest(dst_, "lib/app", "v3"), v3.digest);

  // The pull request narrows the rule: v2 and v3 would be deleted, one more than allowed.
  WriteConfig("delete = true\ntags = [\"v1\"]\nschedule = \"0 0 1 1 *\"\n", "max_deletes = 1\n");
  const std::string guard =
      "this plan deletes 2 tags, more than [settings] max_deletes = 1; apply refuses it unless "
      "given --allow-deletes";
  RunResult text = Crossdock({"plan", "--out", plan_});
  EXPECT_EQ(text.exit_code, 1) << text.out << text.err;
  EXPECT_NE(text.out.find("Plan: 0 to copy, 0 to replace, 2 to delete.\nError: " + guard + ".\n"),
            std::string::npos) << text.out;
  RunResult md = Crossdock({"plan", "--markdown", "--detailed-exitcode"});
  EXPECT_EQ(md.exit_code, 1) << md.err;
  // Markdown-escaped in the comment.
  EXPECT_NE(md.out.find("> [!CAUTION]\n> **Error:** this plan deletes 2 tags, more than \\[settings\\] "
                        "max\\_deletes = 1; apply refuses it unless given --allow-deletes.\n"),
            std::string::npos) << md.out;
  EXPECT_NE(md.out.find("> [!WARNING]"), std::string::npos) << md.out;
  EXPECT_NE(md.err.find(guard), std::string::npos) << md.err;
  RunResult json = Crossdock({"plan", "--json"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(json.out)["deletion_guard"]["max_deletes"], 1);
  // The saved plan keeps its guard.
  EXPECT_NE(Show({plan_, "--markdown"}).out.find("> [!CAUTION]"), std::string::npos);

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"apply", plan_, "--auto-approve"},
        std::vector<std::string>{"apply", "--auto-approve"}}) {
    RunResult refused = Crossdock(args);
    EXPECT_EQ(refused.exit_code, 1) << refused.out;
    EXPECT_NE(refused.err.find(guard + ": nothing was changed"), std::string::npos) << refused.err;
    EXPECT_NE(refused.out.find("/lib/app:v3  sha256:"), std::string::npos) << refused.out;
    EXPECT_EQ(HeadDigest(dst_, "lib/app", "v2"), v2.digest);
    EXPECT_EQ(HeadDigest(dst_, "lib/app", "v3"), v3.digest);
  }

  // Unattended (a scheduled run): refused too, and recorded, so the history says why
  // nothing happened and the fire counts as taken.
  RunResult due = Crossdock({"apply", "--due", "--auto-approve"});
  EXPECT_EQ(due.exit_code, 1) << due.out;
  EXPECT_NE(due.err.find(guard + ": nothing was changed"), std::string::npos) << due.err;
  auto history = nlohmann::json::parse(Crossdock({"executions", "--json"}).out);
  ASSERT_EQ(history.size(), 2u) << history.dump();  // the first apply, then the refusal
  EXPECT_EQ(history[0]["status"], "failed");
  EXPECT_EQ(history[0]["trigger"], "scheduled");
  EXPECT_EQ(history[0]["message"], "refused: " + guard);
  EXPECT_NE(Crossdock({"apply", "--due", "--auto-approve"}).out.find("No scheduled rule is due."),
            std::string::npos);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v3"), v3.digest);

  RunResult allowed = Crossdock({"apply", plan_, "--auto-approve", "--allow-deletes"});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.out << allowed.err;
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), v1.digest);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v2"), std::nullopt);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v3"), std::nullopt);
}

TEST_F(ReviewTest, ASavedPlanIsRefusedOnceTheConfigChangedSinceTheReview) {
  Seed("lib/app", "v1", 1);
  WriteConfig("");
  ASSERT_EQ(Crossdock({"plan", "--out", plan_}).exit_code, 0);
  // A later commit touches the config (even a comment): what was reviewed is not what
  // would be applied.
  WriteFile(config_, ReadFile(config_) + "# edited after the review\n");
  RunResult stale = Crossdock({"apply", plan_, "--auto-approve"});
  EXPECT_EQ(stale.exit_code, 1) << stale.out;
  EXPECT_NE(stale.err.find("Saved plan is stale: " + config_ +
                           " changed since the plan was made. Run crossdock plan again."),
            std::string::npos) << stale.err;
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), std::nullopt);
}

TEST_F(ReviewTest, ShowAndMarkdownRefuseBadInputWithOneClearMessage) {
  Seed("lib/app", "v1", 1);
  WriteConfig("");
  RunResult both = Crossdock({"plan", "--markdown", "--json"});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.err.find("--json and --markdown cannot be combined"), std::string::npos) << both.err;
  EXPECT_EQ(both.out, "");

  RunResult missing = Show({});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("show: which plan?"), std::string::npos) << missing.err;

  RunResult not_plan = Show({config_});
  EXPECT_EQ(not_plan.exit_code, 1);
  EXPECT_NE(not_plan.err.find(config_ + " is not a crossdock plan file"), std::string::npos)
      << not_plan.err;
  RunResult absent = Show({dir_.Sub("nope.bin")});
  EXPECT_EQ(absent.exit_code, 1);
  EXPECT_NE(absent.err.find("nope.bin"), std::string::npos) << absent.err;

  ASSERT_EQ(Crossdock({"plan", "--out", plan_}).exit_code, 0);
  std::string text = ReadFile(plan_);
  const std::string format = "\"crossdock_plan_format\": 5";
  ASSERT_NE(text.find(format), std::string::npos) << text.substr(0, 200);
  text.replace(text.find(format), format.size(), "\"crossdock_plan_format\": 99");
  WriteFile(plan_, text);
  RunResult newer = Show({plan_, "--markdown"});
  EXPECT_EQ(newer.exit_code, 1);
  EXPECT_NE(newer.err.find(plan_ + " was written by a newer crossdock (plan format 99"),
            std::string::npos) << newer.err;
  EXPECT_EQ(newer.out, "");
}

}  // namespace
}  // namespace crossdock::testing
