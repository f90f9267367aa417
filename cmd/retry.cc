// crossdock stop EXEC | retry EXEC: stop a running execution from another terminal,
// and re-run only the failed (or stopped) tasks of one, re-planned against the
// registries as they are now. Harbor has neither (goharbor/harbor #8202, #18021).
#include <fmt/format.h>

#include <chrono>
#include <set>
#include <thread>
#include <tuple>

#include "applier/history.h"
#include "cmd/commands.h"
#include "cmd/session.h"
#include "state/executions.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

namespace {

std::optional<std::int64_t> ExecutionArg(const po::variables_map& vm, const std::string& command) {
  if (!vm.count("execution")) {
    PrintError(command + " needs an EXECUTION id (see `crossdock executions`)");
    return std::nullopt;
  }
  return vm["execution"].as<std::int64_t>();
}

std::string StatePathOf(const po::variables_map& vm) {
  std::string path = vm["state"].as<std::string>();
  if (!path.empty()) return path;
  auto config = LoadConfigOrReport(vm["config"].as<std::string>());
  return config ? config->settings.state_path : "";
}

}  // namespace

int RunStop(const Args& args) {
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  desc.add_options()("state", po::value<std::string>()->default_value(""),
                     "State file or postgres:// URL (default: [settings] state)")(
      "wait", po::value<std::string>()->default_value("60s"),
      "How long to wait for the execution to stop (a Go duration: 30s, 5m, 1h30m)")("execution", po::value<std::int64_t>(),
                                                    "execution id");
  po::positional_options_description pos;
  pos.add("execution", 1);
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, pos, "Usage: crossdock stop [options] EXECUTION", &vm))
    return *rc;
  auto id = ExecutionArg(vm, "stop");
  auto wait = ParseDurationSeconds(vm["wait"].as<std::string>());
  if (!id || !wait) {
    if (id) PrintError("--wait \"" + vm["wait"].as<std::string>() +
                        "\" is not a duration; use e.g. 30s, 5m or 1h30m");
    return kExitError;
  }
  std::string path = StatePathOf(vm);
  if (path.empty()) return kExitError;
  state::ExecutionStore store(path);
  auto e = store.Get(*id);
  if (!e.ok()) {
    PrintError(e.status().message());
    return kExitError;
  }
  if (e->status != state::ExecutionStatus::kRunning) {
    PrintError(fmt::format("execution {} is not running: it {} at {}", *id, state::Name(e->status),
                           e->ended_at));
    return kExitError;
  }
  // Nobody holds the state lock: the process that ran it may be gone (a PostgreSQL
  // state's history also knows whether that process's session is).
  if (NoRunHoldsTheState(path)) {
    (void)store.RecoverCrashed();
    if (auto now = store.Get(*id); now.ok() && now->status != state::ExecutionStatus::kRunning) {
      PrintError(fmt::format("execution {} was not running any more (its process had ended); it "
                             "is now marked failed",
                             *id));
      return kExitError;
    }
  }
  core::Status st = store.RequestStop(*id);
  if (!st.ok()) {
    PrintError(st.message());
    return kExitError;
  }
  fmt::print("Asked execution {} (pid {}) to stop; waiting for it to abandon its transfers in flight…\n", *id, e->pid);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(*wait * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    auto now = store.Get(*id);
    if (now.ok() && now->status != state::ExecutionStatus::kRunning) {
      fmt::print("Execution {} {}: {} of {} changes done.\n", *id, state::Name(now->status), now->succeeded,
                 now->total);
      return kExitOk;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  PrintError(fmt::format("execution {} did not stop within {}; is its process (pid {}) still "
                         "alive? `crossdock executions` shows it as failed once it is gone",
                         *id, vm["wait"].as<std::string>(), e->pid));
  return kExitError;
}

int RunRetry(const Args& args) {
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  desc.add_options()("state", po::value<std::string>()->default_value(""),
                     "State file or postgres:// URL (default: [settings] state)")(
      "auto-approve", "Retry without asking (required when not run in a terminal)")(
      "lock-timeout", po::value<std::string>()->default_value("0s"),
      "How long to wait for the state lock (a Go duration: 30s, 5m, 1h30m)")(
      "parallelism", po::value<int>(), "Concurrent transfers (default: [settings] parallelism)")(
      "allow-deletes", "Retry even when it deletes more tags than [settings] max_deletes")(
      "execution", po::value<std::int64_t>(), "execution id");
  po::positional_options_description pos;
  pos.add("execution", 1);
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, pos, "Usage: crossdock retry [options] EXECUTION", &vm))
    return *rc;
  auto id = ExecutionArg(vm, "retry");
  if (!id) return kExitError;
  auto session = OpenLockedSession(vm, std::nullopt);  // the whole state
  if (!session) return kExitError;
  auto parallelism = ParallelismFrom(vm, session->config);
  if (!parallelism) return kExitError;
  state::ExecutionStore store(session->state_path);
  (void)store.RecoverCrashed();  // we hold the lock
  auto e = store.Get(*id);
  if (!e.ok()) {
    PrintError(e.status().message());
    return kExitError;
  }
  const applier::RetryFilter failed(*e);
  if (failed.empty()) {
    fmt::print("Execution {} has no failed or stopped tasks: nothing to retry.\n", *id);
    return kExitOk;
  }
  planner::PlanOptions po_;
  for (const auto& r : e->rules) {
    if (!session->config.FindRule(r)) {
      PrintError("execution " + std::to_string(*id) + " ran rule \"" + r +
                 "\", which is no longer in " + session->config.path);
      return kExitError;
    }
    po_.rules.push_back(r);
  }
  po_.parallelism = *parallelism;
  // A shard's execution is retried as that shard: no request for the others' repositories.
  if (auto shard = core::ParseShard(e->shard); shard.ok()) po_.shard = *shard;
  core::CancelToken cancel;
  InterruptScope scope(&cancel);
  InstallInterruptHandler();
  po_.cancel = cancel.flag();
  planner::Plan plan =
      planner::MakePlan(session->config, session->state, session->registries->map(), po_);
  failed.Keep(&plan);
  fmt::print("Retrying the {} failed or stopped task{} of execution {}, re-planned now.\n\n",
             failed.size(), failed.size() == 1 ? "" : "s", *id);
  ExecuteOptions eo;
  eo.trigger = state::Trigger::kRetry;
  eo.auto_approve = vm.count("auto-approve") > 0;
  eo.allow_deletes = vm.count("allow-deletes") > 0;
  eo.color = !vm.count("no-color") && IsTerminal(1);
  eo.parallelism = po_.parallelism;
  eo.cancel = &cancel;
  return ExecutePlan(*session, plan, eo);
}

}  // namespace crossdock::cmd
