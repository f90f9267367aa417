// One entry point per subcommand, called by main.cc with the arguments after the
// subcommand's name. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace crossdock::cmd {

using Args = std::vector<std::string>;

int RunValidate(const Args& args);
int RunPlan(const Args& args);
int RunApply(const Args& args);
int RunState(const Args& args);
int RunEndpoint(const Args& args);
int RunRules(const Args& args);
int RunExecutions(const Args& args);
int RunTasks(const Args& args);
int RunLogs(const Args& args);
int RunStop(const Args& args);
int RunRetry(const Args& args);
int RunScheduler(const Args& args);
int RunServe(const Args& args);
int RunImport(const Args& args);
int RunShow(const Args& args);
int RunSchema(const Args& args);
int RunCompletion(const Args& args);
// The hidden `crossdock __complete WORDS…` the completion scripts call at each TAB.
int RunComplete(const Args& args);

// The top-level usage text (`crossdock --help`).
std::string Usage();

}  // namespace crossdock::cmd
