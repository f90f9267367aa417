// Time. Clock: where rate limiting, pauses and backoff read the time and wait, which
// tests replace. NowRfc3339: the one timestamp format every record crossdock writes
// uses (state, executions, logs, lock files). UnixNow: wall-clock seconds for what
// other systems compare with their own clocks (JWT claims, token expiries).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace crossdock::core {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() = 0;
  // Returns at T or later; at once when T has passed.
  virtual void SleepUntil(std::chrono::steady_clock::time_point t) = 0;
  void SleepFor(std::chrono::milliseconds d) { SleepUntil(Now() + d); }

  // std::chrono::steady_clock and std::this_thread::sleep_until. Never null; never
  // destroyed; thread-safe.
  static Clock* Real();
};

// The current time as RFC 3339 UTC ("2026-11-23T14:05:00Z").
std::string NowRfc3339();

// Seconds since the Unix epoch, from the system clock.
std::int64_t UnixNow();

}  // namespace crossdock::core
