// Bearer tokens: one token request per (realm, service, scopes) however many
// workers need it at once, reused until shortly before expires_in runs out, and
// renewed (on time, or after a 401 invalid_token) by one request too.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "providers/distribution/client.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

constexpr int kWorkers = 8;

class TokenTest : public ::testing::Test {
 protected:
  // A registry behind a token server whose answers say EXPIRES_IN; tokens are "t1",
  // "t2"… in the order issued. The registry refuses the tokens in rejected_.
  void Start(long expires_in) {
    http_ = std::make_unique<FakeHttp>(&clock_, [this, expires_in](const HttpRequest& req) {
      if (Starts(req.url, "http://auth.test/token")) {
        int n = ++issued_;
        if (n == hold_token_) WaitForWorkers();
        return Answer(200, {},
                      "{\"token\":\"t" + std::to_string(n) + "\",\"expires_in\":" +
                          std::to_string(expires_in) + "}");
      }
      std::string auth;
      for (const auto& [k, v] : req.headers)
        if (k == "Authorization") auth = v;
      if (auth.empty())
        return Answer(401, {{"www-authenticate",
                             "Bearer realm=\"http://auth.test/token\",service=\"registry.test\""}});
      {
        std::lock_guard<std::mutex> g(mu_);
        if (rejected_.count(auth))
          return Answer(401, {{"www-authenticate",
                               "Bearer realm=\"http://auth.test/token\",error=\"invalid_token\""}});
      }
      return Answer(200);
    });
    DistributionOptions options;
    options.clock = &clock_;
    reg_ = std::make_unique<DistributionRegistry>("src", "http://registry.test", Credentials{},
                                                  http_.get(), options);
  }
  // Gives the other workers real time to reach the token they all need, so that
  // without single flight they would each have asked for it.
  void WaitForWorkers() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (started_.load() < kWorkers && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  // kWorkers threads each checking a blob of REPO at once.
  void CheckBlobsConcurrently(const std::string& repo) {
    started_ = 0;
    std::vector<std::thread> workers;
    for (int i = 0; i < kWorkers; ++i)
      workers.emplace_back([&] {
        ++started_;
        auto r = reg_->BlobExists(repo, kDigest);
        EXPECT_TRUE(r.ok()) << r.status().message();
      });
    for (auto& t : workers) t.join();
  }
  int TokenRequests() {
    int n = 0;
    for (const auto& s : http_->sent()) n += Starts(s.url, "http://auth.test/token");
    return n;
  }

  FakeClock clock_;
  std::unique_ptr<FakeHttp> http_;
  std::unique_ptr<DistributionRegistry> reg_;
  std::atomic<int> issued_{0}, started_{0};
  std::atomic<int> hold_token_{0};  // the token request held until the workers wait
  std::mutex mu_;
  std::set<std::string> rejected_;
};

TEST_F(TokenTest, ConcurrentFirstCallersWaitForOneTokenRequest) {
  hold_token_ = 1;
  Start(300);
  CheckBlobsConcurrently("team/api");
  EXPECT_EQ(TokenRequests(), 1);
  // Another scope is another token.
  EXPECT_TRUE(reg_->BlobExists("tools/cli", kDigest).ok());
  EXPECT_EQ(TokenRequests(), 2);
}

TEST_F(TokenTest, TokenIsReusedUntilShortlyBeforeItExpires) {
  Start(60);  // renewed 10 s before the end
  ASSERT_TRUE(reg_->BlobExists("team/api", kDigest).ok());
  clock_.SleepFor(seconds(49));
  ASSERT_TRUE(reg_->BlobExists("team/api", kDigest).ok());
  EXPECT_EQ(TokenRequests(), 1);
  clock_.SleepFor(seconds(1));
  ASSERT_TRUE(reg_->BlobExists("team/api", kDigest).ok());
  EXPECT_EQ(TokenRequests(), 2);
}

TEST_F(TokenTest, ShortTokensAreRenewedAFifthBeforeTheirEnd) {
  Start(5);  // renewed at 4 s
  ASSERT_TRUE(reg_->BlobExists("team/api", kDigest).ok());
  clock_.SleepFor(milliseconds(3999));
  ASSERT_TRUE(reg_->BlobExists("team/api", kDigest).ok());
  EXPECT_EQ(TokenRequests(), 1);
  clock_.SleepFor(milliseconds(1));
  ASSERT_TRUE(reg_->BlobExists("team/api", kDigest).ok());
  EXPECT_EQ(TokenRequests(), 2);
}

TEST_F(TokenTest, RenewalIsOneRequestForEveryWaitingCaller) {
  Start(60);
  ASSERT_TRUE(reg_->BlobExists("team/api", kDigest).ok());
  clock_.SleepFor(seconds(55));
  hold_token_ = 2;
  CheckBlobsConcurrently("team/api");
  EXPECT_EQ(TokenRequests(), 2);
}

TEST_F(TokenTest, RefusedTokenIsReplacedOnceForEveryCallerItFailed) {
  Start(300);
  ASSERT_TRUE(reg_->BlobExists("team/api", kDigest).ok());
  {
    std::lock_guard<std::mutex> g(mu_);
    rejected_.insert("Bearer t1");  // revoked: every worker meets a 401 invalid_token
  }
  hold_token_ = 2;
  CheckBlobsConcurrently("team/api");
  EXPECT_EQ(TokenRequests(), 2);
}

TEST_F(TokenTest, FailedTokenRequestIsAskedAgainByTheNextCaller) {
  int asked = 0;
  http_ = std::make_unique<FakeHttp>(&clock_, [&](const HttpRequest& req) {
    if (Starts(req.url, "http://auth.test/token"))
      return ++asked == 1 ? Answer(401) : Answer(200, {}, "{\"token\":\"t\"}");
    for (const auto& [k, v] : req.headers)
      if (k == "Authorization") return Answer(200);
    return Answer(401, {{"www-authenticate", "Bearer realm=\"http://auth.test/token\""}});
  });
  DistributionOptions options;
  options.clock = &clock_;
  DistributionRegistry reg("src", "http://registry.test", Credentials{}, http_.get(), options);
  EXPECT_EQ(reg.BlobExists("a", kDigest).status().code(), core::Code::kUnauthenticated);
  EXPECT_TRUE(reg.BlobExists("a", kDigest).ok());
}

// An identity token (user "<token>") is exchanged at the realm by an OAuth2
// refresh_token POST instead of being sent as Basic credentials.
TEST(IdentityTokenTest, IsExchangedByOAuthPost) {
  FakeClock clock;
  std::string posted;
  FakeHttp http(&clock, [&](const HttpRequest& req) {
    if (Starts(req.url, "http://auth.test/token")) {
      if (req.method != "POST") return Answer(405);
      posted = req.body;
      return Answer(200, {}, R"({"access_token":"from-refresh","expires_in":300})");
    }
    for (const auto& [k, v] : req.headers)
      if (k == "Authorization" && v == "Bearer from-refresh") return Answer(200);
    return Answer(401, {{"www-authenticate",
                         "Bearer realm=\"http://auth.test/token\",service=\"registry.test\""}});
  });
  DistributionOptions options;
  options.clock = &clock;
  DistributionRegistry reg("src", "http://registry.test",
                           Credentials{kIdentityTokenUser, "refresh/secret", ""}, &http, options);
  auto r = reg.BlobExists("lib/app", kDigest);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(posted,
            "grant_type=refresh_token&client_id=crossdock&service=registry.test&refresh_token="
            "refresh%2Fsecret&scope=repository%3Alib%2Fapp%3Apull");
  for (const auto& s : http.sent())
    for (const auto& [k, v] : s.headers) EXPECT_FALSE(k == "Authorization" && v.starts_with("Basic"));
}

// An https registry whose challenge names a plain-http realm elsewhere: the credentials
// (a GCR key, a refresh token, a cloud login) would cross the network in clear.
class RealmDowngradeTest : public ::testing::Test {
 protected:
  // A registry at REGISTRY whose challenge names REALM; the realm grants "tok".
  core::Result<bool> Check(const std::string& registry, const std::string& realm, Credentials creds) {
    http_ = std::make_unique<FakeHttp>(&clock_, [realm](const HttpRequest& req) {
      if (Starts(req.url, realm)) return Answer(200, {}, R"({"token":"tok","expires_in":300})");
      for (const auto& [k, v] : req.headers)
        if (k == "Authorization" && v == "Bearer tok") return Answer(200);
      return Answer(401, {{"www-authenticate", "Bearer realm=\"" + realm + "\",service=\"r\""}});
    });
    DistributionOptions options;
    options.clock = &clock_;
    DistributionRegistry reg("src", registry, std::move(creds), http_.get(), options);
    return reg.BlobExists("lib/app", kDigest);
  }
  int RealmRequests(const std::string& realm) {
    int n = 0;
    for (const auto& s : http_->sent()) n += Starts(s.url, realm);
    return n;
  }

  FakeClock clock_;
  std::unique_ptr<FakeHttp> http_;
};

TEST_F(RealmDowngradeTest, CredentialsNeverGoFromHttpsToAPlainHttpRealmElsewhere) {
  const Credentials basic{"robot", "sekrit-password", ""};
  auto r = Check("https://registry.example", "http://auth.example/token?account=robot", basic);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), core::Code::kPermissionDenied);
  EXPECT_EQ(r.status().message(),
            "endpoint \"src\" (https://registry.example) names the token realm "
            "http://auth.example/token in its Bearer challenge, which is not https: crossdock does "
            "not send the endpoint's credentials there in clear from an https registry; have the "
            "registry name an https realm (or give the endpoint an http:// url if the whole "
            "registry really is plain http)");
  EXPECT_EQ(RealmRequests("http://auth.example/"), 0);
  EXPECT_EQ(r.status().message().find("sekrit"), std::string::npos);

  // An identity token (sent in a POST body) neither; a realm that is no URL neither.
  EXPECT_EQ(Check("https://registry.example", "http://auth.example/token",
                  {kIdentityTokenUser, "refresh", ""}).status().code(),
            core::Code::kPermissionDenied);
  EXPECT_EQ(RealmRequests("http://auth.example/"), 0);
  EXPECT_EQ(Check("https://registry.example", "auth.example/token", basic).status().code(),
            core::Code::kPermissionDenied);
}

TEST_F(RealmDowngradeTest, LoopbackPlainHttpAndAnonymousRequestsAreLeftAlone) {
  const Credentials basic{"robot", "sekrit-password", ""};
  for (const char* realm : {"http://127.0.0.1:5001/token", "http://localhost:5001/token",
                            "http://[::1]:5001/token", "https://auth.example/token"}) {
    auto r = Check("https://registry.example", realm, basic);
    EXPECT_TRUE(r.ok()) << realm << ": " << r.status().message();
  }
  // Nothing to protect: no credentials, or a registry that is plain http itself.
  EXPECT_TRUE(Check("https://registry.example", "http://auth.example/token", {}).ok());
  EXPECT_TRUE(Check("http://registry.example", "http://auth.example/token", basic).ok());
}

// A token server refusing an identity token: its OAuth error, advice for a refresh
// token, never the token.
TEST(IdentityTokenTest, ARefusalShowsTheServersErrorAndNotTheToken) {
  FakeClock clock;
  FakeHttp http(&clock, [&](const HttpRequest& req) {
    if (Starts(req.url, "http://auth.test/token"))
      return Answer(400, {}, R"({"error":"invalid_grant","error_description":"refresh token refresh/secret has expired"})");
    return Answer(401, {{"www-authenticate",
                         "Bearer realm=\"http://auth.test/token\",service=\"registry.test\""}});
  });
  DistributionOptions options;
  options.clock = &clock;
  DistributionRegistry reg("src", "http://registry.test",
                           Credentials{kIdentityTokenUser, "refresh/secret", "auths in /h/.docker/config.json"},
                           &http, options);
  auto r = reg.BlobExists("lib/app", kDigest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), core::Code::kUnauthenticated);
  EXPECT_EQ(r.status().message(),
            "token request to the auth server of endpoint \"src\" was refused (HTTP 400, "
            "invalid_grant: refresh token … has expired): the identity token (an OAuth refresh "
            "token, from auths in /h/.docker/config.json) was rejected: it may have expired or "
            "been revoked; log in again for a new one");
}

}  // namespace
}  // namespace crossdock::providers
