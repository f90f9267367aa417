// The file backend (state/store.h's functions, unchanged in behaviour) and OpenBackend.
#include "state/backend.h"

#include <filesystem>

#include "core/file.h"
#include "core/postgres_url.h"
#include "state/postgres.h"
#include "state/store.h"

namespace crossdock::state {
namespace {

class FileLock : public BackendLock {
 public:
  explicit FileLock(std::unique_ptr<StateLock> lock) : lock_(std::move(lock)) {}

 private:
  std::unique_ptr<StateLock> lock_;
};

class NoLock : public BackendLock {};

class FileBackend : public Backend {
 public:
  explicit FileBackend(std::string path) : path_(std::move(path)) {}

  const std::string& name() const override { return path_; }
  const std::string& history_path() const override { return path_; }
  core::Result<State> Read() override { return ReadState(path_); }

  // One scope: the file.
  core::Result<std::unique_ptr<BackendLock>> LockScope(const std::string&,
                                                       double timeout_seconds) override {
    auto lock = StateLock::Acquire(path_, timeout_seconds);
    if (!lock.ok()) return lock.status();
    return std::unique_ptr<BackendLock>(new FileLock(std::move(*lock)));
  }
  core::Result<std::unique_ptr<BackendLock>> LockScopeShared(const std::string& scope,
                                                             double timeout_seconds) override {
    return LockScope(scope, timeout_seconds);  // one writer of the file at a time
  }
  bool concurrent_writers() const override { return false; }
  bool persists_journal_only() const override { return false; }
  core::Result<std::unique_ptr<BackendLock>> LockRepository(const std::string&,
                                                            const std::string&,
                                                            double) override {
    return std::unique_ptr<BackendLock>(new NoLock);  // the file's lock excludes the rest
  }

  core::Status Persist(State* s) override { return WriteState(path_, s); }

  core::Status Replace(const State& s) override {
    State copy = s;
    copy.serial = s.serial - 1;  // WriteState writes serial + 1
    return WriteState(path_, &copy);
  }

 private:
  std::string path_;
};

}  // namespace

std::string LocalPath(const std::string& location, const std::string& config_path) {
  if (!core::IsPostgresUrl(location)) return location;
  std::error_code ec;
  std::filesystem::path config = std::filesystem::absolute(config_path, ec);
  if (ec) config = config_path;
  return (config.parent_path() / "crossdock.postgres").string();
}

core::Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location) {
  if (!core::IsPostgresUrl(location)) return std::unique_ptr<Backend>(new FileBackend(location));
  if (std::string secret = core::PostgresUrlSecret(location); !secret.empty()) {
    return core::Status::InvalidArgument(
        "the PostgreSQL URL of the state holds " + secret +
        "; secrets never go in a config or on a command line: remove it and set PGPASSWORD, or "
        "put it in a password file (~/.pgpass, or the file PGPASSFILE names)");
  }
  auto pg = PostgresBackend::Open(location);
  if (!pg.ok()) return pg.status();
  return std::unique_ptr<Backend>(std::move(*pg));
}

}  // namespace crossdock::state
