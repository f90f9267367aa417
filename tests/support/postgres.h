// PostgresServer: a real PostgreSQL server (Debian's postgresql, /usr/lib/postgresql/15)
// for the tests of crossdock's PostgreSQL state backend. Each instance runs its own
// cluster (initdb) in a temporary directory, as the unprivileged `postgres` system user
// (the server refuses to run as root), on a free 127.0.0.1 port with password (SCRAM)
// authentication for one test role and database; the destructor stops it at once
// (SIGQUIT: immediate shutdown) and removes the directory. The Debian cluster the
// package may have created is neither used nor needed.
//
// Failures to start throw HarnessError with the server's log.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "tests/support/harness.h"

namespace crossdock::testing {

class PostgresServer {
 public:
  struct Options {
    std::string user = "crossdock";
    std::string password = "crossdock-test-password";
    std::string database = "crossdock";
  };
  PostgresServer() : PostgresServer(Options{}) {}
  explicit PostgresServer(Options options);
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // The server process (postmaster).
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  const Options& options() const { return options_; }
  // "postgres://USER@127.0.0.1:PORT/DATABASE?sslmode=disable": no password, which the
  // client takes from PGPASSWORD (env()).
  std::string url() const;
  std::string UrlFor(const std::string& user, const std::string& database) const;
  // PGPASSWORD for the test role (and PGCONNECT_TIMEOUT, so a wrong port fails fast).
  std::map<std::string, std::string> env() const;
  std::string log() const { return process_ ? process_->log() : ""; }

  // Runs SQL as the superuser over the server's Unix socket, in DATABASE (default: the
  // test database); returns psql's unaligned, tuples-only output. Throws HarnessError
  // when psql fails.
  std::string Sql(const std::string& sql, const std::string& database = "") const;
  // A login role with PASSWORD and no privileges beyond CONNECT (what PUBLIC has).
  void CreateRole(const std::string& name, const std::string& password) const;

  // Stops the server at once (as a crash would: committed transactions survive, as
  // fsync=off loses nothing unless the machine itself crashes), keeping its data;
  // Start() brings it back on the same port.
  void Stop();
  void Start();

 private:
  void WaitUntilAccepting();

  Options options_;
  std::unique_ptr<TempDir> dir_;
  std::string data_dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

// PgBouncer (Debian's pgbouncer) in front of a PostgresServer's test database, run as
// the postgres user on a free 127.0.0.1 port, with the test role's password. POOL_MODE
// "transaction" (with server_round_robin, so consecutive transactions go to different
// server sessions once there are several) is what breaks session advisory locks;
// "session" keeps one server session per client.
class PgBouncer {
 public:
  PgBouncer(const PostgresServer& server, const std::string& pool_mode);
  ~PgBouncer();
  PgBouncer(const PgBouncer&) = delete;
  PgBouncer& operator=(const PgBouncer&) = delete;

  int port() const { return port_; }
  // As PostgresServer::url(), through the pooler.
  std::string url() const;
  std::string log() const { return process_ ? process_->log() : ""; }

 private:
  const PostgresServer& server_;
  std::unique_ptr<TempDir> dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace crossdock::testing
