// StateStore: the state file on disk: versioned JSON (state_json.h), atomic writes (temp,
// fsync, rename, previous copy kept as .backup), mode 0600, and an OS file lock that
// dies with its process. Used by cmd/ (plan, apply, state) and applier/.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "core/status.h"
#include "state/state.h"

namespace crossdock::state {

// A new state's lineage: a random (version 4) UUID from OpenSSL's CSPRNG, e.g.
// "6f1c2a4e-8d0b-4c57-9a3e-2b7d51f0c9e8".
core::Result<std::string> NewLineage();

// Reads PATH. A missing file yields a new State with a fresh lineage and serial 0
// (nothing is created on disk). Returns DataLoss for a corrupt file and
// InvalidArgument for a newer format_version, each with what to do.
core::Result<State> ReadState(const std::string& path);

// Writes S to PATH atomically, after incrementing s->serial; keeps the previous file
// as PATH.backup. The file never exists half-written. Artifacts are written sorted by
// destination key (s->artifacts keeps its order). PATH's folder must exist (NotFound
// naming it otherwise). s->serial is left unchanged when PATH was not replaced.
// Concurrent calls in one process are serialized; *s must not change during a call.
core::Status WriteState(const std::string& path, State* s);

// An exclusive lock on PATH (held on PATH.lock with flock), released by the
// destructor or when the process dies.
class StateLock {
 public:
  ~StateLock();
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

  // Waits up to TIMEOUT_SECONDS (0: try once), polling every 150 ms. Returns Unavailable
  // "state is locked by pid N since TIME (lock file PATH.lock); ..." when another
  // process (or another StateLock in this one) holds it.
  static core::Result<std::unique_ptr<StateLock>> Acquire(const std::string& path,
                                                          double timeout_seconds);

 private:
  StateLock(int fd, std::string lock_path) : fd_(fd), lock_path_(std::move(lock_path)) {}
  int fd_;
  std::string lock_path_;
};

}  // namespace crossdock::state
