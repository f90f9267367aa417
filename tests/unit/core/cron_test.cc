#include "core/cron.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

namespace crossdock::core {
namespace {

using Clock = std::chrono::system_clock;

// "2024-01-15T10:20:30Z" or "2012-11-04T01:00:00-05:00" as an instant. Independent of
// the code under test (timegm is pure calendar arithmetic on UTC).
Clock::time_point At(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, oh = 0, om = 0;
  char sign = 'Z';
  int n = std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d%c%d:%d", &y, &mo, &d, &h, &mi, &s, &sign,
                      &oh, &om);
  EXPECT_TRUE(n == 7 || n == 9) << text;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  long offset = sign == '+' ? (oh * 3600L + om * 60L) : sign == '-' ? -(oh * 3600L + om * 60L) : 0;
  return Clock::from_time_t(timegm(&tm) - offset);
}

Schedule MustParse(std::string_view expr, std::string_view tz = "") {
  Result<Schedule> s = Schedule::Parse(expr, tz);
  EXPECT_TRUE(s.ok()) << expr << ": " << s.status().message();
  if (!s.ok()) return *Schedule::Parse("@daily");
  return *s;
}

// The next fire time after START, rendered in the schedule's zone ("none" if absent),
// checked against the instant the rendering names.
std::string NextAfter(const Schedule& s, const std::string& start) {
  std::optional<Clock::time_point> next = s.Next(At(start));
  if (!next) return "none";
  std::string text = s.FormatLocal(*next);
  EXPECT_EQ(*next, At(text)) << text;
  return text;
}

std::string ParseError(std::string_view expr, std::string_view tz = "") {
  Result<Schedule> s = Schedule::Parse(expr, tz);
  if (s.ok()) return "(parsed)";
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument) << s.status().message();
  return s.status().message();
}

struct Row {
  const char* expr;
  const char* next;  // after 2024-01-15T10:20:30Z, a Monday
};

// Cross-checked against a brute-force minute-by-minute matcher.
const Row kUtcTable[] = {
    // 6 fields (Harbor): sec min hour dom mon dow.
    {"0 0 3 * * *", "2024-01-16T03:00:00Z"},
    {"0 0 3 * * ?", "2024-01-16T03:00:00Z"},
    {"  0 0 3 * * *  ", "2024-01-16T03:00:00Z"},
    {"*/15 * * * * *", "2024-01-15T10:20:45Z"},
    {"0,30 * * * * *", "2024-01-15T10:21:00Z"},
    {"15/35 * * * * *", "2024-01-15T10:20:50Z"},  // a/n = a-max/n: 15, 50
    {"5/99999999999 * * * * *", "2024-01-15T10:21:05Z"},
    {"0 */5 * * * *", "2024-01-15T10:25:00Z"},
    {"0 20-35/15 * * * *", "2024-01-15T10:35:00Z"},
    {"30 20 10 * * *", "2024-01-16T10:20:30Z"},  // strictly after the start
    {"0 0 9-17 * * MON-FRI", "2024-01-15T11:00:00Z"},
    {"0 0 9-17/4 * * *", "2024-01-15T13:00:00Z"},
    {"0 0 0 1,15 * *", "2024-02-01T00:00:00Z"},
    {"0 30 8 * JAN,MAR *", "2024-01-16T08:30:00Z"},
    {"0 0 0 1 jun *", "2024-06-01T00:00:00Z"},
    {"0 0 6 * jan-mar mon-fri", "2024-01-16T06:00:00Z"},
    {"0 0 12 * * SUN", "2024-01-21T12:00:00Z"},
    {"0 0 12 * * 0", "2024-01-21T12:00:00Z"},
    {"0 0 12 * * 7", "2024-01-21T12:00:00Z"},  // 7 is Sunday too
    {"0 0 12 * * 5-7", "2024-01-19T12:00:00Z"},
    {"0 0 12 * * sat,sun", "2024-01-20T12:00:00Z"},
    {"0 0 0 29 FEB *", "2024-02-29T00:00:00Z"},
    {"0 0 0 31 * *", "2024-01-31T00:00:00Z"},
    {"0 0 0 31 APR,JUN,JUL *", "2024-07-31T00:00:00Z"},
    {"0 59 23 31 DEC *", "2024-12-31T23:59:00Z"},
    {"0 0 0 */10 * *", "2024-01-21T00:00:00Z"},
    // dom and dow both restricted: either matches.
    {"0 0 0 13 * FRI", "2024-01-19T00:00:00Z"},
    {"0 0 0 1-7 * MON", "2024-01-22T00:00:00Z"},
    {"0 5 10 15 JAN MON", "2024-01-22T10:05:00Z"},
    {"0 0 0 */10 * TUE", "2024-01-16T00:00:00Z"},  // "*/10" is a restriction (robfig v3)
    // One of them unrestricted: both must match.
    {"0 0 0 * * TUE", "2024-01-16T00:00:00Z"},
    {"0 0 0 ? * TUE", "2024-01-16T00:00:00Z"},
    // 5 fields (standard cron): min hour dom mon dow, seconds 0.
    {"30 4 * * *", "2024-01-16T04:30:00Z"},
    {"*/10 * * * *", "2024-01-15T10:30:00Z"},
    {"0 0 1 */3 *", "2024-04-01T00:00:00Z"},
    {"0 22 * * 1-5", "2024-01-15T22:00:00Z"},
    {"15 14 1 * *", "2024-02-01T14:15:00Z"},
    {"0 0 * * 0", "2024-01-21T00:00:00Z"},
    {"5 4 * * sun", "2024-01-21T04:05:00Z"},
    {"0 0 1 1 *", "2025-01-01T00:00:00Z"},
    {"0 0 12 13 * 5", "2024-01-19T12:00:00Z"},
    // Descriptors.
    {"@yearly", "2025-01-01T00:00:00Z"},
    {"@annually", "2025-01-01T00:00:00Z"},
    {"@monthly", "2024-02-01T00:00:00Z"},
    {"@weekly", "2024-01-21T00:00:00Z"},
    {"@daily", "2024-01-16T00:00:00Z"},
    {"@midnight", "2024-01-16T00:00:00Z"},
    {"@hourly", "2024-01-15T11:00:00Z"},
    {"@HOURLY", "2024-01-15T11:00:00Z"},
    // @every: start + interval, whole seconds.
    {"@every 30s", "2024-01-15T10:21:00Z"},
    {"@every 5m", "2024-01-15T10:25:30Z"},
    {"@every 1h30m", "2024-01-15T11:50:30Z"},
    {"@every 1.5s", "2024-01-15T10:20:31Z"},  // robfig drops the fraction
    {"@every 2h0m3s", "2024-01-15T12:20:33Z"},
};

TEST(ScheduleTest, NextFireTimesInUtc) {
  ASSERT_GE(std::size(kUtcTable), 30u);
  for (const Row& row : kUtcTable) {
    SCOPED_TRACE(row.expr);
    Schedule s = MustParse(row.expr);
    EXPECT_EQ(NextAfter(s, "2024-01-15T10:20:30Z"), row.next);
  }
}

TEST(ScheduleTest, EmptyAndUtcTimeZonesAreTheSame) {
  Schedule empty = MustParse("0 0 3 * * *", "");
  Schedule utc = MustParse("0 0 3 * * *", "UTC");
  EXPECT_EQ(NextAfter(empty, "2024-01-15T10:20:30Z"), "2024-01-16T03:00:00Z");
  EXPECT_EQ(NextAfter(utc, "2024-01-15T10:20:30Z"), "2024-01-16T03:00:00Z");
  EXPECT_EQ(utc.text(), "0 0 3 * * *");
  EXPECT_EQ(utc.time_zone(), "UTC");
}

TEST(ScheduleTest, SubSecondStartCountsAsItsSecond) {
  Schedule s = MustParse("* * * * * *");
  auto start = At("2024-01-15T10:20:30Z") + std::chrono::milliseconds(999);
  EXPECT_EQ(s.Next(start), At("2024-01-15T10:20:31Z"));
  Schedule every = MustParse("@every 10s");
  EXPECT_EQ(every.Next(start), At("2024-01-15T10:20:40Z"));
}

TEST(ScheduleTest, NextThreeFireTimes) {
  Schedule s = MustParse("0 0 3 * * *", "Europe/Berlin");
  std::vector<std::string> fires;
  Clock::time_point t = At("2024-10-25T12:00:00Z");
  for (int i = 0; i < 3; ++i) {
    std::optional<Clock::time_point> next = s.Next(t);
    ASSERT_TRUE(next.has_value());
    fires.push_back(s.FormatLocal(*next));
    t = *next;
  }
  // 03:00 local every day, across the change from CEST to CET.
  EXPECT_EQ(fires,
            (std::vector<std::string>{"2024-10-26T03:00:00+02:00", "2024-10-27T03:00:00+01:00",
                                      "2024-10-28T03:00:00+01:00"}));

  Schedule every = MustParse("@every 30m");
  fires.clear();
  t = At("2024-01-15T10:20:30Z");
  for (int i = 0; i < 3; ++i) {
    std::optional<Clock::time_point> next = every.Next(t);
    ASSERT_TRUE(next.has_value());
    fires.push_back(every.FormatLocal(*next));
    t = *next;
  }
  EXPECT_EQ(fires, (std::vector<std::string>{"2024-01-15T10:50:30Z", "2024-01-15T11:20:30Z",
                                             "2024-01-15T11:50:30Z"}));
}

TEST(ScheduleTest, NoFireTimeWithinFiveYearsIsNullopt) {
  // 2100 is not a leap year: after 2096 the next Feb 29 is in 2104.
  Schedule s = MustParse("0 0 0 29 FEB *");
  EXPECT_EQ(NextAfter(s, "2096-03-01T00:00:00Z"), "none");
  EXPECT_EQ(NextAfter(s, "2024-03-01T00:00:00Z"), "2028-02-29T00:00:00Z");
}

TEST(ScheduleTest, FormatLocalUsesTheZoneOffset) {
  Schedule berlin = MustParse("@daily", "Europe/Berlin");
  EXPECT_EQ(berlin.FormatLocal(At("2024-07-01T10:00:00Z")), "2024-07-01T12:00:00+02:00");
  EXPECT_EQ(berlin.FormatLocal(At("2024-01-01T10:00:00Z")), "2024-01-01T11:00:00+01:00");
  Schedule ny = MustParse("@daily", "America/New_York");
  EXPECT_EQ(ny.FormatLocal(At("2024-01-01T10:00:00Z")), "2024-01-01T05:00:00-05:00");
  Schedule kolkata = MustParse("@daily", "Asia/Kolkata");
  EXPECT_EQ(kolkata.FormatLocal(At("2024-01-01T10:00:00Z")), "2024-01-01T15:30:00+05:30");
}

TEST(ScheduleTest, DailyScheduleFollowsTheZone) {
  Schedule s = MustParse("0 0 3 * * *", "Asia/Kolkata");
  EXPECT_EQ(NextAfter(s, "2024-01-15T10:20:30Z"), "2024-01-16T03:00:00+05:30");
  Schedule ny = MustParse("0 9 * * MON-FRI", "America/New_York");
  EXPECT_EQ(NextAfter(ny, "2024-01-19T15:00:00Z"), "2024-01-22T09:00:00-05:00");
}

// Europe/Berlin: 2024-03-31 02:00 CET -> 03:00 CEST; 2024-10-27 03:00 CEST -> 02:00 CET.
TEST(ScheduleDstTest, BerlinSpringForwardSkipsTheMissingTime) {
  Schedule s = MustParse("0 30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(NextAfter(s, "2024-03-29T12:00:00Z"), "2024-03-30T02:30:00+01:00");
  EXPECT_EQ(NextAfter(s, "2024-03-30T12:00:00Z"), "2024-04-01T02:30:00+02:00");
}

TEST(ScheduleDstTest, BerlinHourlyRunsAcrossSpringForward) {
  Schedule s = MustParse("0 0 * * * *", "Europe/Berlin");
  EXPECT_EQ(NextAfter(s, "2024-03-31T00:00:00Z"), "2024-03-31T03:00:00+02:00");
  Schedule half = MustParse("0 30 * * * *", "Europe/Berlin");
  EXPECT_EQ(NextAfter(half, "2024-03-31T00:30:00Z"), "2024-03-31T03:30:00+02:00");
}

TEST(ScheduleDstTest, BerlinFallBackFiresRepeatedTimeOnce) {
  Schedule s = MustParse("0 30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(NextAfter(s, "2024-10-26T12:00:00Z"), "2024-10-27T02:30:00+02:00");
  EXPECT_EQ(NextAfter(s, "2024-10-27T00:30:00Z"), "2024-10-28T02:30:00+01:00");
  // Started inside the second pass through 02:xx: 02:45 already happened once.
  Schedule quarter = MustParse("0 45 2 * * *", "Europe/Berlin");
  EXPECT_EQ(NextAfter(quarter, "2024-10-27T01:10:00Z"), "2024-10-28T02:45:00+01:00");
}

TEST(ScheduleDstTest, BerlinHourlyFiresInBothPassesOfTheRepeatedHour) {
  Schedule s = MustParse("0 30 * * * *", "Europe/Berlin");
  EXPECT_EQ(NextAfter(s, "2024-10-26T23:30:00Z"), "2024-10-27T02:30:00+02:00");
  EXPECT_EQ(NextAfter(s, "2024-10-27T00:30:00Z"), "2024-10-27T02:30:00+01:00");
  EXPECT_EQ(NextAfter(s, "2024-10-27T01:30:00Z"), "2024-10-27T03:30:00+01:00");
}

TEST(ScheduleDstTest, EveryIsElapsedTimeAcrossDst) {
  Schedule s = MustParse("@every 1h", "Europe/Berlin");
  EXPECT_EQ(NextAfter(s, "2024-03-31T00:30:00Z"), "2024-03-31T03:30:00+02:00");
  EXPECT_EQ(NextAfter(s, "2024-10-27T00:30:00Z"), "2024-10-27T02:30:00+01:00");
}

struct ZoneRow {
  const char* expr;
  const char* start;
  const char* next;
};

void ExpectRows(const std::string& tz, const std::vector<ZoneRow>& rows) {
  for (const ZoneRow& row : rows) {
    SCOPED_TRACE(std::string(row.expr) + " after " + row.start);
    EXPECT_EQ(NextAfter(MustParse(row.expr, tz), row.start), row.next);
  }
}

// America/New_York: 2012-03-11 02:00 EST -> 03:00 EDT; 2012-11-04 02:00 EDT -> 01:00 EST.
// Cases from robfig/cron v3 spec_test.go TestNext, except where noted.
TEST(ScheduleDstTest, NewYorkSpringForward) {
  ExpectRows("America/New_York",
             {
                 {"0 30 2 11 Mar ?", "2012-03-11T00:00:00-05:00", "2013-03-11T02:30:00-04:00"},
                 {"0 0 * * * ?", "2012-03-11T00:00:00-05:00", "2012-03-11T01:00:00-05:00"},
                 {"0 0 * * * ?", "2012-03-11T01:00:00-05:00", "2012-03-11T03:00:00-04:00"},
                 {"0 0 * * * ?", "2012-03-11T03:00:00-04:00", "2012-03-11T04:00:00-04:00"},
                 {"0 0 1 * * ?", "2012-03-11T01:00:00-05:00", "2012-03-12T01:00:00-04:00"},
                 // 2am nightly job (skipped).
                 {"0 0 2 * * ?", "2012-03-11T00:00:00-05:00", "2012-03-12T02:00:00-04:00"},
             });
}

TEST(ScheduleDstTest, NewYorkFallBack) {
  ExpectRows("America/New_York",
             {
                 {"0 30 2 04 Nov ?", "2012-11-04T00:00:00-04:00", "2012-11-04T02:30:00-05:00"},
                 // Hourly: both 01:00s, as robfig.
                 {"0 0 * * * ?", "2012-11-04T00:00:00-04:00", "2012-11-04T01:00:00-04:00"},
                 {"0 0 * * * ?", "2012-11-04T01:00:00-04:00", "2012-11-04T01:00:00-05:00"},
                 {"0 0 * * * ?", "2012-11-04T01:00:00-05:00", "2012-11-04T02:00:00-05:00"},
                 // 1am nightly job: once (robfig runs it twice, at 01:00 EDT and 01:00 EST).
                 {"0 0 1 * * ?", "2012-11-04T00:00:00-04:00", "2012-11-04T01:00:00-04:00"},
                 {"0 0 1 * * ?", "2012-11-04T01:00:00-04:00", "2012-11-05T01:00:00-05:00"},
                 // robfig gives 2012-11-04T01:30:00-05:00; 01:30 already fired at 01:30 EDT.
                 {"0 30 1 04 Nov ?", "2012-11-04T01:45:00-04:00", "2013-11-04T01:30:00-05:00"},
                 {"0 0 2 * * ?", "2012-11-04T00:00:00-04:00", "2012-11-04T02:00:00-05:00"},
                 {"0 0 3 * * ?", "2012-11-04T00:00:00-04:00", "2012-11-04T03:00:00-05:00"},
                 {"0 0 3 3 * ?", "2012-11-04T00:00:00-04:00", "2012-12-03T03:00:00-05:00"},
             });
}

TEST(ScheduleDstTest, NewYorkFallBackEarliestInstantWinsInsideTheRepeatedHour) {
  // From 01:45 EDT, 01:50 EDT comes before 01:30 EST although 01:30 < 01:50 on the wall.
  Schedule s = MustParse("0 30,50 * * * *", "America/New_York");
  EXPECT_EQ(NextAfter(s, "2012-11-04T01:45:00-04:00"), "2012-11-04T01:50:00-04:00");
  EXPECT_EQ(NextAfter(s, "2012-11-04T01:50:00-04:00"), "2012-11-04T01:30:00-05:00");
  EXPECT_EQ(NextAfter(s, "2012-11-04T01:30:00-05:00"), "2012-11-04T01:50:00-05:00");
  EXPECT_EQ(NextAfter(s, "2012-11-04T01:50:00-05:00"), "2012-11-04T02:30:00-05:00");
}

TEST(ScheduleDstTest, SaoPauloMidnightThatDoesNotExist) {
  ExpectRows("America/Sao_Paulo",
             {
                 // robfig issue #157: DST there began at midnight.
                 {"0 0 9 10 * ?", "2018-10-17T05:00:00-04:00", "2018-11-10T09:00:00-02:00"},
                 {"0 0 9 22 * ?", "2018-02-14T05:00:00-05:00", "2018-02-22T09:00:00-03:00"},
                 // Midnight of 2018-11-04 was skipped (00:00 -03 -> 01:00 -02).
                 {"@daily", "2018-11-03T12:00:00-03:00", "2018-11-05T00:00:00-02:00"},
             });
}

TEST(CronErrorTest, FieldErrorsNameTheFieldAndTheReason) {
  EXPECT_EQ(ParseError("0 61 * * * *"), "cron \"0 61 * * * *\": minute 61 is out of range (0-59)");
  EXPECT_EQ(ParseError("60 * * * * *"), "cron \"60 * * * * *\": second 60 is out of range (0-59)");
  EXPECT_EQ(ParseError("0 0 24 * * *"), "cron \"0 0 24 * * *\": hour 24 is out of range (0-23)");
  EXPECT_EQ(ParseError("0 0 0 0 * *"),
            "cron \"0 0 0 0 * *\": day of month 0 is out of range (1-31)");
  EXPECT_EQ(ParseError("0 0 0 1 13 *"), "cron \"0 0 0 1 13 *\": month 13 is out of range (1-12)");
  EXPECT_EQ(ParseError("0 0 0 * * 8"), "cron \"0 0 0 * * 8\": day of week 8 is out of range (0-7)");
  EXPECT_EQ(ParseError("0 0 0 * * 1-9"),
            "cron \"0 0 0 * * 1-9\": day of week 9 is out of range (0-7)");
  EXPECT_EQ(ParseError("70 * * * *"), "cron \"70 * * * *\": minute 70 is out of range (0-59)");
  EXPECT_EQ(ParseError("0 99999999999 * * * *"),
            "cron \"0 99999999999 * * * *\": minute 99999999999 is out of range (0-59)");
  EXPECT_EQ(ParseError("0 x * * * *"), "cron \"0 x * * * *\": minute \"x\" is not a number");
  EXPECT_EQ(ParseError("0 -5 * * * *"), "cron \"0 -5 * * * *\": minute \"-5\" has an empty bound");
  EXPECT_EQ(ParseError("0 5- * * * *"), "cron \"0 5- * * * *\": minute \"5-\" has an empty bound");
  EXPECT_EQ(
      ParseError("0 0 0 * FOO *"),
      "cron \"0 0 0 * FOO *\": month \"FOO\" is not a number (1-12) or a month name (JAN-DEC)");
  EXPECT_EQ(ParseError("0 0 0 * * FUNDAY"),
            "cron \"0 0 0 * * FUNDAY\": day of week \"FUNDAY\" is not a number (0-7) or a day name "
            "(SUN-SAT)");
  EXPECT_EQ(ParseError("0 0 20-4 * * *"),
            "cron \"0 0 20-4 * * *\": hour range \"20-4\" starts after it ends (ranges do not wrap "
            "around; use a list such as \"20-23,0-4\")");
  EXPECT_EQ(
      ParseError("0 0 0 * * FRI-MON"),
      "cron \"0 0 0 * * FRI-MON\": day of week range \"FRI-MON\" starts after it ends (ranges "
      "do not wrap around; use a list such as \"FRI-SAT,SUN-MON\")");
  EXPECT_EQ(ParseError("*/0 * * * * *"),
            "cron \"*/0 * * * * *\": second step in \"*/0\" must be a positive number");
  EXPECT_EQ(ParseError("0 */x * * * *"),
            "cron \"0 */x * * * *\": minute step in \"*/x\" must be a positive number");
  EXPECT_EQ(ParseError("0 1-2-3 * * * *"),
            "cron \"0 1-2-3 * * * *\": minute \"1-2-3\" has more than one \"-\"");
  EXPECT_EQ(ParseError("0 */2/3 * * * *"),
            "cron \"0 */2/3 * * * *\": minute \"*/2/3\" has more than one \"/\"");
  EXPECT_EQ(ParseError("0 1,,2 * * * *"),
            "cron \"0 1,,2 * * * *\": minute \"1,,2\" has an empty list element");
  EXPECT_EQ(ParseError("0 *-5 * * * *"),
            "cron \"0 *-5 * * * *\": minute \"*-5\" mixes \"*\" with other values (write \"*\" "
            "alone, or a range such as 1-5)");
  EXPECT_EQ(ParseError("0 0 0 30 FEB *"),
            "cron \"0 0 0 30 FEB *\": day of month \"30\" never occurs in month \"FEB\"");
  EXPECT_EQ(ParseError("0 0 31 4,6,9,11 *"),
            "cron \"0 0 31 4,6,9,11 *\": day of month \"31\" never occurs in month \"4,6,9,11\"");
}

TEST(CronErrorTest, ShapeErrors) {
  EXPECT_EQ(ParseError(""),
            "cron \"\": expected 6 fields (sec min hour dom mon dow) or 5 (min hour dom mon dow), "
            "found 0");
  EXPECT_EQ(ParseError("0 0 *"),
            "cron \"0 0 *\": expected 6 fields (sec min hour dom mon dow) or 5 (min hour dom mon "
            "dow), found 3");
  EXPECT_EQ(
      ParseError("0 0 0 * * * 2024"),
      "cron \"0 0 0 * * * 2024\": expected 6 fields (sec min hour dom mon dow) or 5 (min hour "
      "dom mon dow), found 7");
  EXPECT_EQ(ParseError("CRON_TZ=Europe/Berlin 0 0 3 * * *"),
            "cron \"CRON_TZ=Europe/Berlin 0 0 3 * * *\": a time zone prefix is not supported; set "
            "the rule's timezone instead");
  EXPECT_EQ(ParseError("@fortnightly"),
            "cron \"@fortnightly\": unknown descriptor; use @yearly, @annually, @monthly, @weekly, "
            "@daily, @midnight, @hourly or \"@every <duration>\"");
}

TEST(CronErrorTest, EveryErrors) {
  EXPECT_EQ(ParseError("@every"),
            "cron \"@every\": missing duration after @every (e.g. \"@every 30m\")");
  EXPECT_EQ(ParseError("@every 5x"),
            "cron \"@every 5x\": invalid duration \"5x\" (use Go units such as 30s, 5m, 1h30m)");
  EXPECT_EQ(ParseError("@every 5"),
            "cron \"@every 5\": invalid duration \"5\" (use Go units such as 30s, 5m, 1h30m)");
  EXPECT_EQ(ParseError("@every -5m"),
            "cron \"@every -5m\": invalid duration \"-5m\" (use Go units such as 30s, 5m, 1h30m)");
  EXPECT_EQ(ParseError("@every 500ms"),
            "cron \"@every 500ms\": interval \"500ms\" is shorter than 1s");
  EXPECT_EQ(ParseError("@every 0"), "cron \"@every 0\": interval \"0\" is shorter than 1s");
  EXPECT_EQ(ParseError("@every 99999999999h"),
            "cron \"@every 99999999999h\": invalid duration \"99999999999h\" (use Go units such as "
            "30s, 5m, 1h30m)");
  EXPECT_EQ(ParseError("@every 50000h"),
            "cron \"@every 50000h\": interval \"50000h\" is longer than 5 years");
}

TEST(CronErrorTest, EveryAcceptsGoDurations) {
  for (const char* ok : {"@every 1s", "@every 1m", "@every 1h", "@every 1h30m", "@every 1.5h",
                         "@every 1000ms", "@every 2000000us", "@every 1h0m0s", "@every  90s "}) {
    EXPECT_TRUE(Schedule::Parse(ok).ok()) << ok;
  }
  EXPECT_EQ(NextAfter(MustParse("@every 1.5h"), "2024-01-15T10:20:30Z"), "2024-01-15T11:50:30Z");
  EXPECT_EQ(NextAfter(MustParse("@every 2000000us"), "2024-01-15T10:20:30Z"),
            "2024-01-15T10:20:32Z");
}

TEST(CronErrorTest, UnknownTimeZone) {
  EXPECT_EQ(ParseError("0 0 3 * * *", "Europe/Berln"), "unknown time zone \"Europe/Berln\"");
  Status st = ValidateTimeZone("Europe/Berln");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "unknown time zone \"Europe/Berln\"");
  EXPECT_FALSE(ValidateTimeZone("Mars/Olympus_Mons").ok());
  EXPECT_FALSE(ValidateTimeZone("utc").ok());
  for (const char* tz :
       {"", "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Etc/UTC"}) {
    EXPECT_TRUE(ValidateTimeZone(tz).ok()) << tz;
  }
}

}  // namespace
}  // namespace crossdock::core
