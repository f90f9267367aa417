// Tests for state/state.h's lookups by destination key: the index behind Find, Upsert,
// Remove, AddIntent and RemoveIntent agrees with the vectors however they are changed
// (through the methods, or directly, as tests and callers do), copies and moves
// included. (store_test.cc covers the basic lookups and the file.)
#include "state/state.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace crossdock::state {
namespace {

Artifact At(const std::string& repo, const std::string& tag, const std::string& digest = "d") {
  return Artifact{.rule = "r",
                  .source_endpoint = "src",
                  .source_repository = repo,
                  .source_digest = digest,
                  .destination_endpoint = "dst",
                  .destination_repository = repo,
                  .tag = tag,
                  .destination_digest = digest,
                  .replicated_at = "2024-05-01T12:00:00Z"};
}

Intent IntentAt(const std::string& repo, const std::string& tag) {
  return Intent{.rule = "r",
                .source_endpoint = "src",
                .source_repository = repo,
                .source_digest = "d",
                .destination_endpoint = "dst",
                .destination_repository = repo,
                .tag = tag,
                .recorded_at = ""};
}

TEST(StateIndexTest, RecordsPushedIntoTheVectorDirectlyAreFound) {
  State s;
  s.Upsert(At("app", "v1"));
  ASSERT_NE(s.Find("dst", "app", "v1"), nullptr);  // the index exists now
  s.artifacts.push_back(At("app", "v2"));
  const Artifact* found = s.Find("dst", "app", "v2");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found, &s.artifacts[1]);
  s.intents.push_back(IntentAt("app", "v3"));
  EXPECT_TRUE(s.RemoveIntent("dst", "app", "v3"));
  EXPECT_TRUE(s.intents.empty());
}

TEST(StateIndexTest, AVectorReplacedOrShrunkDirectlyIsNoticed) {
  State s;
  s.Upsert(At("app", "v1"));
  s.Upsert(At("app", "v2"));
  ASSERT_NE(s.Find("dst", "app", "v1"), nullptr);
  s.artifacts = {At("other", "v1"), At("other", "v2")};  // same size
  EXPECT_EQ(s.Find("dst", "app", "v1"), nullptr);
  EXPECT_NE(s.Find("dst", "other", "v2"), nullptr);
  s.artifacts.pop_back();
  EXPECT_EQ(s.Find("dst", "other", "v2"), nullptr);
  EXPECT_NE(s.Find("dst", "other", "v1"), nullptr);
}

TEST(StateIndexTest, AKeyEditedInPlaceIsNotFoundAtItsOldKey) {
  State s;
  s.Upsert(At("app", "v1"));
  s.Upsert(At("app", "v2"));
  ASSERT_NE(s.Find("dst", "app", "v1"), nullptr);
  s.artifacts[0].tag = "v9";
  EXPECT_EQ(s.Find("dst", "app", "v1"), nullptr);
  // The stale hit rebuilt the index: the new key is found from now on.
  const Artifact* found = s.Find("dst", "app", "v9");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found, &s.artifacts[0]);
}

TEST(StateIndexTest, RemoveMovesTheLastRecordIntoThePlaceAndKeepsItFindable) {
  State s;
  for (const char* tag : {"a", "b", "c", "d"}) s.Upsert(At("app", tag));
  EXPECT_TRUE(s.Remove("dst", "app", "b"));
  ASSERT_EQ(s.artifacts.size(), 3u);
  EXPECT_EQ(s.artifacts[1].tag, "d");
  EXPECT_EQ(s.Find("dst", "app", "d"), &s.artifacts[1]);
  EXPECT_EQ(s.Find("dst", "app", "b"), nullptr);
  EXPECT_TRUE(s.Remove("dst", "app", "d"));  // the one that moved
  EXPECT_TRUE(s.Remove("dst", "app", "c"));  // the last one
  ASSERT_EQ(s.artifacts.size(), 1u);
  EXPECT_EQ(s.Find("dst", "app", "a"), &s.artifacts[0]);
}

TEST(StateIndexTest, AKeyRecordedTwiceIsRemovedEntirely) {
  State s;  // as a state file edited by hand could hold
  s.artifacts = {At("app", "v1", "x"), At("app", "v2"), At("app", "v1", "y")};
  EXPECT_TRUE(s.Remove("dst", "app", "v1"));
  ASSERT_EQ(s.artifacts.size(), 1u);
  EXPECT_EQ(s.artifacts[0].tag, "v2");
  EXPECT_EQ(s.Find("dst", "app", "v1"), nullptr);
}

TEST(StateIndexTest, EveryOperationAgreesWithAMapOfTheSameRecords) {
  // Upserts, removals and direct pushes in a seeded random order, each followed by
  // lookups of every key ever used, against a std::map of what must be there.
  std::mt19937 rng(15);
  State s;
  std::map<std::pair<std::string, std::string>, std::string> want;  // (repo, tag) -> digest
  std::vector<std::pair<std::string, std::string>> keys;
  for (int r = 0; r < 5; ++r)
    for (int t = 0; t < 20; ++t)
      keys.push_back({"repo" + std::to_string(r), "t" + std::to_string(t)});
  for (int step = 0; step < 1500; ++step) {
    const auto& [repo, tag] = keys[rng() % keys.size()];
    const std::string digest = "d" + std::to_string(step);
    switch (rng() % 4) {
      case 0:
      case 1:
        s.Upsert(At(repo, tag, digest));
        want[{repo, tag}] = digest;
        break;
      case 2:
        EXPECT_EQ(s.Remove("dst", repo, tag), want.erase({repo, tag}) == 1) << step;
        break;
      case 3:
        if (!want.count({repo, tag})) {
          s.artifacts.push_back(At(repo, tag, digest));
          want[{repo, tag}] = digest;
        }
        break;
    }
    ASSERT_EQ(s.artifacts.size(), want.size()) << step;
    if (step % 50 != 0) continue;
    for (const auto& [r, t] : keys) {
      const Artifact* a = s.Find("dst", r, t);
      auto it = want.find({r, t});
      ASSERT_EQ(a != nullptr, it != want.end()) << r << ":" << t << " at step " << step;
      if (a) {
        EXPECT_EQ(a->source_digest, it->second);
      }
    }
  }
}

TEST(StateIndexTest, ACopyLooksUpItsOwnRecordsAndEqualityIgnoresTheIndex) {
  State original;
  original.Upsert(At("app", "v1"));
  State copy = original;
  EXPECT_EQ(copy, original);
  copy.Upsert(At("app", "v1", "changed"));
  copy.Upsert(At("app", "v2"));
  EXPECT_EQ(copy.Find("dst", "app", "v1"), &copy.artifacts[0]);
  EXPECT_EQ(copy.Find("dst", "app", "v1")->source_digest, "changed");
  EXPECT_EQ(original.Find("dst", "app", "v1")->source_digest, "d");
  EXPECT_EQ(original.Find("dst", "app", "v2"), nullptr);
  State moved = std::move(copy);
  EXPECT_EQ(moved.Find("dst", "app", "v2"), &moved.artifacts[1]);
  original = moved;
  EXPECT_EQ(original.Find("dst", "app", "v2"), &original.artifacts[1]);
  EXPECT_EQ(original, moved);
}

TEST(StateIndexTest, ConstLookupsFromSeveralThreadsAtOnceFindEveryRecord) {
  State s;
  for (int i = 0; i < 2000; ++i) s.artifacts.push_back(At("app", "t" + std::to_string(i)));
  const State& shared = s;
  std::vector<std::thread> readers;
  std::vector<int> found(4, 0);
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&shared, &found, r] {
      for (int i = 0; i < 2000; ++i)
        if (shared.Find("dst", "app", "t" + std::to_string(i))) ++found[r];
    });
  }
  for (auto& t : readers) t.join();
  for (int n : found) EXPECT_EQ(n, 2000);
}

}  // namespace
}  // namespace crossdock::state
