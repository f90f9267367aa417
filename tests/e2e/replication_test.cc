// End to end: the real crossdock binary against real docker-registry processes on
// 127.0.0.1, seeded with skopeo and checked with skopeo/curl (tests/support/harness.h),
// never with crossdock's own client.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <csignal>
#include <thread>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

// A plain-HTTP source and a destination with TLS (self-signed CA) and basic auth.
class ReplicationTest : public ::testing::Test {
 protected:
  ReplicationTest()
      : dst_(Registry::Options{.tls = true, .htpasswd_user = "admin", .htpasswd_password = "s3cret-pw"}) {
    layout_ = dir_.Sub("layout");
    config_ = dir_.Sub("crossdock.toml");
    state_ = dir_.Sub("crossdock.state.json");
    WriteFile(dir_.Sub("password"), "s3cret-pw\n");
  }

  // Writes crossdock.toml with the two endpoints and RULE_BODY under [rules.mirror].
  void WriteConfig(const std::string& rule_body, const std::string& src_url = "") {
    WriteFile(config_, "[endpoints.src]\ntype = \"docker-registry\"\nurl = \"" +
                           (src_url.empty() ? src_.url() : src_url) +
                           "\"\n\n[endpoints.dst]\ntype = \"docker-registry\"\nurl = \"" + dst_.url() +
                           "\"\nusername = \"admin\"\npassword = \"file:password\"\nca_cert = \"" +
                           dst_.ca_path() + "\"\n\n[rules.mirror]\nsource = \"src\"\ndestination = \"dst\"\n" +
                           rule_body);
  }

  RunResult Crossdock(std::vector<std::string> args) {
    args.insert(args.end(), {"-c", config_, "--no-color"});
    return RunCrossdock(args, {}, dir_.path());
  }

  BuiltImage Seed(const std::string& repo, const std::string& tag, uint64_t seed) {
    ImageSpec spec;
    spec.layers = {LayerSpec{.size = 4096, .seed = 1}, LayerSpec{.size = 2048, .seed = seed}};
    spec.labels = {{"seed", std::to_string(seed)}};
    std::string name = repo + "-" + tag;
    for (auto& c : name) if (c == '/') c = '-';
    BuiltImage img = BuildImage(layout_, name, spec);
    Push(layout_, name, src_, repo, tag);
    return img;
  }

  TempDir dir_;
  Registry src_;
  Registry dst_;
  std::string layout_, config_, state_;
};

TEST_F(ReplicationTest, CopiesSingleAndMultiArchWithIdenticalDigestsThenConverges) {
  BuiltImage single = Seed("lib/app", "v1", 11);
  ImageSpec amd, arm;
  amd.layers = {LayerSpec{.size = 3000, .seed = 21}};
  arm.architecture = "arm64";
  arm.variant = "v8";
  arm.layers = {LayerSpec{.size = 3000, .seed = 22}};
  BuiltImage multi = BuildIndex(layout_, "multi", {amd, arm});
  Push(layout_, "multi", src_, "lib/tools", "v2");
  WriteConfig("repositories = [\"lib/**\"]\ndest_namespace = \"mirror\"\nflatten = 1\n");

  RunResult plan = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 2) << plan.err;
  EXPECT_NE(plan.out.find("Plan: 2 to copy, 0 to replace, 0 to delete."), std::string::npos) << plan.out;

  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(dst_, "mirror/app", "v1"), single.digest);
  EXPECT_EQ(HeadDigest(dst_, "mirror/tools", "v2"), multi.digest);
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(dst_, "mirror/tools", "v2")), multi.digest);
  for (const auto& b : single.blobs) EXPECT_TRUE(BlobExists(dst_, "mirror/app", b)) << b;
  for (const auto& child : multi.manifests) {
    EXPECT_EQ(HeadDigest(dst_, "mirror/tools", child.digest), child.digest);
    for (const auto& b : child.blobs) EXPECT_TRUE(BlobExists(dst_, "mirror/tools", b)) << b;
  }

  RunResult again = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("No changes. Destinations match the desired state."), std::string::npos);

  struct stat st {};
  ASSERT_EQ(stat(state_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFile(state_).find("s3cret-pw"), std::string::npos);
  EXPECT_EQ(apply.out.find("s3cret-pw"), std::string::npos);
}

TEST_F(ReplicationTest, ExecutionsTasksAndLogsRecordEachApply) {
  Seed("app", "v1", 1);
  Seed("web", "v1", 2);
  CorruptProxy proxy(src_, CorruptProxy::Options{.corrupt_blobs = true,
                                                 .only_digests = {}});
  // retries = 0: damage every time is refused after the copier's own attempts.
  WriteConfig("repositories = [\"app\"]\nretries = 0\n", proxy.url());
  EXPECT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 1);  // corrupted: fails
  WriteConfig("");
  RunResult ok = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("Execution 2: see `crossdock tasks 2`."), std::string::npos) << ok.out;
  RunResult list = Crossdock({"executions"});
  EXPECT_NE(list.out.find("2      succeeded  manual"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("1      failed     manual"), std::string::npos) << list.out;
  RunResult failed = Crossdock({"tasks", "1", "--status", "failed", "--json"});
  EXPECT_NE(failed.out.find("\"id\":\"1.1\""), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find("arrived corrupted on every one of 3 downloads"), std::string::npos)
      << failed.out;
  RunResult tasks = Crossdock({"tasks", "2"});
  EXPECT_NE(tasks.out.find("2.1      succeeded  copy"), std::string::npos) << tasks.out;
  EXPECT_NE(tasks.out.find("2.2      succeeded  copy"), std::string::npos) << tasks.out;
  RunResult log = Crossdock({"logs", "2.1"});
  EXPECT_EQ(log.exit_code, 0);
  EXPECT_NE(log.out.find("create app:v1 sha256:"), std::string::npos) << log.out;
  RunResult unknown = Crossdock({"logs", "9.1"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no execution 9"), std::string::npos) << unknown.err;
}

TEST_F(ReplicationTest, ApplyDueRunsOnlyScheduledRulesWhenDue) {
  Seed("app", "v1", 1);
  Seed("web", "v1", 2);
  WriteConfig("repositories = [\"app\"]\nschedule = \"@every 1h\"\ntimezone = \"Europe/Berlin\"\n"
              "[rules.manual]\nsource = \"src\"\ndestination = \"dst\"\nrepositories = [\"web\"]\n");
  RunResult first = Crossdock({"apply", "--due", "--auto-approve"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("Due on schedule: mirror"), std::string::npos) << first.out;
  EXPECT_TRUE(HeadDigest(dst_, "app", "v1"));
  EXPECT_FALSE(HeadDigest(dst_, "web", "v1"));  // not scheduled: --due leaves it
  RunResult history = Crossdock({"executions", "--json"});
  EXPECT_NE(history.out.find("\"rules\":[\"mirror\"],\"trigger\":\"scheduled\",\"status\":\"succeeded\""),
            std::string::npos) << history.out;
  RunResult again = Crossdock({"apply", "--due", "--auto-approve"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.out, "No scheduled rule is due.\n");
  RunResult rules = Crossdock({"rules", "--next"});
  EXPECT_NE(rules.out.find("trigger: schedule @every 1h (Europe/Berlin)"), std::string::npos) << rules.out;
  EXPECT_NE(rules.out.find("  next: "), std::string::npos) << rules.out;
}

TEST_F(ReplicationTest, StopFromAnotherTerminalStopsARunningApply) {
  for (int i = 0; i < 8; ++i) Seed("app" + std::to_string(i), "v1", 400 + i);
  CorruptProxy slow(src_, CorruptProxy::Options{.corrupt_blobs = false, .delay_ms = 150});
  WriteConfig("", slow.url());
  Process apply({CrossdockBin(), "apply", "--auto-approve", "--parallelism", "1", "-c", config_},
                dir_.Sub("apply.log"), {}, dir_.path());
  ASSERT_TRUE(apply.WaitForLog(": copied", std::chrono::seconds(30))) << apply.log();
  auto t0 = std::chrono::steady_clock::now();
  RunResult stop = Crossdock({"stop", "1"});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  EXPECT_NE(stop.out.find("Execution 1 stopped"), std::string::npos) << stop.out;
  EXPECT_LT(secs, 5.0);
  EXPECT_EQ(apply.Wait(), 130) << apply.log();
  EXPECT_NE(apply.log().find("Apply stopped"), std::string::npos) << apply.log();
  RunResult tasks = Crossdock({"tasks", "1", "--json"});
  EXPECT_NE(tasks.out.find("\"status\":\"stopped\""), std::string::npos) << tasks.out;
  RunResult again = Crossdock({"stop", "1"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("execution 1 is not running: it stopped"), std::string::npos) << again.err;

  // retry re-runs what the stop left.
  WriteConfig("");
  RunResult retry = Crossdock({"retry", "1", "--auto-approve"});
  ASSERT_EQ(retry.exit_code, 0) << retry.out << retry.err;
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(HeadDigest(dst_, "app" + std::to_string(i), "v1")) << i;
}

TEST_F(ReplicationTest, RetryRerunsOnlyTheFailedTasks) {
  BuiltImage bad = Seed("app", "v1", 1);
  Seed("web", "v1", 2);
  CorruptProxy proxy(src_, CorruptProxy::Options{.corrupt_blobs = true,
                                                 .only_digests = {bad.blobs.back()}});
  WriteConfig("retries = 0\n", proxy.url());
  RunResult first = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(first.exit_code, 1) << first.out;
  EXPECT_TRUE(HeadDigest(dst_, "web", "v1"));
  EXPECT_FALSE(HeadDigest(dst_, "app", "v1"));
  WriteConfig("");  // the link is healthy again
  RunResult retry = Crossdock({"retry", "1", "--auto-approve"});
  ASSERT_EQ(retry.exit_code, 0) << retry.out << retry.err;
  EXPECT_NE(retry.out.find("Retrying the 1 failed or stopped task of execution 1"), std::string::npos)
      << retry.out;
  EXPECT_NE(retry.out.find("Plan: 1 to copy"), std::string::npos) << retry.out;
  EXPECT_EQ(HeadDigest(dst_, "app", "v1"), bad.digest);
  RunResult history = Crossdock({"executions"});
  EXPECT_NE(history.out.find("2      succeeded  retry"), std::string::npos) << history.out;
  RunResult nothing = Crossdock({"retry", "2", "--auto-approve"});
  EXPECT_EQ(nothing.exit_code, 0);
  EXPECT_NE(nothing.out.find("has no failed or stopped tasks"), std::string::npos);
  EXPECT_EQ(Crossdock({"retry", "99"}).exit_code, 1);
}

TEST_F(ReplicationTest, ApplyJsonStreamsOneObjectPerLine) {
  Seed("app", "v1", 1);
  Seed("web", "v1", 2);
  WriteConfig("");
  RunResult refused = Crossdock({"apply", "--json"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("apply --json cannot ask for approval"), std::string::npos);
  RunResult r = Crossdock({"apply", "--json", "--auto-approve"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<std::string> lines;
  for (size_t at = 0, nl; (nl = r.out.find('\n', at)) != std::string::npos; at = nl + 1)
    lines.push_back(r.out.substr(at, nl - at));
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0].rfind("{\"type\":\"plan\",\"plan\":{\"format_version\":\"1\"", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("{\"type\":\"apply_start\",\"execution\":1,\"changes\":2}", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("{\"type\":\"change_complete\",\"rule\":\"mirror\",\"action\":\"create\"", 0), 0u);
  EXPECT_EQ(lines[3].rfind("{\"type\":\"change_complete\"", 0), 0u);
  EXPECT_EQ(lines[4].rfind("{\"type\":\"report\",\"status\":\"succeeded\",\"execution\":1,"
                           "\"succeeded\":2,\"failed\":0,\"not_started\":0,", 0), 0u) << lines[4];
  EXPECT_NE(lines[4].find("\"failures\":[]"), std::string::npos);
}

TEST_F(ReplicationTest, RunConvergesOnScheduleReloadsAndStopsGracefully) {
  Seed("app", "v1", 1);
  WriteConfig("schedule = \"@every 2s\"\n");
  Process run({CrossdockBin(), "run", "-c", config_}, dir_.Sub("run.log"), {}, dir_.path());
  ASSERT_TRUE(run.WaitForLog("Apply complete!", std::chrono::seconds(30))) << run.log();
  EXPECT_TRUE(HeadDigest(dst_, "app", "v1"));
  // A tag pushed now arrives on the next fire, within a few seconds.
  BuiltImage v2 = Seed("app", "v2", 2);
  auto t0 = std::chrono::steady_clock::now();
  while (!HeadDigest(dst_, "app", "v2") &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(15))
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(HeadDigest(dst_, "app", "v2"), v2.digest) << run.log();
  // A second run on the same state is refused by the lock.
  RunResult second = Crossdock({"run"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("state is locked by pid " + std::to_string(run.pid())), std::string::npos)
      << second.err;
  // SIGHUP with a broken config: reported, and the old one keeps running.
  WriteFile(config_, "[rules.x\n");
  kill(run.pid(), SIGHUP);
  ASSERT_TRUE(run.WaitForLog("the previous one keeps running", std::chrono::seconds(10))) << run.log();
  EXPECT_TRUE(run.Running());
  kill(run.pid(), SIGTERM);
  EXPECT_EQ(run.Wait(), 0) << run.log();
  EXPECT_NE(run.log().find("crossdock run: stopped"), std::string::npos);
  // Every execution was scheduled and none ran at once with another.
  WriteConfig("schedule = \"@every 2s\"\n");
  RunResult history = Crossdock({"executions", "--json"});
  EXPECT_EQ(history.out.find("\"trigger\":\"manual\""), std::string::npos) << history.out;
  EXPECT_EQ(history.out.find("\"status\":\"running\""), std::string::npos) << history.out;
  EXPECT_NE(history.out.find("\"id\":2,"), std::string::npos) << history.out;
}

TEST_F(ReplicationTest, TagMovedAtSourceBecomesUpdate) {
  Seed("app", "v1", 1);
  WriteConfig("");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  BuiltImage moved = Seed("app", "v1", 2);
  RunResult plan = Crossdock({"plan", "--json"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("\"action\":\"update\""), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("\"summary\":{\"create\":0,\"update\":1,\"delete\":0,\"skip\":0}"),
            std::string::npos) << plan.out;
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  EXPECT_EQ(HeadDigest(dst_, "app", "v1"), moved.digest);
}

TEST_F(ReplicationTest, DeleteRemovesOnlyManagedArtifacts) {
  Seed("app", "v1", 1);
  Seed("app", "v2", 2);
  WriteConfig("delete = true\n");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  // A tag pushed by hand at the destination, not crossdock's.
  ImageSpec hand;
  hand.labels = {{"by", "hand"}};
  BuildImage(layout_, "hand", hand);
  Push(layout_, "hand", dst_, "app", "handmade");

  DeleteTag(src_, "app", "v2");
  RunResult plan = Crossdock({"plan"});
  EXPECT_NE(plan.out.find("Plan: 0 to copy, 0 to replace, 1 to delete."), std::string::npos) << plan.out;
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_TRUE(HeadDigest(dst_, "app", "v1"));
  EXPECT_FALSE(HeadDigest(dst_, "app", "v2"));
  EXPECT_TRUE(HeadDigest(dst_, "app", "handmade"));
  EXPECT_EQ(Crossdock({"plan", "--detailed-exitcode"}).exit_code, 0);
}

TEST_F(ReplicationTest, WrongPasswordFailsClearlyAndLeavesStateUnchanged) {
  Seed("app", "v1", 1);
  WriteConfig("");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  Seed("app", "v2", 2);
  std::string before = ReadFile(state_);
  WriteFile(dir_.Sub("password"), "wrong\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(apply.exit_code, 1);
  EXPECT_NE((apply.out + apply.err).find("credentials were rejected"), std::string::npos)
      << apply.out << apply.err;
  EXPECT_EQ((apply.out + apply.err).find("wrong"), std::string::npos);
  EXPECT_EQ(ReadFile(state_), before);
}

TEST_F(ReplicationTest, BlobCorruptedInTransitIsRefused) {
  Seed("app", "v1", 1);
  CorruptProxy proxy(src_);
  WriteConfig("retries = 0\n", proxy.url());
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(apply.exit_code, 1) << apply.out;
  EXPECT_NE(apply.err.find("arrived corrupted on every one of 3 downloads"), std::string::npos)
      << apply.err;
  EXPECT_FALSE(HeadDigest(dst_, "app", "v1"));
  struct stat st {};
  if (stat(state_.c_str(), &st) == 0) {  // nothing finished, so nothing may be recorded
    // (The intent to push v1 stays until a later apply sees the push never landed.)
    auto state = nlohmann::json::parse(ReadFile(state_));
    EXPECT_TRUE(state.at("artifacts").empty()) << state.dump();
  }
}

TEST_F(ReplicationTest, ApplyKilledWithSigkillConvergesOnRerun) {
  for (int i = 0; i < 12; ++i) Seed("app" + std::to_string(i), "v1", 100 + i);
  WriteConfig("");
  Process apply({CrossdockBin(), "apply", "--auto-approve", "--parallelism", "1", "-c", config_},
                dir_.Sub("apply.log"), {}, dir_.path());
  apply.WaitForLog(": copied", std::chrono::seconds(30));
  apply.Kill9();
  // The lock died with the process: a new apply takes it at once.
  RunResult rerun = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  for (int i = 0; i < 12; ++i) EXPECT_TRUE(HeadDigest(dst_, "app" + std::to_string(i), "v1")) << i;
  EXPECT_EQ(Crossdock({"plan", "--detailed-exitcode"}).exit_code, 0);
  // The killed run's execution shows as failed, the re-run's as succeeded.
  RunResult history = Crossdock({"executions", "--json"});
  EXPECT_NE(history.out.find("\"id\":2,\"rules\":[\"mirror\"],\"trigger\":\"manual\",\"status\":\"succeeded\""),
            std::string::npos) << history.out;
  EXPECT_NE(history.out.find("\"id\":1,\"rules\":[\"mirror\"],\"trigger\":\"manual\",\"status\":\"failed\""),
            std::string::npos) << history.out;
}

TEST_F(ReplicationTest, SavedPlanIsRefusedOnceStale) {
  Seed("app", "v1", 1);
  WriteConfig("");
  std::string planfile = dir_.Sub("plan.out");
  ASSERT_EQ(Crossdock({"plan", "--out", planfile}).exit_code, 0);
  Seed("app", "v1", 2);  // the source moved since
  RunResult apply = Crossdock({"apply", planfile});
  EXPECT_EQ(apply.exit_code, 1);
  EXPECT_NE(apply.err.find("Saved plan is stale"), std::string::npos) << apply.err;
  ASSERT_EQ(Crossdock({"plan", "--out", planfile}).exit_code, 0);
  RunResult ok = Crossdock({"apply", planfile});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
}

TEST_F(ReplicationTest, ApplyWithoutTerminalNeedsAutoApprove) {
  Seed("app", "v1", 1);
  WriteConfig("");
  RunResult apply = Crossdock({"apply"});
  EXPECT_EQ(apply.exit_code, 1);
  EXPECT_NE(apply.err.find("apply needs approval: run it in a terminal, pass --auto-approve"),
            std::string::npos) << apply.err;
  EXPECT_FALSE(HeadDigest(dst_, "app", "v1"));
}

TEST_F(ReplicationTest, LargeBlobStreamsAndCorruptionAbortsTheUpload) {
  ImageSpec spec;
  spec.layers = {LayerSpec{.size = 24u << 20, .seed = 7}};
  BuiltImage big = BuildImage(layout_, "big", spec);
  Push(layout_, "big", src_, "big", "v1");
  Push(layout_, "big", src_, "big2", "v1");
  CorruptProxy proxy(src_);
  WriteConfig("repositories = [\"big\"]\nretries = 0\n", proxy.url());
  RunResult bad = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.err.find("arrived corrupted on every one of 3 downloads"), std::string::npos)
      << bad.err;
  EXPECT_FALSE(HeadDigest(dst_, "big", "v1"));
  for (const auto& b : big.blobs) {
    if (b != big.config_digest) {
      EXPECT_FALSE(BlobExists(dst_, "big", b)) << b;
    }
  }

  WriteConfig("repositories = [\"big\", \"big2\"]\n");
  RunResult good = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_EQ(HeadDigest(dst_, "big", "v1"), big.digest);
  EXPECT_EQ(HeadDigest(dst_, "big2", "v1"), big.digest);
  for (const auto& b : big.blobs) EXPECT_TRUE(BlobExists(dst_, "big2", b)) << b;
  // The 24 MiB layer crossed once; the second repository got it by mount.
  EXPECT_NE(good.out.find("mounted"), std::string::npos) << good.out;
  EXPECT_EQ(good.out.find(" 0 mounted"), std::string::npos) << good.out;
}

TEST_F(ReplicationTest, RefreshOnlyForgetsWhatWasDeletedByHand) {
  Seed("app", "v1", 1);
  Seed("app", "v2", 2);
  WriteConfig("delete = true\n");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  DeleteTag(dst_, "app", "v2");
  RunResult plan = Crossdock({"plan", "--refresh-only", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 2) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("app:v2  deleted outside crossdock"), std::string::npos) << plan.out;
  RunResult apply = Crossdock({"apply", "--refresh-only", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  RunResult list = Crossdock({"state", "list"});
  EXPECT_EQ(list.out, "dst/app:v1\n");
  // A normal plan copies it again: the source still has it.
  EXPECT_NE(Crossdock({"plan"}).out.find("Plan: 1 to copy"), std::string::npos);
}

TEST_F(ReplicationTest, SecondApplyIsRefusedWhileTheStateIsLocked) {
  for (int i = 0; i < 4; ++i) Seed("app" + std::to_string(i), "v1", 200 + i);
  CorruptProxy slow(src_, CorruptProxy::Options{.corrupt_blobs = false, .delay_ms = 100});
  WriteConfig("", slow.url());
  Process first({CrossdockBin(), "apply", "--auto-approve", "--parallelism", "1", "-c", config_},
                dir_.Sub("first.log"), {}, dir_.path());
  ASSERT_TRUE(first.WaitForLog("Plan: 4 to copy", std::chrono::seconds(30))) << first.log();
  RunResult second = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("state is locked by pid " + std::to_string(first.pid())),
            std::string::npos) << second.err;
  EXPECT_EQ(first.Wait(), 0) << first.log();
}

TEST_F(ReplicationTest, InterruptStopsCleanlyAndRerunConverges) {
  for (int i = 0; i < 6; ++i) Seed("app" + std::to_string(i), "v1", 300 + i);
  CorruptProxy slow(src_, CorruptProxy::Options{.corrupt_blobs = false, .delay_ms = 100});
  WriteConfig("", slow.url());
  Process apply({CrossdockBin(), "apply", "--auto-approve", "--parallelism", "1", "-c", config_},
                dir_.Sub("apply.log"), {}, dir_.path());
  ASSERT_TRUE(apply.WaitForLog(": copied", std::chrono::seconds(30))) << apply.log();
  kill(apply.pid(), SIGINT);
  EXPECT_EQ(apply.Wait(), 130) << apply.log();
  EXPECT_NE(apply.log().find("Apply interrupted"), std::string::npos) << apply.log();
  RunResult list = Crossdock({"state", "list"});
  EXPECT_GE(std::count(list.out.begin(), list.out.end(), '\n'), 1) << list.out;
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  EXPECT_EQ(Crossdock({"plan", "--detailed-exitcode"}).exit_code, 0);
}

TEST_F(ReplicationTest, SavedPlanIsRefusedAfterAnotherApplyOrForAnotherState) {
  Seed("app", "v1", 1);
  Seed("app", "v2", 2);
  WriteConfig("");
  std::string planfile = dir_.Sub("plan.out");
  ASSERT_EQ(Crossdock({"plan", "--out", planfile}).exit_code, 0);
  ASSERT_EQ(Crossdock({"apply", "--auto-approve", "--rule", "mirror"}).exit_code, 0);
  RunResult stale = Crossdock({"apply", planfile});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_NE(stale.err.find("Saved plan is stale: the state changed since the plan was made "
                           "(serial 0 then, "),
            std::string::npos) << stale.err;

  Seed("app", "v3", 3);
  ASSERT_EQ(Crossdock({"plan", "--out", planfile}).exit_code, 0);
  RunResult other = Crossdock({"apply", planfile, "--state", dir_.Sub("other.state.json")});
  // A state that was never written takes the plan's lineage, but its serial is 0.
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("Saved plan is stale"), std::string::npos) << other.err;
  WriteFile(dir_.Sub("other.state.json"),
            "{\"format_version\": 1, \"lineage\": \"00000000-0000-4000-8000-000000000000\", "
            "\"serial\": 1, \"artifacts\": []}\n");
  RunResult foreign = Crossdock({"apply", planfile, "--state", dir_.Sub("other.state.json")});
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.err.find("Saved plan does not match the given state"), std::string::npos)
      << foreign.err;
}

TEST_F(ReplicationTest, InvalidConfigCreatesNoFile) {
  WriteFile(config_, "[rules.x]\nsource = \"nowhere\"\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(apply.exit_code, 1);
  EXPECT_NE(apply.err.find("crossdock.toml:"), std::string::npos) << apply.err;
  struct stat st {};
  EXPECT_NE(stat(state_.c_str(), &st), 0);
  EXPECT_NE(stat((state_ + ".lock").c_str(), &st), 0);
}

TEST_F(ReplicationTest, EndpointTestReportsVerdicts) {
  WriteConfig("");
  RunResult ok = Crossdock({"endpoint", "test", "dst"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("credentials: accepted (user admin, from the endpoint's username and password)"), std::string::npos) << ok.out;
  WriteFile(dir_.Sub("password"), "nope\n");
  RunResult bad = Crossdock({"endpoint", "test", "dst"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("credentials: REJECTED"), std::string::npos) << bad.out;
}

// Token auth with tokens the registry stops accepting after a second or two: crossdock
// must fetch new ones (from expires_in, and after a 401 invalid_token when
// expires_in lies) and go on. The source sits behind a slow link so that the run
// outlives several tokens.
TEST(TokenAuthTest, CopyOutlivingItsTokensGoesOn) {
  for (bool honest_expiry : {true, false}) {
    SCOPED_TRACE(honest_expiry ? "expires_in matches the lifetime" : "expires_in lies");
    TempDir dir;
    TokenServer::Options to;
    to.username = "robot";
    to.password = "tok-pw";
    TokenServer tokens(to);
    Registry src;
    Registry dst(Registry::Options{.token_server = &tokens});
    CorruptProxy slow_src(src, CorruptProxy::Options{.corrupt_blobs = false, .delay_ms = 150});
    std::string layout = dir.Sub("layout");
    for (int i = 0; i < 6; ++i) {
      ImageSpec spec;
      spec.layers = {LayerSpec{.size = 4096, .seed = static_cast<uint64_t>(i + 1)}};
      BuildImage(layout, "img" + std::to_string(i), spec);
      Push(layout, "img" + std::to_string(i), src, "app", "v" + std::to_string(i));
    }
    // The fake's exp has one-second granularity, so a 2 s lifetime lives 1-2 s.
    tokens.SetLifetime(2, honest_expiry ? 2 : 300);
    WriteFile(dir.Sub("crossdock.toml"),
              "[endpoints.src]\nurl = \"" + slow_src.url() + "\"\n[endpoints.dst]\nurl = \"" +
                  dst.url() +
                  "\"\nusername = \"robot\"\npassword = \"env:TOKEN_PW\"\n[rules.r]\nsource = \"src\"\n"
                  "destination = \"dst\"\n");
    auto t0 = std::chrono::steady_clock::now();
    RunResult apply = RunCrossdock({"apply", "--auto-approve", "--parallelism", "1", "-c",
                                    dir.Sub("crossdock.toml")},
                                   {{"TOKEN_PW", "tok-pw"}}, dir.path());
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
    int issued = tokens.GetStats().tokens_issued;
    tokens.SetLifetime(300, 300);  // long-lived tokens again for the checks below
    for (int i = 0; i < 6; ++i) EXPECT_TRUE(HeadDigest(dst, "app", "v" + std::to_string(i)));
    // The run must outlive a token for the test to mean anything.
    EXPECT_GT(secs, 2.5) << "the copy was too quick to outlive its tokens";
    EXPECT_GT(issued, 3) << secs << " s";
  }
}

}  // namespace
}  // namespace crossdock::testing
