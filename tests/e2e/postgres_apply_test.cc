// End to end: crossdock with its state in a real PostgreSQL server
// (tests/support/postgres.h) between real registries. apply records rows and the next
// plan has nothing to do; a second run of the same state waits --lock-timeout and names
// the holder; an apply killed with SIGKILL leaves its locks with its session and the
// next apply converges; shards apply side by side, serve between them; a password in
// the URL is refused and never printed. Checked
// with psql and the registries' own tag lists, not crossdock's reads.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/harness.h"
#include "tests/support/postgres.h"

namespace crossdock::testing {
namespace {

class PostgresApplyTest : public ::testing::Test {
 protected:
  PostgresApplyTest() {
    layout_ = dir_.Sub("layout");
    config_ = dir_.Sub("crossdock.toml");
  }

  void WriteConfig(const std::string& dst_url, const std::string& state) {
    WriteFile(config_, "[settings]\nstate = \"" + state + "\"\n\n[endpoints.src]\nurl = \"" +
                           src_.url() + "\"\n\n[endpoints.dst]\nurl = \"" + dst_url +
                           "\"\n\n[rules.mirror]\nsource = \"src\"\ndestination = \"dst\"\n"
                           "repositories = [\"app\"]\ndest_namespace = \"mirror\"\n");
  }

  RunResult Crossdock(std::vector<std::string> args) {
    args.insert(args.end(), {"-c", config_, "--no-color"});
    return RunCrossdock(args, pg_.env(), dir_.path(), 180);
  }

  // Seeds src app:t00..t(N-1), one image under every tag.
  std::vector<std::string> SeedTags(int n) {
    ImageSpec spec;
    spec.layers = {LayerSpec{.size = 2048, .seed = 7}};
    BuildImage(layout_, "app", spec);
    Push(layout_, "app", src_, "app", "t00");
    std::vector<std::string> tags;
    for (int i = 1; i < n; ++i) tags.push_back((i < 10 ? "t0" : "t") + std::to_string(i));
    if (!tags.empty()) PushManifestUnderTags(src_, "app", "t00", tags);
    tags.insert(tags.begin(), "t00");
    return tags;
  }

  // Polls SQL (as the superuser) until it prints WANT; false after two minutes. A
  // failing query (crossdock has not created its tables yet) is polled again.
  bool WaitForSql(const std::string& sql, const std::string& want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        if (pg_.Sql(sql) == want) return true;
      } catch (const HarnessError&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // The lineage and serial of the state file at PATH, read as JSON.
  static std::pair<std::string, long> FileLineageAndSerial(const std::string& path) {
    auto doc = nlohmann::json::parse(ReadFile(path));
    return {doc["lineage"].get<std::string>(), doc["serial"].get<long>()};
  }

  PostgresServer pg_;
  TempDir dir_;
  Registry src_;
  Registry dst_;
  std::string layout_, config_;
};

TEST_F(PostgresApplyTest, ApplyRecordsARowPerTagAndTheNextPlanHasNoChanges) {
  const std::vector<std::string> tags = SeedTags(3);
  WriteConfig(dst_.url(), pg_.url());
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(ListTags(dst_, "mirror/app"), tags);
  EXPECT_EQ(pg_.Sql("SELECT string_agg(destination_repository || ':' || tag, ' ' ORDER BY tag) "
                    "FROM crossdock_artifacts"),
            "mirror/app:t00 mirror/app:t01 mirror/app:t02\n");
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM crossdock_intents"), "0\n");
  // The intents write, then the group commits of the copies: a few serials, not one per tag.
  EXPECT_NE(pg_.Sql("SELECT serial FROM crossdock_meta"), "0\n");
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM crossdock_locks"), "0\n");  // released

  RunResult plan = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  RunResult list = Crossdock({"state", "list"});
  EXPECT_EQ(list.out, "dst/mirror/app:t00\ndst/mirror/app:t01\ndst/mirror/app:t02\n");
  // The history is in the database: another machine (another config folder) sees it,
  // task logs included.
  TempDir elsewhere;
  const std::string config = elsewhere.Sub("crossdock.toml");
  WriteFile(config, ReadFile(config_));
  RunResult executions = RunCrossdock({"executions", "--json", "-c", config}, pg_.env(),
                                      elsewhere.path());
  EXPECT_NE(executions.out.find("\"id\":1,"), std::string::npos) << executions.out << executions.err;
  EXPECT_NE(executions.out.find("\"status\":\"succeeded\""), std::string::npos)
      << executions.out << executions.err;
  RunResult log = RunCrossdock({"logs", "1.1", "-c", config}, pg_.env(), elsewhere.path());
  EXPECT_EQ(log.exit_code, 0) << log.err;
  EXPECT_NE(log.out.find("t01"), std::string::npos) << log.out;
  EXPECT_EQ(pg_.Sql("SELECT id, status FROM crossdock_executions"), "1|succeeded\n");
  for (const RunResult* r : {&apply, &plan, &list})
    EXPECT_EQ((r->out + r->err).find(pg_.options().password), std::string::npos);
}

TEST_F(PostgresApplyTest, ASecondRunOfTheStateWaitsTheLockTimeoutThenNamesTheHolder) {
  SeedTags(1);
  WriteConfig(dst_.url(), pg_.url());
  // `crossdock run` holds the state lock while it lives.
  Process run({CrossdockBin(), "run", "-c", config_, "--no-color"}, dir_.Sub("run.log"),
              pg_.env(), dir_.path());
  ASSERT_TRUE(WaitForSql("SELECT pid FROM crossdock_locks", std::to_string(run.pid()) + "\n"))
      << run.log();
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  RunResult second = Crossdock({"apply", "--auto-approve", "--lock-timeout", "1s"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("\nError: state is locked by host " + std::string(host) + ", pid " +
                            std::to_string(run.pid()) + ", since "),
            std::string::npos)
      << second.err;
  EXPECT_NE(second.err.find("(PostgreSQL advisory lock on scope \"apply\" of " + pg_.url() +
                            "); wait for that run to finish, or pass --lock-timeout to wait "
                            "longer\n"),
            std::string::npos)
      << second.err;
  EXPECT_TRUE(ListTags(dst_, "mirror/app").empty());  // it changed nothing

  kill(run.pid(), SIGTERM);
  EXPECT_EQ(run.Wait(), 0) << run.log();
  RunResult after = Crossdock({"apply", "--auto-approve", "--lock-timeout", "60s"});
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;
  EXPECT_EQ(ListTags(dst_, "mirror/app"), std::vector<std::string>{"t00"});
}

// The N pods of a sharded run and `crossdock serve` on one PostgreSQL state, as
// examples/kubernetes runs them: the shards hold the whole state shared and their own
// scope exclusive, so shard 1/2 applies while shard 0/2 is still copying; an unsharded
// apply and a second shard 0/2 are refused naming the holder; serve holds only its own
// scope while it waits for events, and executes an event beside the shards, each
// change under its repository's lock.
TEST_F(PostgresApplyTest, ShardsApplySideBySideAndServeExecutesEventsBesideThem) {
  constexpr const char* kToken = "e2e-webhook-t0ken";
  const int port = FreePort();
  Registry src(Registry::Options{
      .notifications = {Registry::Notification{
          .url = "http://127.0.0.1:" + std::to_string(port) + "/webhooks/distribution",
          .headers = {{"Authorization", std::string("Bearer ") + kToken}}}}});
  ImageSpec spec;
  spec.layers = {LayerSpec{.size = 2048, .seed = 11}};
  BuildImage(layout_, "app", spec);
  const std::vector<std::string> repos = {"app0", "app1", "app2", "app3", "app4", "app5"};
  for (const auto& r : repos) Push(layout_, "app", src, r, "v1");
  // Three seconds a request at the destination, one at a time: shard 0/2 through it
  // copies for minutes unless stopped.
  CorruptProxy slow(dst_, CorruptProxy::Options{.corrupt_blobs = false, .delay_ms = 3000});
  auto config = [&](const std::string& dst_url) {
    return "[settings]\nstate = \"" + pg_.url() + "\"\n\n[settings.webhook]\n"
           "token = \"env:CROSSDOCK_E2E_HOOK\"\n\n[endpoints.src]\nurl = \"" + src.url() +
           "\"\n\n[endpoints.dst]\nurl = \"" + dst_url + "\"\n\n"
           "[rules.batch]\nsource = \"src\"\ndestination = \"dst\"\nrepositories = [\"app*\"]\n"
           "dest_namespace = \"mirror\"\n\n"
           "[rules.live]\nsource = \"src\"\ndestination = \"dst\"\nrepositories = [\"live/**\"]\n"
           "events = true\n";
  };
  WriteFile(config_, config(dst_.url()));
  const std::string slow_config = dir_.Sub("slow.toml");
  WriteFile(slow_config, config(slow.url()));
  const std::map<std::string, std::string> env = [&] {
    auto e = pg_.env();
    e["CROSSDOCK_E2E_HOOK"] = kToken;
    return e;
  }();
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"-c", config_, "--no-color"});
    return RunCrossdock(args, env, dir_.path(), 180);
  };
  // Each shard has repositories of its own.
  for (const char* shard : {"0/2", "1/2"}) {
    RunResult p = run({"plan", "--shard", shard, "--detailed-exitcode"});
    ASSERT_EQ(p.exit_code, 2) << shard << "\n" << p.out << p.err;
  }

  Process serve({CrossdockBin(), "serve", "--listen", "127.0.0.1:" + std::to_string(port), "-c",
                 config_},
                dir_.Sub("serve.log"), env, dir_.path());
  ASSERT_TRUE(serve.WaitForLog("listening on")) << serve.log();
  const std::string serve_pid = std::to_string(serve.pid());
  EXPECT_TRUE(WaitForSql("SELECT lock_name FROM crossdock_locks WHERE pid = " + serve_pid,
                         "scope serve\n"));

  Process shard0({CrossdockBin(), "apply", "--auto-approve", "--shard", "0/2", "--parallelism",
                  "1", "-c", slow_config, "--no-color"},
                 dir_.Sub("shard0.log"), env, dir_.path());
  const std::string pid0 = std::to_string(shard0.pid());
  ASSERT_TRUE(WaitForSql("SELECT string_agg(lock_name, ',' ORDER BY lock_name) FROM "
                         "crossdock_locks WHERE lock_name LIKE 'scope %' AND pid = " + pid0,
                         "scope apply,scope shard 0/2\n"))
      << shard0.log();
  // It copies under the lock of the repository it writes.
  ASSERT_TRUE(WaitForSql("SELECT count(*) FROM crossdock_locks WHERE lock_name LIKE "
                         "'repository dst/mirror/app_' AND pid = " + pid0,
                         "1\n"))
      << shard0.log();
  // Shard 1/2 does not wait for shard 0/2.
  RunResult shard1 = run({"apply", "--auto-approve", "--shard", "1/2", "--lock-timeout", "0s"});
  EXPECT_EQ(shard1.exit_code, 0) << shard1.out << shard1.err;
  // A run of the whole state, or a second shard 0/2, does.
  RunResult whole = run({"apply", "--auto-approve", "--lock-timeout", "1s"});
  EXPECT_EQ(whole.exit_code, 1) << whole.out;
  EXPECT_NE(whole.err.find("(PostgreSQL advisory lock on scope \"apply\" of "), std::string::npos)
      << whole.err;
  RunResult again = run({"apply", "--auto-approve", "--shard", "0/2", "--lock-timeout", "1s"});
  EXPECT_EQ(again.exit_code, 1) << again.out;
  EXPECT_NE(again.err.find("state is locked by host"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find(", pid " + pid0 + ", since "), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("scope \"shard 0/2\""), std::string::npos) << again.err;

  // An event is executed while shard 0/2 still copies (its repository is not one the
  // shard is writing).
  Push(layout_, "app", src, "live/x", "v1");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (std::chrono::steady_clock::now() < deadline && ListTags(dst_, "live/x").empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ListTags(dst_, "live/x"), std::vector<std::string>{"v1"}) << serve.log();
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM crossdock_artifacts WHERE destination_repository = "
                    "'live/x'"),
            "1\n");
  kill(shard0.pid(), SIGTERM);
  shard0.Wait();

  // What the stopped shard left, an unsharded apply finishes (serve holds the whole
  // state only while it executes).
  RunResult finish = run({"apply", "--auto-approve", "--lock-timeout", "60s"});
  EXPECT_EQ(finish.exit_code, 0) << finish.out << finish.err;
  for (const auto& r : repos)
    EXPECT_EQ(ListTags(dst_, "mirror/" + r), std::vector<std::string>{"v1"}) << r;
  RunResult plan = run({"plan", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM crossdock_artifacts"), "7\n");
  // A second serve is refused: one serve per state.
  RunResult second = run({"serve", "--listen", "127.0.0.1:" + std::to_string(FreePort())});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("scope \"serve\""), std::string::npos) << second.err;
  kill(serve.pid(), SIGTERM);
  EXPECT_EQ(serve.Wait(), 0) << serve.log();
}

TEST_F(PostgresApplyTest, AnApplyKilledMidwayReleasesItsLocksAndTheNextApplyConverges) {
  const std::vector<std::string> tags = SeedTags(30);
  // About 40 ms a request at the destination: the copies take seconds.
  CorruptProxy slow(dst_, CorruptProxy::Options{.corrupt_blobs = false, .delay_ms = 40});
  WriteConfig(slow.url(), pg_.url());
  {
    Process apply({CrossdockBin(), "apply", "--auto-approve", "-c", config_, "--no-color"},
                  dir_.Sub("apply.log"), pg_.env(), dir_.path());
    // Killed once it has recorded something (its intents, or a first copy).
    ASSERT_TRUE(WaitForSql("SELECT (SELECT count(*) FROM crossdock_intents) + "
                           "(SELECT count(*) FROM crossdock_artifacts) > 0",
                           "t\n"))
        << apply.log();
    apply.Kill9();
  }
  // Its session ends with its connection: the server drops its advisory locks.
  EXPECT_TRUE(WaitForSql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", "0\n"));

  WriteConfig(dst_.url(), pg_.url());
  RunResult again = Crossdock({"apply", "--auto-approve", "--lock-timeout", "60s"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(ListTags(dst_, "mirror/app"), tags);
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM crossdock_artifacts"), std::to_string(tags.size()) + "\n");
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM crossdock_intents"), "0\n");
  RunResult plan = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  // The killed run's execution is failed (its session ended), the next one succeeded.
  EXPECT_EQ(pg_.Sql("SELECT id, status FROM crossdock_executions ORDER BY id"),
            "1|failed\n2|succeeded\n");
}

TEST_F(PostgresApplyTest, StopFromAnotherMachineStopsARunningApply) {
  SeedTags(30);
  // A second a request at the destination, one at a time: the apply takes minutes, so
  // it is still running when the stop arrives, however fast or slow the machine.
  CorruptProxy slow(dst_, CorruptProxy::Options{.corrupt_blobs = false, .delay_ms = 1000});
  WriteConfig(slow.url(), pg_.url());
  Process apply({CrossdockBin(), "apply", "--auto-approve", "--parallelism", "1", "-c", config_,
                 "--no-color"},
                dir_.Sub("apply.log"), pg_.env(), dir_.path());
  ASSERT_TRUE(WaitForSql("SELECT status FROM crossdock_executions WHERE id = 1", "running\n"))
      << apply.log();
  TempDir elsewhere;
  const std::string config = elsewhere.Sub("crossdock.toml");
  WriteFile(config, ReadFile(config_));
  RunResult stop = RunCrossdock({"stop", "1", "--wait", "120s", "-c", config}, pg_.env(),
                                elsewhere.path());
  EXPECT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  EXPECT_NE(stop.out.find("Execution 1 stopped"), std::string::npos) << stop.out;
  EXPECT_EQ(apply.Wait(), 130) << apply.log();
  EXPECT_EQ(pg_.Sql("SELECT status, stop_requested FROM crossdock_executions"), "stopped|f\n");
}

TEST_F(PostgresApplyTest, APasswordInTheUrlIsRefusedByValidateAndOnTheCommandLineAndNeverShown) {
  const std::string with_password = "postgres://crossdock:s3cret-in-url@127.0.0.1:" +
                                    std::to_string(pg_.port()) + "/crossdock?sslmode=disable";
  WriteConfig(dst_.url(), with_password);
  RunResult validate = Crossdock({"validate"});
  EXPECT_EQ(validate.exit_code, 1);
  EXPECT_NE(validate.err.find(config_ + ":2:9: error: the PostgreSQL URL in \"state\" holds a "
                              "password after the user name; secrets never go in the config"),
            std::string::npos)
      << validate.err;
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1);

  WriteConfig(dst_.url(), pg_.url());
  RunResult flag = Crossdock({"plan", "--state", with_password});
  EXPECT_EQ(flag.exit_code, 1);
  EXPECT_NE(flag.err.find("the PostgreSQL URL of the state holds a password after the user "
                          "name; secrets never go in a config or on a command line"),
            std::string::npos)
      << flag.err;
  for (const RunResult* r : {&validate, &plan, &flag})
    EXPECT_EQ((r->out + r->err).find("s3cret-in-url"), std::string::npos) << r->out << r->err;
}

TEST_F(PostgresApplyTest, AStateMigratesFromAFileToPostgresAndBackAndPlansStayEmpty) {
  const std::vector<std::string> tags = SeedTags(2);
  const std::string file = dir_.Sub("crossdock.state.json");
  WriteConfig(dst_.url(), "crossdock.state.json");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  const auto [lineage, serial] = FileLineageAndSerial(file);

  RunResult to_pg = Crossdock({"state", "migrate", "--to", pg_.url()});
  ASSERT_EQ(to_pg.exit_code, 0) << to_pg.out << to_pg.err;
  EXPECT_EQ(to_pg.out, "Migrated the state (lineage " + lineage + ", serial " +
                           std::to_string(serial) + ", 2 artifacts, 0 intents) from " + file +
                           " to " + pg_.url() + ".\nPoint [settings] state (or --state) at " +
                           pg_.url() + " to use it; " + file + " was left as it was.\n");
  EXPECT_EQ(pg_.Sql("SELECT lineage || ' ' || serial FROM crossdock_meta"),
            lineage + " " + std::to_string(serial) + "\n");
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM crossdock_artifacts"), "2\n");

  // The same config on PostgreSQL: nothing to do, then one more tag.
  WriteConfig(dst_.url(), pg_.url());
  RunResult plan = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  PushManifestUnderTag(src_, "app", "t00", "t02");
  RunResult more = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(more.exit_code, 0) << more.out << more.err;
  EXPECT_EQ(pg_.Sql("SELECT count(*) FROM crossdock_artifacts"), "3\n");
  const std::string pg_serial = pg_.Sql("SELECT serial FROM crossdock_meta");

  // Back to the file, which still holds the older version of this state: --force.
  RunResult refused = Crossdock({"state", "migrate", "--to", file});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("Error: " + file + " already holds this state (lineage " + lineage +
                             ", serial " + std::to_string(serial) +
                             ", 2 artifacts, 0 intents); pass --force to replace it with the one "
                             "at " + pg_.url()),
            std::string::npos)
      << refused.err;
  RunResult back = Crossdock({"state", "migrate", "--to", file, "--force"});
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  EXPECT_EQ(FileLineageAndSerial(file),
            std::make_pair(lineage, std::stol(pg_serial)));
  WriteConfig(dst_.url(), "crossdock.state.json");
  plan = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  RunResult list = Crossdock({"state", "list"});
  EXPECT_EQ(list.out, "dst/mirror/app:t00\ndst/mirror/app:t01\ndst/mirror/app:t02\n");
}

TEST_F(PostgresApplyTest, MigrateRefusesAnotherLineageEvenWithForceAndAnEmptySource) {
  SeedTags(1);
  // Two states of different lineages: a.json migrated to PostgreSQL, and b.json.
  WriteConfig(dst_.url(), "a.json");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);
  ASSERT_EQ(Crossdock({"state", "migrate", "--to", pg_.url()}).exit_code, 0);
  const std::string pg_before = pg_.Sql("SELECT lineage || ' ' || serial FROM crossdock_meta");
  PushManifestUnderTag(src_, "app", "t00", "t01");
  const std::string file = dir_.Sub("b.json");
  WriteConfig(dst_.url(), "b.json");
  ASSERT_EQ(Crossdock({"apply", "--auto-approve"}).exit_code, 0);  // records t01
  const auto [lineage, serial] = FileLineageAndSerial(file);

  RunResult other = Crossdock({"state", "migrate", "--to", pg_.url(), "--force"});
  EXPECT_EQ(other.exit_code, 1);
  const std::string pg_lineage = pg_before.substr(0, pg_before.find(' '));
  EXPECT_NE(other.err.find("Error: cannot migrate into " + pg_.url() +
                           ": it holds another state (lineage " + pg_lineage + ", serial " +
                           pg_before.substr(pg_before.find(' ') + 1, pg_before.size() - pg_before.find(' ') - 2) +
                           ", 1 artifact, 0 intents), and the state of " + file +
                           " has lineage " + lineage +
                           "; crossdock never replaces one state by another, even with --force: "
                           "migrate into an empty target, or empty this one first\n"),
            std::string::npos)
      << other.err;
  EXPECT_EQ(pg_.Sql("SELECT lineage || ' ' || serial FROM crossdock_meta"), pg_before);

  RunResult empty = Crossdock({"state", "migrate", "--state", dir_.Sub("none.json"), "--to",
                               pg_.url()});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("Error: there is no state at " + dir_.Sub("none.json") +
                           ": nothing to migrate\n"),
            std::string::npos)
      << empty.err;
  RunResult no_target = Crossdock({"state", "migrate"});
  EXPECT_EQ(no_target.exit_code, 1);
  EXPECT_NE(no_target.err.find("state migrate needs --to"), std::string::npos) << no_target.err;
}

}  // namespace
}  // namespace crossdock::testing
