// crossdock plan: shows what apply would copy, replace or delete, as text, JSON or a
// Markdown pull request comment.
#include <fmt/format.h>

#include "cmd/commands.h"
#include "cmd/session.h"
#include "planner/render.h"
#include "planner/saved_plan.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

int RunPlan(const Args& args) {
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  AddPlanningOptions(&desc);
  desc.add_options()("json", "Print the plan as JSON on stdout (diagnostics go to stderr)")(
      "markdown", "Print the plan as a Markdown pull request comment on stdout (diagnostics go to stderr)")(
      "out", po::value<std::string>(), "Save the plan to FILE for `crossdock apply FILE`")(
      "detailed-exitcode", "Exit 0 when there are no changes, 1 on error, 2 when there are changes");
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, {}, "Usage: crossdock plan [options]", &vm)) return *rc;
  if (vm.count("json") && vm.count("markdown")) {
    PrintError("plan: --json and --markdown cannot be combined; choose one output");
    return kExitError;
  }
  const bool machine = vm.count("json") || vm.count("markdown");
  if (auto shard = ShardFrom(vm); !shard.ok()) {
    PrintError(shard.status().message());
    return kExitError;
  }

  SessionOptions so;
  so.config_path = vm["config"].as<std::string>();
  so.state_flag = vm["state"].as<std::string>();
  auto session = OpenSession(so);
  if (!session) return kExitError;
  core::CancelToken cancel;
  auto options = PlanOptionsFrom(vm, session->config, cancel);
  if (!options) return kExitError;
  InterruptScope scope(&cancel);
  InstallInterruptHandler();
  planner::Plan plan =
      planner::MakePlan(session->config, session->state, session->registries->map(), *options);
  if (cancel.cancelled()) {
    PrintError("plan interrupted");
    return kExitInterrupted;
  }
  const std::string guard = planner::DeletionGuard(plan);
  if (vm.count("json")) {
    fmt::print("{}\n", planner::RenderPlanJson(plan));
  } else if (vm.count("markdown")) {
    fmt::print("{}", planner::RenderPlanMarkdown(plan, so.config_path));
  } else {
    bool color = !vm.count("no-color") && IsTerminal(1);
    fmt::print("{}", planner::RenderPlanText(plan, color));
  }
  if (vm.count("out")) {
    std::string out = vm["out"].as<std::string>();
    core::Status st = planner::WritePlanFile(out, planner::MakeSavedPlan(session->config, plan));
    if (!st.ok()) {
      PrintError(st.message());
      return kExitError;
    }
    if (!machine)
      fmt::print("\nSaved the plan to {}. To apply exactly these actions, run:\n  crossdock apply {}\n",
                 out, out);
  }
  // The text plan ends with the guard's error line; the machine forms say it on stderr.
  if (!guard.empty() && machine) PrintError(guard);
  if (!plan.errors.empty() || !guard.empty()) return kExitError;
  if (vm.count("detailed-exitcode") && plan.has_changes()) return kExitChanges;
  return kExitOk;
}

}  // namespace crossdock::cmd
