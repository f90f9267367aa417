// Backend: where a state lives, behind one interface: a file (state/store.h, the
// default) or a PostgreSQL database (state/postgres.h). cmd/ opens one with OpenBackend
// from [settings] state or --state, reads and locks through it; applier/ persists
// each group commit through it.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "state/state.h"

namespace crossdock::state {

// A held lock, released by its destructor, or when the process dies (a file's flock;
// a PostgreSQL session's advisory lock ends with its connection).
class BackendLock {
 public:
  virtual ~BackendLock() = default;
};

// The lock scope of a run that applies to the whole state (apply, retry, run, serve's
// executions). Shards hold it shared, each with its own scope (ShardScope) exclusive.
inline constexpr const char* kWholeStateScope = "apply";
// Held exclusively by `crossdock serve` while it lives, where it does not hold the whole
// state (concurrent_writers): one serve per state.
inline constexpr const char* kServeScope = "serve";

// The lock scope of shard INDEX of COUNT ("shard 1/4").
inline std::string ShardScope(int index, int count) {
  return "shard " + std::to_string(index) + "/" + std::to_string(count);
}

class Backend {
 public:
  virtual ~Backend() = default;

  // The state's location for messages: the file's path, or the URL without secrets.
  virtual const std::string& name() const = 0;
  // Where the execution history of this state lives, for state::ExecutionStore: the
  // file's path (PATH.executions/), or the PostgreSQL URL (its tables).
  virtual const std::string& history_path() const = 0;

  // The state as stored. When none is stored yet: a new State (fresh lineage, serial
  // 0), and nothing is created. Refuses a state from a newer crossdock.
  virtual core::Result<State> Read() = 0;

  // An exclusive lock on SCOPE (kWholeStateScope, or a shard's scope) of this state:
  // held by one process at a time; another waits up to TIMEOUT_SECONDS (0: tries once),
  // then fails Unavailable naming the holder (host, pid, since) and what to do. Locks
  // of other states (another file, database or schema) never interfere.
  virtual core::Result<std::unique_ptr<BackendLock>> LockScope(const std::string& scope,
                                                               double timeout_seconds) = 0;
  // A shared lock on SCOPE: held by any number of processes at once, never beside an
  // exclusive holder (LockScope). Waits and fails as LockScope. Shards hold the whole
  // state's scope shared. Where writers cannot share the state (!concurrent_writers, a
  // file rewritten whole at every write) it is exclusive.
  virtual core::Result<std::unique_ptr<BackendLock>> LockScopeShared(const std::string& scope,
                                                                     double timeout_seconds) = 0;
  // Whether several processes may write this state at once, each its own keys
  // (PostgreSQL's rows): shards then run side by side, and `serve` holds the whole state
  // only while it executes. A file is written whole by one process at a time.
  virtual bool concurrent_writers() const = 0;
  // Whether Persist writes only the records at the state's journal keys (PostgreSQL's
  // rows), so a caller may hand it State::JournaledPart; a file is written whole.
  virtual bool persists_journal_only() const = 0;
  // An exclusive lock on one destination repository (ENDPOINT as the config names it,
  // REPOSITORY without host) of this state, for writers that share it: shards and
  // serve take it around each change they apply there, so that two of them never write
  // one repository at once. Waits and fails as LockScope. Reentrant within a process.
  // Where writers cannot share the state (a file) it holds nothing.
  virtual core::Result<std::unique_ptr<BackendLock>> LockRepository(
      const std::string& endpoint, const std::string& repository, double timeout_seconds) = 0;

  // Persists *S after incrementing s->serial (left unchanged on failure): the whole
  // file, or for PostgreSQL only the keys in s->journal, in one transaction. The caller
  // forgets the journal's entries once this succeeds. REQUIRES: the caller holds a
  // LockScope of this backend.
  virtual core::Status Persist(State* s) = 0;

  // Replaces whatever is stored with S exactly (lineage, serial, artifacts, intents),
  // atomically: `crossdock state migrate`. REQUIRES: a LockScope of this backend.
  virtual core::Status Replace(const State& s) = 0;
};

// The backend at LOCATION: a PostgreSQL URL (core::IsPostgresUrl; connected now, but
// nothing created) or a state file's path. A URL holding a password is refused
// (InvalidArgument).
core::Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location);

// Where files of the state at LOCATION that stay on this machine live (the event
// journal of `serve` and `run`: PATH.events.jsonl): the state file's path, or for a
// PostgreSQL state "crossdock.postgres" in CONFIG_PATH's folder.
std::string LocalPath(const std::string& location, const std::string& config_path);

}  // namespace crossdock::state
