// RetryPolicy: exponential backoff with jitter for transient registry failures
// (connection errors, 5xx, 429 honouring Retry-After). Used by providers/ and applier/.
#pragma once

#include <chrono>
#include <optional>

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

}  // namespace crossdock::core
