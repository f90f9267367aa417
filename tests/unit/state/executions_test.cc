#include "state/executions.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
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
    t.operation = Operation::kCopy;
    t.destination_endpoint = "dst";
    t.destination_repository = repo;
    t.references = {"v1", "v2"};
    return t;
  }

  std::string dir_;
};

TEST_F(ExecutionStoreTest, StartAssignsIncreasingIdsAndRoundTrips) {
  ExecutionStore store(dir_ + "/s.json");
  auto a = store.Start({"r"}, Trigger::kManual, {MakeTask("app")});
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = store.Start({"r"}, Trigger::kScheduled, {});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->id, 1);
  EXPECT_EQ(b->id, 2);
  a->status = ExecutionStatus::kSucceeded;
  a->tasks[0].status = TaskStatus::kSucceeded;
  a->tasks[0].bytes = 42;
  ASSERT_TRUE(store.Save(*a).ok());
  auto back = store.Get(1);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->status, ExecutionStatus::kSucceeded);
  EXPECT_EQ(back->tasks[0].id, 1);
  EXPECT_EQ(back->tasks[0].bytes, 42);
  EXPECT_EQ(back->tasks[0].references, (std::vector<std::string>{"v1", "v2"}));
  auto list = store.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, 2);  // newest first
}

// Issue 11: statuses, triggers and operations are enums, stored by name; a word the
// reader does not know makes the file corrupt rather than a status nobody handles.
TEST_F(ExecutionStoreTest, VocabularyIsStoredByNameAndUnknownWordsAreCorrupt) {
  ExecutionStore store(dir_ + "/s.json", [](const std::string&) {});
  auto e = store.Start({"r"}, Trigger::kRetry, {MakeTask("app")});
  ASSERT_TRUE(e.ok());
  const std::string path = store.dir() + "/1.json";
  std::FILE* f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), f));
  std::fclose(f);
  EXPECT_NE(text.find("\"trigger\": \"retry\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"status\": \"running\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"operation\": \"copy\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"status\": \"pending\""), std::string::npos) << text;
  for (const char* word : {"\"trigger\": \"retry\"", "\"status\": \"pending\"",
                           "\"operation\": \"copy\""}) {
    std::string altered = text;
    const std::string w = word;
    altered.replace(altered.find(w), w.size(), w.substr(0, w.find(':') + 1) + "\"exploded\"");
    f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(altered.data(), 1, altered.size(), f);
    std::fclose(f);
    auto back = store.Get(1);
    EXPECT_EQ(back.status().code(), core::Code::kDataLoss) << word;
  }
  for (auto s : {TaskStatus::kPending, TaskStatus::kRunning, TaskStatus::kSucceeded,
                 TaskStatus::kFailed, TaskStatus::kStopped})
    EXPECT_EQ(ParseTaskStatus(Name(s)), s);
  EXPECT_EQ(ParseExecutionStatus("pending"), std::nullopt);
  EXPECT_EQ(ParseTrigger(Name(Trigger::kEvent)), Trigger::kEvent);
  EXPECT_EQ(ParseOperation("delete"), Operation::kDelete);
}

TEST_F(ExecutionStoreTest, CrashedRunningExecutionBecomesFailed) {
  ExecutionStore store(dir_ + "/s.json");
  ASSERT_TRUE(store.Start({"r"}, Trigger::kManual, {MakeTask("app")}).ok());
  auto n = store.RecoverCrashed();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  auto e = store.Get(1);
  EXPECT_EQ(e->status, ExecutionStatus::kFailed);
  EXPECT_EQ(e->tasks[0].status, TaskStatus::kFailed);
  EXPECT_NE(e->message.find("ended without finishing this execution"), std::string::npos);
  EXPECT_EQ(*store.RecoverCrashed(), 0);
}

TEST_F(ExecutionStoreTest, PruneKeepsTheNewestPerRule) {
  ExecutionStore store(dir_ + "/s.json");
  for (int i = 0; i < 5; ++i) {
    auto e = store.Start({i % 2 ? "odd" : "even"}, Trigger::kManual, {});
    e->status = ExecutionStatus::kSucceeded;
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
  ASSERT_TRUE(store.Start({"r"}, Trigger::kManual, {MakeTask("app")}).ok());
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

// One stray or damaged entry must not stop crash recovery, pruning or apply --due,
// which all list the history first.
TEST_F(ExecutionStoreTest, StrayAndDamagedEntriesAreSkippedWithOneWarningEach) {
  std::vector<std::string> warnings;
  ExecutionStore store(dir_ + "/s.json", [&](const std::string& w) { warnings.push_back(w); });
  ASSERT_TRUE(store.Start({"r"}, Trigger::kManual, {MakeTask("app")}).ok());
  ASSERT_TRUE(store.Start({"r"}, Trigger::kManual, {}).ok());
  auto write = [&](const std::string& name, const std::string& text) {
    FILE* f = fopen((store.dir() + "/" + name).c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs(text.c_str(), f);
    fclose(f);
  };
  write("99999999999999999999999.json", "{}");  // more digits than a long long holds
  write("007.json", "{}");
  write("3.json", "{not json");
  write("4.json", R"({"id": "four", "rules": ["r"]})");  // a field of the wrong type
  std::filesystem::create_directory(store.dir() + "/5.json");  // opens, cannot be read
  write("notes.txt", "mine");
  write("1.stop", "");

  auto list = store.List();
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, 2);
  EXPECT_EQ((*list)[1].id, 1);
  const std::string dir = store.dir();
  std::vector<std::string> expected = {
      "skipped execution 3: execution file " + dir + "/3.json is corrupt; move it away",
      "skipped execution 4: execution file " + dir + "/4.json is corrupt; move it away",
      "skipped execution 5: cannot read " + dir + "/5.json: Is a directory",
      "skipped " + dir + "/007.json: not an execution file (the name is no execution id); "
      "move it out of " + dir,
      "skipped " + dir + "/99999999999999999999999.json: not an execution file (the name is "
      "no execution id); move it out of " + dir,
  };
  std::sort(expected.begin(), expected.end());
  std::sort(warnings.begin(), warnings.end());
  EXPECT_EQ(warnings, expected);

  // What apply does with the history: each succeeds, and warns no more.
  ASSERT_TRUE(store.RecoverCrashed().ok());
  EXPECT_EQ(store.Get(1)->status, ExecutionStatus::kFailed);
  auto next = store.Start({"r"}, Trigger::kManual, {});
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_EQ(next->id, 6);  // after the damaged 5, which is left as it is
  EXPECT_TRUE(store.Prune(1).ok());
  EXPECT_EQ(warnings.size(), 5u);
  EXPECT_TRUE(std::filesystem::exists(dir + "/3.json"));
}

TEST_F(ExecutionStoreTest, AFolderThatCannotBeListedIsAWarningNotAFailure) {
  std::vector<std::string> warnings;
  ExecutionStore store(dir_ + "/s.json", [&](const std::string& w) { warnings.push_back(w); });
  FILE* f = fopen(store.dir().c_str(), "w");  // a file where the folder should be
  ASSERT_NE(f, nullptr);
  fclose(f);
  auto list = store.List();
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_TRUE(list->empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "cannot list the executions in " + store.dir() +
                             ": Not a directory; the history of earlier runs is not consulted");
  EXPECT_TRUE(store.RecoverCrashed().ok());
  EXPECT_TRUE(store.Prune(3).ok());
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
