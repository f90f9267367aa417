// PostgresExecutions: the execution history (executions, tasks, task logs, stop
// requests) of a PostgreSQL state, in the state's database, so that it outlives the
// pod or machine that ran the apply. What ExecutionStore does for a postgres:// URL
// (state/executions.h documents each operation); the tables are created with the
// state's (state/postgres.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "state/executions.h"

namespace crossdock::state {

class PgConnection;

class PostgresExecutions {
 public:
  // Connects to URL on first use. WARN receives skipped entries (a corrupt document).
  PostgresExecutions(std::string url, std::function<void(const std::string&)> warn);
  ~PostgresExecutions();

  core::Result<Execution> Start(std::vector<std::string> rules, Trigger trigger,
                                std::vector<Task> tasks);
  core::Status Save(const Execution& e);
  core::Result<Execution> Get(std::int64_t id);
  core::Result<std::vector<Execution>> List(const std::string& rule);
  core::Status AppendLog(std::int64_t execution, int task, const std::string& line);
  core::Result<std::string> ReadLog(std::int64_t execution, int task);
  // Marks failed the running executions whose owner's database session has ended (the
  // session of the process that started each one, which holds it open while it runs):
  // safe while other workers run executions of their own.
  core::Result<int> RecoverCrashed();
  core::Status RequestStop(std::int64_t id);
  bool StopRequested(std::int64_t id);
  void ClearStopRequest(std::int64_t id);
  core::Status Prune(int keep);

 private:
  // The connection, made on first use; whether crossdock's tables exist (*READY).
  // REQUIRES: mu_.
  core::Result<PgConnection*> Connection(bool* ready);
  std::string Table(const char* name) const;
  core::Result<Execution> GetLocked(std::int64_t id);

  std::string url_;
  std::function<void(const std::string&)> warn_;
  std::mutex mu_;  // one statement at a time (the stop watcher polls from its thread)
  std::unique_ptr<PgConnection> conn_;
  std::string schema_;
};

}  // namespace crossdock::state
