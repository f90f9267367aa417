// End to end: `crossdock serve` receiving real docker-registry notifications,
// checked with HeadDigest and curl (tests/e2e/harness.h).
#include <gtest/gtest.h>

#include <thread>

#include "tests/e2e/harness.h"

namespace crossdock::testing {
namespace {

constexpr const char* kToken = "e2e-webhook-t0ken";

struct Answer {
  int status = 0;
  std::string body;
};

// One request to serve with curl; EXTRA holds headers and data arguments.
Answer Curl(const std::string& method, const std::string& url, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {"curl", "-sS", "-X", method, "-w", "\n%{http_code}", url};
  argv.insert(argv.end(), extra.begin(), extra.end());
  RunResult r = RunCommand(argv, {}, "", 30);
  auto nl = r.out.rfind('\n');
  if (r.exit_code != 0 || nl == std::string::npos) {
    throw HarnessError("curl " + url + " failed: " + r.err);
  }
  return {std::stoi(r.out.substr(nl + 1)), r.out.substr(0, nl)};
}

// Polls CHECK every 100 ms for up to TIMEOUT.
template <typename F>
bool Eventually(F check, std::chrono::seconds timeout = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return check();
}

class ServeTest : public ::testing::Test {
 protected:
  ServeTest()
      : port_(FreePort()),
        src_(Registry::Options{
            .notifications = {Registry::Notification{
                .url = "http://127.0.0.1:" + std::to_string(port_) + "/webhooks/distribution",
                .headers = {{"Authorization", std::string("Bearer ") + kToken}}}}}) {
    config_ = dir_.Sub("crossdock.toml");
    layout_ = dir_.Sub("layout");
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // Two event rules from src to dst: keep/** without delete, prune/** with it.
  void WriteConfig(const std::string& src_url, const std::string& dst_url) {
    WriteFile(config_, "[settings.webhook]\ntoken = \"env:CROSSDOCK_E2E_HOOK\"\n\n"
                       "[endpoints.src]\nurl = \"" + src_url + "\"\n\n"
                       "[endpoints.dst]\nurl = \"" + dst_url + "\"\n\n"
                       "[rules.keep]\nsource = \"src\"\ndestination = \"dst\"\n"
                       "repositories = [\"keep/**\"]\nevents = true\n\n"
                       "[rules.prune]\nsource = \"src\"\ndestination = \"dst\"\n"
                       "repositories = [\"prune/**\"]\nevents = true\ndelete = true\n");
  }

  std::unique_ptr<Process> StartServe() {
    auto p = std::make_unique<Process>(
        std::vector<std::string>{CrossdockBin(), "serve", "--listen",
                                 "127.0.0.1:" + std::to_string(port_), "-c", config_},
        dir_.Sub("serve.log"), std::map<std::string, std::string>{{"CROSSDOCK_E2E_HOOK", kToken}},
        dir_.path());
    if (!p->WaitForLog("listening on")) throw HarnessError("serve did not start:\n" + p->log());
    return p;
  }

  std::string Seed(const std::string& repo, const std::string& tag, uint64_t seed) {
    ImageSpec spec;
    spec.layers = {LayerSpec{.size = 2048, .seed = seed}};
    spec.labels = {{"seed", std::to_string(seed)}};
    std::string name = "img" + std::to_string(seed);
    BuiltImage img = BuildImage(layout_, name, spec);
    Push(layout_, name, src_, repo, tag);
    return img.digest;
  }

  TempDir dir_;
  int port_;
  Registry src_;
  Registry dst_;
  std::string config_, layout_;
};

TEST_F(ServeTest, PushesReplicateAndDeletesFollowOnlyUnderDeleteTrue) {
  WriteConfig(src_.url(), dst_.url());
  auto serve = StartServe();

  std::string keep = Seed("keep/app", "v1", 31);
  std::string prune = Seed("prune/app", "v1", 32);
  EXPECT_TRUE(Eventually([&] { return HeadDigest(dst_, "keep/app", "v1") == keep; }))
      << serve->log();
  EXPECT_TRUE(Eventually([&] { return HeadDigest(dst_, "prune/app", "v1") == prune; }))
      << serve->log();

  // Notified in this order, journaled and executed in it: once prune's delete has
  // reached the destination, keep's has been handled too.
  DeleteTag(src_, "keep/app", "v1");
  DeleteTag(src_, "prune/app", "v1");
  EXPECT_TRUE(Eventually([&] { return !HeadDigest(dst_, "prune/app", "v1").has_value(); }))
      << serve->log();
  EXPECT_EQ(HeadDigest(dst_, "keep/app", "v1"), keep) << serve->log();
  EXPECT_NE(serve->log().find("accepted delete keep/app"), std::string::npos) << serve->log();

  EXPECT_EQ(serve->Stop(), 0) << serve->log();
  EXPECT_NE(serve->log().find("crossdock serve: stopped"), std::string::npos) << serve->log();
  // Everything journaled was executed and its offset recorded.
  std::string journal = ReadFile(dir_.Sub("crossdock.state.json.events.jsonl"));
  EXPECT_EQ(ReadFile(dir_.Sub("crossdock.state.json.events.offset")),
            std::to_string(journal.size()) + "\n");
}

TEST_F(ServeTest, RefusesUnauthenticatedOversizedAndMalformedBodiesAndStartsWithSourcesDown) {
  // Neither endpoint answers: serve starts all the same.
  WriteConfig("http://127.0.0.1:" + std::to_string(FreePort()),
              "http://127.0.0.1:" + std::to_string(FreePort()));
  auto serve = StartServe();
  const std::string auth = std::string("Authorization: Bearer ") + kToken;
  const std::string hook = Url("/webhooks/distribution");

  Answer health = Curl("GET", Url("/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok");

  EXPECT_EQ(Curl("POST", hook, {"--data-binary", "{\"events\":[]}"}).status, 401);
  EXPECT_EQ(Curl("POST", hook, {"-H", "Authorization: Bearer wrong", "--data-binary",
                                "{\"events\":[]}"})
                .status,
            401);

  WriteFile(dir_.Sub("big.json"), "{\"events\":[],\"pad\":\"" + std::string(2 << 20, 'x') + "\"}");
  EXPECT_EQ(Curl("POST", hook, {"-H", auth, "--data-binary", "@" + dir_.Sub("big.json")}).status,
            413);

  Answer malformed = Curl("POST", hook, {"-H", auth, "--data-binary", "{\"event\":[]}"});
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.body,
            "the body is not a distribution notification envelope: it needs an \"events\" "
            "array\n");

  Answer unknown = Curl("POST", Url("/webhooks/distribution/harbr"),
                        {"-H", auth, "--data-binary", "{\"events\":[]}"});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, "no endpoint named \"harbr\" in the configuration\n");

  Answer empty = Curl("POST", Url("/webhooks/distribution/src"),
                      {"-H", auth, "--data-binary", "{\"events\":[]}"});
  EXPECT_EQ(empty.status, 202);
  EXPECT_EQ(empty.body, "{\"accepted\":0,\"ignored\":0}\n");

  // A second serve (or run) on the same state is refused by the lock.
  RunResult second = RunCrossdock({"serve", "--listen", "127.0.0.1:" + std::to_string(FreePort()),
                                   "-c", config_},
                                  {{"CROSSDOCK_E2E_HOOK", kToken}}, dir_.path(), 30);
  EXPECT_EQ(second.exit_code, 1) << second.out << second.err;

  EXPECT_EQ(serve->Stop(), 0) << serve->log();
}

}  // namespace
}  // namespace crossdock::testing
