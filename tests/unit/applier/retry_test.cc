// The applier's per-rule retries of a transiently failed copy, per-rule timeouts, and
// stops that end a copy in flight (core::RetryPolicy itself:
// tests/unit/core/retry_test.cc). The fakes fail or slow down a
// tests/unit/fake_registry.h registry by wrapping it.
#include <gtest/gtest.h>

#include <functional>

#include <atomic>
#include <thread>

#include "applier/applier.h"
#include "tests/unit/fake_registry.h"

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
      ++downloaded_bytes;
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
      if (got > 0) ++uploaded_bytes;
      return got;
    });
  }
  std::atomic<int> aborted_downloads{0}, aborted_uploads{0};
  // Bytes that went through, for tests that act once a transfer is under way.
  std::atomic<long> downloaded_bytes{0}, uploaded_bytes{0};

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
      ++retried_;
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
  std::atomic<int> retried_{0};  // on_retry calls, readable from another thread
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

TEST_F(ApplierRetryTest, CorruptionInTransitIsRetriedAndConverges) {
  // Each blob (config, then layer) arrives corrupted on its first 3 downloads, more
  // than one attempt's 2: attempt 1 fails on the config, attempt 2 on the layer.
  FakeRegistry src("src"), dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  src.CorruptBlobs(3);
  options_.retries_for = [](const std::string&) { return 3; };
  options_.blob_attempts = 2;
  ApplyReport r = Run(&src, &dst, CopyPlan(d));
  EXPECT_EQ(r.succeeded, 1);
  EXPECT_EQ(dst.DigestOf("app", "v1"), d);
  ASSERT_EQ(retries_.size(), 2u);
  EXPECT_NE(retries_[0].find("refusing to upload corrupted content"), std::string::npos)
      << retries_[0];
}

TEST_F(ApplierRetryTest, CorruptionOnEveryRetryIsReportedCorruptAtTheSource) {
  FakeRegistry src("src"), dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  src.CorruptBlobs();
  options_.retries_for = [](const std::string&) { return 2; };
  options_.blob_attempts = 2;
  ApplyReport r = Run(&src, &dst, CopyPlan(d));
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.code(), core::Code::kDataLoss);
  EXPECT_NE(r.failures[0].status.message().find(
                " of app at endpoint \"src\" arrived corrupted on every one of 6 downloads "
                "(last: sha256:"),
            std::string::npos)
      << r.failures[0].status.message();
  EXPECT_EQ(retries_.size(), 2u);  // three attempts in all, two downloads each
  EXPECT_EQ(dst.count("PutBlob"), 0);
  EXPECT_EQ(dst.count("PutManifest"), 0);
  EXPECT_EQ(state_.Find("dst", "app", "v1"), nullptr);
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
  // The backoff alone is 10 s: ending well before it shows the timeout cut it short.
  // (Generous: a loaded machine may be slow, never 8 s slow for this.)
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.message(),
            "timed out after 150ms; attempt 1 had failed: GET manifest: HTTP 503");
}

TEST_F(ApplierRetryTest, SlowDownloadTimesOutAndNothingIsTagged) {
  // A download of some 5 s against a 2 s timeout: the deadline passes mid-transfer
  // however slow the machine is to get there.
  SlowRegistry src("src", milliseconds(5));
  FakeRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", std::string(1000, 'x'));
  options_.retries_for = [](const std::string&) { return 3; };
  options_.timeout_for = [](const std::string&) { return milliseconds(2000); };
  ApplyReport r = Run(&src, &dst, CopyPlan(d));
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.code(), core::Code::kCancelled);
  EXPECT_EQ(r.failures[0].status.message(), "timed out after 2s");
  EXPECT_TRUE(retries_.empty());  // a timeout is not retried
  EXPECT_GE(src.aborted_downloads.load(), 1);
  EXPECT_EQ(dst.count("PutManifest"), 0);
  EXPECT_FALSE(dst.DigestOf("app", "v1"));
  EXPECT_EQ(state_.Find("dst", "app", "v1"), nullptr);
}

TEST_F(ApplierRetryTest, SlowUploadIsAbortedAtTheTimeout) {
  FakeRegistry src("src");
  SlowRegistry dst("dst", milliseconds(5));
  std::string d = src.AddImage("app", "v1", std::string(1000, 'x'));  // some 5 s up
  options_.timeout_for = [](const std::string&) { return milliseconds(2000); };
  ApplyReport r = Run(&src, &dst, CopyPlan(d));
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.message(), "timed out after 2s");
  EXPECT_GE(dst.aborted_uploads.load(), 1);
  EXPECT_EQ(dst.count("PutManifest"), 0);
}

// A stop (`crossdock stop`, Ctrl-C) sets ApplyOptions::cancel while a copy is in flight.
class ApplierStopTest : public ApplierRetryTest {
 protected:
  ApplierStopTest() { options_.cancel = &stop_; }

  // Runs the plan, setting the stop flag once UNDER_WAY() holds (polled; a generous
  // deadline so a loaded machine never stops too early or not at all); returns how
  // long Apply took once the flag was set.
  std::chrono::duration<double> RunAndStop(providers::Registry* src, providers::Registry* dst,
                                           const planner::Plan& plan,
                                           std::function<bool()> under_way, ApplyReport* report) {
    std::chrono::steady_clock::time_point stopped_at;
    std::thread stopper([&] {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (!under_way() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(milliseconds(5));
      stopped_at = std::chrono::steady_clock::now();
      stop_ = true;
    });
    *report = Run(src, dst, plan);
    auto end = std::chrono::steady_clock::now();
    stopper.join();
    return end - stopped_at;
  }
  // The stop is noticed within Copier::kWakeInterval; the bound is for a loaded machine.
  static constexpr double kPromptly = 10.0;

  static constexpr const char* kStopped =
      "stopped: the copy was abandoned before it finished; nothing was tagged";
  std::atomic<bool> stop_{false};
};

TEST_F(ApplierStopTest, StopEndsASlowDownloadAtOnceAndNothingIsTagged) {
  SlowRegistry src("src", milliseconds(5));
  FakeRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", std::string(1000, 'x'));  // some 5 s
  options_.retries_for = [](const std::string&) { return 3; };
  ApplyReport r;
  auto took = RunAndStop(&src, &dst, CopyPlan(d), [&] { return src.downloaded_bytes > 0; }, &r);
  EXPECT_LT(took.count(), kPromptly);
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.not_started, 0);
  EXPECT_EQ(r.failures[0].status.code(), core::Code::kCancelled);
  EXPECT_EQ(r.failures[0].status.message(), kStopped);
  EXPECT_TRUE(retries_.empty());  // a stop is not retried
  EXPECT_GE(src.aborted_downloads.load(), 1);
  EXPECT_EQ(dst.count("PutManifest"), 0);
  EXPECT_FALSE(dst.DigestOf("app", "v1"));
  EXPECT_EQ(state_.Find("dst", "app", "v1"), nullptr);
}

TEST_F(ApplierStopTest, StopAbortsASlowUpload) {
  FakeRegistry src("src");
  SlowRegistry dst("dst", milliseconds(5));
  std::string d = src.AddImage("app", "v1", std::string(1000, 'x'));
  ApplyReport r;
  auto took = RunAndStop(&src, &dst, CopyPlan(d), [&] { return dst.uploaded_bytes > 0; }, &r);
  EXPECT_LT(took.count(), kPromptly);
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.message(), kStopped);
  EXPECT_GE(dst.aborted_uploads.load(), 1);
  EXPECT_EQ(dst.count("PutManifest"), 0);
}

TEST_F(ApplierStopTest, StopEndsAStreamedBlobWhileThePipeIsFull) {
  // Larger than the copier buffers: the download streams into the upload through a
  // bounded pipe, here filled at once by the download and drained a byte at a time,
  // so the downloading side is blocked on the pipe when the stop comes.
  FakeRegistry src("src");
  SlowRegistry dst("dst", milliseconds(5));
  std::string d = src.AddImage("app", "v1", std::string(17u << 20, 'x'));
  ApplyReport r;
  auto took = RunAndStop(&src, &dst, CopyPlan(d), [&] { return dst.uploaded_bytes > 0; }, &r);
  EXPECT_LT(took.count(), kPromptly);
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.message(), kStopped);
  EXPECT_GE(dst.aborted_uploads.load(), 1);
  EXPECT_EQ(dst.count("PutManifest"), 0);
}

TEST_F(ApplierStopTest, StopEndsALargeCopyWithinOneRegistry) {
  // Source and destination are one registry: the blob is spooled to a file first.
  SlowRegistry one("one", milliseconds(5));
  std::string d = one.AddImage("app", "v1", std::string(17u << 20, 'x'));
  planner::Plan plan = CopyPlan(d);
  plan.changes[0].destination_repository = "copy";
  ApplyReport r;
  auto took = RunAndStop(&one, &one, plan, [&] { return one.downloaded_bytes > 0; }, &r);
  EXPECT_LT(took.count(), kPromptly);
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.message(), kStopped);
  EXPECT_GE(one.aborted_downloads.load(), 1);
  EXPECT_FALSE(one.DigestOf("copy", "v1"));
}

TEST_F(ApplierStopTest, StopDuringTheWaitBeforeARetrySaysWhatHadFailed) {
  FlakyRegistry src("src", 10);
  FakeRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  options_.retries_for = [](const std::string&) { return 3; };
  options_.change_retry.base_delay = std::chrono::seconds(10);
  ApplyReport r;
  auto took = RunAndStop(&src, &dst, CopyPlan(d), [&] { return retried_ > 0; }, &r);
  EXPECT_LT(took.count(), kPromptly);
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.code(), core::Code::kCancelled);
  EXPECT_EQ(r.failures[0].status.message(),
            "stopped: the copy was abandoned after attempt 1 had failed: GET manifest: HTTP 503");
  EXPECT_EQ(retries_.size(), 1u);
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
