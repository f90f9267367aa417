#include "state/event_journal.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace crossdock::state {
namespace {

class EventJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/crossdock-journal-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
    state_ = dir_ + "/s.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_, state_;
};

TEST_F(EventJournalTest, AppendedLinesArePendingUntilExecuted) {
  EventJournal j(state_);
  EXPECT_EQ(j.path(), state_ + ".events.jsonl");
  std::uint64_t end = 0;
  EXPECT_TRUE(j.Pending(&end).empty());
  ASSERT_TRUE(j.Append("a\nb\n").ok());
  ASSERT_TRUE(j.Append("c\n").ok());
  auto lines = j.Pending(&end);
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(end, 6u);
  struct stat st{};
  ASSERT_EQ(::stat(j.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Executed up to the end: emptied, and a new journal starts from 0.
  ASSERT_TRUE(j.Executed(end).ok());
  EXPECT_EQ(std::filesystem::file_size(j.path()), 0u);
  EXPECT_TRUE(j.Pending(&end).empty());
  ASSERT_TRUE(j.Append("d\n").ok());
  EXPECT_EQ(j.Pending(&end), std::vector<std::string>{"d"});
}

TEST_F(EventJournalTest, EventsAcceptedWhileExecutingWaitForTheNextDrain) {
  EventJournal j(state_);
  ASSERT_TRUE(j.Append("a\n").ok());
  std::uint64_t end = 0;
  ASSERT_EQ(j.Pending(&end).size(), 1u);
  ASSERT_TRUE(j.Append("b\n").ok());  // arrives while "a" executes
  ASSERT_TRUE(j.Executed(end).ok());
  EXPECT_EQ(j.Pending(&end), std::vector<std::string>{"b"});
  EXPECT_EQ(j.PendingCount(), 1u);
  // A restart (a new object) resumes at the recorded offset.
  EventJournal again(state_);
  EXPECT_EQ(again.Pending(&end), std::vector<std::string>{"b"});
}

TEST_F(EventJournalTest, ATornLastLineWaitsAndAJournalEmptiedByHandIsReadFromTheStart) {
  EventJournal j(state_);
  ASSERT_TRUE(j.Append("a\nb\n").ok());
  std::uint64_t end = 0;
  (void)j.Pending(&end);
  ASSERT_TRUE(j.Append("c\n").ok());
  ASSERT_TRUE(j.Executed(2).ok());  // "a" done, "b" and "c" not
  std::ofstream(j.path(), std::ios::app) << "{\"torn";  // a crash mid-write
  EXPECT_EQ(j.Pending(&end), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(end, 6u);
  ASSERT_TRUE(j.Executed(4).ok());
  std::ofstream(j.path(), std::ios::trunc) << "x\n";  // shorter than the offset
  EXPECT_EQ(j.Pending(&end), std::vector<std::string>{"x"});
}

TEST_F(EventJournalTest, AnUnwritableJournalIsAnErrorNamingIt) {
  EventJournal j(dir_ + "/missing/s.json");
  core::Status st = j.Append("a\n");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("opening the event journal " + dir_ + "/missing/s.json.events.jsonl"),
            std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace crossdock::state
