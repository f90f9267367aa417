#include "core/cron.h"

#include "core/duration.h"

// Debian builds libdate-tz against the OS tzdb (its CMake config exports these
// definitions); tz.h's class layouts depend on them, so they must match here.
#ifndef USE_OS_TZDB
#define USE_OS_TZDB 1
#endif
#ifndef ONLY_C_LOCALE
#define ONLY_C_LOCALE 1
#endif
#ifndef HAS_STRING_VIEW
#define HAS_STRING_VIEW 1
#endif
#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <exception>
#include <limits>
#include <vector>

namespace crossdock::core {
namespace {

using std::chrono::seconds;

constexpr std::int64_t kMinute = 60;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 86400;
// Next() gives up after five years, as robfig does; "@every" longer than that never
// fires within the horizon either.
constexpr std::int64_t kMaxEverySeconds = 5 * 366 * kDay;

bool IsUtc(std::string_view tz) { return tz.empty() || tz == "UTC"; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> SplitFields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  size_t first = s.find_first_not_of(" \t\n\r\f\v");
  if (first == std::string_view::npos) return {};
  size_t last = s.find_last_not_of(" \t\n\r\f\v");
  return s.substr(first, last - first + 1);
}

// Finds zone TZ in the tzdb (which date/tz loads lazily, and may throw doing so).
Result<const date::time_zone*> LocateZone(std::string_view tz) {
  try {
    const date::time_zone* zone = date::locate_zone(tz);
    // Force the zone's file to load now, so Next() never meets a load failure.
    (void)zone->get_info(date::sys_seconds{});
    return zone;
  } catch (const std::exception&) {
    // locate_zone reports an unknown name as a runtime_error; tell it apart from an
    // unreadable database by whether the database loads at all.
    try {
      (void)date::get_tzdb();
    } catch (const std::exception& db_error) {
      return Status::Unavailable(
          "cannot read the time zone database (is the tzdata package installed?): " +
          std::string(db_error.what()));
    }
    return Status::InvalidArgument("unknown time zone \"" + std::string(tz) + "\"");
  } catch (...) {
    return Status::Internal("loading time zone \"" + std::string(tz) + "\" failed");
  }
}

// ---------------------------------------------------------------------------
// Field parsing.

struct FieldSpec {
  const char* name;  // "minute": used in messages
  int min;
  int max;                   // the range "*" and "a/n" expand to
  int max_explicit;          // the largest value that may be written (7 for dow)
  const char* const* names;  // lower-case 3-letter names for min.., or nullptr
  const char* names_hint;    // "a month name (JAN-DEC)"
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr FieldSpec kSecond{"second", 0, 59, 59, nullptr, nullptr};
constexpr FieldSpec kMinuteField{"minute", 0, 59, 59, nullptr, nullptr};
constexpr FieldSpec kHourField{"hour", 0, 23, 23, nullptr, nullptr};
constexpr FieldSpec kDom{"day of month", 1, 31, 31, nullptr, nullptr};
constexpr FieldSpec kMonth{"month", 1, 12, 12, kMonthNames, "a month name (JAN-DEC)"};
constexpr FieldSpec kDow{"day of week", 0, 6, 7, kDayNames, "a day name (SUN-SAT)"};

struct ParsedField {
  std::uint64_t bits = 0;
  bool star = false;  // written "*" or "?" without a step > 1 (robfig's starBit)
};

// Parses a non-negative decimal number; nullopt if TEXT is not one. Values too large
// for an int come back as INT_MAX so they are reported as out of range.
std::optional<int> ParseNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  long long v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = std::min<long long>(v * 10 + (c - '0'), std::numeric_limits<int>::max());
  }
  return static_cast<int>(v);
}

class FieldParser {
 public:
  FieldParser(std::string_view expr, const FieldSpec& spec) : expr_(expr), spec_(spec) {}

  Result<ParsedField> Parse(std::string_view field) {
    ParsedField out;
    size_t pos = 0;
    while (true) {
      size_t comma = field.find(',', pos);
      std::string_view term =
          field.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
      if (term.empty()) return Error("\"" + std::string(field) + "\" has an empty list element");
      Status st = ParseTerm(term, out);
      if (!st.ok()) return st;
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
    return out;
  }

 private:
  Status Error(const std::string& why) const {
    return Status::InvalidArgument("cron \"" + std::string(expr_) + "\": " + spec_.name + " " +
                                   why);
  }

  Result<int> Value(std::string_view text, std::string_view term) const {
    if (text.empty()) return Error("\"" + std::string(term) + "\" has an empty bound");
    if (spec_.names != nullptr && text.size() == 3) {
      std::string lower = Lower(text);
      int count = spec_.max - spec_.min + 1;
      for (int i = 0; i < count; ++i) {
        if (lower == spec_.names[i]) return spec_.min + i;
      }
    }
    std::optional<int> n = ParseNumber(text);
    if (!n) {
      std::string why = "\"" + std::string(text) + "\" is not a number";
      if (spec_.names != nullptr) {
        why += " (" + std::to_string(spec_.min) + "-" + std::to_string(spec_.max_explicit) +
               ") or " + spec_.names_hint;
      }
      return Error(why);
    }
    if (*n < spec_.min || *n > spec_.max_explicit) {
      return Error(std::string(text) + " is out of range (" + std::to_string(spec_.min) + "-" +
                   std::to_string(spec_.max_explicit) + ")");
    }
    return *n;
  }

  // V written the way LIKE is: as a name if LIKE is one, else as a number.
  std::string Bound(int v, const std::string& like) const {
    if (spec_.names == nullptr || ParseNumber(like)) return std::to_string(v);
    std::string name = spec_.names[v - spec_.min];
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
  }

  // term = ("*" | "?" | value | value "-" value) ["/" step]
  Status ParseTerm(std::string_view term, ParsedField& out) {
    size_t slash = term.find('/');
    std::string_view range = term.substr(0, slash);
    std::optional<std::string_view> step_text;
    if (slash != std::string_view::npos) {
      step_text = term.substr(slash + 1);
      if (step_text->find('/') != std::string_view::npos) {
        return Error("\"" + std::string(term) + "\" has more than one \"/\"");
      }
    }
    int step = 1;
    if (step_text) {
      std::optional<int> n = ParseNumber(*step_text);
      if (!n || *n == 0) {
        return Error("step in \"" + std::string(term) + "\" must be a positive number");
      }
      step = *n;
    }

    int lo = 0, hi = 0;
    bool star = false;
    if (range == "*" || range == "?") {
      lo = spec_.min;
      hi = spec_.max;
      star = step == 1;
    } else if (range.size() > 1 && (range[0] == '*' || range[0] == '?')) {
      return Error("\"" + std::string(term) + "\" mixes \"" + range[0] +
                   "\" with other values (write \"*\" alone, or a range such as 1-5)");
    } else {
      size_t dash = range.find('-');
      if (dash == std::string_view::npos) {
        Result<int> v = Value(range, term);
        if (!v.ok()) return v.status();
        lo = *v;
        // robfig: "a/n" means "a-max/n".
        hi = step_text ? std::max(spec_.max, lo) : lo;
      } else {
        if (range.find('-', dash + 1) != std::string_view::npos) {
          return Error("\"" + std::string(term) + "\" has more than one \"-\"");
        }
        Result<int> a = Value(range.substr(0, dash), term);
        if (!a.ok()) return a.status();
        Result<int> b = Value(range.substr(dash + 1), term);
        if (!b.ok()) return b.status();
        if (*a > *b) {
          std::string lo_text(range.substr(0, dash)), hi_text(range.substr(dash + 1));
          return Error("range \"" + std::string(range) +
                       "\" starts after it ends (ranges do not wrap around; use a list such as \"" +
                       lo_text + "-" + Bound(spec_.max, lo_text) + "," + Bound(spec_.min, hi_text) +
                       "-" + hi_text + "\")");
        }
        lo = *a;
        hi = *b;
      }
    }
    for (int v = lo;; v += step) {
      // dow 7 is Sunday.
      int bit = (spec_.max_explicit > spec_.max && v > spec_.max) ? spec_.min : v;
      out.bits |= std::uint64_t{1} << bit;
      if (hi - v < step) break;  // not v + step > hi: the step may be near INT_MAX
    }
    out.star = out.star || star;
    return Status::Ok();
  }

  std::string_view expr_;
  const FieldSpec& spec_;
};

// The fields a descriptor stands for: robfig/cron v3 parser.go parseDescriptor.
struct Descriptor {
  const char* name;
  bool yearly, monthly, weekly, daily;
};

// True if some selected month has some selected day of month (Feb counts 29 days).
bool DomCanOccur(std::uint64_t months, std::uint64_t dom) {
  static constexpr int kDaysIn[] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int m = 1; m <= 12; ++m) {
    if ((months >> m & 1) == 0) continue;
    for (int d = 1; d <= kDaysIn[m]; ++d) {
      if (dom >> d & 1) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------
// Civil (wall-clock) time as seconds since 1970-01-01T00:00:00 of the zone's clock.

struct Civil {
  int year;
  unsigned month, day, weekday;  // weekday: Sunday = 0
  int hour, minute, second;
  std::int64_t day_start;  // seconds at 00:00:00 of that day
};

Civil ToCivil(std::int64_t s) {
  std::int64_t days = s >= 0 ? s / kDay : -((-s + kDay - 1) / kDay);
  std::int64_t sod = s - days * kDay;
  date::sys_days d{date::days{days}};
  date::year_month_day ymd{d};
  Civil c;
  c.year = static_cast<int>(ymd.year());
  c.month = static_cast<unsigned>(ymd.month());
  c.day = static_cast<unsigned>(ymd.day());
  c.weekday = date::weekday{d}.c_encoding();
  c.hour = static_cast<int>(sod / kHour);
  c.minute = static_cast<int>(sod % kHour / kMinute);
  c.second = static_cast<int>(sod % kMinute);
  c.day_start = days * kDay;
  return c;
}

std::int64_t FirstOfNextMonth(const Civil& c) {
  date::year_month ym = date::year{c.year} / date::month{c.month} + date::months{1};
  return date::sys_days{ym / 1}.time_since_epoch().count() * kDay;
}

std::int64_t ToSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<seconds>(t).time_since_epoch().count();
}

// The latest second system_clock (nanoseconds on libstdc++) can hold, with a margin.
constexpr std::int64_t kMaxClockSeconds =
    std::chrono::duration_cast<seconds>(std::chrono::system_clock::duration::max()).count() - 1;

std::optional<std::chrono::system_clock::time_point> FromSeconds(std::int64_t s) {
  if (s > kMaxClockSeconds) return std::nullopt;
  return std::chrono::system_clock::time_point{seconds{s}};
}

}  // namespace

Status ValidateTimeZone(std::string_view tz) {
  if (IsUtc(tz)) return Status::Ok();
  Result<const date::time_zone*> zone = LocateZone(tz);
  return zone.ok() ? Status::Ok() : zone.status();
}

Result<Schedule> Schedule::Parse(std::string_view expr, std::string_view tz) {
  Schedule s;
  s.text_ = std::string(expr);
  s.tz_name_ = std::string(tz);
  if (!IsUtc(tz)) {
    Result<const date::time_zone*> zone = LocateZone(tz);
    if (!zone.ok()) return zone.status();
    s.zone_ = *zone;
  }
  auto error = [&](const std::string& why) {
    return Status::InvalidArgument("cron \"" + std::string(expr) + "\": " + why);
  };

  std::string_view body = Trim(expr);
  if (body.starts_with("TZ=") || body.starts_with("CRON_TZ=")) {
    return error("a time zone prefix is not supported; set the rule's timezone instead");
  }
  if (body.starts_with("@")) {
    std::string_view word = body.substr(0, body.find_first_of(" \t\n\r\f\v"));
    if (Lower(word) == "@every") {
      std::string_view arg = Trim(body.substr(word.size()));
      if (arg.empty()) return error("missing duration after @every (e.g. \"@every 30m\")");
      std::optional<std::int64_t> nanos;
      if (auto d = ParseGoDuration(arg)) nanos = d->count();
      if (!nanos) {
        return error("invalid duration \"" + std::string(arg) +
                     "\" (use Go units such as 30s, 5m, 1h30m)");
      }
      // robfig's Every() drops the fraction of a second.
      s.every_seconds_ = *nanos / 1000000000;
      if (s.every_seconds_ < 1) {
        return error("interval \"" + std::string(arg) + "\" is shorter than 1s");
      }
      if (s.every_seconds_ > kMaxEverySeconds) {
        return error("interval \"" + std::string(arg) + "\" is longer than 5 years");
      }
      return s;
    }
    static constexpr Descriptor kDescriptors[] = {
        {"@yearly", true, false, false, false},  {"@annually", true, false, false, false},
        {"@monthly", false, true, false, false}, {"@weekly", false, false, true, false},
        {"@daily", false, false, false, true},   {"@midnight", false, false, false, true},
        {"@hourly", false, false, false, false},
    };
    std::string lower = Lower(body);
    for (const Descriptor& d : kDescriptors) {
      if (lower != d.name) continue;
      s.seconds_ = 1;
      s.minutes_ = 1;
      s.hours_ = (d.yearly || d.monthly || d.weekly || d.daily) ? 1 : 0xFFFFFFu;
      s.dom_ = (d.yearly || d.monthly) ? 2 : 0xFFFFFFFEu;
      s.dom_star_ = !(d.yearly || d.monthly);
      s.months_ = d.yearly ? 2 : 0x1FFEu;
      s.dow_ = d.weekly ? 1 : 0x7Fu;
      s.dow_star_ = !d.weekly;
      return s;
    }
    return error(
        "unknown descriptor; use @yearly, @annually, @monthly, @weekly, @daily, @midnight, "
        "@hourly or \"@every <duration>\"");
  }

  std::vector<std::string_view> fields = SplitFields(body);
  if (fields.size() != 5 && fields.size() != 6) {
    return error(
        "expected 6 fields (sec min hour dom mon dow) or 5 (min hour dom mon dow), found " +
        std::to_string(fields.size()));
  }
  if (fields.size() == 5) fields.insert(fields.begin(), "0");

  const FieldSpec* specs[] = {&kSecond, &kMinuteField, &kHourField, &kDom, &kMonth, &kDow};
  ParsedField parsed[6];
  for (int i = 0; i < 6; ++i) {
    Result<ParsedField> f = FieldParser(expr, *specs[i]).Parse(fields[i]);
    if (!f.ok()) return f.status();
    parsed[i] = *f;
  }
  s.seconds_ = parsed[0].bits;
  s.minutes_ = parsed[1].bits;
  s.hours_ = parsed[2].bits;
  s.dom_ = parsed[3].bits;
  s.dom_star_ = parsed[3].star;
  s.months_ = parsed[4].bits;
  s.dow_ = parsed[5].bits;
  s.dow_star_ = parsed[5].star;
  // With dow unrestricted only dom decides the day; refuse a date that never exists.
  if (s.dow_star_ && !DomCanOccur(s.months_, s.dom_)) {
    return error("day of month \"" + std::string(fields[3]) + "\" never occurs in month \"" +
                 std::string(fields[4]) + "\"");
  }
  return s;
}

// The smallest wall-clock second >= LOCAL whose fields all match; nullopt once the
// year passes YEAR_LIMIT. Pure calendar arithmetic: no time zone involved.
std::optional<std::int64_t> Schedule::NextMatchingLocal(std::int64_t local, int year_limit) const {
  // Each step moves to the start of the next month, day, hour, minute or second, and
  // a matching day always has a matching second, so this ends within ~6 years of days.
  for (int guard = 0; guard < 1000000; ++guard) {
    Civil c = ToCivil(local);
    if (c.year > year_limit) return std::nullopt;
    if ((months_ >> c.month & 1) == 0) {
      local = FirstOfNextMonth(c);
      continue;
    }
    bool dom_match = (dom_ >> c.day & 1) != 0;
    bool dow_match = (dow_ >> c.weekday & 1) != 0;
    // robfig spec.go dayMatches: a "*" in either field means both must match.
    bool day_match = (dom_star_ || dow_star_) ? (dom_match && dow_match) : (dom_match || dow_match);
    if (!day_match) {
      local = c.day_start + kDay;
      continue;
    }
    if ((hours_ >> c.hour & 1) == 0) {
      local = c.day_start + (c.hour + 1) * kHour;
      continue;
    }
    if ((minutes_ >> c.minute & 1) == 0) {
      local = c.day_start + c.hour * kHour + (c.minute + 1) * kMinute;
      continue;
    }
    if ((seconds_ >> c.second & 1) == 0) {
      local = local + 1;
      continue;
    }
    return local;
  }
  return std::nullopt;
}

// START is the earliest acceptable instant (seconds since the epoch).
std::optional<std::int64_t> Schedule::NextInZone(std::int64_t start) const {
  using date::local_info;
  const bool every_hour = (hours_ & 0xFFFFFFu) == 0xFFFFFFu;
  date::sys_info at_start = zone_->get_info(date::sys_seconds{seconds{start}});
  std::int64_t local0 = start + at_start.offset.count();
  int year_limit = ToCivil(local0).year + 5;

  std::int64_t from = local0;
  if (every_hour) {
    // START in the first pass through a repeated hour: wall-clock times earlier than
    // START's fire again in the second pass, which is still after START.
    local_info li = zone_->get_info(date::local_seconds{seconds{local0}});
    if (li.result == local_info::ambiguous && start == local0 - li.first.offset.count()) {
      from = li.second.begin.time_since_epoch().count() + li.second.offset.count();
    }
  }

  std::optional<std::int64_t> best;
  auto consider = [&](std::int64_t instant) {
    if (instant >= start && (!best || instant < *best)) best = instant;
  };
  while (std::optional<std::int64_t> local = NextMatchingLocal(from, year_limit)) {
    local_info li = zone_->get_info(date::local_seconds{seconds{*local}});
    if (li.result == local_info::unique) {
      // Past any repeated hour: instants now increase with wall-clock time.
      consider(*local - li.first.offset.count());
      return best;
    }
    if (li.result == local_info::nonexistent) {
      // Skipped by a spring-forward change: resume where the wall clock resumes.
      std::int64_t resume = li.second.begin.time_since_epoch().count() + li.second.offset.count();
      from = std::max(resume, *local + 1);
      continue;
    }
    // Ambiguous: first = earlier instant (before the change), second = after it.
    std::int64_t first = *local - li.first.offset.count();
    std::int64_t second = *local - li.second.offset.count();
    if (!every_hour) {
      if (first >= start) {
        consider(first);
        return best;
      }
      // Already past the first pass: the rest of the repeated hour has fired.
      std::int64_t overlap_end = li.first.end.time_since_epoch().count() + li.first.offset.count();
      from = std::max(overlap_end, *local + 1);
      continue;
    }
    consider(first);
    consider(second);
    from = *local + 1;
  }
  return best;
}

std::optional<std::chrono::system_clock::time_point> Schedule::Next(
    std::chrono::system_clock::time_point t) const {
  try {
    std::int64_t base = ToSeconds(t);
    if (every_seconds_ > 0) return FromSeconds(base + every_seconds_);
    std::int64_t start = base + 1;
    if (zone_ == nullptr) {
      std::optional<std::int64_t> local = NextMatchingLocal(start, ToCivil(start).year + 5);
      if (!local) return std::nullopt;
      return FromSeconds(*local);
    }
    std::optional<std::int64_t> instant = NextInZone(start);
    if (!instant) return std::nullopt;
    return FromSeconds(*instant);
  } catch (...) {
    // date/tz throws only when a zone's file cannot be loaded, which Parse has
    // already done once; treat a failure here as "no fire time".
    return std::nullopt;
  }
}

std::string Schedule::FormatLocal(std::chrono::system_clock::time_point t) const {
  std::int64_t s = ToSeconds(t);
  std::int64_t offset = 0;
  if (zone_ != nullptr) {
    try {
      offset = zone_->get_info(date::sys_seconds{seconds{s}}).offset.count();
    } catch (...) {
      offset = 0;
    }
  }
  Civil c = ToCivil(s + offset);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", c.year, c.month, c.day, c.hour,
                c.minute, c.second);
  std::string out = buf;
  if (zone_ == nullptr) return out + "Z";
  std::int64_t a = offset < 0 ? -offset : offset;
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset < 0 ? '-' : '+', static_cast<int>(a / kHour),
                static_cast<int>(a % kHour / kMinute));
  return out + buf;
}

}  // namespace crossdock::core
