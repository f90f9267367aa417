// Test doubles for DistributionRegistry: a virtual clock, an HttpClient that
// answers from a function and records every request it was sent, and a fixture
// making registries on them. Used by the tests of tests/unit/providers/.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/retry.h"
#include "providers/distribution/client.h"
#include "providers/http.h"

namespace crossdock::providers {

using std::chrono::milliseconds;
using std::chrono::seconds;
using TimePoint = std::chrono::steady_clock::time_point;

// Virtual time: SleepUntil moves the clock forward instead of waiting.
class FakeClock : public core::Clock {
 public:
  TimePoint Now() override {
    std::lock_guard<std::mutex> g(mu_);
    return now_;
  }
  void SleepUntil(TimePoint t) override {
    std::lock_guard<std::mutex> g(mu_);
    now_ = std::max(now_, t);
  }
  // Time since the start.
  milliseconds Elapsed() { return std::chrono::duration_cast<milliseconds>(Now() - TimePoint()); }

 private:
  std::mutex mu_;
  TimePoint now_{};
};

// Answers each request with ANSWER(request); records what was sent and when.
class FakeHttp : public HttpClient {
 public:
  struct Sent {
    std::string method, url;
    milliseconds at;
    std::vector<std::pair<std::string, std::string>> headers;
    std::int64_t max_body_size;
  };
  FakeHttp(FakeClock* clock, std::function<HttpResponse(const HttpRequest&)> answer)
      : clock_(clock), answer_(std::move(answer)) {}

  core::Result<HttpResponse> Do(const HttpRequest& req) override {
    {
      std::lock_guard<std::mutex> g(mu_);
      sent_.push_back(
          {req.method, req.url, clock_ ? clock_->Elapsed() : milliseconds(0), req.headers,
           req.max_body_size});
    }
    core::Result<HttpResponse> r = answer_(req);
    // As the curl client: a buffered body over the request's cap is not kept.
    if (r.ok() && static_cast<std::int64_t>(r->body.size()) > req.max_body_size) {
      r->body.clear();
      r->body_too_large = true;
    }
    return r;
  }
  std::vector<Sent> sent() {
    std::lock_guard<std::mutex> g(mu_);
    return sent_;
  }
  // How many METHOD requests were sent to a URL containing PART.
  int Count(const std::string& method, const std::string& part) {
    std::lock_guard<std::mutex> g(mu_);
    return static_cast<int>(std::count_if(sent_.begin(), sent_.end(), [&](const Sent& s) {
      return s.method == method && s.url.find(part) != std::string::npos;
    }));
  }

 private:
  FakeClock* clock_;
  std::function<HttpResponse(const HttpRequest&)> answer_;
  std::mutex mu_;
  std::vector<Sent> sent_;
};

inline HttpResponse Answer(long status, std::multimap<std::string, std::string> headers = {},
                           std::string body = "") {
  HttpResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

inline bool Ends(const std::string& url, const std::string& suffix) {
  return url.size() >= suffix.size() &&
         url.compare(url.size() - suffix.size(), suffix.size(), suffix) == 0;
}

inline bool Starts(const std::string& url, const std::string& prefix) {
  return url.rfind(prefix, 0) == 0;
}

// The digest of the empty string: a valid sha256 digest.
inline constexpr const char* kDigest =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// A fixture whose registries ("src") run on the fake clock.
class FakeClockRegistryTest : public ::testing::Test {
 protected:
  std::unique_ptr<DistributionRegistry> Make(HttpClient* http,
                                             const std::string& base_url = "http://registry.test",
                                             Credentials credentials = {}) {
    DistributionOptions options;
    options.clock = &clock_;
    return std::make_unique<DistributionRegistry>("src", base_url, std::move(credentials), http,
                                                  options);
  }

  FakeClock clock_;
};

}  // namespace crossdock::providers
