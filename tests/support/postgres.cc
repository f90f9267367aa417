#include "tests/support/postgres.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace crossdock::testing {
namespace {

constexpr const char* kBin = "/usr/lib/postgresql/15/bin/";
constexpr const char* kSystemUser = "postgres";  // created by Debian's postgresql-common

// ARGV run as the postgres system user (setpriv execs in place, so the pid is the
// program's); it dies with the test (--pdeathsig: changing the uid clears the one the
// harness set).
std::vector<std::string> AsPostgres(std::vector<std::string> argv) {
  std::vector<std::string> out = {"setpriv",      "--reuid=postgres", "--regid=postgres",
                                  "--init-groups", "--pdeathsig",     "SIGKILL", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

void ChownToPostgres(const std::string& path) {
  struct passwd* pw = getpwnam(kSystemUser);
  if (pw == nullptr) {
    throw HarnessError("no system user \"postgres\": install Debian's postgresql (make deps)");
  }
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw HarnessError("chown " + path + ": " + std::strerror(errno));
  }
}

// A string as an SQL literal ('it''s').
std::string Literal(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

PostgresServer::PostgresServer(Options options) : options_(std::move(options)) {
  if (access((std::string(kBin) + "postgres").c_str(), X_OK) != 0) {
    throw HarnessError(std::string(kBin) + "postgres is missing: install Debian's postgresql "
                       "(make deps)");
  }
  dir_ = std::make_unique<TempDir>("crossdock-pg");
  ChownToPostgres(dir_->path());
  data_dir_ = dir_->Sub("data");
  const std::string pwfile = dir_->Sub("superuser-password");
  WriteFile(pwfile, "superuser-password\n");
  ChownToPostgres(pwfile);
  RunResult init = RunCommand(
      AsPostgres({std::string(kBin) + "initdb", "-D", data_dir_, "-U", "postgres",
                  "--pwfile=" + pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
                  "--encoding=UTF8", "--locale=C", "--no-sync"}),
      {}, dir_->path(), 300);
  if (init.exit_code != 0) {
    throw HarnessError("initdb failed (" + std::to_string(init.exit_code) + "):\n" + init.err +
                       init.out);
  }
  Start();
  Sql("CREATE ROLE " + options_.user + " LOGIN PASSWORD " + Literal(options_.password), "postgres");
  Sql("CREATE DATABASE " + options_.database + " OWNER " + options_.user, "postgres");
}

PostgresServer::~PostgresServer() {
  try {
    Stop();
  } catch (const HarnessError&) {
  }
}

void PostgresServer::Start() {
  // The port was free a moment ago; another test may take it first: try a few.
  for (int attempt = 0;; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = FreePort();
    process_ = std::make_unique<Process>(
        AsPostgres({std::string(kBin) + "postgres", "-D", data_dir_, "-p", std::to_string(port_),
                    "-c", "listen_addresses=127.0.0.1", "-c",
                    "unix_socket_directories=" + dir_->path(), "-c", "fsync=off", "-c", "full_page_writes=off", "-c",
                    "shared_buffers=16MB", "-c", "max_connections=60", "-c",
                    "log_min_messages=warning"}),
        dir_->Sub("server.log"), std::map<std::string, std::string>{}, dir_->path());
    try {
      WaitUntilAccepting();
      return;
    } catch (const HarnessError&) {
      const bool port_taken = log().find("could not bind") != std::string::npos ||
                              log().find("Address already in use") != std::string::npos;
      process_->Kill9();
      if (!port_taken || attempt >= 4) throw;
    }
  }
}

void PostgresServer::Stop() {
  if (!process_) return;
  // Immediate shutdown: what a test wants, and what a crash looks like.
  kill(process_->pid(), SIGQUIT);
  if (!process_->WaitFor(std::chrono::seconds(30))) process_->Kill9();
  process_.reset();
}

void PostgresServer::WaitUntilAccepting() {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(120);  // slow, loaded machines
  for (;;) {
    if (!process_->Running()) {
      throw HarnessError("postgres exited during start-up; its log:\n" + log());
    }
    RunResult r = RunCommand({std::string(kBin) + "pg_isready", "-q", "-h", "127.0.0.1", "-p",
                              std::to_string(port_), "-t", "5"},
                             {}, "", 30);
    if (r.exit_code == 0) return;
    if (Clock::now() >= deadline) {
      throw HarnessError("postgres on 127.0.0.1:" + std::to_string(port_) +
                         " did not accept connections within 120 s; its log:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string PostgresServer::url() const { return UrlFor(options_.user, options_.database); }

std::string PostgresServer::UrlFor(const std::string& user, const std::string& database) const {
  return "postgres://" + user + "@127.0.0.1:" + std::to_string(port_) + "/" + database +
         "?sslmode=disable";
}

std::map<std::string, std::string> PostgresServer::env() const {
  return {{"PGPASSWORD", options_.password}, {"PGCONNECT_TIMEOUT", "10"}};
}

std::string PostgresServer::Sql(const std::string& sql, const std::string& database) const {
  RunResult r = RunCommand({std::string(kBin) + "psql", "-X", "-q", "-A", "-t", "-v",
                            "ON_ERROR_STOP=1", "-h", dir_->path(), "-p", std::to_string(port_),
                            "-U", "postgres", "-d",
                            database.empty() ? options_.database : database, "-c", sql},
                           {}, "", 120);
  if (r.exit_code != 0) {
    throw HarnessError("psql -c \"" + sql + "\" failed (" + std::to_string(r.exit_code) +
                       "):\n" + r.err + r.out);
  }
  return r.out;
}

void PostgresServer::CreateRole(const std::string& name, const std::string& password) const {
  Sql("CREATE ROLE " + name + " LOGIN PASSWORD " + Literal(password), "postgres");
}

PgBouncer::PgBouncer(const PostgresServer& server, const std::string& pool_mode)
    : server_(server) {
  dir_ = std::make_unique<TempDir>("crossdock-pgbouncer");
  ChownToPostgres(dir_->path());
  const PostgresServer::Options& o = server.options();
  WriteFile(dir_->Sub("userlist.txt"), "\"" + o.user + "\" \"" + o.password + "\"\n");
  port_ = FreePort();
  WriteFile(dir_->Sub("pgbouncer.ini"),
            "[databases]\n" + o.database + " = host=127.0.0.1 port=" +
                std::to_string(server.port()) + " dbname=" + o.database + "\n\n[pgbouncer]\n"
                "listen_addr = 127.0.0.1\nlisten_port = " + std::to_string(port_) + "\n"
                "unix_socket_dir =\nauth_type = scram-sha-256\nauth_file = " +
                dir_->Sub("userlist.txt") + "\npool_mode = " + pool_mode + "\n"
                "server_round_robin = 1\ndefault_pool_size = 5\n"
                "ignore_startup_parameters = extra_float_digits,options\n");
  ChownToPostgres(dir_->Sub("userlist.txt"));
  ChownToPostgres(dir_->Sub("pgbouncer.ini"));
  process_ = std::make_unique<Process>(AsPostgres({"/usr/sbin/pgbouncer", dir_->Sub("pgbouncer.ini")}),
                                       dir_->Sub("pgbouncer.log"),
                                       std::map<std::string, std::string>{}, dir_->path());
  // Ready once a client gets through to the server behind it.
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  for (;;) {
    if (!process_->Running()) throw HarnessError("pgbouncer exited; its log:\n" + log());
    RunResult r = RunCommand({std::string(kBin) + "psql", "-X", "-q", "-A", "-t", "-d", url(), "-c",
                              "SELECT 1"},
                             {{"PGPASSWORD", o.password}, {"PGCONNECT_TIMEOUT", "5"}}, "", 30);
    if (r.exit_code == 0) return;
    if (Clock::now() >= deadline) {
      throw HarnessError("pgbouncer on 127.0.0.1:" + std::to_string(port_) +
                         " did not pass a query within 120 s: " + r.err + "\nits log:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

PgBouncer::~PgBouncer() = default;  // the Process stops it

std::string PgBouncer::url() const {
  return "postgres://" + server_.options().user + "@127.0.0.1:" + std::to_string(port_) + "/" +
         server_.options().database + "?sslmode=disable";
}

}  // namespace crossdock::testing
