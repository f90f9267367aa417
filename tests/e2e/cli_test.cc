// The command line itself: help texts, unknown commands and flags, validate's
// diagnostics, the approval rule, state commands. No registry is needed.
#include <gtest/gtest.h>

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
            "  completion SHELL\n"
            "                  Print a completion script for bash, zsh or fish\n"
            "  version         Print the version\n"
            "\n"
            "Run 'crossdock <command> --help' for a command's options.\n");
}

TEST(CliTest, SubcommandHelpListsEveryDocumentedFlag) {
  RunResult plan = RunCrossdock({"plan", "--help"});
  EXPECT_EQ(plan.exit_code, 0);
  for (const char* flag : {"--config", "--no-color", "--state", "--json", "--out", "--rule",
                           "--detailed-exitcode", "--refresh-only", "--parallelism"})
    EXPECT_NE(plan.out.find(flag), std::string::npos) << flag;
  RunResult apply = RunCrossdock({"apply", "--help"});
  EXPECT_EQ(apply.exit_code, 0);
  for (const char* flag : {"--auto-approve", "--lock-timeout", "--refresh-only", "--rule",
                           "--parallelism", "PLANFILE"})
    EXPECT_NE(apply.out.find(flag), std::string::npos) << flag;
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
