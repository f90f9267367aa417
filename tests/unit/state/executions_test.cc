#include "state/executions.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace crossdock::state {
namespace {

class ExecutionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/crossdock-exec-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Task MakeTask(const std::string& repo) {
    Task t;
    t.rule = "r";
    t.operation = "copy";
    t.destination_endpoint = "dst";
    t.destination_repository = repo;
    t.references = {"v1", "v2"};
    return t;
  }

  std::string dir_;
};

TEST_F(ExecutionStoreTest, StartAssignsIncreasingIdsAndRoundTrips) {
  ExecutionStore store(dir_ + "/s.json");
  auto a = store.Start({"r"}, "manual", {MakeTask("app")});
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = store.Start({"r"}, "scheduled", {});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->id, 1);
  EXPECT_EQ(b->id, 2);
  a->status = "succeeded";
  a->tasks[0].status = "succeeded";
  a->tasks[0].bytes = 42;
  ASSERT_TRUE(store.Save(*a).ok());
  auto back = store.Get(1);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->status, "succeeded");
  EXPECT_EQ(back->tasks[0].id, 1);
  EXPECT_EQ(back->tasks[0].bytes, 42);
  EXPECT_EQ(back->tasks[0].references, (std::vector<std::string>{"v1", "v2"}));
  auto list = store.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, 2);  // newest first
}

TEST_F(ExecutionStoreTest, CrashedRunningExecutionBecomesFailed) {
  ExecutionStore store(dir_ + "/s.json");
  ASSERT_TRUE(store.Start({"r"}, "manual", {MakeTask("app")}).ok());
  auto n = store.RecoverCrashed();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  auto e = store.Get(1);
  EXPECT_EQ(e->status, "failed");
  EXPECT_EQ(e->tasks[0].status, "failed");
  EXPECT_NE(e->message.find("ended without finishing this execution"), std::string::npos);
  EXPECT_EQ(*store.RecoverCrashed(), 0);
}

TEST_F(ExecutionStoreTest, PruneKeepsTheNewestPerRule) {
  ExecutionStore store(dir_ + "/s.json");
  for (int i = 0; i < 5; ++i) {
    auto e = store.Start({i % 2 ? "odd" : "even"}, "manual", {});
    e->status = "succeeded";
    ASSERT_TRUE(store.Save(*e).ok());
    ASSERT_TRUE(store.AppendLog(e->id, 1, "x").ok());
  }
  ASSERT_TRUE(store.Prune(1).ok());
  auto list = store.List();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, 5);
  EXPECT_EQ((*list)[1].id, 4);
  EXPECT_FALSE(std::filesystem::exists(store.dir() + "/1"));
}

TEST_F(ExecutionStoreTest, TaskLogsAppendAndUnknownIdsAreClear) {
  ExecutionStore store(dir_ + "/s.json");
  ASSERT_TRUE(store.Start({"r"}, "manual", {MakeTask("app")}).ok());
  ASSERT_TRUE(store.AppendLog(1, 1, "copy app:v1: done").ok());
  ASSERT_TRUE(store.AppendLog(1, 1, "copy app:v2: failed: boom").ok());
  auto log = store.ReadLog(1, 1);
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("Z copy app:v1: done\n"), std::string::npos);
  EXPECT_NE(log->find("Z copy app:v2: failed: boom\n"), std::string::npos);
  EXPECT_EQ(store.ReadLog(1, 9).status().message(),
            "execution 1 has no task 9; see `crossdock tasks 1`");
  EXPECT_EQ(store.Get(7).status().message(), "no execution 7; see `crossdock executions`");
}

TEST(TaskIdTest, ParsesExecutionDotTask) {
  EXPECT_EQ(ParseTaskId("12.3"), std::make_pair(std::int64_t{12}, 3));
  EXPECT_FALSE(ParseTaskId("12"));
  EXPECT_FALSE(ParseTaskId("a.b"));
  EXPECT_FALSE(ParseTaskId(".3"));
  EXPECT_FALSE(ParseTaskId("1.-3"));
}

}  // namespace
}  // namespace crossdock::state
