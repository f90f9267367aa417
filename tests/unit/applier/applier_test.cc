#include "applier/applier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>
#include <thread>

#include "tests/unit/fake_registry.h"

namespace crossdock::applier {
namespace {

using testing::FakeRegistry;

class ApplierTest : public ::testing::Test {
 protected:
  ApplierTest()
      : src_("src"), dst_("dst"), recorder_(&state_, [this](state::State* s) {
          ++writes_;
          ++s->serial;
          return core::Status::Ok();
        }) {
    registries_ = {{"src", &src_}, {"dst", &dst_}};
  }

  planner::Change Copy(const std::string& src_repo, const std::string& dst_repo,
                       const std::string& tag, const std::string& digest) {
    planner::Change c;
    c.rule = "r";
    c.action = planner::Action::kCreate;
    c.source_endpoint = "src";
    c.source_repository = src_repo;
    c.source_digest = digest;
    c.destination_endpoint = "dst";
    c.destination_repository = dst_repo;
    c.tag = tag;
    return c;
  }

  FakeRegistry src_, dst_;
  state::State state_;
  std::atomic<int> writes_{0};  // by the recorder's writer thread
  StateRecorder recorder_;
  std::map<std::string, providers::Registry*> registries_;
};

TEST_F(ApplierTest, CopyPreservesDigestAndRecordsState) {
  std::string d = src_.AddImage("app", "v1", "one");
  planner::Plan plan;
  plan.changes = {Copy("app", "mirror/app", "v1", d)};
  ApplyReport r = Apply(plan, registries_, &recorder_, ApplyOptions{});
  EXPECT_EQ(r.succeeded, 1);
  EXPECT_EQ(r.failed, 0);
  EXPECT_EQ(dst_.DigestOf("mirror/app", "v1"), d);
  ASSERT_NE(state_.Find("dst", "mirror/app", "v1"), nullptr);
  EXPECT_EQ(state_.Find("dst", "mirror/app", "v1")->destination_digest, d);
  EXPECT_GE(writes_, 1);
}

TEST(StateRecorderTest, ChangesInABurstShareWritesAndFlushPersistsTheLast) {
  state::State state;
  std::mutex mu;
  std::vector<size_t> written;  // artifacts in each persisted snapshot
  // An interval no loaded machine reaches within the test: the writer writes once
  // when the first change arrives (with however many have arrived by then) and the
  // rest wait for Flush, whatever the threads' timing.
  StateRecorder recorder(&state, [&](state::State* s) {
    std::lock_guard<std::mutex> lk(mu);
    written.push_back(s->artifacts.size());
    ++s->serial;
    return core::Status::Ok();
  }, std::chrono::hours(1));
  for (int i = 0; i < 100; ++i) {
    state::Artifact a;
    a.destination_endpoint = "dst";
    a.destination_repository = "app";
    a.tag = "t" + std::to_string(i);
    EXPECT_TRUE(recorder.Record([&](state::State& s) { s.Upsert(a); }).ok());
  }
  ASSERT_TRUE(recorder.Flush().ok());
  std::lock_guard<std::mutex> lk(mu);
  ASSERT_FALSE(written.empty());
  EXPECT_LE(written.size(), 2u);  // the first change at once, the rest with the flush
  EXPECT_EQ(written.back(), 100u);
  EXPECT_EQ(state.serial, static_cast<std::int64_t>(written.size()));
}

// A backend writing only the journal's keys (PostgreSQL) is handed those records, not
// a copy of the whole state.
TEST(StateRecorderTest, AJournalOnlyWriterGetsTheChangedRecordsAndNothingElse) {
  state::State state;
  for (int i = 0; i < 1000; ++i) {
    state::Artifact a;
    a.destination_endpoint = "dst";
    a.destination_repository = "app";
    a.tag = "t" + std::to_string(i);
    state.Upsert(a);
  }
  state.journal.Clear();  // as read
  std::mutex mu;
  std::vector<std::pair<size_t, size_t>> written;  // (artifacts, journal keys) per write
  {
    StateRecorder recorder(&state, [&](state::State* s) {
      std::lock_guard<std::mutex> lk(mu);
      written.push_back({s->artifacts.size(), s->journal.size()});
      ++s->serial;
      return core::Status::Ok();
    }, std::chrono::hours(1), /*journal_only=*/true);
    state::Artifact changed = *state.Find("dst", "app", "t7");
    changed.destination_digest = "sha256:" + std::string(64, 'a');
    EXPECT_TRUE(recorder.Record([&](state::State& s) {
      s.Upsert(changed);
      s.Remove("dst", "app", "t8");
    }).ok());
    ASSERT_TRUE(recorder.Flush().ok());
  }
  std::lock_guard<std::mutex> lk(mu);
  ASSERT_FALSE(written.empty());
  // t7 as changed; t8's key with no record, which the writer deletes.
  for (const auto& [artifacts, keys] : written) {
    EXPECT_LE(artifacts, 1u);
    EXPECT_LE(keys, 2u);
  }
  EXPECT_EQ(written.back(), (std::pair<size_t, size_t>{1, 2}));
  EXPECT_TRUE(state.journal.empty());  // written, so forgotten
  EXPECT_EQ(state.artifacts.size(), 999u);
}

TEST(StateRecorderTest, ARecordedChangeReachesDiskWithoutAFlush) {
  state::State state;
  std::atomic<int> writes{0};
  StateRecorder recorder(&state, [&](state::State*) {
    ++writes;
    return core::Status::Ok();
  }, std::chrono::milliseconds(10));
  // Generous deadlines: the writer is due within 10 ms, a loaded machine may take longer.
  (void)recorder.Record([](state::State& s) { s.artifacts.emplace_back(); });
  for (int i = 0; i < 3000 && writes == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(writes, 1);
  (void)recorder.Record([](state::State& s) { s.artifacts.emplace_back(); });
  for (int i = 0; i < 3000 && writes == 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(writes, 2);
}

TEST(StateRecorderTest, AFailedWriteIsReportedByLaterRecordsAndFlush) {
  state::State state;
  StateRecorder recorder(&state, [](state::State*) { return core::Status::Internal("disk full"); });
  (void)recorder.Record([](state::State& s) { s.artifacts.emplace_back(); });
  EXPECT_EQ(recorder.Flush().message(), "disk full");
  EXPECT_EQ(recorder.Record([](state::State&) {}).message(), "disk full");
  EXPECT_EQ(recorder.first_error().message(), "disk full");
}

TEST(StateRecorderTest, AWriteThatFailedIsTriedAgainByFlushAndSequencesTellWhatIsOnDisk) {
  state::State state;
  std::atomic<bool> disk_full{true};
  StateRecorder recorder(&state, [&](state::State*) {
    return disk_full ? core::Status::Internal("No space left on device") : core::Status::Ok();
  }, std::chrono::hours(1));
  std::int64_t first = 0, second = 0;
  (void)recorder.Record([](state::State& s) { s.artifacts.emplace_back(); }, &first);
  EXPECT_FALSE(recorder.Flush().ok());
  (void)recorder.Record([](state::State& s) { s.artifacts.emplace_back(); }, &second);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 2);
  EXPECT_EQ(recorder.persisted_sequence(), 0);
  disk_full = false;
  EXPECT_TRUE(recorder.Flush().ok());
  EXPECT_EQ(recorder.persisted_sequence(), 2);
  EXPECT_EQ(recorder.first_error().message(), "No space left on device");  // still reported
}

TEST(StateRecorderTest, AWrittenSnapshotsKeysLeaveTheJournalAndAFailedOnesStay) {
  state::State state;
  std::vector<std::vector<std::string>> journals;  // the tags each persist was given
  bool fail = true;
  StateRecorder recorder(&state, [&](state::State* s) {
    std::vector<std::string> tags;
    for (const auto& [key, generation] : s->journal.touched()) tags.push_back(std::get<2>(key));
    journals.push_back(tags);
    return fail ? core::Status::Internal("disk full") : core::Status::Ok();
  }, std::chrono::hours(1));
  state::Artifact a;
  a.destination_endpoint = "dst";
  a.destination_repository = "app";
  a.tag = "v1";
  (void)recorder.Record([&](state::State& s) { s.Upsert(a); });
  EXPECT_FALSE(recorder.Flush().ok());
  (void)recorder.Record([&](state::State& s) { s.Remove("dst", "app", "v0"); });
  fail = false;
  EXPECT_TRUE(recorder.Flush().ok());
  (void)recorder.Record([&](state::State& s) { s.RemoveIntent("dst", "app", "v2"); });
  EXPECT_TRUE(recorder.Flush().ok());
  ASSERT_GE(journals.size(), 3u);
  // The failed write's key is written again with the next; then only what is new.
  EXPECT_EQ(journals[journals.size() - 2], (std::vector<std::string>{"v0", "v1"}));
  EXPECT_EQ(journals.back(), std::vector<std::string>{"v2"});
  recorder.Read([](const state::State& s) { EXPECT_TRUE(s.journal.empty()); });
}

// Persists into SNAPSHOTS; fails every write from the FAIL_FROMth on (0: never).
class SnapshotApplierTest : public ::testing::Test {
 protected:
  SnapshotApplierTest() : src_("src"), dst_("dst") {
    registries_ = {{"src", &src_}, {"dst", &dst_}};
  }
  std::unique_ptr<StateRecorder> Recorder(int fail_from) {
    return std::make_unique<StateRecorder>(&state_, [this, fail_from](state::State* s) {
      std::lock_guard<std::mutex> lk(mu_);
      if (fail_from > 0 && static_cast<int>(snapshots_.size()) + 1 >= fail_from)
        return core::Status::Internal("cannot write state file: No space left on device");
      snapshots_.push_back(*s);
      return core::Status::Ok();
    }, std::chrono::hours(1));
  }
  planner::Change Copy(const std::string& tag, const std::string& digest) {
    planner::Change c;
    c.rule = "r";
    c.action = planner::Action::kCreate;
    c.source_endpoint = "src";
    c.source_repository = "app";
    c.source_digest = digest;
    c.destination_endpoint = "dst";
    c.destination_repository = "app";
    c.tag = tag;
    return c;
  }
  FakeRegistry src_, dst_;
  state::State state_;
  std::mutex mu_;
  std::vector<state::State> snapshots_;
  std::map<std::string, providers::Registry*> registries_;
};

TEST_F(SnapshotApplierTest, IntentsReachTheDiskBeforeTheFirstPushAndGiveWayToArtifacts) {
  planner::Plan plan;
  plan.rules = {"r"};
  plan.changes = {Copy("v1", src_.AddImage("app", "v1", "1")),
                  Copy("v2", src_.AddImage("app", "v2", "2"))};
  auto recorder = Recorder(0);
  ApplyOptions o;
  o.on_change_done = [&](const planner::Change&, const core::Status&, std::int64_t) {
    std::lock_guard<std::mutex> lk(mu_);
    // By the time a push is done, a snapshot with both intents is on disk.
    ASSERT_FALSE(snapshots_.empty());
    EXPECT_EQ(snapshots_.front().intents.size(), 2u);
    EXPECT_TRUE(snapshots_.front().artifacts.empty());
  };
  ApplyReport r = Apply(plan, registries_, recorder.get(), o);
  EXPECT_EQ(r.succeeded, 2);
  EXPECT_EQ(r.unrecorded, 0);
  std::lock_guard<std::mutex> lk(mu_);
  EXPECT_EQ(snapshots_.back().artifacts.size(), 2u);
  EXPECT_TRUE(snapshots_.back().intents.empty());
  // One write more than group commit alone: the intents, at most one by the writer
  // (its interval is an hour here), and the final flush.
  EXPECT_LE(snapshots_.size(), 3u);
}

TEST_F(SnapshotApplierTest, NothingIsPushedWhenTheIntentsCannotBeWritten) {
  planner::Plan plan;
  plan.rules = {"r"};
  plan.changes = {Copy("v1", src_.AddImage("app", "v1", "1"))};
  auto recorder = Recorder(1);
  ApplyReport r = Apply(plan, registries_, recorder.get(), ApplyOptions{});
  EXPECT_EQ(r.succeeded, 0);
  EXPECT_EQ(r.not_started, 1);
  EXPECT_EQ(dst_.count("PutManifest"), 0);
  EXPECT_FALSE(recorder->first_error().ok());
}

TEST_F(SnapshotApplierTest, AFailedStateWriteStopsNewWorkAndCountsWhatIsNotRecorded) {
  planner::Plan plan;
  plan.rules = {"r"};
  for (int i = 0; i < 20; ++i)
    plan.changes.push_back(Copy("v" + std::to_string(i),
                                src_.AddImage("app", "v" + std::to_string(i), std::to_string(i))));
  auto recorder = Recorder(2);  // the intents are written; every later write fails
  ApplyOptions o;
  o.parallelism = 1;
  std::atomic<int> done{0};
  o.on_change_done = [&](const planner::Change&, const core::Status&, std::int64_t) {
    // Write the first change's record now, so that the second change sees the failure.
    // (Waiting for the writer thread instead is a race: when it, rather than the
    // applier's flush, wrote the intents, its next write is MIN_INTERVAL, an hour, away.)
    if (++done == 1) (void)recorder->Flush();
  };
  ApplyReport r = Apply(plan, registries_, recorder.get(), o);
  EXPECT_FALSE(recorder->first_error().ok());
  // The first change (its write failed) and the second (its record saw the failure:
  // "copied, but the state could not be saved"); nothing after.
  EXPECT_EQ(r.succeeded + r.failed, 2);
  EXPECT_EQ(r.not_started, 18);
  EXPECT_EQ(r.unrecorded, 2);  // both pushed, neither on disk
  std::lock_guard<std::mutex> lk(mu_);
  ASSERT_EQ(snapshots_.size(), 1u);
  EXPECT_EQ(snapshots_[0].intents.size(), 20u);  // the next run adopts what was pushed
}

TEST_F(SnapshotApplierTest, AnEarlierIntentWhosePushNeverLandedIsDropped) {
  state_.intents.push_back({.rule = "r", .source_endpoint = "src", .source_repository = "app",
                            .source_digest = "sha256:" + std::string(64, 'e'),
                            .destination_endpoint = "dst", .destination_repository = "app",
                            .tag = "lost", .recorded_at = "2024-05-01T12:00:00Z"});
  state_.intents.push_back({.rule = "other-rule", .source_endpoint = "src",
                            .source_repository = "app",
                            .source_digest = "sha256:" + std::string(64, 'e'),
                            .destination_endpoint = "dst", .destination_repository = "app",
                            .tag = "not-planned", .recorded_at = "2024-05-01T12:00:00Z"});
  planner::Plan plan;
  plan.rules = {"r"};
  plan.changes = {Copy("v1", src_.AddImage("app", "v1", "1"))};
  auto recorder = Recorder(0);
  ApplyReport r = Apply(plan, registries_, recorder.get(), ApplyOptions{});
  EXPECT_EQ(r.succeeded, 1);
  std::lock_guard<std::mutex> lk(mu_);
  ASSERT_EQ(snapshots_.back().intents.size(), 1u);  // another rule's intent is not this plan's
  EXPECT_EQ(snapshots_.back().intents[0].tag, "not-planned");
}

TEST_F(ApplierTest, SharedBlobCrossesOnceThenIsMounted) {
  // The same image in two repositories: config and layer are identical.
  std::string d1 = src_.AddImage("a", "v1", "same");
  std::string d2 = src_.AddImage("b", "v1", "same");
  planner::Plan plan;
  plan.changes = {Copy("a", "a", "v1", d1), Copy("b", "b", "v1", d2)};
  ApplyOptions o;
  o.parallelism = 1;
  ApplyReport r = Apply(plan, registries_, &recorder_, o);
  EXPECT_EQ(r.succeeded, 2);
  EXPECT_EQ(dst_.count("PutBlob"), 2);    // config + layer, once
  EXPECT_EQ(dst_.count("MountBlob"), 2);  // into the second repository
  EXPECT_EQ(r.blobs_copied, 2);
  EXPECT_EQ(r.blobs_mounted, 2);
}

TEST_F(ApplierTest, ManyTagsOfOneManifestFetchItAndCheckItsBlobsOnce) {
  std::string d = src_.AddImage("app", "v1", "same");
  planner::Plan plan;
  for (int i = 0; i < 20; ++i) plan.changes.push_back(Copy("app", "app", "t" + std::to_string(i), d));
  ApplyReport r = Apply(plan, registries_, &recorder_, ApplyOptions{});
  EXPECT_EQ(r.succeeded, 20);
  EXPECT_EQ(src_.count("GetManifest"), 1);
  EXPECT_EQ(dst_.count("BlobExists") + dst_.count("PutBlob"), 4);  // config + layer: once each
  EXPECT_EQ(dst_.count("PutManifest"), 20);                          // one upload per tag
}

TEST_F(ApplierTest, CorruptedBlobIsRefusedAndNothingIsTagged) {
  std::string d = src_.AddImage("app", "v1", "one");
  src_.CorruptBlobs();
  planner::Plan plan;
  plan.changes = {Copy("app", "app", "v1", d)};
  ApplyReport r = Apply(plan, registries_, &recorder_, ApplyOptions{});
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.code(), core::Code::kDataLoss);
  EXPECT_EQ(dst_.count("PutBlob"), 0);
  EXPECT_EQ(dst_.count("PutManifest"), 0);
  EXPECT_EQ(state_.Find("dst", "app", "v1"), nullptr);
}

TEST_F(ApplierTest, DeleteRemovesManagedTagAndForgetsIt) {
  std::string d = dst_.AddImage("app", "old", "old");
  state::Artifact a;
  a.rule = "r";
  a.destination_endpoint = "dst";
  a.destination_repository = "app";
  a.tag = "old";
  a.destination_digest = d;
  state_.Upsert(a);
  planner::Change c = Copy("app", "app", "old", "");
  c.action = planner::Action::kDelete;
  c.destination_digest = d;
  planner::Plan plan;
  plan.changes = {c};
  ApplyReport r = Apply(plan, registries_, &recorder_, ApplyOptions{});
  EXPECT_EQ(r.succeeded, 1);
  EXPECT_FALSE(dst_.DigestOf("app", "old"));
  EXPECT_EQ(state_.Find("dst", "app", "old"), nullptr);
}

TEST_F(ApplierTest, DeleteRefusesWhenAnotherTagSharesTheDigest) {
  std::string d = dst_.AddImage("app", "old", "same");
  dst_.AddImage("app", "handmade", "same");
  planner::Change c = Copy("app", "app", "old", "");
  c.action = planner::Action::kDelete;
  c.destination_digest = d;
  planner::Plan plan;
  plan.changes = {c};
  ApplyReport r = Apply(plan, registries_, &recorder_, ApplyOptions{});
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].status.code(), core::Code::kConflict);
  EXPECT_EQ(dst_.count("DeleteManifest"), 0);
  EXPECT_TRUE(dst_.DigestOf("app", "handmade"));
}

// A vendor that deletes a tag alone needs no guard for tags sharing its digest.
TEST_F(ApplierTest, AVendorsTagDeletionLeavesOtherTagsOnTheDigest) {
  dst_.tag_api = true;
  std::string d = dst_.AddImage("app", "old", "same");
  dst_.AddImage("app", "handmade", "same");
  planner::Change c = Copy("app", "app", "old", "");
  c.action = planner::Action::kDelete;
  c.destination_digest = d;
  planner::Plan plan;
  plan.changes = {c};
  ApplyReport r = Apply(plan, registries_, &recorder_, ApplyOptions{});
  EXPECT_EQ(r.succeeded, 1);
  EXPECT_EQ(dst_.count("DeleteTag app:old"), 1);
  EXPECT_EQ(dst_.count("DeleteManifest"), 0);
  EXPECT_FALSE(dst_.DigestOf("app", "old"));
  EXPECT_EQ(dst_.DigestOf("app", "handmade"), d);
}

TEST_F(ApplierTest, TheDestinationNamespaceIsEnsuredOncePerRepository) {
  planner::Plan plan;
  for (const char* tag : {"v1", "v2", "v3"})
    plan.changes.push_back(Copy("app", "team/app", tag, src_.AddImage("app", tag, tag)));
  plan.changes.push_back(Copy("app", "team/other", "v1", *src_.DigestOf("app", "v1")));
  ApplyReport r = Apply(plan, registries_, &recorder_, ApplyOptions{});
  EXPECT_EQ(r.succeeded, 4);
  EXPECT_EQ(dst_.count("EnsureNamespace team/app"), 1);
  EXPECT_EQ(dst_.count("EnsureNamespace team/other"), 1);
}

TEST_F(ApplierTest, CancelledApplyStartsNothing) {
  std::string d = src_.AddImage("app", "v1", "one");
  planner::Plan plan;
  plan.changes = {Copy("app", "app", "v1", d)};
  std::atomic<bool> cancel{true};
  ApplyOptions o;
  o.cancel = &cancel;
  ApplyReport r = Apply(plan, registries_, &recorder_, o);
  EXPECT_EQ(r.succeeded, 0);
  EXPECT_EQ(r.not_started, 1);
  EXPECT_EQ(dst_.count("PutManifest"), 0);
}

}  // namespace
}  // namespace crossdock::applier
