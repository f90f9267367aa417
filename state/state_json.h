// The state file's JSON (the format is documented in state/store.cc), read in one
// streaming pass and written piece by piece: no document tree and no whole copy of
// the text, so a state of a million artifacts costs about the memory of its records
// and a few seconds each way. Used by state/store.cc.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "state/state.h"

namespace crossdock::state {

// Reads the state file open at FD (PATH names it in messages). Returns DataLoss "state
// file PATH is corrupt: …; restore it from PATH.backup or move it away" naming the
// first problem (not JSON, the wrong shape, a missing or mistyped field, JSON nested
// more than 32 levels or holding a number that is not a small integer), and
// InvalidArgument for a format_version newer than kFormatVersion.
core::Result<State> ReadStateFile(int fd, const std::string& path);

// S as the state file's text, format kFormatVersion with serial SERIAL, artifacts and
// intents sorted by destination key: each Next call appends about a megabyte of it to
// *PIECE and returns true, until all is given (then false). S must outlive the writer
// and not change meanwhile.
class StateFileText {
 public:
  StateFileText(const State& s, std::int64_t serial);
  bool Next(std::string* piece);

 private:
  const State& state_;
  std::int64_t serial_;
  std::vector<const Artifact*> artifacts_;
  std::vector<const Intent*> intents_;
  int part_ = 0;     // 0: head, 1: artifacts, 2: intents, 3: done
  size_t next_ = 0;  // the next record of the current part
};

}  // namespace crossdock::state
