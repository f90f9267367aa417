// RetryPolicy: exponential backoff with jitter for transient registry failures
// (connection errors, 5xx, 429 honouring Retry-After). RateLimit and TokenBucket: an
// endpoint's request budget (rate_limit = "10/s"), waiting on a core::Clock
// (core/clock.h). Used by providers/, applier/ and config loading.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace crossdock::core {

struct RetryPolicy {
  int max_attempts = 5;  // including the first
  std::chrono::milliseconds base_delay{200};
  std::chrono::milliseconds max_delay{10000};
  std::chrono::milliseconds max_retry_after{60000};  // cap on a server's Retry-After

  // The wait before attempt number ATTEMPT (2 = first retry). A server's Retry-After,
  // when given, wins (capped at max_retry_after). JITTER01 in [0,1) spreads retries of
  // concurrent workers: the delay is base*2^(attempt-2) scaled into [50%, 100%].
  std::chrono::milliseconds Delay(int attempt, double jitter01,
                                  std::optional<std::chrono::seconds> retry_after) const;
};

// True for HTTP statuses worth retrying: 408, 429, 500, 502, 503, 504.
bool IsRetryableHttpStatus(long status);

// Parses Retry-After as delta-seconds (HTTP dates are treated as absent).
std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& value);

// A uniformly distributed number in [0,1) for RetryPolicy::Delay. Thread-safe.
double Jitter();

// An endpoint's rate_limit: REQUESTS per PERIOD (a second or a minute).
struct RateLimit {
  long requests = 0;
  std::chrono::seconds period{1};
  double per_second() const { return static_cast<double>(requests) / period.count(); }
};

// Parses "N/s" or "N/m" (N: up to 9 decimal digits, 0 included; no spaces); nullopt
// for anything else. The caller decides which N are acceptable.
std::optional<RateLimit> ParseRateLimit(std::string_view text);

// A token bucket: RATE tokens a second, holding at most BURST, full at the start.
// Each Take() reserves the next token, so concurrent callers are served in turn and
// never more than BURST + RATE*t requests start in any span t. Thread-safe.
class TokenBucket {
 public:
  // REQUIRES: rate_per_second > 0, burst >= 1, CLOCK outlives the bucket.
  TokenBucket(double rate_per_second, double burst, Clock* clock);

  // Takes one token, sleeping on the clock until it is there.
  void Take() { clock_->SleepUntil(Reserve()); }
  // Takes one token and returns when it may be used (now, or later when the bucket
  // is empty); the caller waits itself.
  std::chrono::steady_clock::time_point Reserve();

 private:
  const double rate_;
  const double burst_;
  Clock* const clock_;
  std::mutex mu_;
  double tokens_;  // may go negative: tokens promised to callers still waiting
  std::chrono::steady_clock::time_point last_;
};

}  // namespace crossdock::core
