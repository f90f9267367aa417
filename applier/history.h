// ExecutionRecorder: turns one apply into an Execution with tasks (one per rule,
// destination repository and operation) and per-task logs, as Harbor's replication
// history shows them. Used by cmd/apply; state/executions.h stores the records.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "applier/applier.h"
#include "core/config.h"
#include "core/shard.h"
#include "planner/plan.h"
#include "state/executions.h"

namespace crossdock::applier {

class ExecutionRecorder {
 public:
  // Groups PLAN's executable changes into tasks and saves a running execution.
  static core::Result<std::unique_ptr<ExecutionRecorder>> Start(state::ExecutionStore* store,
                                                                const planner::Plan& plan,
                                                                state::Trigger trigger);

  // Records one finished change (thread-safe): its task's log, and the task's status
  // once all its changes are done.
  void ChangeDone(const planner::Change& c, const core::Status& st, std::int64_t bytes);

  // Ends the execution: stopped when INTERRUPTED, failed when anything failed, else
  // succeeded; then prunes history to KEEP executions per rule.
  // STOP_MESSAGE, when given, says why an interrupted execution stopped.
  core::Status Finish(bool interrupted, const std::string& problem, int keep,
                      const std::string& stop_message = "");

  std::int64_t id() const { return execution_.id; }
  // A change's task: (rule, destination endpoint, destination repository, operation).
  using TaskKey = std::tuple<std::string, std::string, std::string, state::Operation>;
  static TaskKey KeyOf(const planner::Change& c);
  // The execution as recorded so far (after Finish: as it ended).
  state::Execution execution() {
    std::lock_guard<std::mutex> lk(mu_);
    return execution_;
  }

 private:
  ExecutionRecorder(state::ExecutionStore* store, state::Execution e,
                    std::map<TaskKey, size_t> index);

  state::ExecutionStore* store_;
  std::mutex mu_;  // guards everything below
  state::Execution execution_;
  std::map<TaskKey, size_t> index_;  // task key -> position in execution_.tasks
  std::map<size_t, int> remaining_;  // changes left per task
  std::set<size_t> failed_tasks_;    // tasks with a change that failed other than by a stop
  std::map<size_t, std::chrono::steady_clock::time_point> started_;
  core::Status first_error_;
};

// What `crossdock retry` runs again: the tasks of an execution that failed or were
// stopped, each a (rule, destination endpoint, destination repository, operation).
class RetryFilter {
 public:
  explicit RetryFilter(const state::Execution& execution);
  bool empty() const { return tasks_.empty(); }
  size_t size() const { return tasks_.size(); }
  // Keeps only PLAN's changes that belong to one of those tasks.
  void Keep(planner::Plan* plan) const;

 private:
  std::set<ExecutionRecorder::TaskKey> tasks_;
};

// The enabled scheduled rules of CONFIG that are due at NOW: a fire time of their
// schedule has passed since their last scheduled execution started (or they never
// ran on schedule). For `apply --due` under cron, CI or a Kubernetes CronJob.
// With SHARD, the executions that count are those of that very shard ("I/N") and
// those of every shard; without, only those of every shard: one shard's run leaves
// the rule due for the others.
core::Result<std::vector<std::string>> DueRules(const core::Config& config,
                                                const state::ExecutionStore& history,
                                                std::chrono::system_clock::time_point now,
                                                const std::optional<core::Shard>& shard = std::nullopt);

}  // namespace crossdock::applier
