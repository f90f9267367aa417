// The PostgreSQL state backend.
//
// Schema (version 1), in the connection's current schema (the first existing schema of
// its search_path: `?options=-csearch_path%3Dteam_a` in the URL, or PGOPTIONS, keeps
// several states in one database):
//
//   crossdock_meta       one row: schema_version, lineage, serial, created_at
//   crossdock_artifacts  a row per managed artifact: the fields of state::Artifact,
//                        primary key (destination_endpoint, destination_repository,
//                        tag), plus repository_hash (core::ShardHash, numeric: the rows
//                        of shard I/N are `repository_hash % N = I`) indexed
//   crossdock_intents    a row per intent, keyed and hashed the same way
//   crossdock_locks      who holds each advisory lock: lock_key, lock_name, host, pid,
//                        since, backend_pid (written by the holder, for the message a
//                        waiting run prints)
//   crossdock_executions, crossdock_task_logs
//                        the execution history (state/postgres_executions.cc)
//
// Why each choice:
// - A row per artifact: recording a change writes its rows, never the whole state
//   (Terraform's pg backend rewrites one `data` document per state). Each group commit
//   of an apply (applier::StateRecorder) is one transaction that writes the keys the
//   State's journal lists with a fixed number of statements (unnest of arrays), then
//   increments serial, so a change costs O(1) statements and rows.
// - Text columns throughout, as the file holds strings: what the file holds, the rows
//   hold, and `state migrate` copies one into the other exactly.
// - The tables are created in one transaction under a transaction-level advisory lock
//   derived from this database and schema (never a global one: Terraform's lock -1 made
//   unrelated states wait for each other, hashicorp/terraform#33217), so two first runs
//   never half-create them and an error leaves nothing behind. A schema_version above
//   kPostgresSchemaVersion is refused: a newer crossdock's rows are not rewritten by an
//   older one.
// - Locks are session advisory locks, keyed by a hash of (database, schema, lock name):
//   one state's locks never block another's. Each backend holds them on its own libpq
//   connection, kept open while they live (no pool that could run the unlock on another
//   session); a killed run's session ends and its locks with it. A connection pooler in
//   transaction or statement mode (PgBouncer pool_mode = transaction) hands each
//   transaction to any server session, which breaks session locks: a lock is checked
//   right after it is taken, and each persist checks that it still runs in the session
//   holding the locks; both refuse to go on otherwise.
#include "state/postgres.h"

#include <openssl/sha.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/shard.h"
#include "state/pg_connection.h"
#include "state/store.h"

namespace crossdock::state {

struct PostgresBackend::Session {
  std::mutex mu;  // one statement at a time on conn
  std::unique_ptr<PgConnection> conn;
  std::string database, schema, role;
  bool tables_ready = false;  // they exist, at a version this crossdock writes
  int locks_held = 0;
  int server_pid = 0;  // the server session that took the locks (pg_backend_pid())
};

namespace {

using Params = std::vector<std::optional<std::string>>;

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string Table(const PostgresBackend::Session& s, const char* table) {
  return QuoteIdentifier(s.schema) + "." + table;
}

// The advisory lock key of NAME in this database and schema: the first 8 bytes of
// SHA-256 over them.
std::int64_t LockKey(const PostgresBackend::Session& s, const std::string& name) {
  const std::string text =
      std::string("crossdock lock") + '\0' + s.database + '\0' + s.schema + '\0' + name;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::uint64_t key = 0;
  for (int i = 0; i < 8; ++i) key = (key << 8) | digest[i];
  return static_cast<std::int64_t>(key);
}

std::string Where(const PostgresBackend::Session& s) {
  return "schema " + s.schema + " of database " + s.database;
}

// A transaction on CONN, rolled back unless committed. REQUIRES: the session's mutex.
class Transaction {
 public:
  explicit Transaction(PgConnection* conn) : conn_(conn) {}
  ~Transaction() {
    if (open_ && conn_->ok()) (void)conn_->Run("ROLLBACK");
  }
  core::Status Begin(const std::string& how = "BEGIN") {
    CROSSDOCK_RETURN_IF_ERROR(conn_->Run(how));
    open_ = true;
    return core::Status::Ok();
  }
  core::Status Commit() {
    open_ = false;
    return conn_->Run("COMMIT");
  }

 private:
  PgConnection* conn_;
  bool open_ = false;
};

core::Status CheckConnection(const PostgresBackend::Session& s) {
  if (s.conn->ok()) return core::Status::Ok();
  return core::Status::Unavailable(
      "lost the connection to the PostgreSQL state " + s.conn->name() +
      (s.locks_held > 0 ? "; the locks this run held ended with it, so nothing more is written: "
                          "run again once the server is reachable"
                        : "; run again once the server is reachable"));
}

// Whether crossdock's tables exist; refuses a schema from a newer crossdock.
// REQUIRES: the session's mutex.
core::Result<bool> CheckSchema(PostgresBackend::Session& s) {
  auto exists = s.conn->Exec("SELECT to_regclass($1) IS NOT NULL",
                             {Table(s, "crossdock_meta")});
  if (!exists.ok()) return exists.status();
  if (exists->Get(0, 0) != "t") return false;
  auto meta = s.conn->Exec("SELECT schema_version FROM " + Table(s, "crossdock_meta"));
  if (!meta.ok()) return meta.status();
  if (meta->size() != 1) {
    return core::Status::DataLoss("the PostgreSQL state " + s.conn->name() + " is corrupt: " +
                                  Table(s, "crossdock_meta") + " holds " +
                                  std::to_string(meta->size()) + " rows instead of one");
  }
  const long long version = std::stoll(meta->Get(0, 0));
  if (version > kPostgresSchemaVersion) {
    return core::Status::InvalidArgument(
        "the PostgreSQL state " + s.conn->name() + " has schema version " +
        std::to_string(version) + ", newer than this crossdock understands (" +
        std::to_string(kPostgresSchemaVersion) + "); upgrade crossdock");
  }
  s.tables_ready = true;
  return true;
}

constexpr const char* kArtifactColumns =
    "destination_endpoint, destination_repository, tag, repository_hash, rule, "
    "source_endpoint, source_repository, source_digest, destination_digest, replicated_at";
constexpr const char* kIntentColumns =
    "destination_endpoint, destination_repository, tag, repository_hash, rule, "
    "source_endpoint, source_repository, source_digest, recorded_at";
constexpr const char* kKeyColumns = "destination_endpoint, destination_repository, tag";

// Creates crossdock's tables unless they exist, all or nothing. REQUIRES: the mutex.
core::Status EnsureTables(PostgresBackend::Session& s) {
  if (s.tables_ready) return core::Status::Ok();
  CROSSDOCK_RETURN_IF_ERROR(CheckConnection(s));
  Transaction txn(s.conn.get());
  CROSSDOCK_RETURN_IF_ERROR(txn.Begin());
  // Two first runs at once: the second waits here, then finds the tables.
  CROSSDOCK_RETURN_IF_ERROR(s.conn->Run("SELECT pg_advisory_xact_lock($1)",
                                        {std::to_string(LockKey(s, "create tables"))}));
  auto exists = CheckSchema(s);
  if (!exists.ok()) return exists.status();
  if (*exists) return txn.Commit();
  auto lineage = NewLineage();
  if (!lineage.ok()) return lineage.status();
  const std::string key_columns =
      "destination_endpoint text NOT NULL, destination_repository text NOT NULL, "
      "tag text NOT NULL, repository_hash numeric(20) NOT NULL, rule text NOT NULL, "
      "source_endpoint text NOT NULL, source_repository text NOT NULL, "
      "source_digest text NOT NULL, ";
  const std::vector<std::string> statements = {
      "CREATE TABLE " + Table(s, "crossdock_meta") +
          " (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), "
          "schema_version integer NOT NULL, lineage text NOT NULL, serial bigint NOT NULL, "
          "created_at timestamptz NOT NULL DEFAULT now())",
      "CREATE TABLE " + Table(s, "crossdock_artifacts") + " (" + key_columns +
          "destination_digest text NOT NULL, replicated_at text NOT NULL, "
          "PRIMARY KEY (destination_endpoint, destination_repository, tag))",
      "CREATE INDEX crossdock_artifacts_by_repository_hash ON " +
          Table(s, "crossdock_artifacts") + " (repository_hash)",
      "CREATE TABLE " + Table(s, "crossdock_intents") + " (" + key_columns +
          "recorded_at text NOT NULL, "
          "PRIMARY KEY (destination_endpoint, destination_repository, tag))",
      "CREATE INDEX crossdock_intents_by_repository_hash ON " + Table(s, "crossdock_intents") +
          " (repository_hash)",
      "CREATE TABLE " + Table(s, "crossdock_locks") +
          " (lock_key bigint PRIMARY KEY, lock_name text NOT NULL, host text NOT NULL, "
          "pid integer NOT NULL, since text NOT NULL, backend_pid integer NOT NULL)",
      // The execution history: state/postgres_executions.cc.
      "CREATE TABLE " + Table(s, "crossdock_executions") +
          " (id bigint PRIMARY KEY, status text NOT NULL, document text NOT NULL, "
          "owner_pid integer NOT NULL, owner_started timestamptz, "
          "stop_requested boolean NOT NULL DEFAULT false)",
      "CREATE TABLE " + Table(s, "crossdock_task_logs") +
          " (id bigserial PRIMARY KEY, execution_id bigint NOT NULL, task_id integer NOT NULL, "
          "line text NOT NULL)",
      "CREATE INDEX crossdock_task_logs_by_task ON " + Table(s, "crossdock_task_logs") +
          " (execution_id, task_id)",
  };
  for (const std::string& sql : statements) {
    core::Status st = s.conn->Run(sql);
    if (st.code() == core::Code::kPermissionDenied) {
      return core::Status::PermissionDenied(
          "cannot create crossdock's tables in " + Where(s) + " as role " + s.role + " (" +
          st.message() + "); nothing was created: have an administrator run `GRANT CREATE ON "
          "SCHEMA " + QuoteIdentifier(s.schema) + " TO " + QuoteIdentifier(s.role) +
          "`, or run crossdock once as a role that may create them");
    }
    CROSSDOCK_RETURN_IF_ERROR(st.WithContext("cannot create crossdock's tables in " + Where(s)));
  }
  CROSSDOCK_RETURN_IF_ERROR(s.conn->Run(
      "INSERT INTO " + Table(s, "crossdock_meta") +
          " (schema_version, lineage, serial) VALUES ($1, $2, 0)",
      {std::to_string(kPostgresSchemaVersion), *lineage}));
  CROSSDOCK_RETURN_IF_ERROR(txn.Commit());
  s.tables_ready = true;
  return core::Status::Ok();
}

// Fetches every row of SELECT_SQL through a cursor, BATCH rows at a time, calling ROW
// for each. REQUIRES: the mutex, inside a transaction.
template <typename Row>
core::Status ForEachRow(PgConnection* conn, const std::string& select_sql, Row row) {
  CROSSDOCK_RETURN_IF_ERROR(conn->Run("DECLARE crossdock_rows NO SCROLL CURSOR FOR " + select_sql));
  for (;;) {
    auto batch = conn->Exec("FETCH FORWARD 10000 FROM crossdock_rows");
    if (!batch.ok()) return batch.status();
    if (batch->size() == 0) break;
    for (int i = 0; i < batch->size(); ++i) row(*batch, i);
  }
  return conn->Run("CLOSE crossdock_rows");
}

// The holder of advisory lock KEY as a waiting run reports it. REQUIRES: the mutex.
std::string Holder(PostgresBackend::Session& s, std::int64_t key) {
  auto rows = s.conn->Exec(
      "SELECT h.host, h.pid, h.since, l.pid FROM pg_locks l LEFT JOIN " +
          Table(s, "crossdock_locks") +
          " h ON h.lock_key = $1 AND h.backend_pid = l.pid "
          "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
          "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
          "AND ((l.classid::bigint << 32) | l.objid::bigint) = $1",
      {std::to_string(key)});
  if (!rows.ok() || rows->size() == 0) return "another run";
  if (rows->IsNull(0, 0)) return "PostgreSQL session " + rows->Get(0, 3);
  return "host " + rows->Get(0, 0) + ", pid " + rows->Get(0, 1) + ", since " + rows->Get(0, 2);
}

class PostgresLock : public BackendLock {
 public:
  PostgresLock(std::shared_ptr<PostgresBackend::Session> s, std::int64_t key, bool shared)
      : s_(std::move(s)), key_(key), shared_(shared) {}
  ~PostgresLock() override {
    std::lock_guard<std::mutex> hold(s_->mu);
    --s_->locks_held;
    if (!s_->conn->ok()) return;  // the session, and the lock with it, are gone
    (void)s_->conn->Run("DELETE FROM " + Table(*s_, "crossdock_locks") +
                            " WHERE lock_key = $1 AND backend_pid = pg_backend_pid()",
                        {std::to_string(key_)});
    (void)s_->conn->Run(shared_ ? "SELECT pg_advisory_unlock_shared($1)"
                                : "SELECT pg_advisory_unlock($1)",
                        {std::to_string(key_)});
  }

 private:
  std::shared_ptr<PostgresBackend::Session> s_;
  std::int64_t key_;
  bool shared_;
};

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

// Rows to write for the journal's keys, as parallel arrays.
struct Columns {
  std::vector<std::vector<std::string>> of;
  explicit Columns(size_t n) : of(n) {}
  void Add(std::vector<std::string> row) {
    for (size_t i = 0; i < row.size(); ++i) of[i].push_back(std::move(row[i]));
  }
  bool empty() const { return of[0].empty(); }
  Params AsParams() const {
    Params p;
    for (const auto& column : of) p.push_back(TextArray(column));
    return p;
  }
};

// The names in "a, b, c".
std::vector<std::string> Names(const std::string& columns) {
  std::vector<std::string> names;
  size_t at = 0;
  for (;;) {
    const size_t comma = columns.find(", ", at);
    names.push_back(columns.substr(at, comma == std::string::npos ? comma : comma - at));
    if (comma == std::string::npos) return names;
    at = comma + 2;
  }
}

// "unnest($1::text[], $2::text[], …)" for COLUMNS (repository_hash is numeric: an
// unsigned 64-bit hash).
std::string Unnest(const std::string& columns) {
  std::string out;
  const std::vector<std::string> names = Names(columns);
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "$" : ", $") + std::to_string(i + 1) +
           (names[i] == "repository_hash" ? "::numeric[]" : "::text[]");
  }
  return "unnest(" + out + ")";
}

// "col = EXCLUDED.col, …" for every column of COLUMNS after the key's three.
std::string UpdateSet(const std::string& columns) {
  std::string out;
  const std::vector<std::string> names = Names(columns);
  for (size_t i = 3; i < names.size(); ++i)
    out += (i == 3 ? "" : ", ") + names[i] + " = EXCLUDED." + names[i];
  return out;
}

std::vector<std::string> ArtifactRow(const Artifact& a) {
  return {a.destination_endpoint, a.destination_repository, a.tag,
          std::to_string(core::ShardHash(a.destination_endpoint, a.destination_repository)),
          a.rule, a.source_endpoint, a.source_repository, a.source_digest,
          a.destination_digest, a.replicated_at};
}

std::vector<std::string> IntentRow(const Intent& i) {
  return {i.destination_endpoint, i.destination_repository, i.tag,
          std::to_string(core::ShardHash(i.destination_endpoint, i.destination_repository)),
          i.rule, i.source_endpoint, i.source_repository, i.source_digest, i.recorded_at};
}

std::string CopyLine(const std::vector<std::string>& row) {
  std::string line;
  for (size_t i = 0; i < row.size(); ++i) line += (i ? "\t" : "") + CopyField(row[i]);
  return line + "\n";
}

}  // namespace

core::Result<std::unique_ptr<PostgresBackend>> PostgresBackend::Open(const std::string& url) {
  auto conn = PgConnection::Connect(url);
  if (!conn.ok()) return conn.status();
  auto session = std::make_shared<Session>();
  session->conn = std::move(*conn);
  auto who = session->conn->Exec("SELECT current_database(), current_schema(), current_user");
  if (!who.ok()) return who.status();
  if (who->IsNull(0, 1)) {
    return core::Status::InvalidArgument(
        "the PostgreSQL state " + session->conn->name() +
        " has no schema to use: none of the schemas in its search_path exists; create one, or "
        "name an existing one (options=-csearch_path%3DNAME in the URL)");
  }
  session->database = who->Get(0, 0);
  session->schema = who->Get(0, 1);
  session->role = who->Get(0, 2);
  {
    std::lock_guard<std::mutex> hold(session->mu);
    auto exists = CheckSchema(*session);
    if (!exists.ok()) return exists.status();
  }
  return std::unique_ptr<PostgresBackend>(
      new PostgresBackend(std::move(session), url));
}

PostgresBackend::~PostgresBackend() = default;

const std::string& PostgresBackend::name() const { return session_->conn->name(); }

core::Result<State> PostgresBackend::Read() {
  Session& s = *session_;
  std::lock_guard<std::mutex> hold(s.mu);
  CROSSDOCK_RETURN_IF_ERROR(CheckConnection(s));
  auto exists = CheckSchema(s);
  if (!exists.ok()) return exists.status();
  State state;
  if (!*exists) {
    auto lineage = NewLineage();
    if (!lineage.ok()) return lineage.status();
    state.lineage = std::move(*lineage);
    return state;
  }
  Transaction txn(s.conn.get());
  CROSSDOCK_RETURN_IF_ERROR(txn.Begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  auto meta = s.conn->Exec("SELECT lineage, serial FROM " + Table(s, "crossdock_meta"));
  if (!meta.ok()) return meta.status();
  state.lineage = meta->Get(0, 0);
  state.serial = std::stoll(meta->Get(0, 1));
  // Byte order (COLLATE "C"), as the state file sorts its records.
  const std::string order = " ORDER BY destination_endpoint COLLATE \"C\", "
                            "destination_repository COLLATE \"C\", tag COLLATE \"C\"";
  CROSSDOCK_RETURN_IF_ERROR(ForEachRow(
      s.conn.get(),
      "SELECT rule, source_endpoint, source_repository, source_digest, destination_endpoint, "
      "destination_repository, tag, destination_digest, replicated_at FROM " +
          Table(s, "crossdock_artifacts") + order,
      [&](const PgRows& r, int i) {
        state.artifacts.push_back(Artifact{r.Get(i, 0), r.Get(i, 1), r.Get(i, 2), r.Get(i, 3),
                                           r.Get(i, 4), r.Get(i, 5), r.Get(i, 6), r.Get(i, 7),
                                           r.Get(i, 8)});
      }));
  CROSSDOCK_RETURN_IF_ERROR(ForEachRow(
      s.conn.get(),
      "SELECT rule, source_endpoint, source_repository, source_digest, destination_endpoint, "
      "destination_repository, tag, recorded_at FROM " +
          Table(s, "crossdock_intents") + order,
      [&](const PgRows& r, int i) {
        state.intents.push_back(Intent{r.Get(i, 0), r.Get(i, 1), r.Get(i, 2), r.Get(i, 3),
                                       r.Get(i, 4), r.Get(i, 5), r.Get(i, 6), r.Get(i, 7)});
      }));
  CROSSDOCK_RETURN_IF_ERROR(txn.Commit());
  return state;
}

core::Result<std::unique_ptr<BackendLock>> PostgresBackend::LockScope(const std::string& scope,
                                                                      double timeout_seconds) {
  return Lock("scope " + scope, "scope \"" + scope + "\"", timeout_seconds, false);
}

core::Result<std::unique_ptr<BackendLock>> PostgresBackend::LockScopeShared(
    const std::string& scope, double timeout_seconds) {
  // The same lock as LockScope's: PostgreSQL's shared and exclusive modes of one key
  // exclude each other.
  return Lock("scope " + scope, "scope \"" + scope + "\"", timeout_seconds, true);
}

core::Result<std::unique_ptr<BackendLock>> PostgresBackend::LockRepository(
    const std::string& endpoint, const std::string& repository, double timeout_seconds) {
  return Lock("repository " + endpoint + "/" + repository,
              "repository " + endpoint + "/" + repository, timeout_seconds, false);
}

core::Result<std::unique_ptr<BackendLock>> PostgresBackend::Lock(const std::string& lock_name,
                                                                 const std::string& what,
                                                                 double timeout_seconds,
                                                                 bool shared) {
  Session& s = *session_;
  const std::string unlock = shared ? "pg_advisory_unlock_shared" : "pg_advisory_unlock";
  std::int64_t key;
  {
    std::lock_guard<std::mutex> hold(s.mu);
    CROSSDOCK_RETURN_IF_ERROR(EnsureTables(s));
    key = LockKey(s, lock_name);
  }
  const Params key_param = {std::to_string(key)};
  using Clock = std::chrono::steady_clock;
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(timeout_seconds > 0 ? timeout_seconds : 0));
  for (;;) {
    {
      std::lock_guard<std::mutex> hold(s.mu);
      CROSSDOCK_RETURN_IF_ERROR(CheckConnection(s));
      auto got = s.conn->Exec(std::string("SELECT ") +
                                  (shared ? "pg_try_advisory_lock_shared" : "pg_try_advisory_lock") +
                                  "($1), pg_backend_pid()",
                              key_param);
      if (!got.ok()) return got.status();
      if (got->Get(0, 0) == "t") {
        const int server_pid = std::stoi(got->Get(0, 1));
        // Still the same server session a statement later, holding the lock? Behind a
        // pooler in transaction mode it need not be.
        core::Status st = s.conn->Run(
            "INSERT INTO " + Table(s, "crossdock_locks") +
                " (lock_key, lock_name, host, pid, since, backend_pid) "
                "VALUES ($1, $2, $3, $4, $5, pg_backend_pid()) ON CONFLICT (lock_key) DO UPDATE "
                "SET lock_name = EXCLUDED.lock_name, host = EXCLUDED.host, pid = EXCLUDED.pid, "
                "since = EXCLUDED.since, backend_pid = EXCLUDED.backend_pid",
            {std::to_string(key), lock_name, HostName(), std::to_string(getpid()),
             core::NowRfc3339()});
        auto check = s.conn->Exec(
            "SELECT pg_backend_pid() = $2 AND EXISTS (SELECT 1 FROM pg_locks WHERE "
            "locktype = 'advisory' AND granted AND objsubid = 1 AND pid = pg_backend_pid() AND "
            "((classid::bigint << 32) | objid::bigint) = $1)",
            {std::to_string(key), std::to_string(server_pid)});
        const bool same_session = check.ok() && check->Get(0, 0) == "t" &&
                                  (s.server_pid == 0 || s.server_pid == server_pid);
        if (!same_session) {
          // The lock stays with server session SERVER_PID, which the pooler hands to any
          // client: end that session, and the lock with it, unless it is this one.
          (void)s.conn->Run(
              "SELECT CASE WHEN pg_backend_pid() = $2 THEN " + unlock + "($1) "
              "ELSE pg_terminate_backend($2) END",
              {std::to_string(key), std::to_string(server_pid)});
          if (!check.ok()) return check.status();
          return core::Status::Unavailable(
              "the PostgreSQL state " + s.conn->name() +
              " cannot be locked: its connection does not keep one server session (a pooler "
              "in transaction or statement mode, such as PgBouncer with pool_mode = "
              "transaction, sits in between); advisory locks need a direct connection or "
              "session pooling");
        }
        if (!st.ok()) {
          (void)s.conn->Run("SELECT " + unlock + "($1)", key_param);
          return st.WithContext("cannot record the holder of the lock on " + what);
        }
        s.server_pid = server_pid;
        ++s.locks_held;
        return std::unique_ptr<BackendLock>(new PostgresLock(session_, key, shared));
      }
      if (Clock::now() >= deadline) {
        return core::Status::Unavailable(
            "state is locked by " + Holder(s, key) + " (PostgreSQL advisory lock on " + what +
            " of " + s.conn->name() +
            "); wait for that run to finish, or pass --lock-timeout to wait longer");
      }
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(150),
                                                          deadline - Clock::now()));
  }
}

core::Status PostgresBackend::Persist(State* state) {
  Session& s = *session_;
  std::lock_guard<std::mutex> hold(s.mu);
  CROSSDOCK_RETURN_IF_ERROR(CheckConnection(s));
  CROSSDOCK_RETURN_IF_ERROR(EnsureTables(s));
  Columns artifacts(10), intents(9), gone_artifacts(3), gone_intents(3);
  for (const auto& [key, generation] : state->journal.touched()) {
    const auto& [endpoint, repository, tag] = key;
    if (const Artifact* a = state->Find(endpoint, repository, tag)) {
      artifacts.Add(ArtifactRow(*a));
    } else {
      gone_artifacts.Add({endpoint, repository, tag});
    }
    if (const Intent* i = state->FindIntent(endpoint, repository, tag)) {
      intents.Add(IntentRow(*i));
    } else {
      gone_intents.Add({endpoint, repository, tag});
    }
  }
  Transaction txn(s.conn.get());
  CROSSDOCK_RETURN_IF_ERROR(txn.Begin());
  if (s.locks_held > 0) {
    auto pid = s.conn->Exec("SELECT pg_backend_pid()");
    if (!pid.ok()) return pid.status();
    if (std::stoi(pid->Get(0, 0)) != s.server_pid) {
      return core::Status::Unavailable(
          "the PostgreSQL state " + s.conn->name() +
          " was not written: this transaction runs in another server session than the one "
          "holding the state's locks (a pooler in transaction or statement mode, such as "
          "PgBouncer with pool_mode = transaction, sits in between); connect directly or "
          "through session pooling");
    }
  }
  const std::string key_match =
      "t.destination_endpoint = d.destination_endpoint AND "
      "t.destination_repository = d.destination_repository AND t.tag = d.tag";
  auto remove = [&](const char* table, const Columns& keys) -> core::Status {
    if (keys.empty()) return core::Status::Ok();
    return s.conn->Run("DELETE FROM " + Table(s, table) + " t USING " + Unnest(kKeyColumns) +
                           " AS d(" + kKeyColumns + ") WHERE " + key_match,
                       keys.AsParams());
  };
  auto upsert = [&](const char* table, const char* columns, const Columns& rows) -> core::Status {
    if (rows.empty()) return core::Status::Ok();
    return s.conn->Run("INSERT INTO " + Table(s, table) + " (" + columns + ") SELECT * FROM " +
                           Unnest(columns) + " ON CONFLICT (" + kKeyColumns + ") DO UPDATE SET " +
                           UpdateSet(columns),
                       rows.AsParams());
  };
  CROSSDOCK_RETURN_IF_ERROR(remove("crossdock_artifacts", gone_artifacts));
  CROSSDOCK_RETURN_IF_ERROR(upsert("crossdock_artifacts", kArtifactColumns, artifacts));
  CROSSDOCK_RETURN_IF_ERROR(remove("crossdock_intents", gone_intents));
  CROSSDOCK_RETURN_IF_ERROR(upsert("crossdock_intents", kIntentColumns, intents));
  // A state nothing was ever written to (serial 0) takes the writer's lineage.
  auto serial = s.conn->Exec("UPDATE " + Table(s, "crossdock_meta") +
                                 " SET serial = serial + 1, lineage = $1 "
                                 "WHERE lineage = $1 OR serial = 0 RETURNING serial",
                             {state->lineage});
  if (!serial.ok()) return serial.status();
  if (serial->size() != 1) {
    return core::Status::Conflict(
        "the PostgreSQL state " + s.conn->name() + " was replaced while this run used it (its "
        "lineage is no longer " + state->lineage + "); nothing more was written: run plan again");
  }
  const std::int64_t next = std::stoll(serial->Get(0, 0));
  CROSSDOCK_RETURN_IF_ERROR(txn.Commit());
  state->serial = next;
  return core::Status::Ok();
}

core::Status PostgresBackend::Replace(const State& state) {
  Session& s = *session_;
  std::lock_guard<std::mutex> hold(s.mu);
  CROSSDOCK_RETURN_IF_ERROR(CheckConnection(s));
  CROSSDOCK_RETURN_IF_ERROR(EnsureTables(s));
  std::string artifact_rows, intent_rows;
  for (const Artifact& a : state.artifacts) artifact_rows += CopyLine(ArtifactRow(a));
  for (const Intent& i : state.intents) intent_rows += CopyLine(IntentRow(i));
  Transaction txn(s.conn.get());
  CROSSDOCK_RETURN_IF_ERROR(txn.Begin());
  CROSSDOCK_RETURN_IF_ERROR(s.conn->Run("DELETE FROM " + Table(s, "crossdock_artifacts")));
  CROSSDOCK_RETURN_IF_ERROR(s.conn->Run("DELETE FROM " + Table(s, "crossdock_intents")));
  CROSSDOCK_RETURN_IF_ERROR(s.conn->CopyIn("COPY " + Table(s, "crossdock_artifacts") + " (" +
                                               kArtifactColumns + ") FROM STDIN",
                                           artifact_rows));
  CROSSDOCK_RETURN_IF_ERROR(s.conn->CopyIn("COPY " + Table(s, "crossdock_intents") + " (" +
                                               kIntentColumns + ") FROM STDIN",
                                           intent_rows));
  CROSSDOCK_RETURN_IF_ERROR(
      s.conn->Run("UPDATE " + Table(s, "crossdock_meta") + " SET lineage = $1, serial = $2",
                  {state.lineage, std::to_string(state.serial)}));
  return txn.Commit();
}

}  // namespace crossdock::state
