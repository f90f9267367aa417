// Tests of state/state.h's change journal and of state/backend.h's file backend (the
// PostgreSQL backend's are end-to-end: tests/e2e/postgres_state_test.cc).
#include "state/backend.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "state/pg_connection.h"
#include "state/store.h"

namespace crossdock::state {
namespace {

Artifact MakeArtifact(const std::string& repo, const std::string& tag) {
  Artifact a;
  a.rule = "r";
  a.source_endpoint = "src";
  a.source_repository = repo;
  a.source_digest = "sha256:" + std::string(64, 'a');
  a.destination_endpoint = "dst";
  a.destination_repository = repo;
  a.tag = tag;
  a.destination_digest = a.source_digest;
  a.replicated_at = "2024-05-01T12:00:00Z";
  return a;
}

std::vector<std::string> Tags(const ChangeJournal& j) {
  std::vector<std::string> tags;
  for (const auto& [key, generation] : j.touched()) tags.push_back(std::get<2>(key));
  return tags;
}

TEST(ChangeJournalTest, EveryMutationTouchesItsKeyOnce) {
  State s;
  s.Upsert(MakeArtifact("app", "v1"));
  s.Upsert(MakeArtifact("app", "v1"));
  EXPECT_FALSE(s.Remove("dst", "app", "gone"));  // a miss is a change of nothing, still listed
  Intent i;
  i.destination_endpoint = "dst";
  i.destination_repository = "app";
  i.tag = "v2";
  s.AddIntent(i);
  EXPECT_TRUE(s.RemoveIntent("dst", "app", "v2"));
  EXPECT_EQ(Tags(s.journal), (std::vector<std::string>{"gone", "v1", "v2"}));  // key order
}

TEST(ChangeJournalTest, ForgetKeepsKeysTouchedAgainAfterTheCopy) {
  State s;
  s.Upsert(MakeArtifact("app", "v1"));
  s.Upsert(MakeArtifact("app", "v2"));
  const ChangeJournal written = s.journal;  // what a persist was given
  s.Upsert(MakeArtifact("app", "v2"));      // changed again meanwhile
  s.Upsert(MakeArtifact("app", "v3"));
  s.journal.Forget(written);
  EXPECT_EQ(Tags(s.journal), (std::vector<std::string>{"v2", "v3"}));
}

TEST(ChangeJournalTest, StatesWithTheSameContentAreEqualWhateverTheyTouched) {
  State a, b;
  a.Upsert(MakeArtifact("app", "v1"));
  b.artifacts.push_back(MakeArtifact("app", "v1"));
  EXPECT_EQ(a, b);
}

class FileBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/crossdock-backend-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Backend> Open(const std::string& name) {
    auto b = OpenBackend(dir_ + "/" + name);
    EXPECT_TRUE(b.ok()) << b.status().message();
    return b.ok() ? std::move(*b) : nullptr;
  }

  std::string dir_;
};

TEST_F(FileBackendTest, IsTheStateFileItsHistoryBesideIt) {
  auto b = Open("s.json");
  EXPECT_EQ(b->name(), dir_ + "/s.json");
  EXPECT_EQ(b->history_path(), dir_ + "/s.json");
  EXPECT_EQ(LocalPath(dir_ + "/s.json", "/elsewhere/crossdock.toml"), dir_ + "/s.json");
  EXPECT_EQ(LocalPath("postgres://db/x", "/etc/crossdock/crossdock.toml"),
            "/etc/crossdock/crossdock.postgres");
}

TEST_F(FileBackendTest, PersistWritesTheWholeFileAndReplaceKeepsLineageAndSerial) {
  auto b = Open("s.json");
  auto lock = b->LockScope(kWholeStateScope, 0);
  ASSERT_TRUE(lock.ok()) << lock.status().message();
  auto s = b->Read();
  ASSERT_TRUE(s.ok());
  s->Upsert(MakeArtifact("app", "v1"));
  ASSERT_TRUE(b->Persist(&*s).ok());
  EXPECT_EQ(s->serial, 1);
  auto again = ReadState(dir_ + "/s.json");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *s);

  State other;
  other.lineage = "6f1c2a4e-8d0b-4c57-9a3e-2b7d51f0c9e8";
  other.serial = 41;
  other.artifacts = {MakeArtifact("x", "1")};
  ASSERT_TRUE(b->Replace(other).ok());
  auto replaced = b->Read();
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(*replaced, other);
  EXPECT_EQ(replaced->serial, 41);
}

TEST_F(FileBackendTest, EveryScopeLockSharedOrNotIsTheFileLock) {
  auto a = Open("s.json");
  auto b = Open("s.json");
  auto held = a->LockScope(kWholeStateScope, 0);
  ASSERT_TRUE(held.ok());
  auto second = b->LockScope("another scope", 0);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), core::Code::kUnavailable);
  EXPECT_NE(second.status().message().find("state is locked by pid"), std::string::npos);
  // One writer of a file at a time, shard or not.
  EXPECT_FALSE(b->concurrent_writers());
  EXPECT_FALSE(b->LockScopeShared(kWholeStateScope, 0).ok());
  held->reset();
  auto shared = b->LockScopeShared(kWholeStateScope, 0);
  ASSERT_TRUE(shared.ok());
  EXPECT_FALSE(a->LockScopeShared(kWholeStateScope, 0).ok());
  EXPECT_TRUE(a->LockRepository("dst", "app", 0).ok());  // nothing more to hold
}

TEST(OpenBackendTest, APasswordInAPostgresUrlIsRefusedWithoutConnectingOrRepeatingIt) {
  auto b = OpenBackend("postgres://u:hunter2@127.0.0.1:1/x");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), core::Code::kInvalidArgument);
  EXPECT_EQ(b.status().message(),
            "the PostgreSQL URL of the state holds a password after the user name; secrets "
            "never go in a config or on a command line: remove it and set PGPASSWORD, or put it "
            "in a password file (~/.pgpass, or the file PGPASSFILE names)");
}

TEST(PgEncodingTest, CopyFieldsAndArrayLiteralsEscapeWhatWouldEndThem) {
  EXPECT_EQ(CopyField("plain"), "plain");
  EXPECT_EQ(CopyField("a\tb\nc\rd\\e"), "a\\tb\\nc\\rd\\\\e");
  EXPECT_EQ(TextArray({}), "{}");
  EXPECT_EQ(TextArray({"a", "", "q\"uote", "back\\slash", "com,ma {x}"}),
            "{\"a\",\"\",\"q\\\"uote\",\"back\\\\slash\",\"com,ma {x}\"}");
}

}  // namespace
}  // namespace crossdock::state
