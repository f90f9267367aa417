// The PostgreSQL state backend (state/postgres.h) against a real server
// (tests/support/postgres.h): rows per artifact written per change, the schema created
// whole or not at all, a newer schema refused, one clear message per connection
// failure, and advisory locks (holder named, per state, per repository, released with
// the session). Checked through psql as the superuser, not through crossdock's reads.
#include "state/postgres.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "core/shard.h"
#include "state/executions.h"
#include "state/pg_connection.h"
#include "state/store.h"
#include "tests/support/postgres.h"

namespace crossdock::state {
namespace {

using testing::PostgresServer;
using testing::TempDir;

Artifact MakeArtifact(const std::string& repo, const std::string& tag, char digest = 'a') {
  Artifact a;
  a.rule = "mirror";
  a.source_endpoint = "src";
  a.source_repository = "lib/" + repo;
  a.source_digest = "sha256:" + std::string(64, digest);
  a.destination_endpoint = "dst";
  a.destination_repository = repo;
  a.tag = tag;
  a.destination_digest = a.source_digest;
  a.replicated_at = "2024-05-01T12:00:00Z";
  return a;
}

Intent MakeIntent(const std::string& repo, const std::string& tag) {
  Intent i;
  i.rule = "mirror";
  i.source_endpoint = "src";
  i.source_repository = "lib/" + repo;
  i.source_digest = "sha256:" + std::string(64, 'c');
  i.destination_endpoint = "dst";
  i.destination_repository = repo;
  i.tag = tag;
  i.recorded_at = "2024-05-01T12:00:01Z";
  return i;
}

// A server per test, its password in this process's environment (libpq reads it).
class PostgresStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& [name, value] : pg_.env()) setenv(name.c_str(), value.c_str(), 1);
  }
  void TearDown() override {
    for (const auto& [name, value] : pg_.env()) unsetenv(name.c_str());
  }

  std::unique_ptr<Backend> Open(const std::string& url = "") {
    auto b = OpenBackend(url.empty() ? pg_.url() : url);
    EXPECT_TRUE(b.ok()) << b.status().message();
    return b.ok() ? std::move(*b) : nullptr;
  }
  core::Status OpenError(const std::string& url) {
    auto b = OpenBackend(url);
    return b.ok() ? core::Status::Ok() : b.status();
  }
  std::string Tables() {
    return pg_.Sql("SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables "
                   "WHERE tablename LIKE 'crossdock%'");
  }

  PostgresServer pg_;
  TempDir dir_;
};

TEST_F(PostgresStateTest, ReadingCreatesNothingAndTheFirstLockCreatesEveryTable) {
  auto b = Open();
  auto fresh = b->Read();
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_EQ(fresh->serial, 0);
  EXPECT_EQ(fresh->lineage.size(), 36u);
  EXPECT_EQ(Tables(), "\n");
  EXPECT_EQ(b->history_path(), pg_.url());  // the executions are in the database too
  EXPECT_EQ(b->name(), pg_.url());

  auto lock = b->LockScope(kWholeStateScope, 0);
  ASSERT_TRUE(lock.ok()) << lock.status().message();
  EXPECT_EQ(Tables(),
            "crossdock_artifacts crossdock_executions crossdock_intents crossdock_locks "
            "crossdock_meta crossdock_task_logs\n");
  EXPECT_EQ(pg_.Sql("SELECT schema_version, serial FROM crossdock_meta"), "1|0\n");
}

TEST_F(PostgresStateTest, AStateRoundTripsAndEachPersistWritesOnlyTheRowsOfItsChanges) {
  auto b = Open();
  auto lock = b->LockScope(kWholeStateScope, 0);
  ASSERT_TRUE(lock.ok()) << lock.status().message();
  auto s = b->Read();
  ASSERT_TRUE(s.ok());
  for (const char* tag : {"v1", "v2", "v3"}) s->Upsert(MakeArtifact("app", tag));
  s->Upsert(MakeArtifact("tab\there", "new\nline\\x", 'e'));  // COPY and array escapes
  s->AddIntent(MakeIntent("api", "v9"));
  ASSERT_TRUE(b->Persist(&*s).ok());
  EXPECT_EQ(s->serial, 1);
  s->journal.Clear();  // as the recorder does once a persist succeeded

  auto again = Open()->Read();
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->lineage, s->lineage);
  EXPECT_EQ(again->serial, 1);
  EXPECT_EQ(again->artifacts.size(), 4u);
  EXPECT_EQ(*again->Find("dst", "tab\there", "new\nline\\x"), MakeArtifact("tab\there", "new\nline\\x", 'e'));
  EXPECT_EQ(again->intents, std::vector<Intent>{MakeIntent("api", "v9")});

  // One transaction rewrites the rows of its changes only: the others keep their xmin
  // (the transaction that wrote them).
  auto xmin = [&](const std::string& where) {
    return pg_.Sql("SELECT xmin FROM crossdock_artifacts WHERE " + where);
  };
  const std::string v1 = xmin("tag = 'v1'"), v2 = xmin("tag = 'v2'");
  const std::string escaped = xmin("destination_repository <> 'app'");
  s->Upsert(MakeArtifact("app", "v2", 'f'));
  s->Remove("dst", "app", "v3");
  s->RemoveIntent("dst", "api", "v9");
  ASSERT_TRUE(b->Persist(&*s).ok());
  EXPECT_EQ(s->serial, 2);
  EXPECT_EQ(xmin("tag = 'v1'"), v1);
  EXPECT_EQ(xmin("destination_repository <> 'app'"), escaped);
  EXPECT_NE(xmin("tag = 'v2'"), v2);
  EXPECT_EQ(xmin("tag = 'v3'"), "");  // removed
  EXPECT_EQ(pg_.Sql("SELECT destination_digest FROM crossdock_artifacts WHERE tag = 'v2'"),
            "sha256:" + std::string(64, 'f') + "\n");
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM crossdock_intents"), "0\n");
  EXPECT_EQ(pg_.Sql("SELECT serial FROM crossdock_meta"), "2\n");
  // The shard column: a shard's rows by SQL are the repositories --shard gives it.
  EXPECT_EQ(pg_.Sql("SELECT DISTINCT repository_hash FROM crossdock_artifacts WHERE "
                    "destination_repository = 'app'"),
            std::to_string(core::ShardHash("dst", "app")) + "\n");
  for (int n : {2, 3, 7})
    EXPECT_EQ(pg_.Sql("SELECT DISTINCT repository_hash % " + std::to_string(n) +
                      " FROM crossdock_artifacts WHERE destination_repository = 'app'"),
              std::to_string(core::ShardHash("dst", "app") % n) + "\n");
}

TEST_F(PostgresStateTest, ReplaceWritesAStateExactlyAndPersistRefusesAReplacedLineage) {
  auto b = Open();
  auto lock = b->LockScope(kWholeStateScope, 0);
  ASSERT_TRUE(lock.ok());
  auto mine = b->Read();
  ASSERT_TRUE(mine.ok());
  mine->Upsert(MakeArtifact("app", "v1"));
  ASSERT_TRUE(b->Persist(&*mine).ok());

  State other;
  other.lineage = "6f1c2a4e-8d0b-4c57-9a3e-2b7d51f0c9e8";
  other.serial = 17;
  other.artifacts = {MakeArtifact("a", "1"), MakeArtifact("b", "2")};
  other.intents = {MakeIntent("c", "3")};
  ASSERT_TRUE(b->Replace(other).ok());
  auto read = Open()->Read();
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, other);
  EXPECT_EQ(read->serial, 17);

  mine->Upsert(MakeArtifact("app", "v2"));
  core::Status st = b->Persist(&*mine);
  EXPECT_EQ(st.code(), core::Code::kConflict);
  EXPECT_EQ(st.message(), "the PostgreSQL state " + pg_.url() +
                              " was replaced while this run used it (its lineage is no longer " +
                              mine->lineage + "); nothing more was written: run plan again");
}

TEST_F(PostgresStateTest, ASchemaFromANewerCrossdockIsRefused) {
  ASSERT_TRUE(Open()->LockScope(kWholeStateScope, 0).ok());
  pg_.Sql("UPDATE crossdock_meta SET schema_version = 2");
  core::Status st = OpenError(pg_.url());
  EXPECT_EQ(st.code(), core::Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "the PostgreSQL state " + pg_.url() +
                              " has schema version 2, newer than this crossdock understands (1); "
                              "upgrade crossdock");
}

TEST_F(PostgresStateTest, AnUnreachableServerARefusedLoginAndAMissingDatabaseEachSayWhatToDo) {
  const int closed = testing::FreePort();
  const std::string nowhere = "postgres://crossdock@127.0.0.1:" + std::to_string(closed) +
                              "/crossdock?sslmode=disable";
  core::Status unreachable = OpenError(nowhere);
  EXPECT_EQ(unreachable.code(), core::Code::kUnavailable);
  EXPECT_EQ(unreachable.message(),
            "cannot reach the PostgreSQL server of " + nowhere +
                ": connection to server at \"127.0.0.1\", port " + std::to_string(closed) +
                " failed: Connection refused Is the server running on that host and accepting "
                "TCP/IP connections?; check the host and port in the URL, and that the server "
                "runs and accepts connections from here");

  setenv("PGPASSWORD", "wrong", 1);
  core::Status refused = OpenError(pg_.url());
  EXPECT_EQ(refused.code(), core::Code::kUnauthenticated);
  EXPECT_EQ(refused.message(),
            "PostgreSQL refused the login to " + pg_.url() +
                ": connection to server at \"127.0.0.1\", port " + std::to_string(pg_.port()) +
                " failed: FATAL: password authentication failed for user \"crossdock\"; check "
                "the user in the URL, and the password in PGPASSWORD or in the password file "
                "(~/.pgpass, or the file PGPASSFILE names)");
  EXPECT_EQ(refused.message().find("wrong"), std::string::npos);
  setenv("PGPASSWORD", pg_.options().password.c_str(), 1);

  core::Status missing = OpenError(pg_.UrlFor("crossdock", "nodb"));
  EXPECT_EQ(missing.code(), core::Code::kNotFound);
  EXPECT_NE(missing.message().find("database \"nodb\" does not exist; create the database or "
                                   "fix the URL"),
            std::string::npos)
      << missing.message();
}

TEST_F(PostgresStateTest, ARoleThatMayNotCreateTablesIsToldWhichGrantIsMissingAndNothingIsCreated) {
  pg_.CreateRole("reader", pg_.options().password);  // same password: PGPASSWORD serves both
  auto b = Open(pg_.UrlFor("reader", "crossdock"));
  ASSERT_NE(b, nullptr);
  auto lock = b->LockScope(kWholeStateScope, 0);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), core::Code::kPermissionDenied);
  EXPECT_EQ(lock.status().message(),
            "cannot create crossdock's tables in schema public of database crossdock as role "
            "reader (PostgreSQL refused \"CREATE TABLE \"public\".crossdock_meta\": permission "
            "denied for schema public); nothing was created: have an administrator run `GRANT "
            "CREATE ON SCHEMA \"public\" TO \"reader\"`, or run crossdock once as a role that may "
            "create them");
  EXPECT_EQ(Tables(), "\n");
}

TEST_F(PostgresStateTest, ASecondHolderOfAScopeWaitsThenNamesTheFirstAndGetsItOnceReleased) {
  auto first = Open();
  auto second = Open();
  auto held = first->LockScope(kWholeStateScope, 0);
  ASSERT_TRUE(held.ok()) << held.status().message();
  auto refused = second->LockScope(kWholeStateScope, 0.3);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), core::Code::kUnavailable);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const std::string holder = "state is locked by host " + std::string(host) + ", pid " +
                             std::to_string(getpid()) + ", since ";
  EXPECT_EQ(refused.status().message().rfind(holder, 0), 0u) << refused.status().message();
  EXPECT_NE(refused.status().message().find(
                "(PostgreSQL advisory lock on scope \"apply\" of " + pg_.url() +
                "); wait for that run to finish, or pass --lock-timeout to wait longer"),
            std::string::npos)
      << refused.status().message();
  // Another scope of the same state is free.
  EXPECT_TRUE(second->LockScope("shard 1/4", 0).ok());

  // A waiter gets the lock once the holder lets go.
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    held->reset();
  });
  auto waited = second->LockScope(kWholeStateScope, 120);
  release.join();
  EXPECT_TRUE(waited.ok()) << waited.status().message();
  EXPECT_EQ(pg_.Sql("SELECT lock_name, pid FROM crossdock_locks WHERE lock_name = 'scope apply'"),
            "scope apply|" + std::to_string(getpid()) + "\n");
}

TEST_F(PostgresStateTest, RepositoryLocksExcludeOneRepositoryAndNoOther) {
  auto first = Open();
  auto second = Open();
  auto app = first->LockRepository("dst", "mirror/app", 0);
  ASSERT_TRUE(app.ok()) << app.status().message();
  // Reentrant within one process (parallel copies to one repository).
  auto again = first->LockRepository("dst", "mirror/app", 0);
  ASSERT_TRUE(again.ok()) << again.status().message();
  again->reset();
  auto same = second->LockRepository("dst", "mirror/app", 0);
  ASSERT_FALSE(same.ok());
  EXPECT_NE(same.status().message().find("advisory lock on repository dst/mirror/app"),
            std::string::npos)
      << same.status().message();
  EXPECT_TRUE(second->LockRepository("dst", "mirror/api", 0).ok());
  EXPECT_TRUE(second->LockRepository("other", "mirror/app", 0).ok());
  EXPECT_TRUE(second->LockScope(kWholeStateScope, 0).ok());
  app->reset();
  EXPECT_TRUE(second->LockRepository("dst", "mirror/app", 0).ok());
}

TEST_F(PostgresStateTest, SharedHoldersOfAScopeGoTogetherAndAnExclusiveOneWaitsForBoth) {
  auto first = Open();
  auto second = Open();
  auto third = Open();
  auto a = first->LockScopeShared(kWholeStateScope, 0);
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = second->LockScopeShared(kWholeStateScope, 0);
  ASSERT_TRUE(b.ok()) << b.status().message();
  auto refused = third->LockScope(kWholeStateScope, 0.3);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("advisory lock on scope \"apply\""),
            std::string::npos)
      << refused.status().message();
  // Shard scopes are locks of their own.
  EXPECT_TRUE(first->LockScope(ShardScope(0, 2), 0).ok());
  a->reset();
  EXPECT_FALSE(third->LockScope(kWholeStateScope, 0).ok());  // the second still holds it
  b->reset();
  EXPECT_TRUE(third->LockScope(kWholeStateScope, 0).ok());
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                    "mode = 'ShareLock'"),
            "0\n");
}

TEST_F(PostgresStateTest, StatesInOtherSchemasHaveTheirOwnTablesAndLocks) {
  pg_.Sql("CREATE SCHEMA team_b AUTHORIZATION crossdock");
  const std::string team_b = pg_.url() + "&options=-csearch_path%3Dteam_b";
  auto a = Open();
  auto b = Open(team_b);
  auto lock_a = a->LockScope(kWholeStateScope, 0);
  auto lock_b = b->LockScope(kWholeStateScope, 0);
  ASSERT_TRUE(lock_a.ok()) << lock_a.status().message();
  ASSERT_TRUE(lock_b.ok()) << lock_b.status().message();
  EXPECT_EQ(pg_.Sql("SELECT string_agg(schemaname, ' ' ORDER BY schemaname) FROM pg_tables "
                    "WHERE tablename = 'crossdock_meta'"),
            "public team_b\n");
  EXPECT_NE(pg_.Sql("SELECT lineage FROM public.crossdock_meta"),
            pg_.Sql("SELECT lineage FROM team_b.crossdock_meta"));
}

TEST_F(PostgresStateTest, AHolderWhoseSessionEndsLosesItsLocksAndWritesNothingMore) {
  auto first = Open();
  auto held = first->LockScope(kWholeStateScope, 0);
  ASSERT_TRUE(held.ok());
  auto s = first->Read();
  ASSERT_TRUE(s.ok());
  pg_.Sql("SELECT pg_terminate_backend(backend_pid) FROM crossdock_locks");
  auto second = Open();
  EXPECT_TRUE(second->LockScope(kWholeStateScope, 120).ok());
  s->Upsert(MakeArtifact("app", "v1"));
  core::Status st = first->Persist(&*s);
  EXPECT_EQ(st.code(), core::Code::kUnavailable);
  EXPECT_NE(st.message().find("connection"), std::string::npos) << st.message();
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM crossdock_artifacts"), "0\n");
}

TEST_F(PostgresStateTest, TheHistoryLivesInTheDatabaseWithItsLogsStopRequestsAndRetention) {
  ASSERT_TRUE(Open()->LockScope(kWholeStateScope, 0).ok());  // creates the tables
  ExecutionStore store(pg_.url());
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    Task t;
    t.rule = "r";
    t.destination_endpoint = "dst";
    t.destination_repository = "app";
    auto e = store.Start({"r"}, Trigger::kManual, {t});
    ASSERT_TRUE(e.ok()) << e.status().message();
    ids.push_back(e->id);
    ASSERT_TRUE(store.AppendLog(e->id, 1, "copied app:v" + std::to_string(i)).ok());
    e->status = ExecutionStatus::kSucceeded;
    ASSERT_TRUE(store.Save(*e).ok());
  }
  EXPECT_EQ(ids, (std::vector<std::int64_t>{1, 2, 3}));
  // Another process (another pod) reads the same history.
  ExecutionStore elsewhere(pg_.url());
  auto log = elsewhere.ReadLog(3, 1);
  ASSERT_TRUE(log.ok()) << log.status().message();
  EXPECT_NE(log->find(" copied app:v2\n"), std::string::npos) << *log;
  EXPECT_EQ(elsewhere.ReadLog(3, 2).status().code(), core::Code::kNotFound);
  EXPECT_EQ(elsewhere.Get(9).status().message(), "no execution 9; see `crossdock executions`");
  ASSERT_TRUE(elsewhere.RequestStop(2).ok());
  EXPECT_TRUE(store.StopRequested(2));
  store.ClearStopRequest(2);
  EXPECT_FALSE(elsewhere.StopRequested(2));

  // Retention as for files: the newest KEEP of each rule.
  ASSERT_TRUE(store.Prune(2).ok());
  auto list = elsewhere.List("r");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, 3);
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM crossdock_task_logs WHERE execution_id = 1"), "0\n");

  // Running executions: only the one whose process's session has ended is recovered.
  auto live = store.Start({"r"}, Trigger::kManual, {});
  ASSERT_TRUE(live.ok());
  std::int64_t dead_id = 0;
  {
    ExecutionStore dying(pg_.url());
    auto dead = dying.Start({"r"}, Trigger::kManual, {});
    ASSERT_TRUE(dead.ok());
    dead_id = dead->id;
  }  // its connection closes, as a killed process's would
  // The server notices the closed session at once, but give a loaded machine time.
  int recovered = 0;
  for (int i = 0; i < 600 && recovered == 0; ++i) {
    auto r = elsewhere.RecoverCrashed();
    ASSERT_TRUE(r.ok()) << r.status().message();
    recovered = *r;
    if (recovered == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(recovered, 1);
  EXPECT_EQ(elsewhere.Get(dead_id)->status, ExecutionStatus::kFailed);
  EXPECT_EQ(elsewhere.Get(live->id)->status, ExecutionStatus::kRunning);
}

TEST_F(PostgresStateTest, APoolerInTransactionModeIsRefusedAndSessionModeWorks) {
  ASSERT_TRUE(Open()->LockScope(kWholeStateScope, 0).ok());  // the tables, directly
  testing::PgBouncer transaction(pg_, "transaction");
  // Three server sessions in the pool: three clients inside a transaction at once.
  {
    std::vector<std::unique_ptr<PgConnection>> clients;
    for (int i = 0; i < 3; ++i) {
      auto c = PgConnection::Connect(transaction.url());
      ASSERT_TRUE(c.ok()) << c.status().message();
      ASSERT_TRUE((*c)->Run("BEGIN").ok());
      ASSERT_TRUE((*c)->Run("SELECT 1").ok());
      clients.push_back(std::move(*c));
    }
    for (auto& c : clients) ASSERT_TRUE(c->Run("COMMIT").ok());
  }
  auto b = Open(transaction.url());
  ASSERT_NE(b, nullptr);
  auto lock = b->LockScope(kWholeStateScope, 0);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), core::Code::kUnavailable);
  EXPECT_EQ(lock.status().message(),
            "the PostgreSQL state " + transaction.url() +
                " cannot be locked: its connection does not keep one server session (a pooler in "
                "transaction or statement mode, such as PgBouncer with pool_mode = transaction, "
                "sits in between); advisory locks need a direct connection or session pooling");
  // Nothing stays locked behind the pooler.
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), "0\n");

  testing::PgBouncer session(pg_, "session");
  auto through = Open(session.url());
  ASSERT_NE(through, nullptr);
  auto held = through->LockScope(kWholeStateScope, 0);
  ASSERT_TRUE(held.ok()) << held.status().message();
  auto s = through->Read();
  ASSERT_TRUE(s.ok());
  s->Upsert(MakeArtifact("app", "v1"));
  EXPECT_TRUE(through->Persist(&*s).ok());
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM crossdock_artifacts"), "1\n");
}

}  // namespace
}  // namespace crossdock::state
