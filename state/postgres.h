// PostgresBackend: a state in a PostgreSQL database, a row per managed artifact and per
// intent, written in one transaction per group commit; locks are session advisory
// locks on one dedicated connection. The schema, the lock keys and why: postgres.cc.
// Opened by state/backend.cc's OpenBackend for a postgres:// URL.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "state/backend.h"

namespace crossdock::state {

// The schema version this crossdock writes; a database holding a higher one is refused.
inline constexpr int kPostgresSchemaVersion = 1;

class PostgresBackend : public Backend {
 public:
  // Connects to URL (no secret inside: OpenBackend checks) and checks the schema
  // version of crossdock's tables if they exist; creates nothing.
  static core::Result<std::unique_ptr<PostgresBackend>> Open(const std::string& url);
  ~PostgresBackend() override;

  const std::string& name() const override;
  const std::string& history_path() const override { return url_; }  // its tables
  core::Result<State> Read() override;
  // Both create crossdock's tables first when they do not exist (in one transaction,
  // nothing half-created; PermissionDenied saying which grant is missing).
  core::Result<std::unique_ptr<BackendLock>> LockScope(const std::string& scope,
                                                       double timeout_seconds) override;
  core::Result<std::unique_ptr<BackendLock>> LockScopeShared(const std::string& scope,
                                                             double timeout_seconds) override;
  bool concurrent_writers() const override { return true; }
  bool persists_journal_only() const override { return true; }
  core::Result<std::unique_ptr<BackendLock>> LockRepository(const std::string& endpoint,
                                                            const std::string& repository,
                                                            double timeout_seconds) override;
  core::Status Persist(State* s) override;
  core::Status Replace(const State& s) override;

  // The connection and what the locks share; defined in postgres.cc.
  struct Session;

 private:
  PostgresBackend(std::shared_ptr<Session> session, std::string url)
      : session_(std::move(session)), url_(std::move(url)) {}
  core::Result<std::unique_ptr<BackendLock>> Lock(const std::string& lock_name,
                                                  const std::string& what,
                                                  double timeout_seconds, bool shared);

  std::shared_ptr<Session> session_;
  std::string url_;
};

}  // namespace crossdock::state
