// PgConnection: one libpq connection (RAII), queries with text parameters, COPY FROM
// STDIN, and libpq's failures as Status: the only file that includes libpq-fe.h is
// pg_connection.cc. Used by state/postgres.cc. Not thread-safe: one user at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

struct pg_conn;
struct pg_result;

namespace crossdock::state {

// A query's rows, all columns as text. Owns its PGresult.
class PgRows {
 public:
  PgRows() = default;
  explicit PgRows(pg_result* result);
  ~PgRows();
  PgRows(PgRows&& other) noexcept;
  PgRows& operator=(PgRows&& other) noexcept;
  PgRows(const PgRows&) = delete;
  PgRows& operator=(const PgRows&) = delete;

  int size() const;
  bool IsNull(int row, int column) const;
  std::string Get(int row, int column) const;  // "" for NULL

 private:
  pg_result* result_ = nullptr;
};

class PgConnection {
 public:
  // Connects with the libpq connection URI URL (libpq reads the rest: PGPASSWORD,
  // PGPASSFILE or ~/.pgpass, PGSSLROOTCERT…). A connect_timeout of 10 s applies unless
  // the URL or PGCONNECT_TIMEOUT sets one. Failures, named with the redacted URL:
  // Unauthenticated when the server refused the login, NotFound for a missing database,
  // Unavailable otherwise (unreachable, refused, timed out), each saying what to do.
  static core::Result<std::unique_ptr<PgConnection>> Connect(const std::string& url);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs SQL with PARAMS ($1, $2…; nullopt is NULL), in text format. A failure is a
  // Status from the server's SQLSTATE: PermissionDenied (42501), Unauthenticated
  // (class 28), Unavailable (class 08, 57P01-57P03, or a connection that broke),
  // Conflict (40001, 40P01, 55P03), NotFound (42P01), Internal otherwise; its message
  // is the server's, without the "ERROR:" prefix.
  core::Result<PgRows> Exec(const std::string& sql,
                            const std::vector<std::optional<std::string>>& params = {});
  // Exec for statements whose rows do not matter.
  core::Status Run(const std::string& sql,
                   const std::vector<std::optional<std::string>>& params = {});
  // COPY ... FROM STDIN with DATA in COPY's text format (see CopyField).
  core::Status CopyIn(const std::string& copy_sql, const std::string& data);

  // Whether the connection is still up (libpq's last known status).
  bool ok() const;
  // The server process serving this connection, as read when it was made.
  int backend_pid() const { return backend_pid_; }
  // The URL without secrets, for messages.
  const std::string& name() const { return name_; }

 private:
  PgConnection(pg_conn* conn, std::string name) : conn_(conn), name_(std::move(name)) {}
  core::Status ErrorOf(pg_result* result, const std::string& what) const;

  pg_conn* conn_;
  std::string name_;
  int backend_pid_ = 0;
};

// S as one field of COPY's text format: backslash, tab, newline and carriage return
// escaped.
std::string CopyField(const std::string& s);

// VALUES as a PostgreSQL array literal of text ("{\"a\",\"b\"}"), for $n::text[].
std::string TextArray(const std::vector<std::string>& values);

}  // namespace crossdock::state
