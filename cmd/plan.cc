// crossdock plan: shows what apply would copy, replace or delete, as text or JSON.
#include <fmt/format.h>

#include <fstream>
#include <iterator>

#include "cmd/commands.h"
#include "cmd/session.h"
#include "core/digest.h"
#include "planner/render.h"
#include "planner/saved_plan.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

namespace {

std::string FileDigest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return core::Sha256Digest(bytes);
}

}  // namespace

planner::SavedPlan MakeSavedPlan(const core::Config& config, planner::Plan plan) {
  planner::SavedPlan saved;
  saved.config_path = config.path;
  saved.config_digest = FileDigest(config.path);
  saved.plan = std::move(plan);
  return saved;
}

bool SavedPlanMatchesConfig(const planner::SavedPlan& saved, const core::Config& config) {
  return saved.config_digest == FileDigest(config.path);
}

int RunPlan(const Args& args) {
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  AddPlanningOptions(&desc);
  desc.add_options()("json", "Print the plan as JSON on stdout (diagnostics go to stderr)")(
      "out", po::value<std::string>(), "Save the plan to FILE for `crossdock apply FILE`")(
      "detailed-exitcode", "Exit 0 when there are no changes, 1 on error, 2 when there are changes");
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, {}, "Usage: crossdock plan [options]", &vm)) return *rc;

  SessionOptions so;
  so.config_path = vm["config"].as<std::string>();
  so.state_flag = vm["state"].as<std::string>();
  auto session = OpenSession(so);
  if (!session) return kExitError;
  auto options = PlanOptionsFrom(vm, session->config);
  if (!options) return kExitError;
  InstallInterruptHandler();
  planner::Plan plan =
      planner::MakePlan(session->config, session->state, session->registries->map(), *options);
  if (g_interrupted) {
    PrintError("plan interrupted");
    return kExitInterrupted;
  }
  if (vm.count("json")) {
    fmt::print("{}\n", planner::RenderPlanJson(plan));
  } else {
    bool color = !vm.count("no-color") && IsTerminal(1);
    fmt::print("{}", planner::RenderPlanText(plan, color));
  }
  if (vm.count("out")) {
    std::string out = vm["out"].as<std::string>();
    core::Status st = planner::WritePlanFile(out, MakeSavedPlan(session->config, plan));
    if (!st.ok()) {
      PrintError(st.message());
      return kExitError;
    }
    if (!vm.count("json"))
      fmt::print("\nSaved the plan to {}. To apply exactly these actions, run:\n  crossdock apply {}\n",
                 out, out);
  }
  if (!plan.errors.empty()) return kExitError;
  if (vm.count("detailed-exitcode") && plan.has_changes()) return kExitChanges;
  return kExitOk;
}

}  // namespace crossdock::cmd
