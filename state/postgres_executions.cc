// Tables (created with the state's, state/postgres.cc):
//
//   crossdock_executions  id, status, document (the execution as its file would hold
//                         it: ExecutionDocument), owner_pid and owner_started (the
//                         database session of the process running it), stop_requested
//   crossdock_task_logs   a row per log line: execution_id, task_id, line
//
// Why: the document keeps one format for both backends (a newer crossdock adds fields
// without a schema change); the owner's session tells a crashed run from a live one on
// another machine (a shard), which the file backend tells by its state lock; ids come
// from max + 1 under a table lock, so two workers never take the same id.
#include "state/postgres_executions.h"

#include <algorithm>

#include "core/clock.h"
#include "state/pg_connection.h"

namespace crossdock::state {
namespace {

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

core::Status NoExecution(std::int64_t id) {
  return core::Status::NotFound("no execution " + std::to_string(id) +
                                "; see `crossdock executions`");
}

constexpr const char* kNoTables =
    "the PostgreSQL state has no tables yet: an apply creates them";

}  // namespace

PostgresExecutions::PostgresExecutions(std::string url,
                                       std::function<void(const std::string&)> warn)
    : url_(std::move(url)), warn_(std::move(warn)) {}

PostgresExecutions::~PostgresExecutions() = default;

std::string PostgresExecutions::Table(const char* name) const {
  return QuoteIdentifier(schema_) + "." + name;
}

core::Result<PgConnection*> PostgresExecutions::Connection(bool* ready) {
  if (!conn_) {
    auto conn = PgConnection::Connect(url_);
    if (!conn.ok()) return conn.status();
    auto schema = (*conn)->Exec("SELECT current_schema()");
    if (!schema.ok()) return schema.status();
    if (schema->IsNull(0, 0))
      return core::Status::InvalidArgument("the PostgreSQL state " + (*conn)->name() +
                                           " has no schema to use");
    schema_ = schema->Get(0, 0);
    conn_ = std::move(*conn);
  }
  if (!conn_->ok())
    return core::Status::Unavailable("lost the connection to the PostgreSQL state " +
                                     conn_->name());
  auto exists = conn_->Exec("SELECT to_regclass($1) IS NOT NULL", {Table("crossdock_executions")});
  if (!exists.ok()) return exists.status();
  *ready = exists->Get(0, 0) == "t";
  return conn_.get();
}

core::Result<Execution> PostgresExecutions::Start(std::vector<std::string> rules,
                                                  Trigger trigger, std::vector<Task> tasks) {
  std::lock_guard<std::mutex> hold(mu_);
  bool ready = false;
  auto conn = Connection(&ready);
  if (!conn.ok()) return conn.status();
  if (!ready) return core::Status::Unavailable(kNoTables);
  PgConnection* c = *conn;
  Execution e = NewExecution(std::move(rules), trigger, std::move(tasks));
  CROSSDOCK_RETURN_IF_ERROR(c->Run("BEGIN"));
  auto fail = [&](const core::Status& st) {
    (void)c->Run("ROLLBACK");
    return st;
  };
  // Another worker's Start waits here until this one commits.
  if (core::Status st = c->Run("LOCK TABLE " + Table("crossdock_executions") +
                               " IN SHARE ROW EXCLUSIVE MODE");
      !st.ok())
    return fail(st);
  auto next = c->Exec("SELECT coalesce(max(id), 0) + 1 FROM " + Table("crossdock_executions"));
  if (!next.ok()) return fail(next.status());
  e.id = std::stoll(next->Get(0, 0));
  if (core::Status st = c->Run(
          "INSERT INTO " + Table("crossdock_executions") +
              " (id, status, document, owner_pid, owner_started) VALUES ($1, $2, $3, "
              "pg_backend_pid(), (SELECT backend_start FROM pg_stat_activity WHERE pid = "
              "pg_backend_pid()))",
          {std::to_string(e.id), Name(e.status), ExecutionDocument(e)});
      !st.ok())
    return fail(st);
  CROSSDOCK_RETURN_IF_ERROR(c->Run("COMMIT"));
  return e;
}

core::Status PostgresExecutions::Save(const Execution& e) {
  std::lock_guard<std::mutex> hold(mu_);
  bool ready = false;
  auto conn = Connection(&ready);
  if (!conn.ok()) return conn.status();
  if (!ready) return core::Status::Unavailable(kNoTables);
  return (*conn)->Run(
      "INSERT INTO " + Table("crossdock_executions") +
          " (id, status, document, owner_pid, owner_started) VALUES ($1, $2, $3, "
          "pg_backend_pid(), (SELECT backend_start FROM pg_stat_activity WHERE pid = "
          "pg_backend_pid())) ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, "
          "document = EXCLUDED.document",
      {std::to_string(e.id), Name(e.status), ExecutionDocument(e)});
}

core::Result<Execution> PostgresExecutions::GetLocked(std::int64_t id) {
  bool ready = false;
  auto conn = Connection(&ready);
  if (!conn.ok()) return conn.status();
  if (!ready) return NoExecution(id);
  auto rows = (*conn)->Exec("SELECT document FROM " + Table("crossdock_executions") +
                                " WHERE id = $1",
                            {std::to_string(id)});
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) return NoExecution(id);
  auto e = ParseExecutionDocument(rows->Get(0, 0));
  if (!e) {
    return core::Status::DataLoss("execution " + std::to_string(id) + " in " +
                                  (*conn)->name() + " is corrupt");
  }
  e->id = id;
  return *e;
}

core::Result<Execution> PostgresExecutions::Get(std::int64_t id) {
  std::lock_guard<std::mutex> hold(mu_);
  return GetLocked(id);
}

core::Result<std::vector<Execution>> PostgresExecutions::List(const std::string& rule) {
  std::lock_guard<std::mutex> hold(mu_);
  bool ready = false;
  auto conn = Connection(&ready);
  if (!conn.ok()) return conn.status();
  std::vector<Execution> out;
  if (!ready) return out;
  auto rows = (*conn)->Exec("SELECT id, document FROM " + Table("crossdock_executions") +
                            " ORDER BY id DESC");
  if (!rows.ok()) return rows.status();
  for (int i = 0; i < rows->size(); ++i) {
    auto e = ParseExecutionDocument(rows->Get(i, 1));
    if (!e) {
      if (warn_) warn_("skipped execution " + rows->Get(i, 0) + ": it is corrupt");
      continue;
    }
    e->id = std::stoll(rows->Get(i, 0));
    if (!rule.empty() && std::find(e->rules.begin(), e->rules.end(), rule) == e->rules.end())
      continue;
    out.push_back(std::move(*e));
  }
  return out;
}

core::Status PostgresExecutions::AppendLog(std::int64_t execution, int task,
                                           const std::string& line) {
  std::lock_guard<std::mutex> hold(mu_);
  bool ready = false;
  auto conn = Connection(&ready);
  if (!conn.ok()) return conn.status();
  if (!ready) return core::Status::Unavailable(kNoTables);
  return (*conn)->Run("INSERT INTO " + Table("crossdock_task_logs") +
                          " (execution_id, task_id, line) VALUES ($1, $2, $3)",
                      {std::to_string(execution), std::to_string(task),
                       core::NowRfc3339() + " " + line + "\n"});
}

core::Result<std::string> PostgresExecutions::ReadLog(std::int64_t execution, int task) {
  std::lock_guard<std::mutex> hold(mu_);
  auto e = GetLocked(execution);
  if (!e.ok()) return e.status();
  if (task < 1 || task > static_cast<int>(e->tasks.size()))
    return core::Status::NotFound("execution " + std::to_string(execution) + " has no task " +
                                  std::to_string(task) + "; see `crossdock tasks " +
                                  std::to_string(execution) + "`");
  auto rows = conn_->Exec("SELECT coalesce(string_agg(line, '' ORDER BY id), '') FROM " +
                              Table("crossdock_task_logs") +
                              " WHERE execution_id = $1 AND task_id = $2",
                          {std::to_string(execution), std::to_string(task)});
  if (!rows.ok()) return rows.status();
  return rows->Get(0, 0);
}

core::Result<int> PostgresExecutions::RecoverCrashed() {
  std::lock_guard<std::mutex> hold(mu_);
  bool ready = false;
  auto conn = Connection(&ready);
  if (!conn.ok()) return conn.status();
  if (!ready) return 0;
  // A session whose start time this role may not see (another role's, without
  // pg_read_all_stats) counts as alive.
  auto rows = (*conn)->Exec(
      "SELECT id, document FROM " + Table("crossdock_executions") +
      " e WHERE status = 'running' AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE "
      "a.pid = e.owner_pid AND (a.backend_start IS NULL OR a.backend_start = e.owner_started))");
  if (!rows.ok()) return rows.status();
  int n = 0;
  for (int i = 0; i < rows->size(); ++i) {
    auto e = ParseExecutionDocument(rows->Get(i, 1));
    if (!e) continue;
    e->id = std::stoll(rows->Get(i, 0));
    MarkCrashed(&*e);
    CROSSDOCK_RETURN_IF_ERROR((*conn)->Run(
        "UPDATE " + Table("crossdock_executions") +
            " SET status = $2, document = $3 WHERE id = $1 AND status = 'running'",
        {std::to_string(e->id), Name(e->status), ExecutionDocument(*e)}));
    ++n;
  }
  return n;
}

core::Status PostgresExecutions::RequestStop(std::int64_t id) {
  std::lock_guard<std::mutex> hold(mu_);
  bool ready = false;
  auto conn = Connection(&ready);
  if (!conn.ok()) return conn.status();
  if (!ready) return NoExecution(id);
  auto rows = (*conn)->Exec("UPDATE " + Table("crossdock_executions") +
                                " SET stop_requested = true WHERE id = $1 RETURNING id",
                            {std::to_string(id)});
  if (!rows.ok()) return rows.status();
  return rows->size() == 1 ? core::Status::Ok() : NoExecution(id);
}

bool PostgresExecutions::StopRequested(std::int64_t id) {
  std::lock_guard<std::mutex> hold(mu_);
  bool ready = false;
  auto conn = Connection(&ready);
  if (!conn.ok() || !ready) return false;
  auto rows = (*conn)->Exec("SELECT stop_requested FROM " + Table("crossdock_executions") +
                                " WHERE id = $1",
                            {std::to_string(id)});
  return rows.ok() && rows->size() == 1 && rows->Get(0, 0) == "t";
}

void PostgresExecutions::ClearStopRequest(std::int64_t id) {
  std::lock_guard<std::mutex> hold(mu_);
  bool ready = false;
  auto conn = Connection(&ready);
  if (!conn.ok() || !ready) return;
  (void)(*conn)->Run("UPDATE " + Table("crossdock_executions") +
                         " SET stop_requested = false WHERE id = $1",
                     {std::to_string(id)});
}

core::Status PostgresExecutions::Prune(int keep) {
  auto all = List("");  // newest first
  if (!all.ok()) return all.status();
  const std::vector<std::int64_t> ids = ExecutionsToPrune(*all, keep);
  if (ids.empty()) return core::Status::Ok();
  std::vector<std::string> texts;
  for (std::int64_t id : ids) texts.push_back(std::to_string(id));
  std::lock_guard<std::mutex> hold(mu_);
  bool ready = false;
  auto conn = Connection(&ready);
  if (!conn.ok()) return conn.status();
  const std::string array = TextArray(texts);
  CROSSDOCK_RETURN_IF_ERROR((*conn)->Run("DELETE FROM " + Table("crossdock_task_logs") +
                                             " WHERE execution_id = ANY($1::bigint[])",
                                         {array}));
  return (*conn)->Run("DELETE FROM " + Table("crossdock_executions") +
                          " WHERE id = ANY($1::bigint[])",
                      {array});
}

}  // namespace crossdock::state
