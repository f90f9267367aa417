#include "core/duration.h"

#include <cstdint>
#include <limits>

namespace crossdock::core {

std::optional<std::chrono::nanoseconds> ParseGoDuration(std::string_view s) {
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return std::nullopt;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    // Number: digits [ "." digits ], at least one digit in all.
    std::int64_t whole = 0;
    bool overflow = false, any_digit = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      any_digit = true;
      if (whole > (kMax - 9) / 10) overflow = true;
      if (!overflow) whole = whole * 10 + (s[i] - '0');
      ++i;
    }
    long double frac = 0, scale = 1;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        any_digit = true;
        scale *= 10;
        frac += (s[i] - '0') / scale;
        ++i;
      }
    }
    if (!any_digit || overflow) return std::nullopt;
    size_t u = i;
    while (i < s.size() && !(s[i] >= '0' && s[i] <= '9') && s[i] != '.') ++i;
    std::string_view unit = s.substr(u, i - u);
    std::int64_t nanos_per = 0;
    if (unit == "ns")
      nanos_per = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      nanos_per = 1000;
    else if (unit == "ms")
      nanos_per = 1000 * 1000;
    else if (unit == "s")
      nanos_per = 1000 * 1000 * 1000;
    else if (unit == "m")
      nanos_per = 60LL * 1000 * 1000 * 1000;
    else if (unit == "h")
      nanos_per = 3600LL * 1000 * 1000 * 1000;
    else
      return std::nullopt;
    if (whole > kMax / nanos_per) return std::nullopt;
    std::int64_t part = whole * nanos_per;
    auto frac_part = static_cast<std::int64_t>(frac * static_cast<long double>(nanos_per));
    if (part > kMax - frac_part || total > kMax - part - frac_part) return std::nullopt;
    total += part + frac_part;
  }
  return std::chrono::nanoseconds(total);
}

std::optional<std::chrono::nanoseconds> ParseCliDuration(std::string_view text) {
  // Plain seconds, as the flags took them before they took Go durations: "30", "1.5".
  if (!text.empty() && text.find_first_not_of("0123456789.") == std::string_view::npos)
    return ParseGoDuration(std::string(text) + "s");
  return ParseGoDuration(text);
}

}  // namespace crossdock::core
