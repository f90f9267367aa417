// End to end: shards (--shard I/N, README "Shards") against real docker-registry
// processes on 127.0.0.1, seeded with skopeo and checked straight at the registry.
// Which shard owns a repository is written out below as computed independently
// (Python's hashlib over "crossdock-shard-v1\0dst\0<repository>"), so these tests
// check the documented formula too. With the file state, shards run one after another.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <set>
#include <thread>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

// Destination repository -> its shard of 2 and of 3, at endpoint "dst".
const std::map<std::string, std::pair<int, int>> kShardOf = {
    {"lib/a", {0, 1}}, {"lib/b", {1, 1}}, {"lib/c", {0, 0}}, {"lib/f", {0, 2}}};

class ShardE2eTest : public ::testing::Test {
 protected:
  ShardE2eTest() : dst_(Registry::Options{.access_log = true}) {
    layout_ = dir_.Sub("layout");
    config_ = dir_.Sub("crossdock.toml");
    state_ = dir_.Sub("crossdock.state.json");
  }

  void WriteConfig(const std::string& rule_body) {
    WriteFile(config_, "[endpoints.src]\ntype = \"docker-registry\"\nurl = \"" + src_.url() +
                           "\"\n\n[endpoints.dst]\ntype = \"docker-registry\"\nurl = \"" +
                           dst_.url() +
                           "\"\n\n[rules.mirror]\nsource = \"src\"\ndestination = \"dst\"\n"
                           "repositories = [\"lib/*\"]\n" +
                           rule_body);
  }

  RunResult Crossdock(std::vector<std::string> args) {
    args.insert(args.end(), {"-c", config_, "--no-color"});
    return RunCrossdock(args, {}, dir_.path());
  }

  // v1 and v2 of every repository, each its own image (distribution deletes by digest).
  void SeedAll() {
    uint64_t seed = 1;
    for (const auto& [repo, shard] : kShardOf)
      for (const char* tag : {"v1", "v2"}) {
        ImageSpec spec;
        spec.layers = {LayerSpec{.size = 1024, .seed = ++seed}};
        std::string name = repo + "-" + tag;
        name[3] = '-';
        digests_[repo + ":" + tag] = BuildImage(layout_, name, spec).digest;
        Push(layout_, name, src_, repo, tag);
      }
  }

  // Whether the destination holds REPO:TAG with the source's digest, asked of the
  // registry itself.
  bool Copied(const std::string& repo, const std::string& tag) {
    auto d = HeadDigest(dst_, repo, tag);
    return d && *d == digests_.at(repo + ":" + tag);
  }

  // Requests the destination's log shows for REPO since it was SINCE characters long.
  int RequestsFor(const std::string& repo, size_t since) {
    const std::string log = dst_.log().substr(since);
    int n = 0;
    for (size_t at = log.find("/v2/" + repo + "/"); at != std::string::npos;
         at = log.find("/v2/" + repo + "/", at + 1))
      ++n;
    return n;
  }

  TempDir dir_;
  Registry src_;
  Registry dst_;
  std::string layout_, config_, state_;
  std::map<std::string, std::string> digests_;
};

TEST_F(ShardE2eTest, TwoShardsConvergeThenThreeShardsDeleteWhatTheNarrowedRuleDropped) {
  SeedAll();
  WriteConfig("");
  RunResult json = Crossdock({"plan", "--shard", "1/2", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out.rfind("{\"format_version\":\"1\",\"shard\":{\"index\":1,\"count\":2},", 0), 0u)
      << json.out;
  EXPECT_NE(json.out.find("\"summary\":{\"create\":2,"), std::string::npos) << json.out;  // lib/b

  // Shard 0 of 2 copies lib/a, lib/c and lib/f, and sends nothing about lib/b.
  size_t log_start = dst_.log().size();
  RunResult zero = Crossdock({"apply", "--shard", "0/2", "--auto-approve"});
  ASSERT_EQ(zero.exit_code, 0) << zero.out << zero.err;
  EXPECT_NE(zero.out.find("Shard 0/2: Plan: 6 to copy, 0 to replace, 0 to delete."),
            std::string::npos)
      << zero.out;
  EXPECT_EQ(RequestsFor("lib/b", log_start), 0) << dst_.log().substr(log_start);
  EXPECT_GT(RequestsFor("lib/a", log_start), 0);
  for (const auto& [repo, shard] : kShardOf)
    for (const char* tag : {"v1", "v2"})
      EXPECT_EQ(Copied(repo, tag), shard.first == 0) << repo << ":" << tag;

  log_start = dst_.log().size();
  RunResult one = Crossdock({"apply", "--shard", "1/2", "--auto-approve"});
  ASSERT_EQ(one.exit_code, 0) << one.out << one.err;
  EXPECT_NE(one.out.find("Shard 1/2: Plan: 2 to copy, 0 to replace, 0 to delete."),
            std::string::npos)
      << one.out;
  for (const char* repo : {"lib/a", "lib/c", "lib/f"}) EXPECT_EQ(RequestsFor(repo, log_start), 0);
  for (const auto& [repo, shard] : kShardOf)
    for (const char* tag : {"v1", "v2"}) EXPECT_TRUE(Copied(repo, tag)) << repo << ":" << tag;

  // Together they did what one apply would have.
  RunResult whole = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(whole.exit_code, 0) << whole.out << whole.err;
  EXPECT_NE(whole.out.find("No changes. Destinations match the desired state."), std::string::npos)
      << whole.out;

  // Three shards now: what the shards of two copied is owned by its destination, so
  // the narrowed rule deletes v2 everywhere, each shard its own repositories.
  WriteConfig("tags = [\"v1\"]\ndelete = true\n");
  RunResult narrowed = Crossdock({"plan"});
  EXPECT_NE(narrowed.out.find("Plan: 0 to copy, 0 to replace, 4 to delete."), std::string::npos)
      << narrowed.out;
  const std::map<int, std::string> deletes = {{0, "1 to delete"}, {1, "2 to delete"},
                                              {2, "1 to delete"}};
  for (int i = 0; i < 3; ++i) {
    const std::string shard = std::to_string(i) + "/3";
    RunResult apply = Crossdock({"apply", "--shard", shard, "--auto-approve"});
    ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
    EXPECT_NE(apply.out.find("Shard " + shard + ": Plan: 0 to copy, 0 to replace, " +
                             deletes.at(i) + "."),
              std::string::npos)
        << apply.out;
    for (const auto& [repo, owner] : kShardOf)
      EXPECT_EQ(Copied(repo, "v2"), owner.second > i) << shard << " " << repo;
  }
  for (const auto& [repo, shard] : kShardOf) {
    EXPECT_EQ(ListTags(dst_, repo), std::vector<std::string>{"v1"}) << repo;
    EXPECT_TRUE(Copied(repo, "v1")) << repo;
    EXPECT_EQ(HeadDigest(src_, repo, "v2"), digests_.at(repo + ":v2"));  // the source keeps it
  }
  RunResult after = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;
}

TEST_F(ShardE2eTest, ASavedPlanRunsAsItsShard) {
  SeedAll();
  WriteConfig("");
  const std::string plan_file = dir_.Sub("shard1.plan");
  RunResult plan = Crossdock({"plan", "--shard", "1/3", "--out", plan_file});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  RunResult other = Crossdock({"apply", plan_file, "--shard", "0/3"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_EQ(other.err, "Error: " + plan_file +
                           " is the plan of shard 1/3, not of --shard 0/3: apply it without "
                           "--shard, or make the plan of that shard with `crossdock plan --shard "
                           "0/3 --out FILE`\n");
  EXPECT_FALSE(HeadDigest(dst_, "lib/a", "v1"));
  RunResult apply = Crossdock({"apply", plan_file, "--shard", "1/3"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  for (const auto& [repo, shard] : kShardOf)
    EXPECT_EQ(Copied(repo, "v1"), shard.second == 1) << repo;
  RunResult history = Crossdock({"executions", "--json"});
  EXPECT_NE(history.out.find("\"shard\":\"1/3\""), std::string::npos) << history.out;

  // A plan of every shard is no shard's.
  RunResult whole = Crossdock({"plan", "--out", plan_file});
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  RunResult refused = Crossdock({"apply", plan_file, "--shard", "1/3"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("is the plan of every shard (made without --shard), not of --shard "
                             "1/3"),
            std::string::npos)
      << refused.err;
}

TEST_F(ShardE2eTest, ApplyDueRunsADueRuleOncePerShard) {
  SeedAll();
  WriteConfig("schedule = \"@every 1h\"\n");
  RunResult zero = Crossdock({"apply", "--due", "--shard", "0/2", "--auto-approve"});
  ASSERT_EQ(zero.exit_code, 0) << zero.out << zero.err;
  EXPECT_NE(zero.out.find("Due on schedule for shard 0/2: mirror"), std::string::npos) << zero.out;
  EXPECT_TRUE(Copied("lib/a", "v1"));
  EXPECT_FALSE(Copied("lib/b", "v1"));
  RunResult again = Crossdock({"apply", "--due", "--shard", "0/2", "--auto-approve"});
  EXPECT_EQ(again.out, "No scheduled rule is due for shard 0/2.\n");
  // Shard 0's run leaves the rule due for shard 1.
  RunResult one = Crossdock({"apply", "--due", "--shard", "1/2", "--auto-approve"});
  ASSERT_EQ(one.exit_code, 0) << one.out << one.err;
  EXPECT_NE(one.out.find("Due on schedule for shard 1/2: mirror"), std::string::npos) << one.out;
  for (const auto& [repo, shard] : kShardOf) EXPECT_TRUE(Copied(repo, "v2")) << repo;
  RunResult list = Crossdock({"executions"});
  EXPECT_NE(list.out.find("mirror (shard 1/2)"), std::string::npos) << list.out;
}

TEST_F(ShardE2eTest, RunAppliesOnlyItsShard) {
  SeedAll();
  WriteConfig("schedule = \"@every 1h\"\n");
  Process run({CrossdockBin(), "run", "--shard", "2/3", "-c", config_}, dir_.Sub("run.log"), {},
              dir_.path());
  ASSERT_TRUE(run.WaitForLog("Apply complete!", std::chrono::seconds(60))) << run.log();
  EXPECT_NE(run.log().find("; shard 2/3"), std::string::npos) << run.log();
  EXPECT_NE(run.log().find("due for shard 2/3: mirror"), std::string::npos) << run.log();
  kill(run.pid(), SIGTERM);
  EXPECT_EQ(run.Wait(), 0) << run.log();
  for (const auto& [repo, shard] : kShardOf)
    for (const char* tag : {"v1", "v2"})
      EXPECT_EQ(Copied(repo, tag), shard.second == 2) << repo << ":" << tag;

  RunResult listen = Crossdock({"run", "--shard", "0/3", "--listen", "127.0.0.1:1"});
  EXPECT_EQ(listen.exit_code, 1);
  EXPECT_NE(listen.err.find("--shard and --listen cannot be combined"), std::string::npos)
      << listen.err;
}

TEST_F(ShardE2eTest, BadShardIsAUsageErrorAndNothingIsContacted) {
  WriteConfig("");
  const std::string form =
      "; expected --shard I/N, shard I of N with whole numbers 0 <= I < N (e.g. --shard 0/4)\n";
  const std::map<std::string, std::string> cases = {
      {"4/4", "the index 4 is not below the count 4 (shards are numbered from 0 to 3)"},
      {"x", "not of the form I/N"},
      {"0/0", "the count must be at least 1"},
      {"-1/3", "the index \"-1\" is not a whole number from 0"},
      {"1/", "the count N is missing"},
  };
  const size_t log_start = dst_.log().size();
  for (const auto& [value, what] : cases)
    for (std::vector<std::string> args :
         {std::vector<std::string>{"plan"}, {"apply", "--auto-approve"}, {"apply", "--due"},
          {"run"}}) {
      args.insert(args.end(), {"--shard", value});
      RunResult r = Crossdock(args);
      EXPECT_EQ(r.exit_code, 1) << args[0] << " " << value;
      EXPECT_EQ(r.err, "Error: --shard \"" + value + "\": " + what + form) << args[0];
      EXPECT_EQ(r.out, "");
    }
  EXPECT_EQ(dst_.log().substr(log_start).find("/v2/"), std::string::npos)
      << dst_.log().substr(log_start);
  EXPECT_FALSE(std::filesystem::exists(state_));
}

}  // namespace
}  // namespace crossdock::testing
