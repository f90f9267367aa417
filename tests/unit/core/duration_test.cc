#include "core/duration.h"

#include <gtest/gtest.h>

namespace crossdock::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(GoDurationTest, ParsesAsTimeParseDurationDoes) {
  EXPECT_EQ(ParseGoDuration("30m"), minutes(30));
  EXPECT_EQ(ParseGoDuration("1h30m"), minutes(90));
  EXPECT_EQ(ParseGoDuration("90s"), seconds(90));
  EXPECT_EQ(ParseGoDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(ParseGoDuration(".5h"), minutes(30));
  EXPECT_EQ(ParseGoDuration("250ms"), milliseconds(250));
  EXPECT_EQ(ParseGoDuration("2us"), std::chrono::microseconds(2));
  EXPECT_EQ(ParseGoDuration("2\xC2\xB5s"), std::chrono::microseconds(2));
  EXPECT_EQ(ParseGoDuration("0"), std::chrono::nanoseconds(0));
  for (const char* bad : {"", "30", "30x", "m", "1..5s", "-1s", "1h 30m", "30M", "1e3s", ".s",
                          "999999999999h", "99999999999999999999s"}) {
    EXPECT_EQ(ParseGoDuration(bad), std::nullopt) << bad;
  }
}

// Issue 11: --lock-timeout and --wait take what the config takes, and plain seconds.
TEST(CliDurationTest, TakesGoDurationsAndPlainSeconds) {
  EXPECT_EQ(ParseCliDuration("1h30m"), minutes(90));
  EXPECT_EQ(ParseCliDuration("30s"), seconds(30));
  EXPECT_EQ(ParseCliDuration("30"), seconds(30));
  EXPECT_EQ(ParseCliDuration("1.5"), milliseconds(1500));
  EXPECT_EQ(ParseCliDuration("0"), seconds(0));
  for (const char* bad : {"", "-5", "5 m", "1h30", "1..5", ".", "99999999999999999999"})
    EXPECT_EQ(ParseCliDuration(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace crossdock::core
