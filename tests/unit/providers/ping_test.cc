// The /v2/ ping that opens every registry's conversation is retried like every
// other request (5xx, 429 with Retry-After, transport failures), and a ping that
// still failed is asked again after a while instead of failing the registry for
// the life of the process.
#include <gtest/gtest.h>

#include "providers/distribution/client.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

class PingTest : public FakeClockRegistryTest {
 protected:
  static int Pings(FakeHttp& http) {
    int n = 0;
    for (const auto& s : http.sent()) n += Ends(s.url, "/v2/");
    return n;
  }
};

TEST_F(PingTest, OneServerErrorOnThePingIsRetried) {
  int pings = 0;
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/") && ++pings == 1) return Answer(500);
    return Answer(200);
  });
  auto reg = Make(&http);
  auto exists = reg->BlobExists("app", kDigest);
  ASSERT_TRUE(exists.ok()) << exists.status().message();
  EXPECT_EQ(Pings(http), 2);
}

TEST_F(PingTest, TooManyRequestsOnThePingWaitsOutRetryAfter) {
  int pings = 0;
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/") && ++pings == 1) return Answer(429, {{"retry-after", "1"}});
    return Answer(200);
  });
  auto reg = Make(&http);
  ASSERT_TRUE(reg->Ping().ok());
  auto sent = http.sent();
  ASSERT_EQ(sent.size(), 3u);  // 429, the ping again, the credentials check
  EXPECT_EQ(sent[1].at, milliseconds(1000));
}

class FailingTransport : public HttpClient {
 public:
  core::Result<HttpResponse> Do(const HttpRequest& req) override {
    ++calls;
    if (calls <= fail_first) return core::Status::Unavailable("GET " + req.url + ": Connection refused");
    return Answer(200);
  }
  int fail_first = 0;
  int calls = 0;
};

TEST_F(PingTest, ConnectionRefusedOnceIsRetried) {
  FailingTransport http;
  http.fail_first = 1;
  auto reg = Make(&http);
  ASSERT_TRUE(reg->Ping().ok());
}

TEST_F(PingTest, FailureAfterEveryAttemptIsRememberedForAWhileThenAskedAgain) {
  bool down = true;
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/") && down) return Answer(503);
    return Answer(200);
  });
  auto reg = Make(&http);
  auto first = reg->BlobExists("app", kDigest);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), core::Code::kUnavailable);
  EXPECT_EQ(first.status().message(), "GET /v2/ at endpoint \"src\": HTTP 503, registry error");
  EXPECT_EQ(Pings(http), 5);
  // Other callers meanwhile get the answer without asking again.
  EXPECT_FALSE(reg->BlobExists("app", kDigest).ok());
  EXPECT_EQ(Pings(http), 5);
  // Later, the registry is back: the next caller pings again.
  down = false;
  clock_.SleepFor(seconds(31));
  auto later = reg->BlobExists("app", kDigest);
  ASSERT_TRUE(later.ok()) << later.status().message();
  EXPECT_EQ(Pings(http), 6);
}

TEST_F(PingTest, RejectedCredentialsAreNotAskedAgain) {
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(401, {{"www-authenticate", "Negotiate"}});
    return Answer(200);
  });
  auto reg = Make(&http);
  EXPECT_EQ(reg->BlobExists("app", kDigest).status().code(), core::Code::kUnauthenticated);
  clock_.SleepFor(seconds(3600));
  EXPECT_EQ(reg->BlobExists("app", kDigest).status().code(), core::Code::kUnauthenticated);
  EXPECT_EQ(Pings(http), 1);
}

}  // namespace
}  // namespace crossdock::providers
