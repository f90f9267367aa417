// An endpoint's request limits in DistributionRegistry: the rate_limit token bucket,
// max_connections, the endpoint-wide pause after a 429/503 with Retry-After, and
// Docker Hub's RateLimit-* headers. Time is a fake clock, so nothing here sleeps
// for real except the max_connections test (a few milliseconds per request).
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/retry.h"
#include "providers/distribution/client.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

TEST(TokenBucketTest, OneTokenBucketSpacesRequestsEvenly) {
  FakeClock clock;
  core::TokenBucket bucket(10, 1, &clock);  // "10/s"
  std::vector<milliseconds> at;
  for (int i = 0; i < 4; ++i) {
    bucket.Take();
    at.push_back(clock.Elapsed());
  }
  EXPECT_EQ(at, (std::vector<milliseconds>{milliseconds(0), milliseconds(100), milliseconds(200),
                                           milliseconds(300)}));
}

TEST(TokenBucketTest, BurstIsServedAtOnceThenTheRate) {
  FakeClock clock;
  core::TokenBucket bucket(10, 3, &clock);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.Reserve(), TimePoint()) << i;
  EXPECT_EQ(bucket.Reserve(), TimePoint() + milliseconds(100));
  EXPECT_EQ(bucket.Reserve(), TimePoint() + milliseconds(200));
}

TEST(TokenBucketTest, IdleTimeRefillsOnlyUpToTheBurst) {
  FakeClock clock;
  core::TokenBucket bucket(10, 2, &clock);
  bucket.Take();
  bucket.Take();
  clock.SleepUntil(TimePoint() + seconds(10));  // idle: would be 100 tokens, holds 2
  EXPECT_EQ(bucket.Reserve(), TimePoint() + seconds(10));
  EXPECT_EQ(bucket.Reserve(), TimePoint() + seconds(10));
  EXPECT_EQ(bucket.Reserve(), TimePoint() + seconds(10) + milliseconds(100));
}

TEST(TokenBucketTest, PerMinuteRateIsTheSameSpacing) {
  FakeClock clock;
  auto limit = core::ParseRateLimit("600/m");
  ASSERT_TRUE(limit);
  core::TokenBucket bucket(limit->per_second(), 1, &clock);
  bucket.Take();
  EXPECT_EQ(bucket.Reserve(), TimePoint() + milliseconds(100));
}

TEST(TokenBucketTest, ConcurrentCallersEachGetTheirOwnSlot) {
  FakeClock clock;
  core::TokenBucket bucket(1000, 1, &clock);
  std::vector<TimePoint> slots(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < slots.size(); ++i)
    threads.emplace_back([&, i] { slots[i] = bucket.Reserve(); });
  for (auto& t : threads) t.join();
  std::sort(slots.begin(), slots.end());
  for (size_t i = 0; i < slots.size(); ++i) EXPECT_EQ(slots[i], TimePoint() + milliseconds(i)) << i;
}

class RateLimitTest : public ::testing::Test {
 protected:
  // A registry on FAKE's answers, with OPTIONS and the fake clock.
  std::unique_ptr<DistributionRegistry> Make(FakeHttp* http, DistributionOptions options = {}) {
    options.clock = &clock_;
    return std::make_unique<DistributionRegistry>("hub", "http://registry.test", Credentials{},
                                                  http, options);
  }

  FakeClock clock_;
};

TEST_F(RateLimitTest, RateLimitSpacesEveryRequestIncludingThePing) {
  FakeHttp http(&clock_, [](const HttpRequest&) { return Answer(200); });
  DistributionOptions options;
  options.rate_limit_per_second = 20;
  auto reg = Make(&http, options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(reg->BlobExists("app", kDigest).ok());
  auto sent = http.sent();
  ASSERT_EQ(sent.size(), 4u);  // GET /v2/, then three HEADs
  EXPECT_TRUE(Ends(sent[0].url, "/v2/"));
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(sent[i].at, milliseconds(50 * i)) << i;
}

TEST_F(RateLimitTest, TokenRequestsShareTheBucket) {
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (Ends(req.url, "/v2/") && req.headers.empty())
      return Answer(401, {{"www-authenticate",
                           "Bearer realm=\"http://auth.test/token\",service=\"registry.test\""}});
    if (req.url.rfind("http://auth.test/token", 0) == 0) {
      HttpResponse r = Answer(200);
      r.body = "{\"token\":\"t\",\"expires_in\":300}";
      return r;
    }
    return Answer(200);
  });
  DistributionOptions options;
  options.rate_limit_per_second = 10;
  auto reg = Make(&http, options);
  ASSERT_TRUE(reg->BlobExists("app", kDigest).ok());
  auto sent = http.sent();
  ASSERT_EQ(sent.size(), 3u);  // ping, token, HEAD
  EXPECT_EQ(sent[1].url.rfind("http://auth.test/token", 0), 0u);
  EXPECT_EQ(sent[1].at, milliseconds(100));
  EXPECT_EQ(sent[2].at, milliseconds(200));
  EXPECT_EQ(reg->requests(), 3);
}

TEST_F(RateLimitTest, RetryAfterOnOneRequestPausesEveryOtherRequest) {
  // The upload's PUT (a streamed body: not replayable) meets a 429; a HEAD sent
  // afterwards by anyone must wait out the Retry-After.
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (req.method == "POST") return Answer(202, {{"location", "/v2/app/blobs/uploads/u1"}});
    if (req.method == "PUT") return Answer(429, {{"retry-after", "3"}});
    return Answer(200);
  });
  auto reg = Make(&http);
  std::string body = "x";
  core::Status put = reg->PutBlob("app", kDigest, 1, [&](char* buf, size_t) {
    if (body.empty()) return 0L;
    buf[0] = body[0];
    body.clear();
    return 1L;
  });
  EXPECT_EQ(put.code(), core::Code::kUnavailable) << put.message();
  EXPECT_EQ(reg->paused_until(), TimePoint() + seconds(3));
  ASSERT_TRUE(reg->BlobExists("other", kDigest).ok());
  auto sent = http.sent();
  ASSERT_GE(sent.size(), 2u);
  EXPECT_EQ(sent.back().method, "HEAD");
  EXPECT_EQ(sent.back().at, milliseconds(3000));
  // Everything before the 429 went out at once.
  for (size_t i = 0; i + 1 < sent.size(); ++i) {
    if (sent[i].method == "PUT") break;
    EXPECT_EQ(sent[i].at, milliseconds(0)) << sent[i].method << " " << sent[i].url;
  }
}

TEST_F(RateLimitTest, ReplayableRequestWaitsOutRetryAfterOnceThenSucceeds) {
  int heads = 0;
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (req.method == "HEAD" && ++heads <= 2) return Answer(429, {{"retry-after", "2"}});
    return Answer(200);
  });
  auto reg = Make(&http);
  auto exists = reg->BlobExists("app", kDigest);
  ASSERT_TRUE(exists.ok()) << exists.status().message();
  EXPECT_TRUE(*exists);
  auto sent = http.sent();
  ASSERT_EQ(sent.size(), 4u);
  // The pause is the whole wait: no backoff added on top of Retry-After.
  EXPECT_EQ(sent[1].at, milliseconds(0));
  EXPECT_EQ(sent[2].at, milliseconds(2000));
  EXPECT_EQ(sent[3].at, milliseconds(4000));
}

TEST_F(RateLimitTest, ServiceUnavailableWithRetryAfterPausesToo) {
  int heads = 0;
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (req.method == "HEAD" && ++heads == 1) return Answer(503, {{"retry-after", "1"}});
    return Answer(200);
  });
  auto reg = Make(&http);
  ASSERT_TRUE(reg->BlobExists("app", kDigest).ok());
  EXPECT_EQ(http.sent().back().at, milliseconds(1000));
}

TEST_F(RateLimitTest, RetryAfterBeyondSixtySecondsFailsTheRequestInsteadOfRetryingEarly) {
  int heads = 0;
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (req.method == "HEAD" && ++heads == 1) return Answer(429, {{"retry-after", "3600"}});
    return Answer(200);
  });
  auto reg = Make(&http);
  auto exists = reg->BlobExists("app", kDigest);
  ASSERT_FALSE(exists.ok());
  EXPECT_EQ(exists.status().message(),
            "HEAD blob app@" + std::string(kDigest) +
                " at endpoint \"hub\": HTTP 429, rate limited; the registry asks to wait 3600 s, "
                "longer than crossdock waits (60 s): run again later");
  EXPECT_EQ(heads, 1);
  EXPECT_EQ(clock_.Elapsed(), milliseconds(0));
}

TEST_F(RateLimitTest, GivesUpAfterFiveAttempts) {
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (req.method == "HEAD") return Answer(429, {{"retry-after", "1"}});
    return Answer(200);
  });
  auto reg = Make(&http);
  auto exists = reg->BlobExists("app", kDigest);
  ASSERT_FALSE(exists.ok());
  EXPECT_EQ(exists.status().code(), core::Code::kUnavailable);
  EXPECT_EQ(exists.status().message(),
            "HEAD blob app@" + std::string(kDigest) +
                " at endpoint \"hub\": HTTP 429, rate limited; the registry asks to wait 1 s");
  EXPECT_EQ(http.sent().size(), 1u + 5u);
}

TEST_F(RateLimitTest, DownloadMeetingA429IsRetriedSinceTheSinkGotNothing) {
  int gets = 0;
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    if (++gets == 1) return Answer(429, {{"retry-after", "1"}});
    req.body_sink("abc", 3);
    return Answer(200);
  });
  auto reg = Make(&http);
  std::string got;
  core::Status st = reg->GetBlob("app", kDigest, [&](const char* p, size_t n) {
    got.append(p, n);
    return true;
  });
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(got, "abc");
  EXPECT_EQ(gets, 2);
}

TEST_F(RateLimitTest, ExpiredTokenOnAnUploadIsTransient) {
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (Ends(req.url, "/v2/") && req.headers.empty())
      return Answer(401, {{"www-authenticate", "Bearer realm=\"http://auth.test/token\""}});
    if (req.url.rfind("http://auth.test/token", 0) == 0) {
      HttpResponse r = Answer(200);
      r.body = "{\"token\":\"t\"}";
      return r;
    }
    if (req.method == "POST") return Answer(202, {{"location", "/v2/app/blobs/uploads/u1"}});
    if (req.method == "PUT")
      return Answer(401, {{"www-authenticate",
                           "Bearer realm=\"http://auth.test/token\",error=\"invalid_token\""}});
    return Answer(202);
  });
  auto reg = Make(&http);
  core::Status put = reg->PutBlob("app", kDigest, 0, [](char*, size_t) { return 0L; });
  EXPECT_EQ(put.code(), core::Code::kUnavailable) << put.message();
  EXPECT_NE(put.message().find("HTTP 401, the token expired during the request; a new one was "
                               "fetched for the next attempt"),
            std::string::npos)
      << put.message();
}

TEST_F(RateLimitTest, MaxConnectionsBoundsRequestsInFlight) {
  std::atomic<int> in_flight{0}, most{0};
  FakeHttp http(nullptr, [&](const HttpRequest&) {
    int now = ++in_flight;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(milliseconds(10));
    --in_flight;
    return Answer(200);
  });
  DistributionOptions options;
  options.max_connections = 2;
  options.clock = core::Clock::Real();
  DistributionRegistry reg("hub", "http://registry.test", Credentials{}, &http, options);
  std::vector<std::thread> workers;
  for (int w = 0; w < 6; ++w) {
    workers.emplace_back([&] {
      for (int i = 0; i < 3; ++i) EXPECT_TRUE(reg.BlobExists("app", kDigest).ok());
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(most.load(), 2);
  EXPECT_EQ(reg.requests(), static_cast<long>(http.sent().size()));
}

TEST_F(RateLimitTest, DockerHubRateLimitHeadersKeepTheLowestRemaining) {
  int n = 0;
  FakeHttp http(&clock_, [&](const HttpRequest&) {
    static const char* kRemaining[] = {"98;w=21600", "96;w=21600", "97;w=21600"};
    HttpResponse r = Answer(200, {{"ratelimit-limit", "100;w=21600"}});
    if (n < 3) r.headers.insert({"ratelimit-remaining", kRemaining[n]});
    ++n;
    return r;
  });
  auto reg = Make(&http);
  EXPECT_EQ(reg->rate_limit_remaining(), std::nullopt);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(reg->BlobExists("app", kDigest).ok());
  EXPECT_EQ(reg->rate_limit_remaining(), 96);
  EXPECT_EQ(reg->rate_limit_limit(), 100);
}

TEST(RateLimitHeaderTest, ParsesTheCountBeforeTheWindow) {
  EXPECT_EQ(ParseRateLimitHeader("76;w=21600"), 76);
  EXPECT_EQ(ParseRateLimitHeader("100"), 100);
  EXPECT_EQ(ParseRateLimitHeader(" 0;w=21600"), 0);
  EXPECT_EQ(ParseRateLimitHeader(""), std::nullopt);
  EXPECT_EQ(ParseRateLimitHeader("w=21600"), std::nullopt);
  EXPECT_EQ(ParseRateLimitHeader("12x"), std::nullopt);
}

}  // namespace
}  // namespace crossdock::providers

namespace crossdock::providers {
namespace {

class LongWaitTest : public ::testing::Test {
 protected:
  FakeClock clock_;
};

// Docker Hub's pull limit: a Retry-After longer than the endpoint waits fails the
// request at once, saying how long the registry asked, instead of pausing forever.
TEST_F(LongWaitTest, WaitLongerThanTheCapFailsAtOnceWithWhatWasAsked) {
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    return Answer(429, {{"retry-after", "3600"}},
                  R"({"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]})");
  });
  DistributionOptions options;
  options.clock = &clock_;
  options.retry.max_retry_after = std::chrono::minutes(15);
  DistributionRegistry reg("hub", "http://registry.test", Credentials{}, &http, options);
  auto m = reg.GetManifest("library/nginx", "1.27");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("HTTP 429, rate limited: TOOMANYREQUESTS: You have reached "
                                      "your pull rate limit.; the registry asks to wait 3600 s, "
                                      "longer than crossdock waits (900 s): run again later"),
            std::string::npos)
      << m.status().message();
  EXPECT_EQ(http.Count("GET", "/manifests/"), 1);  // not retried
  EXPECT_LT(clock_.Elapsed(), seconds(1));         // and nobody paused
}

TEST_F(LongWaitTest, XRetryAfterAsUnixTimeIsHonoured) {
  const auto in_5s = std::chrono::duration_cast<seconds>(
                         std::chrono::system_clock::now().time_since_epoch()) +
                     seconds(5);
  int gets = 0;
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    if (++gets == 1) return Answer(429, {{"x-retry-after", std::to_string(in_5s.count())}});
    return Answer(404);
  });
  DistributionOptions options;
  options.clock = &clock_;
  DistributionRegistry reg("hub", "http://registry.test", Credentials{}, &http, options);
  auto h = reg.HeadManifest("library/nginx", "1.27");
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(gets, 2);
  EXPECT_GE(clock_.Elapsed(), seconds(3));  // the fake clock moved by about 5 s
}

}  // namespace
}  // namespace crossdock::providers
