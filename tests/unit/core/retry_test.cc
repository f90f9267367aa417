// core::RetryPolicy and core::ParseRateLimit. The applier's use of them is tested in
// tests/unit/applier/retry_test.cc.
#include "core/retry.h"

#include <gtest/gtest.h>

namespace crossdock::core {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicyTest, DelayDoublesFromBaseAndIsCapped) {
  RetryPolicy p;
  p.base_delay = milliseconds(100);
  p.max_delay = milliseconds(1000);
  EXPECT_EQ(p.Delay(2, 1.0, std::nullopt), milliseconds(100));
  EXPECT_EQ(p.Delay(3, 1.0, std::nullopt), milliseconds(200));
  EXPECT_EQ(p.Delay(4, 1.0, std::nullopt), milliseconds(400));
  EXPECT_EQ(p.Delay(10, 1.0, std::nullopt), milliseconds(1000));
}

TEST(RetryPolicyTest, JitterScalesIntoUpperHalf) {
  RetryPolicy p;
  p.base_delay = milliseconds(100);
  EXPECT_EQ(p.Delay(2, 0.0, std::nullopt), milliseconds(50));
  EXPECT_EQ(p.Delay(2, 0.5, std::nullopt), milliseconds(75));
}

TEST(RetryPolicyTest, RetryAfterWinsAndIsCapped) {
  RetryPolicy p;
  p.max_retry_after = milliseconds(5000);
  EXPECT_EQ(p.Delay(2, 0.3, std::chrono::seconds(2)), milliseconds(2000));
  EXPECT_EQ(p.Delay(2, 0.3, std::chrono::seconds(600)), milliseconds(5000));
}

TEST(RetryPolicyTest, RetryableStatuses) {
  for (long s : {408L, 429L, 500L, 502L, 503L, 504L}) EXPECT_TRUE(IsRetryableHttpStatus(s)) << s;
  for (long s : {200L, 400L, 401L, 403L, 404L, 501L}) EXPECT_FALSE(IsRetryableHttpStatus(s)) << s;
}

TEST(RetryPolicyTest, RetryAfterParsesSecondsOnly) {
  EXPECT_EQ(ParseRetryAfter("7"), std::chrono::seconds(7));
  EXPECT_EQ(ParseRetryAfter(""), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
}

TEST(RateLimitParseTest, RequestsPerSecondOrMinute) {
  auto per_second = ParseRateLimit("10/s");
  ASSERT_TRUE(per_second);
  EXPECT_EQ(per_second->requests, 10);
  EXPECT_EQ(per_second->per_second(), 10.0);
  auto per_minute = ParseRateLimit("600/m");
  ASSERT_TRUE(per_minute);
  EXPECT_EQ(per_minute->period, std::chrono::seconds(60));
  EXPECT_EQ(per_minute->per_second(), 10.0);
  EXPECT_EQ(ParseRateLimit("0/s")->requests, 0);  // parsed; config refuses it
  for (const char* bad : {"", "10", "10/", "/s", "10/x", "10/sec", " 10/s", "10 /s", "-1/s",
                          "1.5/s", "1234567890/s", "10/S"}) {
    EXPECT_FALSE(ParseRateLimit(bad)) << bad;
  }
}

}  // namespace
}  // namespace crossdock::core
