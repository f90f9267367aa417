// The command line itself: help texts, unknown commands and flags, validate's
// diagnostics, the approval rule, state commands. No registry is needed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

TEST(CliTest, TopLevelHelpIsPinned) {
  RunResult r = RunCrossdock({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out,
            "Usage: crossdock [--version] [--help] <command> [options]\n"
            "\n"
            "Keeps container registries in sync, the way Terraform keeps infrastructure in sync.\n"
            "\n"
            "Main commands:\n"
            "  validate        Check the configuration and report every problem\n"
            "  plan            Show what apply would copy, replace or delete\n"
            "  apply           Copy and delete to make the destinations match the rules\n"
            "  show PLANFILE   Print a plan saved by `plan --out` (text, --json or --markdown)\n"
            "  run             Run scheduled rules when due, until stopped (SIGHUP reloads)\n"
            "  serve           Receive registry webhooks and replicate pushes and deletes\n"
            "\n"
            "Other commands:\n"
            "  rules           List the rules with their endpoints, trigger and filters\n"
            "  executions      List past and running applies (newest first)\n"
            "  tasks EXEC      List the tasks of an execution\n"
            "  logs TASK       Print the log of a task (EXEC.TASK)\n"
            "  stop EXEC       Stop a running execution (from another terminal)\n"
            "  retry EXEC      Re-run the failed tasks of an execution\n"
            "  state list      List the artifacts crossdock manages\n"
            "  state show REF  Show one managed artifact\n"
            "  endpoint test NAME\n"
            "                  Check an endpoint's reachability, TLS and credentials\n"
            "  import harbor   Write a crossdock.toml from a Harbor's replication policies\n"
            "  schema          Print the JSON Schema of crossdock.toml (for editors)\n"
            "  completion SHELL\n"
            "                  Print a completion script for bash, zsh or fish\n"
            "  version         Print the version\n"
            "\n"
            "Run 'crossdock <command> --help' for a command's options.\n");
}

TEST(CliTest, SubcommandHelpListsEveryDocumentedFlag) {
  RunResult plan = RunCrossdock({"plan", "--help"});
  EXPECT_EQ(plan.exit_code, 0);
  for (const char* flag : {"--config", "--no-color", "--state", "--json", "--markdown", "--out",
                           "--rule", "--detailed-exitcode", "--refresh-only", "--parallelism"})
    EXPECT_NE(plan.out.find(flag), std::string::npos) << flag;
  RunResult apply = RunCrossdock({"apply", "--help"});
  EXPECT_EQ(apply.exit_code, 0);
  for (const char* flag : {"--auto-approve", "--lock-timeout", "--refresh-only", "--rule",
                           "--parallelism", "--allow-deletes", "PLANFILE"})
    EXPECT_NE(apply.out.find(flag), std::string::npos) << flag;
  RunResult show = RunCrossdock({"show", "--help"});
  EXPECT_EQ(show.exit_code, 0);
  for (const char* flag : {"--json", "--markdown", "--no-color", "PLANFILE"})
    EXPECT_NE(show.out.find(flag), std::string::npos) << flag;
}

TEST(CliTest, UnknownCommandAndFlagFail) {
  RunResult cmd = RunCrossdock({"plna"});
  EXPECT_EQ(cmd.exit_code, 1);
  EXPECT_NE(cmd.err.find("Error: unknown command \"plna\""), std::string::npos);
  RunResult flag = RunCrossdock({"plan", "--jsn"});
  EXPECT_EQ(flag.exit_code, 1);
  EXPECT_NE(flag.err.find("Error: unrecognised option '--jsn'"), std::string::npos) << flag.err;
}

TEST(CliTest, ValidateReportsEveryProblemWithPositions) {
  TempDir dir;
  WriteFile(dir.Sub("crossdock.toml"),
            "[endpoints.harbor]\nurl = \"http://127.0.0.1:1\"\n\n"
            "[rules.mirror]\nsource = \"harbr\"\ndestination = \"harbor\"\novveride = true\n"
            "flatten = 7\n");
  RunResult r = RunCrossdock({"validate"}, {}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("crossdock.toml:5:10: error: rule \"mirror\" names endpoint \"harbr\", "
                       "which is not defined (did you mean \"harbor\"?)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("crossdock.toml:7:1: error: unknown key \"ovveride\" in rule \"mirror\" "
                       "(did you mean \"override\"?)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("crossdock.toml:8:11: error: flatten must be -1 or \"all\", 0 or "
                       "\"none\", 1, 2 or 3"),
            std::string::npos)
      << r.err;
}

// Issue 14: the same problems as annotations on the pull request's diff (GitHub
// workflow commands, on stdout) and as a GitLab Code Quality report (JSON alone on stdout).
TEST(CliTest, ValidateFormatsTheProblemsForGithubAndGitlab) {
  TempDir dir;
  WriteFile(dir.Sub("crossdock.toml"),
            "[endpoints.harbor]\nurl = \"http://127.0.0.1:1\"\ninsecure = true\n\n"
            "[rules.mirror]\nsource = \"harbr\"\ndestination = \"harbor\"\novveride = true\n"
            "flatten = 7\n");
  RunResult gh = RunCrossdock({"validate", "--format", "github"}, {}, dir.path());
  EXPECT_EQ(gh.exit_code, 1);
  EXPECT_EQ(gh.out,
            "::warning file=crossdock.toml,line=3,col=12,title=crossdock::insecure = true has no "
            "effect on endpoint \"harbor\": its url uses http://\n"
            "::error file=crossdock.toml,line=6,col=10,title=crossdock::rule \"mirror\" names "
            "endpoint \"harbr\", which is not defined (did you mean \"harbor\"?)\n"
            "::error file=crossdock.toml,line=8,col=1,title=crossdock::unknown key \"ovveride\" in "
            "rule \"mirror\" (did you mean \"override\"?)\n"
            "::error file=crossdock.toml,line=9,col=11,title=crossdock::flatten must be -1 or "
            "\"all\", 0 or \"none\", 1, 2 or 3\n");
  EXPECT_EQ(gh.err, "");

  RunResult gl = RunCrossdock({"validate", "--format", "gitlab"}, {}, dir.path());
  EXPECT_EQ(gl.exit_code, 1);
  auto report = nlohmann::json::parse(gl.out);  // stdout is the report and nothing else
  ASSERT_TRUE(report.is_array());
  ASSERT_EQ(report.size(), 4u) << gl.out;
  std::set<std::string> fingerprints;
  for (const auto& item : report) {
    for (const char* key : {"description", "check_name", "fingerprint", "severity"})
      EXPECT_TRUE(item[key].is_string()) << key << " in " << item.dump();
    EXPECT_EQ(item["location"]["path"], "crossdock.toml");
    EXPECT_TRUE(item["location"]["lines"]["begin"].is_number_integer()) << item.dump();
    fingerprints.insert(item["fingerprint"].get<std::string>());
  }
  EXPECT_EQ(fingerprints.size(), 4u);
  EXPECT_EQ(report[0]["severity"], "minor");
  EXPECT_EQ(report[0]["location"]["lines"]["begin"], 3);
  EXPECT_EQ(report[3]["severity"], "major");
  EXPECT_EQ(report[3]["description"], "flatten must be -1 or \"all\", 0 or \"none\", 1, 2 or 3");
  EXPECT_EQ(report[3]["location"]["lines"]["begin"], 9);

  // A valid config: an empty report, and the verdict on stderr.
  WriteFile(dir.Sub("crossdock.toml"),
            "[endpoints.a]\nurl = \"http://127.0.0.1:1\"\n[endpoints.b]\nurl = \"http://127.0.0.1:2\"\n"
            "[rules.r]\nsource = \"a\"\ndestination = \"b\"\n");
  RunResult ok = RunCrossdock({"validate", "--format", "gitlab"}, {}, dir.path());
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(ok.out), nlohmann::json::array());
  RunResult bad = RunCrossdock({"validate", "--format", "sarif"}, {}, dir.path());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--format must be text, github or gitlab, not \"sarif\""), std::string::npos);
}

TEST(CliTest, ApplyWithNothingToDoSucceedsWithoutAsking) {
  TempDir dir;
  WriteFile(dir.Sub("crossdock.toml"), "[endpoints.a]\nurl = \"http://127.0.0.1:1\"\n");
  RunResult r = RunCrossdock({"apply"}, {}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("No changes."), std::string::npos);
}

TEST(CliTest, UnreachableSourceIsAPlanErrorNotACrash) {
  TempDir dir;
  WriteFile(dir.Sub("crossdock.toml"),
            "[endpoints.a]\nurl = \"http://127.0.0.1:1\"\n[endpoints.b]\nurl = \"http://127.0.0.1:2\"\n"
            "[rules.r]\nsource = \"a\"\ndestination = \"b\"\n");
  RunResult r = RunCrossdock({"plan", "--json"}, {}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("\"errors\":[{\"rule\":\"r\",\"source_repository\":null,\"message\":"
                       "\"cannot reach endpoint \\\"a\\\""),
            std::string::npos)
      << r.out;
}

TEST(CliTest, CorruptStateIsRefusedClearly) {
  TempDir dir;
  WriteFile(dir.Sub("crossdock.toml"), "[endpoints.a]\nurl = \"http://127.0.0.1:1\"\n");
  WriteFile(dir.Sub("crossdock.state.json"), "{not json");
  RunResult r = RunCrossdock({"plan"}, {}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is corrupt"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(dir.Sub("crossdock.state.json")), "{not json");
}

TEST(CliTest, StateListOfMissingStateIsEmpty) {
  TempDir dir;
  WriteFile(dir.Sub("crossdock.toml"), "[endpoints.a]\nurl = \"http://127.0.0.1:1\"\n");
  RunResult r = RunCrossdock({"state", "list"}, {}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  RunResult show = RunCrossdock({"state", "show", "a/x:y"}, {}, dir.path());
  EXPECT_EQ(show.exit_code, 1);
  EXPECT_NE(show.err.find("no artifact \"a/x:y\""), std::string::npos);
}

}  // namespace
}  // namespace crossdock::testing
