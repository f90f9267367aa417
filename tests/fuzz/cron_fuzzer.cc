// Fuzz target: schedules (core::Schedule). The input's first line is the expression,
// the second (if any) the time zone. A schedule that parses yields its next fire times
// from a fixed instant (deterministic), each strictly later than the one before.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using crossdock::core::Schedule;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view expr = input.substr(0, newline);
  const std::string_view tz =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  auto schedule = Schedule::Parse(expr, tz);
  if (!schedule.ok()) return 0;
  // 2024-03-31T00:30:00Z: hours before Europe's spring-forward change.
  std::chrono::system_clock::time_point t{std::chrono::seconds(1711845000)};
  for (int i = 0; i < 3; ++i) {
    auto next = schedule->Next(t);
    if (!next) break;
    if (*next <= t) std::abort();  // Next must move forward
    (void)schedule->FormatLocal(*next);
    t = *next;
  }
  return 0;
}
