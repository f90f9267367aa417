#include "applier/execution.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <thread>

#include "applier/history.h"
#include "state/store.h"
#include "tests/unit/fake_registry.h"

namespace crossdock::applier {
namespace {

using testing::FakeRegistry;

class RunExecutionTest : public ::testing::Test {
 protected:
  RunExecutionTest() : src_("src"), dst_("dst") {
    registries_ = {{"src", &src_}, {"dst", &dst_}};
  }
  void SetUp() override {
    char templ[] = "/tmp/crossdock-execution-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
    state_path_ = dir_ + "/s.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The state file's backend.
  state::Backend* Backend() {
    if (!backend_) {
      auto b = state::OpenBackend(state_path_);
      EXPECT_TRUE(b.ok()) << b.status().message();
      backend_ = std::move(*b);
    }
    return backend_.get();
  }

  // The state as apply reads it: a fresh one, with its lineage, when none exists.
  void ReadTheState() {
    auto s = state::ReadState(state_path_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    state_ = *s;
  }

  planner::Plan PlanOf(const std::vector<std::string>& tags) {
    planner::Plan plan;
    plan.rules = {"r"};
    for (const auto& t : tags) {
      planner::Change c;
      c.rule = "r";
      c.source_endpoint = "src";
      c.source_repository = "app";
      c.source_digest = src_.AddImage("app", t, t);
      c.destination_endpoint = "dst";
      c.destination_repository = "app";
      c.tag = t;
      plan.changes.push_back(c);
    }
    return plan;
  }

  FakeRegistry src_, dst_;
  std::map<std::string, providers::Registry*> registries_;
  std::string dir_, state_path_;
  state::State state_;
  std::unique_ptr<state::Backend> backend_;
  core::CancelToken cancel_;
};

TEST_F(RunExecutionTest, RecordsTheExecutionAndTheState) {
  ReadTheState();
  planner::Plan plan = PlanOf({"v1", "v2"});
  std::optional<std::int64_t> started;
  ExecutionOptions o;
  o.on_start = [&](std::optional<std::int64_t> id) { started = id; };
  ExecutionResult r = RunExecution(plan, &state_, Backend(), registries_, &cancel_, o);
  EXPECT_EQ(r.report.succeeded, 2);
  EXPECT_TRUE(r.persisted.ok());
  EXPECT_FALSE(r.cancelled);
  ASSERT_TRUE(r.execution);
  EXPECT_EQ(started, r.execution->id);
  EXPECT_EQ(r.execution->status, state::ExecutionStatus::kSucceeded);
  ASSERT_EQ(r.execution->tasks.size(), 1u);
  EXPECT_EQ(r.execution->tasks[0].status, state::TaskStatus::kSucceeded);
  auto on_disk = state::ReadState(state_path_);
  ASSERT_TRUE(on_disk.ok()) << on_disk.status().message();
  EXPECT_EQ(on_disk->artifacts.size(), 2u);
  EXPECT_EQ(dst_.DigestOf("app", "v2"), src_.DigestOf("app", "v2"));
}

// `crossdock stop` from another process: the request file cancels this execution's
// token only.
TEST_F(RunExecutionTest, AStopRequestCancelsTheExecutionsToken) {
  ReadTheState();
  planner::Plan plan = PlanOf({"v1"});
  ExecutionOptions o;
  o.stop_poll = std::chrono::milliseconds(10);
  o.on_start = [&](std::optional<std::int64_t> id) {
    ASSERT_TRUE(id);
    ASSERT_TRUE(state::ExecutionStore(state_path_).RequestStop(*id).ok());
    // Generous for a loaded machine; the watcher polls every 10 ms.
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
         !cancel_.cancelled() && std::chrono::steady_clock::now() < until;)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  ExecutionResult r = RunExecution(plan, &state_, Backend(), registries_, &cancel_, o);
  EXPECT_TRUE(r.cancelled);
  EXPECT_TRUE(r.stopped_by_request);
  EXPECT_EQ(r.report.not_started, 1);
  ASSERT_TRUE(r.execution);
  EXPECT_EQ(r.execution->status, state::ExecutionStatus::kStopped);
  EXPECT_EQ(r.execution->message,
            "stopped by `crossdock stop`; the changes not started were left for the next run");
  EXPECT_EQ(dst_.DigestOf("app", "v1"), std::nullopt);
}

TEST_F(RunExecutionTest, APlanWithNothingToDoIsRecordedAllTheSame) {
  planner::Plan plan;
  plan.rules = {"r"};
  ExecutionOptions o;
  o.trigger = state::Trigger::kScheduled;
  auto e = RecordUnchanged(plan, state_path_, o);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, state::ExecutionStatus::kSucceeded);
  EXPECT_EQ(e->trigger, state::Trigger::kScheduled);
  auto listed = state::ExecutionStore(state_path_).List();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);
}

TEST(RetryFilterTest, KeepsTheChangesOfFailedAndStoppedTasksOnly) {
  state::Execution e;
  using state::Operation;
  using state::TaskStatus;
  auto task = [](const std::string& repo, Operation op, TaskStatus status) {
    state::Task t;
    t.rule = "r";
    t.operation = op;
    t.destination_endpoint = "dst";
    t.destination_repository = repo;
    t.status = status;
    return t;
  };
  e.tasks = {task("a", Operation::kCopy, TaskStatus::kFailed),
             task("b", Operation::kCopy, TaskStatus::kSucceeded),
             task("c", Operation::kDelete, TaskStatus::kStopped),
             task("d", Operation::kCopy, TaskStatus::kStopped)};
  RetryFilter filter(e);
  EXPECT_EQ(filter.size(), 3u);
  planner::Plan plan;
  for (const char* repo : {"a", "b", "c", "d"}) {
    planner::Change c;
    c.rule = "r";
    c.destination_endpoint = "dst";
    c.destination_repository = repo;
    c.tag = "v1";
    plan.changes.push_back(c);  // copies
  }
  plan.changes[2].action = planner::Action::kDelete;
  filter.Keep(&plan);
  ASSERT_EQ(plan.changes.size(), 3u);
  EXPECT_EQ(plan.changes[0].destination_repository, "a");
  EXPECT_EQ(plan.changes[1].destination_repository, "c");
  EXPECT_EQ(plan.changes[2].destination_repository, "d");
  EXPECT_TRUE(RetryFilter(state::Execution{}).empty());
}

}  // namespace
}  // namespace crossdock::applier
