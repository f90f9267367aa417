// Tests of tests/support/postgres.h against the real server: if these fail, no result
// of the PostgreSQL state backend's end-to-end tests can be trusted.
#include "tests/support/postgres.h"

#include <gtest/gtest.h>

#include <string>

namespace crossdock::testing {
namespace {

constexpr const char* kPsql = "/usr/lib/postgresql/15/bin/psql";

RunResult Psql(const std::string& url, const std::string& password, const std::string& sql) {
  return RunCommand({kPsql, "-X", "-A", "-t", "-d", url, "-c", sql},
                    {{"PGPASSWORD", password}, {"PGCONNECT_TIMEOUT", "10"}}, "", 60);
}

TEST(PostgresHarnessTest, TheTestRoleLogsInWithItsPasswordOverTcpAndAWrongOneIsRefused) {
  PostgresServer pg;
  RunResult ok = Psql(pg.url(), pg.options().password,
                      "SELECT current_user || ' ' || current_database() || ' ' || "
                      "inet_server_addr()::text");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "crossdock crossdock 127.0.0.1/32\n");

  RunResult wrong = Psql(pg.url(), "not-the-password", "SELECT 1");
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("password authentication failed for user \"crossdock\""),
            std::string::npos)
      << wrong.err;
}

TEST(PostgresHarnessTest, TheServerRunsAsThePostgresUserAndIsGoneOnceDestroyed) {
  std::string url;
  {
    PostgresServer pg;
    url = pg.url();
    EXPECT_EQ(pg.Sql("SELECT usename FROM pg_user WHERE usesuper AND usename = current_user"),
              "postgres\n");
    RunResult who = RunCommand({"ps", "-o", "user=", "-p", std::to_string(pg.pid())});
    EXPECT_EQ(who.out, "postgres\n");
  }
  RunResult gone = Psql(url, "crossdock-test-password", "SELECT 1");
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.err.find("Connection refused"), std::string::npos) << gone.err;
}

TEST(PostgresHarnessTest, StopAndStartKeepTheDataAndThePort) {
  PostgresServer pg;
  pg.Sql("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)");
  const int port = pg.port();
  pg.Stop();
  EXPECT_NE(Psql(pg.url(), pg.options().password, "SELECT 1").exit_code, 0);
  pg.Start();
  EXPECT_EQ(pg.port(), port);
  EXPECT_EQ(pg.Sql("SELECT x FROM kept"), "42\n");
}

}  // namespace
}  // namespace crossdock::testing
