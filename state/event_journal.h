// EventJournal: the registry events `crossdock serve` and `run --listen` accepted and
// have not executed yet, kept on disk so that a crash loses none. Used by
// cmd/webhooks.cc (append on receipt, read and mark executed when draining).
//
// Format. <state>.events.jsonl holds one accepted event a line (planner/events.h,
// JournalLine): an append is one write(2) followed by fsync, and a request is answered
// 202 only after both, so an answered event survives a crash; a line torn by a crash
// has no '\n' and is never read. <state>.events.offset holds the byte offset up to
// which events were executed, replaced atomically after each execution: a restart
// resumes there, so nothing is replayed twice (an execution cut short by a signal
// leaves its events for the next start; replaying one is harmless, since every Change
// is diffed against the destination again).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"

namespace crossdock::state {

class EventJournal {
 public:
  // The journal of the state file STATE_PATH.
  explicit EventJournal(const std::string& state_path);

  const std::string& path() const { return path_; }

  // Appends LINES (each ending in '\n') in one write and fsyncs. Thread-safe.
  core::Status Append(const std::string& lines);

  // The complete lines after the executed offset, and in *END the offset after the
  // last of them. A journal shorter than the offset (emptied by hand) is read from 0.
  std::vector<std::string> Pending(std::uint64_t* end) const;

  // Records END (from Pending) as executed. When it is the end of the file, empties
  // the journal instead: the offset goes to 0 first, so a crash in between replays
  // (harmless) rather than skips. Appends wait meanwhile.
  core::Status Executed(std::uint64_t end);

  // The number of complete lines not executed yet.
  size_t PendingCount() const;

 private:
  std::uint64_t ReadOffset() const;
  core::Status WriteOffset(std::uint64_t offset) const;

  std::string path_, offset_path_;
  std::mutex mu_;
};

}  // namespace crossdock::state
