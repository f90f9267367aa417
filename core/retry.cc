#include "core/retry.h"

#include <algorithm>
#include <cctype>
#include <random>
#include <string>
#include <thread>

namespace crossdock::core {

std::chrono::milliseconds RetryPolicy::Delay(
    int attempt, double jitter01, std::optional<std::chrono::seconds> retry_after) const {
  if (retry_after) {
    return std::min<std::chrono::milliseconds>(*retry_after, max_retry_after);
  }
  int exp = std::clamp(attempt - 2, 0, 20);
  auto full = std::min<long long>(base_delay.count() << exp, max_delay.count());
  double scale = 0.5 + 0.5 * std::clamp(jitter01, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(full * scale));
}

bool IsRetryableHttpStatus(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& value) {
  if (value.empty() || value.size() > 9) return std::nullopt;
  for (char c : value)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return std::chrono::seconds(std::stoll(value));
}

double Jitter() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::optional<RateLimit> ParseRateLimit(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash > 9) return std::nullopt;
  const std::string_view count = text.substr(0, slash);
  const std::string_view unit = text.substr(slash + 1);
  if (!std::all_of(count.begin(), count.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return std::nullopt;
  RateLimit limit;
  limit.requests = std::stol(std::string(count));
  if (unit == "s") {
    limit.period = std::chrono::seconds(1);
  } else if (unit == "m") {
    limit.period = std::chrono::seconds(60);
  } else {
    return std::nullopt;
  }
  return limit;
}

TokenBucket::TokenBucket(double rate_per_second, double burst, Clock* clock)
    : rate_(rate_per_second), burst_(burst), clock_(clock), tokens_(burst), last_(clock->Now()) {}

std::chrono::steady_clock::time_point TokenBucket::Reserve() {
  std::lock_guard<std::mutex> g(mu_);
  const auto now = clock_->Now();
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return now;
  // The token this caller gets arrives once the deficit has refilled.
  return last_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(-tokens_ / rate_));
}

}  // namespace crossdock::core
