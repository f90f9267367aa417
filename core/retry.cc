#include "core/retry.h"

#include <algorithm>
#include <cctype>
#include <string>

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

}  // namespace crossdock::core
