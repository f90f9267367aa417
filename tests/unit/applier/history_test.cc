#include "applier/history.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace crossdock::applier {
namespace {

class ExecutionRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/crossdock-history-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static planner::Change Copy(const std::string& repo, const std::string& tag) {
    planner::Change c;
    c.rule = "r";
    c.action = planner::Action::kCreate;
    c.source_endpoint = "src";
    c.source_repository = repo;
    c.source_digest = "sha256:" + std::string(64, 'a');
    c.destination_endpoint = "dst";
    c.destination_repository = repo;
    c.tag = tag;
    return c;
  }

  std::string dir_;
};

TEST_F(ExecutionRecorderTest, TasksCutShortByAStopShowStoppedAndOtherFailuresFailed) {
  state::ExecutionStore store(dir_ + "/s.json");
  planner::Plan plan;
  plan.rules = {"r"};
  plan.changes = {Copy("big", "v1"), Copy("broken", "v1"), Copy("small", "v1"), Copy("small", "v2")};
  auto rec = ExecutionRecorder::Start(&store, plan, state::Trigger::kManual);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  (*rec)->ChangeDone(plan.changes[0],
                     core::Status::Cancelled("stopped: the copy was abandoned before it finished"), 0);
  (*rec)->ChangeDone(plan.changes[1], core::Status::Unavailable("HTTP 503"), 0);
  (*rec)->ChangeDone(plan.changes[2], core::Status::Ok(), 10);
  (*rec)->ChangeDone(plan.changes[3], core::Status::Cancelled("stopped: abandoned"), 0);
  ASSERT_TRUE((*rec)->Finish(true, "", 50).ok());

  auto e = store.Get((*rec)->id());
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->status, state::ExecutionStatus::kStopped);
  std::map<std::string, std::string> status;
  for (const auto& t : e->tasks) status[t.destination_repository] = state::Name(t.status);
  EXPECT_EQ(status["big"], "stopped");
  EXPECT_EQ(status["broken"], "failed");
  EXPECT_EQ(status["small"], "stopped");  // one tag done, one cut short
}

// Issue 15: each shard of `apply --due --shard I/N` (a Kubernetes Indexed Job) runs
// a due rule; one shard's run leaves it due for the others, and a run of every shard
// counts for all of them.
TEST_F(ExecutionRecorderTest, ARuleIsDueForEachShardUntilThatShardRanIt) {
  state::ExecutionStore store(dir_ + "/s.json");
  core::Config config;
  core::Rule rule;
  rule.name = "r";
  rule.schedule = "0 3 * * *";
  config.rules = {rule};
  const auto now = std::chrono::system_clock::now();
  const core::Shard zero{0, 2}, one{1, 2};
  const auto due = [&](std::optional<core::Shard> shard) {
    auto d = DueRules(config, store, now, shard);
    EXPECT_TRUE(d.ok()) << d.status().message();
    return d.ok() && !d->empty();
  };
  EXPECT_TRUE(due(zero));
  EXPECT_TRUE(due(one));

  planner::Plan plan;
  plan.rules = {"r"};
  plan.shard = zero;
  auto rec = ExecutionRecorder::Start(&store, plan, state::Trigger::kScheduled);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  ASSERT_TRUE((*rec)->Finish(false, "", 50).ok());
  EXPECT_EQ(store.Get((*rec)->id())->shard, "0/2");
  EXPECT_FALSE(due(zero));
  EXPECT_TRUE(due(one));
  EXPECT_TRUE(due(std::nullopt));  // shard 0's run covered half of the repositories

  plan.shard.reset();
  rec = ExecutionRecorder::Start(&store, plan, state::Trigger::kScheduled);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  ASSERT_TRUE((*rec)->Finish(false, "", 50).ok());
  EXPECT_EQ(store.Get((*rec)->id())->shard, "");
  EXPECT_FALSE(due(one));
  EXPECT_FALSE(due(std::nullopt));
  EXPECT_FALSE(due(core::Shard{2, 3}));
}

}  // namespace
}  // namespace crossdock::applier
