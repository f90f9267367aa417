// crossdock executions | tasks EXEC | logs EXEC.TASK: the history of applies, as
// Harbor's replication executions, tasks and task logs.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "state/executions.h"
#include "state/backend.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

namespace {

nlohmann::ordered_json TaskJson(std::int64_t exec, const state::Task& t) {
  nlohmann::ordered_json j = state::TaskToJson(t);
  j["id"] = fmt::format("{}.{}", exec, t.id);  // keeps its place, first
  return j;
}

nlohmann::ordered_json ExecutionJson(const state::Execution& e) {
  nlohmann::ordered_json j = {
      {"id", e.id},
      {"rules", e.rules},
      {"trigger", state::Name(e.trigger)},
      {"status", state::Name(e.status)},
      {"started_at", e.started_at},
      {"ended_at",
       e.ended_at.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(e.ended_at)},
      {"succeeded", e.succeeded},
      {"failed", e.failed},
      {"total", e.total},
      {"bytes", e.bytes},
      {"tasks", e.tasks.size()},
      {"message", e.message}};
  if (!e.shard.empty()) j["shard"] = e.shard;  // "I/N" of an apply --shard
  return j;
}

// The history of the state that -c/--state name, with crashed runs marked failed
// when no apply holds the state lock.
std::optional<state::ExecutionStore> OpenHistory(const po::variables_map& vm) {
  std::string path = vm["state"].as<std::string>();
  if (path.empty()) {
    auto config = LoadConfigOrReport(vm["config"].as<std::string>());
    if (!config) return std::nullopt;
    path = config->settings.state_path;
  }
  state::ExecutionStore store(path);
  if (NoRunHoldsTheState(path)) {
    if (auto r = store.RecoverCrashed(); !r.ok()) PrintWarning(r.status().message());
  }
  return store;
}

void AddHistoryOptions(po::options_description* desc) {
  AddConfigOptions(desc);
  desc->add_options()("state", po::value<std::string>()->default_value(""),
                      "State file or postgres:// URL (default: [settings] state)")("json", "Print JSON");
}

}  // namespace

int RunExecutions(const Args& args) {
  po::options_description desc("Options");
  AddHistoryOptions(&desc);
  desc.add_options()("rule", po::value<std::string>()->default_value(""),
                     "Only executions of this rule");
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, {}, "Usage: crossdock executions [options]", &vm)) return *rc;
  auto store = OpenHistory(vm);
  if (!store) return kExitError;
  auto list = store->List(vm["rule"].as<std::string>());
  if (!list.ok()) {
    PrintError(list.status().message());
    return kExitError;
  }
  if (vm.count("json")) {
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const auto& e : *list) arr.push_back(ExecutionJson(e));
    fmt::print("{}\n", arr.dump());
    return kExitOk;
  }
  if (list->empty()) {
    fmt::print("No executions yet.\n");
    return kExitOk;
  }
  fmt::print("{:<6} {:<10} {:<9} {:<21} {:<21} {:>9}  {}\n", "ID", "STATUS", "TRIGGER", "STARTED",
             "ENDED", "DONE", "RULES");
  for (const auto& e : *list) {
    std::string rules;
    for (const auto& r : e.rules) rules += (rules.empty() ? "" : ",") + r;
    if (!e.shard.empty()) rules += " (shard " + e.shard + ")";
    fmt::print("{:<6} {:<10} {:<9} {:<21} {:<21} {:>9}  {}\n", e.id, state::Name(e.status), state::Name(e.trigger),
               e.started_at, e.ended_at.empty() ? "-" : e.ended_at,
               fmt::format("{}/{}", e.succeeded, e.total), rules);
  }
  return kExitOk;
}

int RunTasks(const Args& args) {
  po::options_description desc("Options");
  AddHistoryOptions(&desc);
  desc.add_options()("status", po::value<std::string>()->default_value(""),
                     "Only tasks with this status (e.g. failed)")(
      "execution", po::value<std::int64_t>(), "execution id");
  po::positional_options_description pos;
  pos.add("execution", 1);
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, pos, "Usage: crossdock tasks [options] EXECUTION", &vm))
    return *rc;
  if (!vm.count("execution")) {
    PrintError("tasks needs an EXECUTION id (see `crossdock executions`)");
    return kExitError;
  }
  auto store = OpenHistory(vm);
  if (!store) return kExitError;
  auto e = store->Get(vm["execution"].as<std::int64_t>());
  if (!e.ok()) {
    PrintError(e.status().message());
    return kExitError;
  }
  const std::string status = vm["status"].as<std::string>();
  std::optional<state::TaskStatus> only;
  if (!status.empty()) {
    only = state::ParseTaskStatus(status);
    if (!only) {
      PrintError("--status \"" + status +
                 "\" is not a task status: pending, running, succeeded, failed or stopped");
      return kExitError;
    }
  }
  if (vm.count("json")) {
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const auto& t : e->tasks)
      if (!only || t.status == *only) arr.push_back(TaskJson(e->id, t));
    fmt::print("{}\n", arr.dump());
    return kExitOk;
  }
  fmt::print("Execution {}: {} ({} trigger, started {}){}\n", e->id, state::Name(e->status),
             state::Name(e->trigger),
             e->started_at, e->message.empty() ? "" : "\n  " + e->message);
  fmt::print("{:<8} {:<10} {:<7} {:>10} {:>8}  {}\n", "TASK", "STATUS", "OP", "BYTES", "SECONDS",
             "DESTINATION");
  for (const auto& t : e->tasks) {
    if (only && t.status != *only) continue;
    fmt::print("{:<8} {:<10} {:<7} {:>10} {:>8.1f}  {}/{} ({} reference{}){}\n",
               fmt::format("{}.{}", e->id, t.id), state::Name(t.status), state::Name(t.operation),
               t.bytes,
               t.duration_seconds, t.destination_endpoint, t.destination_repository,
               t.references.size(), t.references.size() == 1 ? "" : "s",
               t.error.empty() ? "" : "\n         " + t.error);
  }
  return kExitOk;
}

int RunLogs(const Args& args) {
  po::options_description desc("Options");
  AddHistoryOptions(&desc);
  desc.add_options()("task", po::value<std::string>(), "task id, EXECUTION.TASK");
  po::positional_options_description pos;
  pos.add("task", 1);
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, pos, "Usage: crossdock logs [options] EXECUTION.TASK", &vm))
    return *rc;
  auto id = vm.count("task") ? state::ParseTaskId(vm["task"].as<std::string>()) : std::nullopt;
  if (!id) {
    PrintError("logs needs a task id such as 12.3 (see `crossdock tasks EXECUTION`)");
    return kExitError;
  }
  auto store = OpenHistory(vm);
  if (!store) return kExitError;
  auto log = store->ReadLog(id->first, id->second);
  if (!log.ok()) {
    PrintError(log.status().message());
    return kExitError;
  }
  fmt::print("{}", *log);
  return kExitOk;
}

}  // namespace crossdock::cmd
