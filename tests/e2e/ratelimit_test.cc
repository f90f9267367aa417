// End to end: an endpoint's request limits with the real binary and real registries.
// A proxy answering 429 with Retry-After makes crossdock wait and then succeed;
// rate_limit paces a plan. Results are checked with curl (HeadDigest), request counts
// with the proxy's own /__stats.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The proxy's /__stats, read without crossdock.
nlohmann::json ProxyStats(const CorruptProxy& proxy) {
  HttpAnswer a = CurlRequest(proxy, "GET", "/__stats", {}, {}, std::string());
  if (a.status != 200) throw HarnessError("GET /__stats answered " + std::to_string(a.status));
  return nlohmann::json::parse(a.body);
}

class RateLimitTest : public ::testing::Test {
 protected:
  RateLimitTest() {
    layout_ = dir_.Sub("layout");
    config_ = dir_.Sub("crossdock.toml");
  }

  // crossdock.toml copying every repository from SRC_URL to the destination, with
  // SRC_EXTRA added to the source endpoint.
  void WriteConfig(const std::string& src_url, const std::string& src_extra = "") {
    WriteFile(config_, "[endpoints.src]\nurl = \"" + src_url + "\"\n" + src_extra +
                           "\n[endpoints.dst]\nurl = \"" + dst_.url() +
                           "\"\n\n[rules.mirror]\nsource = \"src\"\ndestination = \"dst\"\n");
  }

  RunResult Crossdock(std::vector<std::string> args) {
    args.insert(args.end(), {"-c", config_, "--no-color"});
    return RunCrossdock(args, {}, dir_.path(), 60);
  }

  BuiltImage Seed(const std::string& repo, const std::string& tag, uint64_t seed) {
    ImageSpec spec;
    spec.layers = {LayerSpec{.size = 4096, .seed = 1}, LayerSpec{.size = 2048, .seed = seed}};
    spec.labels = {{"seed", std::to_string(seed)}};
    BuiltImage img = BuildImage(layout_, repo, spec);
    Push(layout_, repo, src_, repo, tag);
    return img;
  }

  TempDir dir_;
  Registry src_;
  Registry dst_;
  std::string layout_, config_;
};

TEST_F(RateLimitTest, PlanWarnsWhenTheSourcesPullBudgetIsTooSmall) {
  Seed("app", "v1", 1);
  Seed("app", "v2", 2);
  Seed("web", "v1", 3);
  // Docker Hub's headers, with two pulls left: the plan needs three.
  CorruptProxy proxy(src_, CorruptProxy::Options{.corrupt_blobs = false, .pull_limit = 2});
  WriteConfig(proxy.url());
  RunResult plan = Crossdock({"plan"});
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("Warning: endpoint \"src\" allows 2 more pulls in its rate-limit window "
                          "(RateLimit-Remaining) and this plan pulls at least 3 manifests from it"),
            std::string::npos)
      << plan.out;
  RunResult json = Crossdock({"plan", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto warnings = nlohmann::json::parse(json.out).at("warnings");
  ASSERT_EQ(warnings.size(), 1u) << json.out;
  // With budget enough, no warning.
  CorruptProxy roomy(src_, CorruptProxy::Options{.corrupt_blobs = false, .pull_limit = 100});
  WriteConfig(roomy.url());
  RunResult quiet = Crossdock({"plan"});
  EXPECT_EQ(quiet.out.find("Warning:"), std::string::npos) << quiet.out;
}

TEST_F(RateLimitTest, TooManyRequestsWithRetryAfterIsWaitedOutThenTheCopySucceeds) {
  BuiltImage app = Seed("app", "v1", 1);
  BuiltImage web = Seed("web", "v1", 2);
  CorruptProxy proxy(src_, CorruptProxy::Options{.corrupt_blobs = false, .fail_429 = 3});
  WriteConfig(proxy.url());

  auto start = Clock::now();
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  double secs = SecondsSince(start);
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(dst_, "app", "v1"), app.digest);
  EXPECT_EQ(HeadDigest(dst_, "web", "v1"), web.digest);
  EXPECT_EQ(ProxyStats(proxy).at("throttled").get<int>(), 3);
  // Retry-After: 1 paused the endpoint; nothing went on before the second passed.
  EXPECT_GE(secs, 0.95) << apply.out;
  EXPECT_EQ(Crossdock({"plan", "--detailed-exitcode"}).exit_code, 0);
}

TEST_F(RateLimitTest, RateLimitPacesEveryRequestToTheEndpoint) {
  Seed("app", "v1", 1);
  std::vector<std::string> tags;
  for (int i = 2; i <= 35; ++i) tags.push_back("v" + std::to_string(i));
  PushManifestUnderTags(src_, "app", "v1", tags);

  CorruptProxy unlimited_proxy(src_, CorruptProxy::Options{.corrupt_blobs = false});
  WriteConfig(unlimited_proxy.url());
  RunResult unlimited = Crossdock({"plan"});
  ASSERT_EQ(unlimited.exit_code, 0) << unlimited.out << unlimited.err;

  CorruptProxy proxy(src_, CorruptProxy::Options{.corrupt_blobs = false});
  WriteConfig(proxy.url(), "rate_limit = \"20/s\"\n");
  auto start = Clock::now();
  RunResult limited = Crossdock({"plan"});
  double secs = SecondsSince(start);
  ASSERT_EQ(limited.exit_code, 0) << limited.out << limited.err;
  EXPECT_EQ(limited.out, unlimited.out);
  nlohmann::json stats = ProxyStats(proxy);
  int requests = stats.at("requests").get<int>();
  EXPECT_GE(requests, 36);  // ping, tag list, a manifest per tag
  // One request every 50 ms at most: the whole plan cannot take less. (How close two
  // requests arrive at the proxy depends on the machine's load, so it is not asserted.)
  EXPECT_GE(secs, (requests - 1) / 20.0 * 0.95) << requests << " requests";
  EXPECT_GE(secs, 1.5);
}

TEST_F(RateLimitTest, OneConnectionSufficesForALargeBlobWithinOneRegistry) {
  // Source and destination are one endpoint allowing one request at a time: a blob
  // too large to buffer cannot stream from a download into an upload held open at
  // once, so it goes through a temporary file instead of waiting forever.
  ImageSpec spec;
  spec.layers = {LayerSpec{.size = 20u << 20, .seed = 9}};
  BuiltImage big = BuildImage(layout_, "big", spec);
  Push(layout_, "big", src_, "big", "v1");
  WriteFile(config_, "[endpoints.one]\nurl = \"" + src_.url() +
                         "\"\nmax_connections = 1\n\n[rules.copy]\nsource = \"one\"\n"
                         "destination = \"one\"\nrepositories = [\"big\"]\n"
                         "dest_namespace = \"copy\"\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(src_, "copy/big", "v1"), big.digest);
  for (const auto& b : big.blobs) EXPECT_TRUE(BlobExists(src_, "copy/big", b)) << b;
}

TEST_F(RateLimitTest, OneConnectionEachSufficesForLargeBlobsCopiedBothWays) {
  // Two rules copy large blobs in opposite directions at once between two endpoints
  // allowing one request each: a stream holds a download and an upload, and the two
  // streams must not each hold one endpoint while waiting for the other.
  ImageSpec spec;
  spec.layers = {LayerSpec{.size = 20u << 20, .seed = 10}};
  BuiltImage one = BuildImage(layout_, "one", spec);
  spec.layers = {LayerSpec{.size = 20u << 20, .seed = 11}};
  BuiltImage two = BuildImage(layout_, "two", spec);
  Push(layout_, "one", src_, "one", "v1");
  Push(layout_, "two", dst_, "two", "v1");
  WriteFile(config_, "[endpoints.a]\nurl = \"" + src_.url() + "\"\nmax_connections = 1\n\n"
                     "[endpoints.b]\nurl = \"" + dst_.url() + "\"\nmax_connections = 1\n\n"
                     "[rules.ab]\nsource = \"a\"\ndestination = \"b\"\nrepositories = [\"one\"]\n\n"
                     "[rules.ba]\nsource = \"b\"\ndestination = \"a\"\nrepositories = [\"two\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(dst_, "one", "v1"), one.digest);
  EXPECT_EQ(HeadDigest(src_, "two", "v1"), two.digest);
}

TEST_F(RateLimitTest, BadLimitsAreRefusedWithTheirPosition) {
  WriteConfig(src_.url(), "rate_limit = \"10/x\"\nmax_connections = 0\n");
  RunResult validate = Crossdock({"validate"});
  EXPECT_EQ(validate.exit_code, 1);
  EXPECT_NE(validate.err.find("crossdock.toml:3:14: error: rate_limit \"10/x\" of endpoint \"src\": "
                              "use REQUESTS/s or REQUESTS/m, e.g. \"10/s\""),
            std::string::npos)
      << validate.err;
  EXPECT_NE(validate.err.find("crossdock.toml:4:19: error: \"max_connections\" in endpoint "
                              "\"src\" must be between 1 and 256"),
            std::string::npos)
      << validate.err;
}

}  // namespace
}  // namespace crossdock::testing
