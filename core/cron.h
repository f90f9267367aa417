// core::Schedule: a rule's `schedule` (cron, descriptor or "@every") in its
// `timezone`, and the fire times it yields. Used by config validation, `rules --next`,
// `run` and `apply --due`.
//
// Time zones come from Howard Hinnant's date/tz (Debian libhowardhinnant-date-dev,
// linked with -ldate-tz) reading the OS tzdb in /usr/share/zoneinfo (package tzdata):
// per-zone, thread-safe lookups with no process-global TZ/localtime_r state, and the
// same IANA names Go's time.LoadLocation accepts. g++ 12 has no std::chrono::tzdb.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace date {
class time_zone;
}  // namespace date

namespace crossdock::core {

// Returns OK for "" and "UTC" (both mean UTC) and for any IANA zone name the tzdb
// knows ("Europe/Berlin"); InvalidArgument `unknown time zone "Europe/Berln"`
// otherwise; Unavailable if the tzdb itself cannot be read.
Status ValidateTimeZone(std::string_view tz);

// An immutable, copyable schedule. Thread-safe: Next() may be called concurrently.
class Schedule {
 public:
  // Parses EXPR in time zone TZ ("" or "UTC": UTC; otherwise an IANA name).
  // Accepts robfig/cron v3 syntax as Harbor uses it:
  //   6 fields   sec min hour dom mon dow      ("0 0 3 * * *")
  //   5 fields   min hour dom mon dow          (standard cron; seconds = 0)
  //   @yearly @annually @monthly @weekly @daily @midnight @hourly
  //   @every <duration>                        (Go durations: 30s, 5m, 1h30m; >= 1s)
  // Fields take *, ?, numbers, a-b, */n, a-b/n, a/n (= a-max/n), comma lists, month
  // names JAN-DEC and day names SUN-SAT (any case); 0 and 7 are Sunday. When both
  // dom and dow are restricted a day matching either fires (cron's OR rule; a field
  // written "*" or "?" counts as unrestricted, "*/2" does not, as in robfig).
  // Returns InvalidArgument naming the field and the reason, e.g.
  //   cron "0 61 * * * *": minute 61 is out of range (0-59)
  // or the ValidateTimeZone error for TZ.
  static Result<Schedule> Parse(std::string_view expr, std::string_view tz = "");

  // The first fire time strictly after T; nullopt if there is none within five years
  // (e.g. "0 0 0 30 2 *" cannot happen and is refused by Parse; a Feb 29 in a leap
  // year can). Fire times are whole seconds.
  //
  // "@every D" fires at floor(T to the second) + D: the caller passes the previous
  // fire time (or the start) as the anchor, as robfig's ConstantDelaySchedule does.
  //
  // Daylight saving time: cron fields name wall-clock times in the time zone.
  //  - A wall-clock time that does not exist (skipped by a spring-forward change,
  //    e.g. 02:30 on 2024-03-31 in Europe/Berlin) does not fire that day. This is
  //    robfig v3's behaviour ("2am nightly job (skipped)" in its spec_test.go) and
  //    Harbor's; firing at 03:30 instead would surprise whoever picked 02:30 to stay
  //    clear of something else.
  //  - A wall-clock time that occurs twice (fall-back) fires once, at its first
  //    occurrence, when the hour field names particular hours ("0 30 1 * * *").
  //    robfig v3 fires such a daily job twice ("1am nightly job (runs twice)"); we
  //    don't, because a daily replication run should run once a day, as Vixie cron
  //    does for fixed-time jobs.
  //  - When the hour field covers every hour ("0 */15 * * * *", @hourly) the
  //    schedule is about elapsed time, so both occurrences fire, as in robfig and
  //    Vixie cron: an hourly job runs at 01:00 EDT and again at 01:00 EST.
  std::optional<std::chrono::system_clock::time_point> Next(
      std::chrono::system_clock::time_point t) const;

  // T as RFC 3339 in the schedule's time zone: "2024-10-27T02:30:00+01:00", or
  // "2024-10-27T01:30:00Z" for UTC. Fractions of a second are dropped.
  std::string FormatLocal(std::chrono::system_clock::time_point t) const;

  // The expression and time zone as given to Parse.
  const std::string& text() const { return text_; }
  const std::string& time_zone() const { return tz_name_; }

 private:
  Schedule() = default;

  std::optional<std::int64_t> NextMatchingLocal(std::int64_t local, int year_limit) const;
  std::optional<std::int64_t> NextInZone(std::int64_t start) const;

  std::string text_;
  std::string tz_name_;
  const date::time_zone* zone_ = nullptr;  // nullptr: UTC. Owned by the tzdb (static).

  // "@every": the interval in whole seconds; 0 for a cron schedule.
  std::int64_t every_seconds_ = 0;

  // Cron fields as bit sets (bit n set: value n matches). dow uses 0-6, Sunday = 0.
  std::uint64_t seconds_ = 0, minutes_ = 0, hours_ = 0, dom_ = 0, months_ = 0, dow_ = 0;
  bool dom_star_ = false, dow_star_ = false;
};

}  // namespace crossdock::core
