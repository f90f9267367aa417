// End to end: `crossdock serve` receiving real docker-registry notifications,
// checked with HeadDigest and curl (tests/support/harness.h).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "tests/support/harness.h"

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

// A TCP connection to 127.0.0.1:PORT that never sends a byte (a port scanner, a load
// balancer's TCP check, an attacker); closed by the destructor.
class IdleConnection {
 public:
  explicit IdleConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw HarnessError("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  ~IdleConnection() { ::close(fd_); }
  IdleConnection(const IdleConnection&) = delete;
  IdleConnection& operator=(const IdleConnection&) = delete;

 private:
  int fd_;
};

// Polls CHECK every 100 ms for up to TIMEOUT.
template <typename F>
// Generous by default: a loaded machine may take many times longer than an idle one.
bool Eventually(F check, std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    // A registry may answer 500 for a tag whose manifest it is deleting at that moment
    // (a HEAD of prune/app:v1 did, under load, while serve deleted it): only an answer
    // still missing at the deadline fails the test (the last check throws then).
    try {
      if (check()) return true;
    } catch (const HarnessError&) {
    }
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

  // crossdock serve, or with COMMAND = "run", crossdock run --listen.
  std::unique_ptr<Process> StartServe(const std::string& command = "serve") {
    auto p = std::make_unique<Process>(
        std::vector<std::string>{CrossdockBin(), command, "--listen",
                                 "127.0.0.1:" + std::to_string(port_), "-c", config_},
        dir_.Sub(command + ".log"),
        std::map<std::string, std::string>{{"CROSSDOCK_E2E_HOOK", kToken}}, dir_.path());
    const std::string ready = command == "serve" ? "listening on" : "webhooks on";
    if (!p->WaitForLog(ready)) throw HarnessError(command + " did not start:\n" + p->log());
    return p;
  }

  // A Harbor webhook payload (Default format, as goharbor/harbor's
  // src/controller/event/handler/webhook/artifact/artifact.go builds it) for an
  // artifact of REGISTRY; Harbor sends its policy's auth header verbatim.
  Answer PostHarbor(const Registry& registry, const std::string& type, const std::string& repo,
                    const std::string& tag, const std::string& digest) {
    std::string body =
        R"({"type":")" + type + R"(","occur_at":1737446601,"operator":"admin","event_data":)"
        R"({"resources":[{"digest":")" + digest + R"(","tag":")" + tag +
        R"(","resource_url":")" + registry.host() + "/" + repo + ":" + tag +
        R"("}],"repository":{"date_created":1737446600,"name":"app","namespace":")" +
        repo.substr(0, repo.find('/')) + R"(","repo_full_name":")" + repo +
        R"(","repo_type":"private"}}})";
    return Curl("POST", Url("/webhooks/harbor"),
                {"-H", "Content-Type: application/json", "-H", std::string("Authorization: ") + kToken,
                 "--data-binary", body});
  }

  // One distribution push notification for REPO:TAG@DIGEST, as docker-registry sends
  // it, posted to /webhooks/distribution/src.
  Answer PostPush(const std::string& repo, const std::string& tag, const std::string& digest) {
    std::string body =
        R"({"events":[{"id":"e1","timestamp":"2025-01-21T08:03:21Z","action":"push",)"
        R"("target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":500,)"
        R"("digest":")" + digest + R"(","length":500,"repository":")" + repo +
        R"(","url":"http://127.0.0.1:5000/v2/)" + repo + "/manifests/" + digest +
        R"(","tag":")" + tag + R"("},"request":{"id":"r1","addr":"127.0.0.1:4000",)"
        R"("host":"127.0.0.1:5000","method":"PUT","useragent":"skopeo"},)"
        R"("actor":{},"source":{"addr":"h:5000","instanceID":"i1"}}]})";
    return Curl("POST", Url("/webhooks/distribution/src"),
                {"-H", "Content-Type: application/vnd.docker.distribution.events.v1+json", "-H",
                 std::string("Authorization: Bearer ") + kToken, "--data-binary", body});
  }

  std::string Seed(const std::string& repo, const std::string& tag, uint64_t seed) {
    return SeedInto(src_, repo, tag, seed);
  }
  std::string SeedInto(const Registry& registry, const std::string& repo, const std::string& tag,
                       uint64_t seed) {
    ImageSpec spec;
    spec.layers = {LayerSpec{.size = 2048, .seed = seed}};
    spec.labels = {{"seed", std::to_string(seed)}};
    std::string name = "img" + std::to_string(seed);
    BuiltImage img = BuildImage(layout_, name, spec);
    Push(layout_, name, registry, repo, tag);
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

  // distribution notifies a delete twice, by digest and then by tag alone, in separate
  // requests: the second may still be on its way (or waiting for its execution) when
  // the first has taken effect. Once it is in, everything journaled gets executed and
  // the journal emptied.
  EXPECT_TRUE(Eventually([&] {
    return serve->log().find("accepted delete prune/app:v1 ") != std::string::npos;
  })) << serve->log();
  EXPECT_TRUE(Eventually([&] {
    return ReadFile(dir_.Sub("crossdock.state.json.events.jsonl")).empty() &&
           ReadFile(dir_.Sub("crossdock.state.json.events.offset")) == "0\n";
  })) << serve->log();
  EXPECT_EQ(serve->Stop(), 0) << serve->log();
  EXPECT_NE(serve->log().find("crossdock serve: stopped"), std::string::npos) << serve->log();
  EXPECT_EQ(ReadFile(dir_.Sub("crossdock.state.json.events.jsonl")), "");
  EXPECT_EQ(ReadFile(dir_.Sub("crossdock.state.json.events.offset")), "0\n");
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

TEST_F(ServeTest, HarborPayloadsReplicatePushesAndDeletesAndShowInMetrics) {
  // A registry that notifies nobody stands in for Harbor's data plane; the test posts
  // the webhooks Harbor would send for it.
  Registry harbor;
  WriteConfig(harbor.url(), dst_.url());
  auto serve = StartServe();

  std::string keep = SeedInto(harbor, "keep/app", "v1", 41);
  std::string prune = SeedInto(harbor, "prune/app", "v1", 42);
  Answer pushed = PostHarbor(harbor, "PUSH_ARTIFACT", "keep/app", "v1", keep);
  EXPECT_EQ(pushed.status, 202);
  EXPECT_EQ(pushed.body, "{\"accepted\":1,\"ignored\":0}\n");
  EXPECT_EQ(PostHarbor(harbor, "PUSH_ARTIFACT", "prune/app", "v1", prune).status, 202);
  EXPECT_TRUE(Eventually([&] { return HeadDigest(dst_, "keep/app", "v1") == keep; }))
      << serve->log();
  EXPECT_TRUE(Eventually([&] { return HeadDigest(dst_, "prune/app", "v1") == prune; }))
      << serve->log();

  // Pulls start nothing; an unknown repository is ignored, not an error.
  EXPECT_EQ(PostHarbor(harbor, "PULL_ARTIFACT", "keep/app", "v1", keep).body,
            "{\"accepted\":0,\"ignored\":0}\n");
  EXPECT_EQ(PostHarbor(harbor, "PUSH_ARTIFACT", "other/app", "v1", keep).body,
            "{\"accepted\":0,\"ignored\":1}\n");
  // Harbor's token check: the raw secret and "Bearer <secret>" pass, others do not.
  Answer wrong = Curl("POST", Url("/webhooks/harbor"),
                      {"-H", "Authorization: Basic eDp5", "--data-binary", "{}"});
  EXPECT_EQ(wrong.status, 401);

  DeleteTag(harbor, "keep/app", "v1");
  DeleteTag(harbor, "prune/app", "v1");
  EXPECT_EQ(PostHarbor(harbor, "DELETE_ARTIFACT", "keep/app", "v1", keep).status, 202);
  EXPECT_EQ(PostHarbor(harbor, "DELETE_ARTIFACT", "prune/app", "v1", prune).status, 202);
  EXPECT_TRUE(Eventually([&] { return !HeadDigest(dst_, "prune/app", "v1").has_value(); }))
      << serve->log();
  EXPECT_EQ(HeadDigest(dst_, "keep/app", "v1"), keep) << serve->log();

  Answer metrics = Curl("GET", Url("/metrics"));
  EXPECT_EQ(metrics.status, 200);
  for (const char* line : {
           "crossdock_webhook_requests_total{code=\"202\",source=\"harbor\"} 6",
           "crossdock_webhook_requests_total{code=\"401\",source=\"harbor\"} 1",
           "crossdock_webhook_events_total{outcome=\"ignored\"} 1",
           "crossdock_event_queue_depth 0",
           "crossdock_tasks_total{operation=\"delete\",status=\"succeeded\"} 1",
       }) {
    EXPECT_NE(metrics.body.find(line), std::string::npos) << line << "\n" << metrics.body;
  }
  EXPECT_NE(metrics.body.find("crossdock_executions_total{status=\"succeeded\",trigger=\"event\"}"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("crossdock_rule_last_success_timestamp_seconds{rule=\"prune\"}"),
            std::string::npos)
      << metrics.body;
  EXPECT_EQ(serve->Stop(), 0) << serve->log();
}

// Issue 10: with repositories = ["lib/**"], "lib/../other/victim" matched the rule and
// curl's dot-segment removal turned it into other/victim at both registries: a foreign
// tag was overwritten, another created, a foreign repository copied and recorded.
TEST_F(ServeTest, NamesOutsideTheDistributionGrammarAreRefusedAndReachNoRegistry) {
  Registry src;  // notifies nobody: the test posts every event itself
  WriteFile(config_, "[settings.webhook]\ntoken = \"env:CROSSDOCK_E2E_HOOK\"\n\n"
                     "[endpoints.src]\nurl = \"" + src.url() + "\"\n\n"
                     "[endpoints.dst]\nurl = \"" + dst_.url() + "\"\n\n"
                     "[rules.lib]\nsource = \"src\"\ndestination = \"dst\"\n"
                     "repositories = [\"lib/**\"]\nevents = true\ndelete = true\n");
  const std::string prod = SeedInto(dst_, "other/victim", "prod", 61);  // not crossdock's
  ASSERT_EQ(SeedInto(src, "lib/app", "v1", 61), prod);
  const std::string evil = SeedInto(src, "other/victim", "evil", 62);
  const std::string secret = SeedInto(src, "other/secret", "v1", 63);
  // A journal line written by hand (or by an older crossdock) is checked on replay too.
  WriteFile(dir_.Sub("crossdock.state.json.events.jsonl"),
            R"({"endpoint":"src","action":"push","repository":"lib/../other/secret","tag":"v1",)"
            R"("digest":")" + secret + R"(","media_type":"application/vnd.oci.image.manifest.v1+json"})"
            "\n");
  auto serve = StartServe();

  const std::string grammar =
      " is not a valid repository name: lowercase letters and digits, separated by '.', '_', "
      "\"__\" or '-', in components joined by '/', at most 255 characters\n";
  Answer victim = PostPush("lib/../other/victim", "prod", evil);
  EXPECT_EQ(victim.status, 400);
  EXPECT_EQ(victim.body, "event 0: repository \"lib/../other/victim\"" + grammar);
  Answer pwned = PostPush("lib/app", "../../../other/victim/manifests/pwned", prod);
  EXPECT_EQ(pwned.status, 400);
  EXPECT_EQ(pwned.body,
            "event 0: tag \"../../../other/victim/manifests/pwned\" is not a valid tag: up to 128 "
            "letters, digits, '_', '.' and '-', not starting with '.' or '-'\n");
  Answer copied = PostPush("lib/../other/secret", "v1", secret);
  EXPECT_EQ(copied.status, 400);
  EXPECT_EQ(copied.body, "event 0: repository \"lib/../other/secret\"" + grammar);
  Answer harbor = PostHarbor(src, "PUSH_ARTIFACT", "lib/../other/victim", "prod", evil);
  EXPECT_EQ(harbor.status, 400);
  EXPECT_EQ(harbor.body, "resource 0: repository \"lib/../other/victim\"" + grammar);

  // A valid event afterwards is executed: once it has reached the destination, anything
  // journaled before it has been executed too.
  Answer valid = PostPush("lib/app", "v1", prod);
  EXPECT_EQ(valid.status, 202);
  EXPECT_EQ(valid.body, "{\"accepted\":1,\"ignored\":0}\n");
  EXPECT_TRUE(Eventually([&] { return HeadDigest(dst_, "lib/app", "v1") == prod; }))
      << serve->log();
  EXPECT_TRUE(Eventually([&] {
    return serve->log().find("journal offset") != std::string::npos;
  })) << serve->log();

  // Checked with the registry's own API, not through crossdock.
  EXPECT_EQ(HeadDigest(dst_, "other/victim", "prod"), prod);
  EXPECT_EQ(ListTags(dst_, "other/victim"), std::vector<std::string>{"prod"});
  EXPECT_TRUE(ListTags(dst_, "other/secret").empty());
  HttpAnswer catalog = CurlRequest(dst_, "GET", "/v2/_catalog");
  EXPECT_EQ(catalog.body, R"({"repositories":["lib/app","other/victim"]})" "\n");
  const std::string state = ReadFile(dir_.Sub("crossdock.state.json"));
  EXPECT_EQ(state.find("other/"), std::string::npos) << state;
  EXPECT_EQ(state.find(".."), std::string::npos) << state;
  EXPECT_NE(serve->log().find("journal line of endpoint \"src\": repository "
                              "\"lib/../other/secret\" is not a valid repository name"),
            std::string::npos)
      << serve->log();
  EXPECT_NE(serve->log().find("refused a distribution webhook: event 0: tag "
                              "\"../../../other/victim/manifests/pwned\""),
            std::string::npos)
      << serve->log();
  EXPECT_EQ(serve->Stop(), 0) << serve->log();
}

// Issue 10: with 8 idle connections open, /healthz took 4.4-9.4 s (every worker sat on
// an idle connection for the 5 s keep-alive timeout): a liveness probe would kill serve.
TEST_F(ServeTest, HealthzAnswersWhileSixteenIdleConnectionsAreOpen) {
  WriteConfig(src_.url(), dst_.url());
  auto serve = StartServe();
  std::vector<std::unique_ptr<IdleConnection>> idle;
  for (int i = 0; i < 16; ++i) idle.push_back(std::make_unique<IdleConnection>(port_));
  // Well under a second; 5 s is the deadline only so that a loaded machine never fails
  // it. Before the fix the answer came after 10 s.
  const auto start = std::chrono::steady_clock::now();
  RunResult health = RunCommand(
      {"curl", "-sS", "--max-time", "5", "-w", "\n%{http_code}", Url("/healthz")}, {}, "", 30);
  RecordProperty("healthz_ms_with_16_idle_connections",
                 static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - start)
                                      .count()));
  EXPECT_EQ(health.exit_code, 0) << "curl: " << health.err;  // 28: timed out
  EXPECT_EQ(health.out, "ok\n200");
  // Webhooks are received as well, and serve still stops cleanly.
  Answer hook = Curl("POST", Url("/webhooks/distribution/src"),
                     {"-H", std::string("Authorization: Bearer ") + kToken, "--max-time", "5",
                      "--data-binary", "{\"events\":[]}"});
  EXPECT_EQ(hook.status, 202);
  EXPECT_EQ(serve->Stop(), 0) << serve->log();
}

TEST_F(ServeTest, AcceptedEventsSurviveACrashAndRunOnTheNextStart) {
  // The destination answers slowly, so serve is killed while executing the push.
  CorruptProxy slow(dst_, CorruptProxy::Options{.corrupt_blobs = false, .delay_ms = 1500});
  WriteConfig(src_.url(), slow.url());
  auto serve = StartServe();
  std::string keep = Seed("keep/app", "v1", 51);
  ASSERT_TRUE(serve->WaitForLog("to copy")) << serve->log();  // the plan is printed
  // Killed once the execution is recorded as running (the copy takes seconds more).
  ASSERT_TRUE(Eventually([&] {
    RunResult e = RunCrossdock({"executions", "-c", config_}, {}, dir_.path(), 30);
    return e.out.find("running") != std::string::npos;
  })) << serve->log();
  serve->Kill9();
  EXPECT_FALSE(HeadDigest(dst_, "keep/app", "v1").has_value());
  EXPECT_NE(ReadFile(dir_.Sub("crossdock.state.json.events.jsonl")).find("keep/app"),
            std::string::npos);

  // The next start (here crossdock run --listen, which embeds the receiver) executes
  // the journaled event without any new notification.
  WriteConfig(src_.url(), dst_.url());
  auto run = StartServe("run");
  EXPECT_TRUE(Eventually([&] { return HeadDigest(dst_, "keep/app", "v1") == keep; }))
      << run->log();
  // A crashed execution shows as failed.
  RunResult executions = RunCrossdock({"executions", "-c", config_}, {}, dir_.path(), 30);
  EXPECT_NE(executions.out.find("failed"), std::string::npos) << executions.out;
  // run --listen receives new pushes too.
  std::string prune = Seed("prune/app", "v1", 52);
  EXPECT_TRUE(Eventually([&] { return HeadDigest(dst_, "prune/app", "v1") == prune; }))
      << run->log();
  EXPECT_EQ(Curl("GET", Url("/healthz")).status, 200);
  EXPECT_EQ(run->Stop(), 0) << run->log();
}

}  // namespace
}  // namespace crossdock::testing
