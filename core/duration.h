// Durations as Go writes them ("30s", "1h30m", "1.5s"): one parser for the config
// (rule timeouts, cron's @every) and the command line (--lock-timeout, --wait).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace crossdock::core {

// time.ParseDuration without the sign: one or more <number><unit>, the number with an
// optional fraction, the unit ns, us (or µs), ms, s, m or h; or "0" alone. Exact in
// integers; nullopt when malformed or beyond about 292 years.
std::optional<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);

// For flags: a Go duration, or a plain number of seconds ("30", "1.5").
std::optional<std::chrono::nanoseconds> ParseCliDuration(std::string_view text);

}  // namespace crossdock::core
