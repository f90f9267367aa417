// Fuzz target: schedules (core::Schedule). The input's first line is the expression,
// the rest (if any) the time zone. A schedule that parses yields its next fire times
// from a fixed instant (deterministic), each strictly later than the one before.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/cron.h"
#include "tests/fuzz/input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using crossdock::core::Schedule;
  const auto [expr, tz] = crossdock::fuzz::FirstLineAndRest(data, size);
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
