// Apply: executes a Plan against the registries with bounded concurrency, blob
// de-duplication and mounting, per-rule retries and timeouts, and records each
// finished change in the state as it happens. Used by cmd/apply.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/retry.h"
#include "core/status.h"
#include "planner/plan.h"
#include "providers/registry.h"
#include "state/backend.h"
#include "state/state.h"

namespace crossdock::applier {

// Live counters, read by the progress display while Apply runs.
struct Progress {
  std::atomic<int> changes_total{0};
  std::atomic<int> changes_done{0};
  std::atomic<int> changes_failed{0};
  std::atomic<std::int64_t> bytes_copied{0};
  std::atomic<int> blobs_copied{0};
  std::atomic<int> blobs_mounted{0};
  std::atomic<int> blobs_present{0};
};

// Owns the in-memory State during an apply and persists it as changes are recorded:
// a writer thread writes the whole state at once when a change arrives, then at most
// once per MIN_INTERVAL while more arrive (group commit), so a change is on disk
// within about MIN_INTERVAL of being recorded, and a 10,000-tag apply rewrites its
// state tens of times, not 10,000 (each write is the whole file, fsynced: 12 ms at
// 2,000 artifacts on a laptop disk). Each record gets a sequence number; the
// sequence of the last snapshot written tells which records are on disk. Thread-safe.
class StateRecorder {
 public:
  static constexpr std::chrono::milliseconds kDefaultInterval{250};

  // PERSIST writes the state (e.g. state::Backend::Persist); it may update the serial.
  // Once it succeeds, the state's journal forgets what the written snapshot listed.
  // JOURNAL_ONLY: PERSIST reads only the records at the journal's keys
  // (Backend::persists_journal_only), so each snapshot is State::JournaledPart, not a
  // copy of the whole state: a change then costs the same at 10 or 1,000,000 records.
  StateRecorder(state::State* state, std::function<core::Status(state::State*)> persist,
                std::chrono::milliseconds min_interval = kDefaultInterval,
                bool journal_only = false);
  // Flushes, then stops the writer.
  ~StateRecorder();
  StateRecorder(const StateRecorder&) = delete;
  StateRecorder& operator=(const StateRecorder&) = delete;

  // Applies MUTATE to the state; the writer persists it soon. Returns the first
  // persist failure so far (OK while none). *SEQUENCE (may be null) receives the
  // record's sequence number (1, 2, …).
  core::Status Record(const std::function<void(state::State&)>& mutate,
                      std::int64_t* sequence = nullptr);

  // Calls READ with the state as recorded so far (nothing is marked to be written).
  void Read(const std::function<void(const state::State&)>& read) const;

  // Writes what is recorded and not yet written, now; returns when it is on disk
  // (or failed). Apply and ApplyRefresh flush before they return. A write that failed
  // before is tried again.
  core::Status Flush();

  // The first persist failure, if any (an apply must report it).
  core::Status first_error() const;
  // The sequence of the last record known to be on disk (0: none).
  std::int64_t persisted_sequence() const;

 private:
  void WriterLoop();
  // Writes the state if dirty: one snapshot, or (UNTIL_CLEAN) until no record is left
  // unwritten or a write fails. REQUIRES: LK holds mu_ and no other write runs.
  void WriteLocked(std::unique_lock<std::mutex>& lk, bool until_clean);

  state::State* state_;
  std::function<core::Status(state::State*)> persist_;
  const std::chrono::milliseconds min_interval_;
  const bool journal_only_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool writing_ = false;
  bool dirty_ = false;
  bool stop_ = false;
  std::int64_t sequence_ = 0;   // of the last record
  std::int64_t persisted_ = 0;  // of the last record on disk
  core::Status first_error_;
  std::thread writer_;
};

struct ApplyOptions {
  int parallelism = 10;
  // Once true: no new change starts, and copies in flight are abandoned within
  // Copier::kWakeInterval, nothing tagged; they fail with Cancelled "stopped: …".
  const std::atomic<bool>* cancel = nullptr;
  Progress* progress = nullptr;               // optional
  int blob_attempts = 3;                      // per blob, for transient failures
  // Called when a change finishes, with the blob bytes it moved (any thread,
  // serialised by the applier).
  std::function<void(const planner::Change&, const core::Status&, std::int64_t bytes)>
      on_change_done;

  // Per rule (by name): how many more times a copy that failed with Unavailable is
  // tried (clamped to 0..10; unset: never), and the longest a copy may run, retries
  // and waits included (nullopt or unset: no limit). A copy past its timeout is
  // abandoned, nothing tagged, and fails with Cancelled "timed out after 30m".
  std::function<int(const std::string& rule)> retries_for;
  std::function<std::optional<std::chrono::milliseconds>(const std::string& rule)> timeout_for;
  // The wait before each such retry: exponential from 1 s, capped at 30 s, jittered.
  core::RetryPolicy change_retry{.base_delay = std::chrono::seconds(1),
                                 .max_delay = std::chrono::seconds(30)};
  // Called before a copy is tried again: ATTEMPT is the attempt that just failed (1
  // for the first), STATUS its failure. Same threading as on_change_done.
  std::function<void(const planner::Change&, int attempt, const core::Status&)> on_retry;
  // Where other processes write the state at once (shards, serve): the lock of one
  // destination repository (endpoint, repository), held around each change there
  // (state::Backend::LockRepository). Its failure fails the change. Unset: no lock.
  std::function<core::Result<std::unique_ptr<state::BackendLock>>(const std::string& endpoint,
                                                                  const std::string& repository)>
      lock_repository;
};

// D as a rule's timeout is named in "timed out after …", Go style without zero
// units: "30m", "1h30m", "1m30s", "1.5s", "150ms".
std::string FormatDuration(std::chrono::milliseconds d);

// Fills OPTIONS' retries_for and timeout_for from the `retries` and `timeout` of
// CONFIG's rules.
void UseRuleRetriesAndTimeouts(const core::Config& config, ApplyOptions* options);

struct ChangeFailure {
  planner::Change change;
  core::Status status;
};

struct ApplyReport {
  int succeeded = 0;
  int failed = 0;
  int not_started = 0;  // cancelled, or stopped by a failed state write, before they began
  // Done at the registries but not on disk: the state could not be written. Their
  // intents are, so the next plan adopts them.
  int unrecorded = 0;
  std::int64_t bytes_copied = 0;
  int blobs_copied = 0, blobs_mounted = 0, blobs_present = 0;
  std::vector<ChangeFailure> failures;
};

// Executes PLAN's create, update and delete changes (skips are not executed):
// copies first, then deletes. REGISTRIES maps endpoint names to clients.
//
// Before the first push, one state write records an intent for every tag the plan
// pushes (and drops the intents of PLAN's rules that an earlier run left and this plan
// does not adopt, once a HEAD shows their push never landed); each push that then
// succeeds replaces its intent by an artifact. When that first write fails nothing is
// pushed; when a later one fails no new change starts (the report counts the changes
// done but not on disk as unrecorded).
ApplyReport Apply(const planner::Plan& plan,
                  const std::map<std::string, providers::Registry*>& registries,
                  StateRecorder* recorder, const ApplyOptions& options);

// --refresh-only: drops or corrects the state records listed in PLAN.drift.
ApplyReport ApplyRefresh(const planner::Plan& plan, StateRecorder* recorder);

}  // namespace crossdock::applier
