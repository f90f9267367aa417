// crossdock: keeps container registries in sync the way Terraform keeps
// infrastructure in sync. Dispatches to the subcommands in cmd/.
#include <fmt/format.h>

#include <cstdio>

#include "cmd/commands.h"
#include "cmd/common.h"

namespace crossdock::cmd {

std::string Usage() {
  return "Usage: crossdock [--version] [--help] <command> [options]\n"
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
         "Run 'crossdock <command> --help' for a command's options.\n";
}

}  // namespace crossdock::cmd

int main(int argc, char** argv) {
  using namespace crossdock::cmd;
  if (argc < 2) {
    fmt::print(stderr, "{}", Usage());
    return kExitError;
  }
  std::string command = argv[1];
  Args args(argv + 2, argv + argc);
  if (command == "-h" || command == "--help" || command == "help") {
    fmt::print("{}", Usage());
    return kExitOk;
  }
  if (command == "version" || command == "--version") {
    fmt::print("crossdock 0.1.0\n");
    return kExitOk;
  }
  if (command == "validate") return RunValidate(args);
  if (command == "plan") return RunPlan(args);
  if (command == "apply") return RunApply(args);
  if (command == "state") return RunState(args);
  if (command == "endpoint") return RunEndpoint(args);
  if (command == "rules") return RunRules(args);
  if (command == "executions") return RunExecutions(args);
  if (command == "tasks") return RunTasks(args);
  if (command == "logs") return RunLogs(args);
  if (command == "stop") return RunStop(args);
  if (command == "retry") return RunRetry(args);
  if (command == "run") return RunScheduler(args);
  if (command == "serve") return RunServe(args);
  if (command == "import") return RunImport(args);
  if (command == "show") return RunShow(args);
  if (command == "schema") return RunSchema(args);
  if (command == "completion") return RunCompletion(args);
  if (command == "__complete") return RunComplete(args);
  fmt::print(stderr, "Error: unknown command \"{}\"\n\n{}", command, Usage());
  return kExitError;
}
