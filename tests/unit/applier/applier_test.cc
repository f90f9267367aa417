#include "applier/applier.h"

#include <gtest/gtest.h>

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
  int writes_ = 0;
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
