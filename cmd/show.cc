// crossdock show PLANFILE: prints a plan saved by `plan --out` as text, JSON or a
// Markdown pull request comment, without reading the config, the state or a registry
// (a reviewer can read what `apply PLANFILE` will do on any machine).
#include <fmt/format.h>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "planner/render.h"
#include "planner/saved_plan.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

int RunShow(const Args& args) {
  po::options_description desc("Options");
  desc.add_options()("help,h", "Show this help")("no-color", "Print without ANSI colours")(
      "json", "Print the plan as JSON, as `crossdock plan --json` does")(
      "markdown", "Print the plan as a Markdown pull request comment, as `crossdock plan --markdown` does")(
      "plan-file", po::value<std::string>(), "A plan saved by `crossdock plan --out`");
  po::positional_options_description pos;
  pos.add("plan-file", 1);
  po::variables_map vm;
  const std::string usage = "Usage: crossdock show [options] PLANFILE";
  if (auto rc = ParseArgs(args, desc, pos, usage, &vm)) return *rc;
  if (!vm.count("plan-file")) {
    PrintError("show: which plan? Give the file `crossdock plan --out FILE` wrote\n\n" + usage);
    return kExitError;
  }
  if (vm.count("json") && vm.count("markdown")) {
    PrintError("show: --json and --markdown cannot be combined; choose one output");
    return kExitError;
  }
  const std::string path = vm["plan-file"].as<std::string>();
  auto saved = planner::ReadPlanFile(path);
  if (!saved.ok()) {
    PrintError(saved.status().message());
    return kExitError;
  }
  const planner::Plan& plan = saved->plan;
  if (vm.count("json")) {
    fmt::print("{}\n", planner::RenderPlanJson(plan));
  } else if (vm.count("markdown")) {
    fmt::print("{}", planner::RenderPlanMarkdown(plan, saved->config_path));
  } else {
    const bool color = !vm.count("no-color") && IsTerminal(1);
    fmt::print("{}", planner::RenderPlanText(plan, color));
    fmt::print("\nSaved plan {}, made from {}. To apply exactly these actions, run:\n"
               "  crossdock apply -c {} {}\n",
               path, saved->config_path, saved->config_path, path);
  }
  return kExitOk;
}

}  // namespace crossdock::cmd
