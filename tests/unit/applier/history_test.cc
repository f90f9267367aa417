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

}  // namespace
}  // namespace crossdock::applier
