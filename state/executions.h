// Executions and tasks: the history of every apply (Harbor's executions → tasks →
// logs), kept beside the state file in "<state>.executions/" so it survives crashes, or
// in the database of a PostgreSQL state (state/postgres_executions.h).
// Used by cmd/apply (recording) and cmd/executions (executions, tasks, logs).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace crossdock::state {

// The history's vocabulary. Typed everywhere; words only in the execution files,
// `crossdock executions/tasks` and /metrics, where Name() writes them and Parse*()
// reads them back (nullopt for any other word: the file is corrupt).
enum class ExecutionStatus { kRunning, kSucceeded, kFailed, kStopped };
enum class TaskStatus { kPending, kRunning, kSucceeded, kFailed, kStopped };
enum class Trigger { kManual, kScheduled, kEvent, kRetry };
enum class Operation { kCopy, kDelete };

const char* Name(ExecutionStatus s);  // "running", "succeeded", "failed", "stopped"
const char* Name(TaskStatus s);       // "pending", and as ExecutionStatus
const char* Name(Trigger t);          // "manual", "scheduled", "event", "retry"
const char* Name(Operation o);        // "copy", "delete"
std::optional<ExecutionStatus> ParseExecutionStatus(std::string_view word);
std::optional<TaskStatus> ParseTaskStatus(std::string_view word);
std::optional<Trigger> ParseTrigger(std::string_view word);
std::optional<Operation> ParseOperation(std::string_view word);

// One destination repository and operation within an execution.
struct Task {
  int id = 0;  // 1-based within its execution; shown as EXEC.TASK ("12.3")
  std::string rule;
  Operation operation = Operation::kCopy;
  std::string destination_endpoint;
  std::string destination_repository;
  std::vector<std::string> references;  // tags (or digests) it handles
  TaskStatus status = TaskStatus::kPending;
  int attempts = 0;
  std::int64_t bytes = 0;
  double duration_seconds = 0;
  std::string error;  // first failure, for `tasks`
};

struct Execution {
  std::int64_t id = 0;
  std::vector<std::string> rules;
  Trigger trigger = Trigger::kManual;
  ExecutionStatus status = ExecutionStatus::kRunning;
  std::string started_at, ended_at;  // RFC 3339 UTC; ended_at empty while running
  int pid = 0;
  int succeeded = 0, failed = 0, total = 0;  // changes
  std::int64_t bytes = 0;
  std::string message;  // why it failed or stopped, when it did
  // "I/N" when it applied shard I of N (--shard); "" when it covered every shard.
  std::string shard;
  std::vector<Task> tasks;
};

class PostgresExecutions;

// The executions folder of one state file, or the execution tables of one PostgreSQL
// state. Not thread-safe: one owner per process.
//
// The history never stops an apply: an entry List cannot use (an execution file that
// is unreadable or corrupt, a "<digits>.json" whose number is no execution id, a
// folder that cannot be read to the end) is skipped with one warning per entry and
// store, and the rest is listed. Other entries (task log folders, stop requests,
// temporary files) are skipped silently.
class ExecutionStore {
 public:
  // Receives each warning (without a "Warning: " prefix).
  using WarningSink = std::function<void(const std::string&)>;

  // STATE_PATH: the state file; executions live in STATE_PATH + ".executions". A
  // postgres:// URL: in that state's database (connected on first use).
  // WARN null: warnings go to stderr as "Warning: <message>".
  explicit ExecutionStore(const std::string& state_path, WarningSink warn = nullptr);

  const std::string& dir() const { return dir_; }

  // Starts a new execution (id = highest so far + 1) and saves it. REQUIRES: the
  // caller holds the state lock, so ids are not handed out twice.
  core::Result<Execution> Start(std::vector<std::string> rules, Trigger trigger,
                                std::vector<Task> tasks);
  // Writes E atomically (E.id names the file).
  core::Status Save(const Execution& e) const;
  // The execution in ID's file (its id is ID, whatever the file says). NotFound when
  // there is none, DataLoss when the file is corrupt.
  core::Result<Execution> Get(std::int64_t id) const;
  // Every execution, newest first; only those touching RULE when it is not empty.
  // Entries it cannot use are skipped with a warning (see above); never fails.
  core::Result<std::vector<Execution>> List(const std::string& rule = "") const;

  // Appends one line (a timestamp is prepended) to the log of task EXEC.TASK.
  core::Status AppendLog(std::int64_t execution, int task, const std::string& line) const;
  core::Result<std::string> ReadLog(std::int64_t execution, int task) const;

  // Marks every execution still "running" as failed: its process is gone (the caller
  // holds the state lock, so no other run can be in progress). Returns how many.
  core::Result<int> RecoverCrashed() const;

  // Asks the process running execution ID to stop (`crossdock stop`): a request
  // file it polls for. The running process clears it when it finishes.
  core::Status RequestStop(std::int64_t id) const;
  bool StopRequested(std::int64_t id) const;
  void ClearStopRequest(std::int64_t id) const;

  // Keeps the newest KEEP executions of each rule (an execution is kept while any of
  // its rules keeps it) and deletes the others with their logs.
  core::Status Prune(int keep) const;

 private:
  // The ids of the execution files in the folder, ascending (unreadable ones included).
  std::vector<std::int64_t> ExecutionIds() const;
  // Sends MESSAGE to the sink once per KEY.
  void Warn(const std::string& key, const std::string& message) const;

  std::string dir_;  // for PostgreSQL: the URL without secrets
  WarningSink warn_;
  std::shared_ptr<PostgresExecutions> pg_;  // set for a postgres:// URL
  mutable std::set<std::string> warned_;
};

// An execution as its file (or its PostgreSQL row) stores it: indented JSON.
std::string ExecutionDocument(const Execution& e);
// The execution TEXT stores; nullopt when it is not one (corrupt).
std::optional<Execution> ParseExecutionDocument(const std::string& text);
// A running execution of this process, started now, its tasks numbered from 1; its id
// is the store's to give.
Execution NewExecution(std::vector<std::string> rules, Trigger trigger, std::vector<Task> tasks);
// E as RecoverCrashed leaves an execution whose process is gone: failed, with its
// running and pending tasks.
void MarkCrashed(Execution* e);
// The ids of NEWEST_FIRST that Prune(KEEP) removes.
std::vector<std::int64_t> ExecutionsToPrune(const std::vector<Execution>& newest_first, int keep);

// The JSON form of a task, as the execution files store it (field order kept);
// `crossdock tasks --json` prints the same with "id" as "EXEC.TASK".
nlohmann::ordered_json TaskToJson(const Task& t);

// "12.3" -> {12, 3}; nullopt when malformed.
std::optional<std::pair<std::int64_t, int>> ParseTaskId(const std::string& text);

}  // namespace crossdock::state
