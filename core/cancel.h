// CancelToken: asks one piece of work (a plan, an execution) to stop starting new
// steps; what is in flight finishes or is abandoned cleanly. Cancelled by Ctrl-C,
// SIGTERM or `crossdock stop`, read by planner/ and applier/. Cancel() is a lock-free
// atomic store, so a signal handler may call it.
#pragma once

#include <atomic>

namespace crossdock::core {

class CancelToken {
 public:
  void Cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }
  // For the APIs that poll a flag (core::ParallelFor, PlanOptions, ApplyOptions).
  const std::atomic<bool>* flag() const { return &cancelled_; }

 private:
  std::atomic<bool> cancelled_{false};
  static_assert(std::atomic<bool>::is_always_lock_free);
};

}  // namespace crossdock::core
