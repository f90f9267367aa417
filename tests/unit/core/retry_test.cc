// core::RetryPolicy and core::ParseRateLimit, then the applier's use of them: per-rule
// retries of a transiently failed copy and per-rule timeouts (their fakes fail or
// slow down a tests/unit/fake_registry.h registry by wrapping it).
#include "core/retry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "applier/applier.h"
#include "tests/unit/fake_registry.h"

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

namespace crossdock::applier {
namespace {

using std::chrono::milliseconds;
using testing::FakeRegistry;

// Fails the first `failures` GetManifest calls with Unavailable (a flaky link).
class FlakyRegistry : public FakeRegistry {
 public:
  FlakyRegistry(std::string name, int failures) : FakeRegistry(std::move(name)), failures_(failures) {}
  core::Result<providers::Manifest> GetManifest(const std::string& repo,
                                                const std::string& ref) override {
    if (failures_-- > 0) return core::Status::Unavailable("GET manifest: HTTP 503");
    return FakeRegistry::GetManifest(repo, ref);
  }

 private:
  std::atomic<int> failures_;
};

// Moves blob bytes one at a time, DELAY apart, in either direction; records aborts.
class SlowRegistry : public FakeRegistry {
 public:
  SlowRegistry(std::string name, milliseconds delay) : FakeRegistry(std::move(name)), delay_(delay) {}
  core::Status GetBlob(const std::string& repo, const std::string& digest,
                       const providers::BlobSink& sink) override {
    std::string data;
    CROSSDOCK_RETURN_IF_ERROR(FakeRegistry::GetBlob(repo, digest, [&](const char* p, size_t n) {
      data.append(p, n);
      return true;
    }));
    for (char c : data) {
      std::this_thread::sleep_for(delay_);
      if (!sink(&c, 1)) {
        ++aborted_downloads;
        return core::Status::Cancelled("download aborted");
      }
    }
    return core::Status::Ok();
  }
  core::Status PutBlob(const std::string& repo, const std::string& digest, std::int64_t size,
                       const providers::BlobSource& source) override {
    return FakeRegistry::PutBlob(repo, digest, size, [&](char* buf, size_t n) {
      std::this_thread::sleep_for(delay_);
      long got = source(buf, std::min<size_t>(n, 1));
      if (got < 0) ++aborted_uploads;
      return got;
    });
  }
  std::atomic<int> aborted_downloads{0}, aborted_uploads{0};

 private:
  milliseconds delay_;
};

class ApplierRetryTest : public ::testing::Test {
 protected:
  ApplierRetryTest()
      : recorder_(&state_, [](state::State* s) {
          ++s->serial;
          return core::Status::Ok();
        }) {
    options_.change_retry.base_delay = milliseconds(1);
    options_.on_retry = [this](const planner::Change& c, int attempt, const core::Status& st) {
      retries_.push_back(c.tag + " attempt " + std::to_string(attempt) + ": " + st.message());
    };
  }

  planner::Plan CopyPlan(const std::string& digest) {
    planner::Change c;
    c.rule = "r";
    c.action = planner::Action::kCreate;
    c.source_endpoint = "src";
    c.source_repository = "app";
    c.source_digest = digest;
    c.destination_endpoint = "dst";
    c.destination_repository = "app";
    c.tag = "v1";
    planner::Plan plan;
    plan.changes = {c};
    return plan;
  }

  ApplyReport Run(providers::Registry* src, providers::Registry* dst, const planner::Plan& plan) {
    return Apply(plan, {{"src", src}, {"dst", dst}}, &recorder_, options_);
  }

  state::State state_;
  StateRecorder recorder_;
  ApplyOptions options_;
  std::vector<std::string> retries_;
};

TEST_F(ApplierRetryTest, TransientFailureIsRetriedAndReported) {
  FlakyRegistry src("src", 2);
  FakeRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  options_.retries_for = [](const std::string& rule) { return rule == "r" ? 3 : 0; };
  ApplyReport r = Run(&src, &dst, CopyPlan(d));
  EXPECT_EQ(r.succeeded, 1);
  EXPECT_EQ(dst.DigestOf("app", "v1"), d);
  EXPECT_EQ(retries_, (std::vector<std::string>{"v1 attempt 1: GET manifest: HTTP 503",
                                                "v1 attempt 2: GET manifest: HTTP 503"}));
}

TEST_F(ApplierRetryTest, WithoutRetriesForAFailureIsFinal) {
  FlakyRegistry src("src", 1);
  FakeRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  ApplyReport r = Run(&src, &dst, CopyPlan(d));
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.message(), "GET manifest: HTTP 503");
  EXPECT_TRUE(retries_.empty());
}

TEST_F(ApplierRetryTest, GivesUpAfterTheRulesRetries) {
  FlakyRegistry src("src", 10);
  FakeRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  options_.retries_for = [](const std::string&) { return 2; };
  ApplyReport r = Run(&src, &dst, CopyPlan(d));
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(retries_.size(), 2u);  // three attempts in all
  EXPECT_EQ(r.failures[0].status.message(), "GET manifest: HTTP 503");
  EXPECT_FALSE(dst.DigestOf("app", "v1"));
}

TEST_F(ApplierRetryTest, CorruptionIsNeverRetried) {
  FakeRegistry src("src"), dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  src.CorruptBlobs();
  options_.retries_for = [](const std::string&) { return 3; };
  ApplyReport r = Run(&src, &dst, CopyPlan(d));
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.code(), core::Code::kDataLoss);
  EXPECT_TRUE(retries_.empty());
}

TEST_F(ApplierRetryTest, BackoffStopsAtTheTimeout) {
  FlakyRegistry src("src", 10);
  FakeRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  options_.retries_for = [](const std::string&) { return 3; };
  options_.change_retry.base_delay = std::chrono::seconds(10);
  options_.timeout_for = [](const std::string&) { return milliseconds(150); };
  auto start = std::chrono::steady_clock::now();
  ApplyReport r = Run(&src, &dst, CopyPlan(d));
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(900));
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.message(),
            "timed out after 150ms; attempt 1 had failed: GET manifest: HTTP 503");
}

TEST_F(ApplierRetryTest, SlowDownloadTimesOutAndNothingIsTagged) {
  SlowRegistry src("src", milliseconds(20));
  FakeRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "a layer of some thirty bytes");
  options_.retries_for = [](const std::string&) { return 3; };
  options_.timeout_for = [](const std::string&) { return milliseconds(200); };
  ApplyReport r = Run(&src, &dst, CopyPlan(d));
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.code(), core::Code::kCancelled);
  EXPECT_EQ(r.failures[0].status.message(), "timed out after 200ms");
  EXPECT_TRUE(retries_.empty());  // a timeout is not retried
  EXPECT_GE(src.aborted_downloads.load(), 1);
  EXPECT_EQ(dst.count("PutManifest"), 0);
  EXPECT_FALSE(dst.DigestOf("app", "v1"));
  EXPECT_EQ(state_.Find("dst", "app", "v1"), nullptr);
}

TEST_F(ApplierRetryTest, SlowUploadIsAbortedAtTheTimeout) {
  FakeRegistry src("src");
  SlowRegistry dst("dst", milliseconds(20));
  std::string d = src.AddImage("app", "v1", "a layer of some thirty bytes");
  options_.timeout_for = [](const std::string&) { return milliseconds(200); };
  ApplyReport r = Run(&src, &dst, CopyPlan(d));
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.message(), "timed out after 200ms");
  EXPECT_GE(dst.aborted_uploads.load(), 1);
  EXPECT_EQ(dst.count("PutManifest"), 0);
}

TEST_F(ApplierRetryTest, RuleSettingsComeFromTheConfig) {
  core::Config config;
  core::Rule fast, slow;
  fast.name = "fast";
  fast.retries = 0;
  slow.name = "slow";
  slow.timeout = std::chrono::minutes(30);
  config.rules = {fast, slow};
  ApplyOptions o;
  UseRuleRetriesAndTimeouts(config, &o);
  EXPECT_EQ(o.retries_for("fast"), 0);
  EXPECT_EQ(o.retries_for("slow"), 3);
  EXPECT_EQ(o.timeout_for("fast"), std::nullopt);
  EXPECT_EQ(o.timeout_for("slow"), milliseconds(30 * 60 * 1000));
}

TEST(FormatDurationTest, GoStyleWithoutZeroUnits) {
  EXPECT_EQ(FormatDuration(std::chrono::minutes(30)), "30m");
  EXPECT_EQ(FormatDuration(std::chrono::minutes(90)), "1h30m");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(90)), "1m30s");
  EXPECT_EQ(FormatDuration(std::chrono::hours(2) + std::chrono::seconds(5)), "2h5s");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(milliseconds(150)), "150ms");
}

}  // namespace
}  // namespace crossdock::applier
