#include "state/pg_connection.h"

#include <postgresql/libpq-fe.h>  // Debian libpq-dev

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "core/postgres_url.h"

namespace crossdock::state {
namespace {

// libpq's multi-line message as one line: "a\n\tb\n" -> "a b".
std::string OneLine(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

bool Contains(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

// A failed connection's Status, from what libpq said (it gives no SQLSTATE then).
core::Status ConnectFailure(const std::string& name, const std::string& said) {
  if (Contains(said, "password authentication failed") || Contains(said, "no password supplied") ||
      Contains(said, "pg_hba.conf") || Contains(said, "authentication failed") ||
      (Contains(said, "role \"") && Contains(said, "does not exist"))) {
    return core::Status::Unauthenticated(
        "PostgreSQL refused the login to " + name + ": " + said +
        "; check the user in the URL, and the password in PGPASSWORD or in the password file "
        "(~/.pgpass, or the file PGPASSFILE names)");
  }
  if (Contains(said, "database \"") && Contains(said, "does not exist")) {
    return core::Status::NotFound("cannot open the state at " + name + ": " + said +
                                  "; create the database or fix the URL");
  }
  if (said.rfind("invalid ", 0) == 0 || said.rfind("missing ", 0) == 0 ||
      Contains(said, "unexpected spaces") || Contains(said, "URI")) {
    return core::Status::InvalidArgument("the PostgreSQL URL " + name + " is not valid: " + said);
  }
  return core::Status::Unavailable("cannot reach the PostgreSQL server of " + name + ": " + said +
                                   "; check the host and port in the URL, and that the server "
                                   "runs and accepts connections from here");
}

void IgnoreNotice(void*, const char*) {}

}  // namespace

PgRows::PgRows(pg_result* result) : result_(result) {}
PgRows::~PgRows() {
  if (result_ != nullptr) PQclear(result_);
}
PgRows::PgRows(PgRows&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
PgRows& PgRows::operator=(PgRows&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}
int PgRows::size() const { return result_ == nullptr ? 0 : PQntuples(result_); }
bool PgRows::IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
std::string PgRows::Get(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column),
                     static_cast<size_t>(PQgetlength(result_, row, column)));
}

core::Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& url) {
  const std::string name = core::RedactPostgresUrl(url);
  std::vector<const char*> keys = {"fallback_application_name"};
  std::vector<const char*> values = {"crossdock"};
  // Without a timeout libpq waits as long as TCP does; the URL's own (or
  // PGCONNECT_TIMEOUT) wins, dbname coming last.
  const char* env_timeout = std::getenv("PGCONNECT_TIMEOUT");
  if (env_timeout == nullptr || *env_timeout == '\0') {
    keys.push_back("connect_timeout");
    values.push_back("10");
  }
  keys.push_back("dbname");
  values.push_back(url.c_str());
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return core::Status::Internal("libpq could not allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string said = OneLine(PQerrorMessage(conn));
    PQfinish(conn);
    return ConnectFailure(name, said);
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);  // "already exists, skipping" & co.
  std::unique_ptr<PgConnection> c(new PgConnection(conn, name));
  c->backend_pid_ = PQbackendPID(conn);
  return c;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::ok() const { return PQstatus(conn_) == CONNECTION_OK; }

core::Status PgConnection::ErrorOf(pg_result* result, const std::string& what) const {
  if (PQstatus(conn_) != CONNECTION_OK) {
    return core::Status::Unavailable("lost the connection to " + name_ + " while " + what + ": " +
                                     OneLine(PQerrorMessage(conn_)));
  }
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const std::string sqlstate = state ? state : "";
  const std::string message =
      what + ": " + (primary ? std::string(primary) : OneLine(PQerrorMessage(conn_)));
  if (sqlstate == "42501") return core::Status::PermissionDenied(message);
  if (sqlstate.rfind("28", 0) == 0) return core::Status::Unauthenticated(message);
  if (sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
      sqlstate == "57P03")
    return core::Status::Unavailable(message);
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03")
    return core::Status::Conflict(message);
  if (sqlstate == "42P01") return core::Status::NotFound(message);
  return core::Status::Internal(message);
}

core::Result<PgRows> PgConnection::Exec(const std::string& sql,
                                        const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* result = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                  values.empty() ? nullptr : values.data(), nullptr, nullptr, 0);
  PgRows rows(result);  // frees it whatever happens
  const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    // The statement's first words say what was being done.
    const std::string what = OneLine(sql.substr(0, sql.find_first_of("(\n")));
    return ErrorOf(result, "PostgreSQL refused \"" + what + "\"");
  }
  return rows;
}

core::Status PgConnection::Run(const std::string& sql,
                               const std::vector<std::optional<std::string>>& params) {
  return Exec(sql, params).status();
}

core::Status PgConnection::CopyIn(const std::string& copy_sql, const std::string& data) {
  {
    PGresult* start = PQexec(conn_, copy_sql.c_str());
    PgRows owned(start);
    if (start == nullptr || PQresultStatus(start) != PGRES_COPY_IN)
      return ErrorOf(start, "PostgreSQL refused \"" + copy_sql + "\"");
  }
  constexpr size_t kChunk = 1 << 20;
  for (size_t at = 0; at < data.size(); at += kChunk) {
    const size_t n = std::min(kChunk, data.size() - at);
    if (PQputCopyData(conn_, data.data() + at, static_cast<int>(n)) != 1)
      return ErrorOf(nullptr, "sending rows for " + copy_sql);
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) return ErrorOf(nullptr, "ending " + copy_sql);
  core::Status st;
  while (PGresult* r = PQgetResult(conn_)) {
    PgRows owned(r);
    if (st.ok() && PQresultStatus(r) != PGRES_COMMAND_OK)
      st = ErrorOf(r, "PostgreSQL refused \"" + copy_sql + "\"");
  }
  return st;
}

std::string CopyField(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  return out;
}

std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace crossdock::state
