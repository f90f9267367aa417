// crossdock apply: plans (or loads a saved plan), asks for approval, executes, and
// records every finished change in the state.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "applier/applier.h"
#include "applier/history.h"
#include "cmd/commands.h"
#include "cmd/session.h"
#include "core/digest.h"
#include "planner/render.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

int RunApply(const Args& args) {
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  AddPlanningOptions(&desc);
  desc.add_options()("auto-approve", "Apply without asking (required when not run in a terminal)")(
      "json", "Stream JSON lines on stdout: the plan, each change completed or failed, a report")(
      "due",
      "Run only the scheduled rules whose fire time passed since their last scheduled run "
      "(for cron, CI schedules and Kubernetes CronJobs)")(
      "lock-timeout", po::value<std::string>()->default_value("0s"),
      "How long to wait for the state lock (a Go duration: 30s, 5m, 1h30m)")(
      "plan-file", po::value<std::string>(), "A plan saved by `crossdock plan --out`")(
      "allow-deletes", "Apply a plan that deletes more tags than [settings] max_deletes");
  po::positional_options_description pos;
  pos.add("plan-file", 1);
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, pos, "Usage: crossdock apply [options] [PLANFILE]", &vm))
    return *rc;
  auto shard = ShardFrom(vm);
  if (!shard.ok()) {
    PrintError(shard.status().message());
    return kExitError;
  }
  std::optional<planner::SavedPlan> saved;
  if (vm.count("plan-file")) {
    const std::string path = vm["plan-file"].as<std::string>();
    auto r = planner::ReadPlanFile(path);
    if (!r.ok()) {
      PrintError(r.status().message());
      return kExitError;
    }
    saved = std::move(*r);
    // A saved plan runs as the shard it was made for; --shard may only confirm it.
    if (*shard && saved->plan.shard != *shard) {
      const std::string made = saved->plan.shard ? "of shard " + saved->plan.shard->Name()
                                                 : "of every shard (made without --shard)";
      PrintError(path + " is the plan " + made + ", not of --shard " + (*shard)->Name() +
                 ": apply it without --shard, or make the plan of that shard with `crossdock "
                 "plan --shard " + (*shard)->Name() + " --out FILE`");
      return kExitError;
    }
  }

  auto session = OpenLockedSession(vm, saved ? saved->plan.shard : *shard);
  if (!session) return kExitError;
  const bool color = !vm.count("no-color") && IsTerminal(1);
  core::CancelToken cancel;
  InterruptScope scope(&cancel);
  InstallInterruptHandler();

  auto options = PlanOptionsFrom(vm, session->config, cancel);
  if (!options) return kExitError;
  state::ExecutionStore history(session->state_path);
  state::Trigger trigger = state::Trigger::kManual;
  if (vm.count("due")) {
    if (saved || vm.count("rule")) {
      PrintError("--due chooses the rules itself; it cannot be combined with --rule or a plan file");
      return kExitError;
    }
    auto due = applier::DueRules(session->config, history, std::chrono::system_clock::now(),
                                 options->shard);
    if (!due.ok()) {
      PrintError(due.status().message());
      return kExitError;
    }
    // With --json, stdout carries JSON only: say this on stderr.
    std::FILE* out = vm.count("json") ? stderr : stdout;
    const std::string for_shard = options->shard ? " for shard " + options->shard->Name() : "";
    if (due->empty()) {
      fmt::print(out, "No scheduled rule is due{}.\n", for_shard);
      return kExitOk;
    }
    std::string names;
    for (const auto& r : *due) names += (names.empty() ? "" : ", ") + r;
    fmt::print(out, "Due on schedule{}: {}\n\n", for_shard, names);
    options->rules = *due;
    trigger = state::Trigger::kScheduled;
  }
  planner::Plan plan;
  if (saved) {
    core::Status st = planner::CheckSavedPlanCurrent(*saved, session->state, session->backend->name(),
                                                      session->config, session->registries->map());
    if (!st.ok()) {
      PrintError(st.message());
      return kExitError;
    }
    plan = saved->plan;
    // The guard is the config's (whose digest the check above matched), not what the
    // file says: an altered file cannot lift it.
    plan.max_deletes = session->config.settings.max_deletes;
  } else {
    plan = planner::MakePlan(session->config, session->state, session->registries->map(), *options);
    if (cancel.cancelled()) {
      PrintError("apply interrupted while planning; nothing was changed");
      return kExitInterrupted;
    }
  }
  ExecuteOptions eo;
  eo.trigger = trigger;
  eo.ask = !saved;
  eo.auto_approve = vm.count("auto-approve") > 0;
  eo.color = color;
  eo.parallelism = options->parallelism;
  eo.json = vm.count("json") > 0;
  eo.allow_deletes = vm.count("allow-deletes") > 0;
  eo.cancel = &cancel;
  return ExecutePlan(*session, plan, eo);
}

}  // namespace crossdock::cmd
