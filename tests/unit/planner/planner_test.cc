#include "planner/planner.h"

#include <algorithm>
#include <atomic>

#include <gtest/gtest.h>

#include "tests/unit/fake_registry.h"

namespace crossdock::planner {
namespace {

using testing::FakeRegistry;

class PlannerTest : public ::testing::Test {
 protected:
  PlannerTest() : src_("src"), dst_("dst") {
    core::Endpoint s;
    s.name = "src";
    s.url = "http://127.0.0.1:5001";
    core::Endpoint d;
    d.name = "dst";
    d.url = "https://127.0.0.1:5002";
    config_.endpoints["src"] = s;
    config_.endpoints["dst"] = d;
    rule_.name = "mirror";
    rule_.source = "src";
    rule_.destination = "dst";
    registries_ = {{"src", &src_}, {"dst", &dst_}};
  }

  Plan Make() {
    config_.rules = {rule_};
    return MakePlan(config_, state_, registries_, PlanOptions{});
  }

  state::Artifact Managed(const std::string& repo, const std::string& tag, const std::string& digest) {
    state::Artifact a;
    a.rule = "mirror";
    a.source_endpoint = "src";
    a.source_repository = repo;
    a.source_digest = digest;
    a.destination_endpoint = "dst";
    a.destination_repository = repo;
    a.tag = tag;
    a.destination_digest = digest;
    return a;
  }

  FakeRegistry src_, dst_;
  core::Config config_;
  core::Rule rule_;
  state::State state_;
  std::map<std::string, providers::Registry*> registries_;
};

TEST(DiffTagTest, AbsentAtDestinationIsCreate) {
  core::Rule r;
  Change base;
  base.source_digest = "sha256:a";
  auto c = DiffTag(r, base, std::nullopt);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->action, Action::kCreate);
}

TEST(DiffTagTest, SameDigestIsNoOp) {
  core::Rule r;
  Change base;
  base.source_digest = "sha256:a";
  EXPECT_FALSE(DiffTag(r, base, std::string("sha256:a")));
}

TEST(DiffTagTest, OtherDigestWithOverrideIsUpdate) {
  core::Rule r;
  r.override_tags = true;
  Change base;
  base.source_digest = "sha256:a";
  auto c = DiffTag(r, base, std::string("sha256:b"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->action, Action::kUpdate);
  EXPECT_EQ(*c->destination_digest, "sha256:b");
}

TEST(DiffTagTest, OtherDigestWithoutOverrideIsSkipWithReason) {
  core::Rule r;
  r.override_tags = false;
  Change base;
  base.source_digest = "sha256:a";
  auto c = DiffTag(r, base, std::string("sha256:b"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->action, Action::kSkip);
  EXPECT_EQ(c->reason, "the destination holds another digest and override = false");
}

TEST_F(PlannerTest, NewTagsAreCreatedUnderTheNamespace) {
  src_.AddImage("lib/app", "v1", "one");
  src_.AddImage("lib/app", "v2", "two");
  rule_.dest_namespace = "mirror";
  Plan plan = Make();
  ASSERT_EQ(plan.changes.size(), 2u);
  EXPECT_EQ(plan.changes[0].action, Action::kCreate);
  EXPECT_EQ(plan.changes[0].destination_repository, "mirror/lib/app");
  EXPECT_EQ(plan.changes[0].destination_host, "127.0.0.1:5002");
  EXPECT_EQ(plan.changes[0].tag, "v1");
  EXPECT_TRUE(plan.errors.empty());
}

TEST_F(PlannerTest, PlanWarnsWhenItWouldPullMoreThanTheSourceAllows) {
  for (const char* tag : {"v1", "v2", "v3"}) src_.AddImage("lib/app", tag, tag);
  src_.remaining_pulls = 3;
  EXPECT_TRUE(Make().warnings.empty());
  src_.remaining_pulls = 2;
  Plan plan = Make();
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_EQ(plan.warnings[0],
            "endpoint \"src\" allows 2 more pulls in its rate-limit window (RateLimit-Remaining) "
            "and this plan pulls at least 3 manifests from it: the apply would be refused (HTTP "
            "429) partway; copy fewer tags (--rule, keep_latest), log in for a higher limit, or "
            "wait for the window to reset");
}

TEST_F(PlannerTest, ConvergedDestinationHasNoChanges) {
  src_.AddImage("app", "v1", "one");
  dst_.AddImage("app", "v1", "one");
  Plan plan = Make();
  EXPECT_TRUE(plan.changes.empty());
  EXPECT_FALSE(plan.has_changes());
}

TEST_F(PlannerTest, ImmutableTagsRecordedInTheStateCostNoRequest) {
  std::string v1 = src_.AddImage("app", "v1.0.0", "one");
  dst_.AddImage("app", "v1.0.0", "one");
  src_.AddImage("app", "latest", "two");
  dst_.AddImage("app", "latest", "two");
  src_.AddImage("app", "v2.0.0", "three");  // immutable but never copied: checked
  state_.artifacts = {Managed("app", "v1.0.0", v1)};
  rule_.immutable_tags = {"v*.*.*"};
  Plan plan = Make();
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(plan.changes[0].tag, "v2.0.0");
  EXPECT_EQ(src_.count("HeadManifest app:v1.0.0"), 0);
  EXPECT_EQ(dst_.count("HeadManifest app:v1.0.0"), 0);
  EXPECT_EQ(src_.count("HeadManifest app:latest"), 1);  // not immutable
  EXPECT_EQ(src_.count("HeadManifest app:v2.0.0"), 1);
  // Still desired: never planned for deletion.
  for (const auto& c : plan.changes) EXPECT_NE(c.action, Action::kDelete) << c.tag;

  // --refresh checks everything; so does a record of another rule.
  PlanOptions refresh;
  refresh.refresh = true;
  config_.rules = {rule_};
  (void)MakePlan(config_, state_, registries_, refresh);
  EXPECT_EQ(src_.count("HeadManifest app:v1.0.0"), 1);
  EXPECT_EQ(dst_.count("HeadManifest app:v1.0.0"), 1);
  state_.artifacts[0].rule = "other";
  (void)Make();
  EXPECT_EQ(src_.count("HeadManifest app:v1.0.0"), 2);
}

// The state's digest of a pinned tag is the pinning rule's alone: another rule copying
// the same source tag asks the source, and sees it moved.
TEST_F(PlannerTest, APinnedTagsRecordedDigestServesOnlyItsRule) {
  FakeRegistry dr("dr");
  registries_["dr"] = &dr;
  core::Endpoint e;
  e.name = "dr";
  e.url = "http://127.0.0.1:5003";
  config_.endpoints["dr"] = e;
  const std::string old = src_.AddImage("app", "v1.0.0", "one");
  dst_.AddImage("app", "v1.0.0", "one");
  state_.artifacts = {Managed("app", "v1.0.0", old)};
  rule_.immutable_tags = {"v*.*.*"};
  core::Rule dr_rule = rule_;
  dr_rule.name = "dr";
  dr_rule.destination = "dr";
  dr_rule.immutable_tags.clear();
  const std::string moved = src_.AddImage("app", "v1.0.0", "moved");  // re-pushed at the source
  config_.rules = {rule_, dr_rule};
  Plan plan = MakePlan(config_, state_, registries_, PlanOptions{});
  ASSERT_TRUE(plan.errors.empty()) << plan.errors[0].message;
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(plan.changes[0].rule, "dr");
  EXPECT_EQ(plan.changes[0].source_digest, moved);
  EXPECT_EQ(src_.count("HeadManifest app:v1.0.0"), 1);  // for "dr" only
}

TEST_F(PlannerTest, TagFiltersIncludeAndExclude) {
  src_.AddImage("app", "v1", "1");
  src_.AddImage("app", "v2-rc1", "2");
  src_.AddImage("app", "latest", "3");
  rule_.tags = {"v*"};
  rule_.exclude_tags = {"*-rc*"};
  Plan plan = Make();
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(plan.changes[0].tag, "v1");
}

TEST_F(PlannerTest, LiteralRepositoryIsLookedUpWithoutCatalog) {
  src_.AddImage("lib/app", "v1", "1");
  rule_.repositories = {"lib/app"};
  Plan plan = Make();
  EXPECT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(src_.count("ListRepositories"), 0);
}

TEST_F(PlannerTest, MissingLiteralRepositoryIsAnErrorForThatRepository) {
  rule_.repositories = {"nope"};
  Plan plan = Make();
  ASSERT_EQ(plan.errors.size(), 1u);
  EXPECT_EQ(plan.errors[0].source_repository, "nope");
}

TEST_F(PlannerTest, ListingFailureIsConfinedToItsRepository) {
  src_.AddImage("good", "v1", "1");
  src_.AddImage("bad", "v1", "2");
  src_.FailListingOf("bad");
  state_.artifacts.push_back(Managed("bad", "old", "sha256:x"));
  rule_.delete_missing = true;
  Plan plan = Make();
  ASSERT_EQ(plan.errors.size(), 1u);
  EXPECT_EQ(plan.errors[0].source_repository, "bad");
  ASSERT_EQ(plan.changes.size(), 1u);  // good:v1; nothing of "bad" is deleted
  EXPECT_EQ(plan.changes[0].source_repository, "good");
}

TEST_F(PlannerTest, TagGoneAtSourceIsDeletedOnlyWhenManagedAndDeleteIsOn) {
  std::string d = dst_.AddImage("app", "old", "old");
  dst_.AddImage("app", "handmade", "hand");
  src_.AddImage("app", "v1", "1");
  state_.artifacts.push_back(Managed("app", "old", d));
  rule_.delete_missing = false;
  EXPECT_EQ(Make().summary().del, 0);
  rule_.delete_missing = true;
  Plan plan = Make();
  ASSERT_EQ(plan.summary().del, 1);
  for (const auto& c : plan.changes) {
    if (c.action == Action::kDelete) {
      EXPECT_EQ(c.tag, "old");
    }
  }
}

state::Intent IntentFor(const std::string& repo, const std::string& tag, const std::string& digest) {
  return {.rule = "mirror", .source_endpoint = "src", .source_repository = repo,
          .source_digest = digest, .destination_endpoint = "dst", .destination_repository = repo,
          .tag = tag, .recorded_at = "2024-05-01T12:00:00Z"};
}

TEST_F(PlannerTest, TagPushedByAnInterruptedApplyIsAdoptedFromItsIntent) {
  // A run was killed after pushing app:v1 and before recording it: the destination
  // holds the source digest, and only the intent says crossdock put it there.
  std::string d = src_.AddImage("app", "v1", "1");
  dst_.AddImage("app", "v1", "1");
  state_.intents.push_back(IntentFor("app", "v1", d));
  Plan plan = Make();
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(plan.changes[0].action, Action::kAdopt);
  EXPECT_EQ(plan.changes[0].tag, "v1");
  EXPECT_EQ(plan.changes[0].source_digest, d);
  EXPECT_EQ(plan.changes[0].reason,
            "pushed by an apply that was interrupted before it could record it");
}

TEST_F(PlannerTest, IntentForATagNoLongerSelectedIsStillAdopted) {
  // The source dropped the tag since: crossdock pushed it all the same, so it becomes
  // managed (and delete = true removes it on the next run).
  std::string d = dst_.AddImage("app", "gone", "g");
  src_.AddImage("app", "v1", "1");
  dst_.AddImage("app", "v1", "1");
  state_.intents.push_back(IntentFor("app", "gone", d));
  Plan plan = Make();
  ASSERT_EQ(plan.summary().adopt, 1);
}

TEST_F(PlannerTest, IntentWhosePushNeverLandedIsNotAdopted) {
  std::string d = src_.AddImage("app", "v1", "1");
  dst_.AddImage("app", "other", "someone else's");
  state_.intents.push_back(IntentFor("app", "v1", d));                      // absent
  state_.intents.push_back(IntentFor("app", "other", "sha256:" + std::string(64, 'e')));
  Plan plan = Make();
  EXPECT_EQ(plan.summary().adopt, 0);
  EXPECT_EQ(plan.summary().create, 1);  // v1 is copied as usual
}

TEST_F(PlannerTest, NamesOutsideTheDistributionGrammarAreRefusedBeforeAnyRequest) {
  src_.AddImage("lib/app", "v1", "1");
  src_.AddImage("lib/app", "../../../other/victim/manifests/pwned", "2");
  src_.AddImage("lib/../other/victim", "prod", "3");
  rule_.repositories = {"lib/**"};
  Plan plan = Make();
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(plan.changes[0].destination_repository, "lib/app");
  EXPECT_EQ(plan.changes[0].tag, "v1");
  ASSERT_EQ(plan.errors.size(), 2u);
  EXPECT_EQ(plan.errors[0].message,
            "endpoint \"src\" listed 1 repository that the distribution grammar does not allow "
            "(\"lib/../other/victim\"); skipped, nothing was requested for it");
  EXPECT_EQ(plan.errors[1].message,
            "endpoint \"src\" listed 1 tag of \"lib/app\" that the distribution grammar does "
            "not allow (\"../../../other/victim/manifests/pwned\"); skipped, nothing was "
            "requested for it");
  for (const auto* r : {&src_, &dst_})
    for (const auto& call : r->calls())
      EXPECT_EQ(call.find(".."), std::string::npos) << r->name() << ": " << call;
}

TEST_F(PlannerTest, ManagedTagChangedOutsideCrossdockIsNotDeleted) {
  dst_.AddImage("app", "old", "someone else's");
  src_.AddImage("app", "v1", "1");
  state_.artifacts.push_back(Managed("app", "old", "sha256:what-crossdock-copied"));
  rule_.delete_missing = true;
  Plan plan = Make();
  EXPECT_EQ(plan.summary().del, 0);
  EXPECT_EQ(plan.summary().skip, 1);
}

TEST_F(PlannerTest, FlattenDeeperThanPathIsAnErrorForThatRepository) {
  src_.AddImage("a/b", "v1", "1");
  src_.AddImage("x", "v1", "2");
  rule_.dest_namespace = "ns";
  rule_.flatten = 1;
  Plan plan = Make();
  ASSERT_EQ(plan.errors.size(), 1u);
  EXPECT_EQ(plan.errors[0].source_repository, "x");
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(plan.changes[0].destination_repository, "ns/b");
}

TEST_F(PlannerTest, TwoSourcesOnOneDestinationNameIsAnError) {
  src_.AddImage("team1/app", "v1", "1");
  src_.AddImage("team2/app", "v1", "2");
  rule_.dest_namespace = "ns";
  rule_.flatten = -1;
  Plan plan = Make();
  ASSERT_EQ(plan.errors.size(), 1u);
  EXPECT_EQ(plan.errors[0].message,
            "source repositories \"team1/app\" and \"team2/app\" would both be copied to "
            "\"ns/app\"; change flatten or dest_namespace, or exclude one of them");
}

// A registry whose listing gives each tag's digest, as Harbor's, Docker Hub's, Quay's
// and GCR's do.
class DigestListingRegistry : public FakeRegistry {
 public:
  using FakeRegistry::FakeRegistry;
  core::Result<providers::TagListing> ListTagsWithDigests(const std::string& repo) override {
    auto tags = ListTags(repo);
    if (!tags.ok()) return tags.status();
    providers::TagListing listing{*tags, {}, {}};
    for (const auto& t : listing.tags) listing.digests[t] = *DigestOf(repo, t);
    return listing;
  }
  bool ListingHasDigests() const override { return true; }
};

TEST_F(PlannerTest, ListingsWithDigestsSpareTheHeadPerTag) {
  DigestListingRegistry src("src"), dst("dst");
  registries_ = {{"src", &src}, {"dst", &dst}};
  src.AddImage("app", "v1", "1");
  src.AddImage("app", "v2", "2");
  src.AddImage("app", "v3", "3");
  dst.AddImage("app", "v1", "1");
  dst.AddImage("app", "v2", "old");
  rule_.repositories = {"app"};
  Plan plan = Make();
  ASSERT_TRUE(plan.errors.empty()) << plan.errors[0].message;
  ASSERT_EQ(plan.changes.size(), 2u);
  EXPECT_EQ(plan.changes[0].action, Action::kUpdate);
  EXPECT_EQ(plan.changes[0].source_digest, *src.DigestOf("app", "v2"));
  EXPECT_EQ(plan.changes[1].action, Action::kCreate);
  EXPECT_EQ(src.count("HeadManifest"), 0);
  EXPECT_EQ(dst.count("HeadManifest"), 0);
  EXPECT_EQ(dst.count("ListTags app"), 1);  // one listing for the three tags
}

TEST_F(PlannerTest, AbsentDestinationRepositoryListedWithDigestsMeansEveryTagIsCopied) {
  DigestListingRegistry dst("dst");
  registries_["dst"] = &dst;
  src_.AddImage("app", "v1", "1");
  Plan plan = Make();
  ASSERT_TRUE(plan.errors.empty()) << plan.errors[0].message;
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(plan.changes[0].action, Action::kCreate);
  EXPECT_EQ(dst.count("HeadManifest"), 0);
}

// Every field of every change, drift record, error and warning, one line each, errors
// and warnings sorted (a plan made in batches groups its errors by batch).
std::string Describe(const Plan& plan) {
  std::string out;
  for (const auto* list : {&plan.changes, &plan.drift}) {
    out += list == &plan.changes ? "changes:\n" : "drift:\n";
    for (const Change& c : *list)
      out += c.rule + " " + ActionName(c.action) + " " + c.source_endpoint + ":" +
             c.source_repository + "@" + c.source_digest + " -> " + c.destination_endpoint + ":" +
             c.destination_repository + ":" + c.tag + " holds " +
             c.destination_digest.value_or("-") +
             " (" + c.reason + ")\n";
  }
  std::vector<std::string> notes;
  for (const PlanError& e : plan.errors)
    notes.push_back("error " + e.rule + " " + e.source_repository + ": " + e.message);
  for (const std::string& w : plan.warnings) notes.push_back("warning " + w);
  std::sort(notes.begin(), notes.end());
  for (const std::string& n : notes) out += n + "\n";
  return out + "rules:" + std::to_string(plan.rules.size()) +
         " serial:" + std::to_string(plan.state_serial);
}

TEST_F(PlannerTest, APlanMadeOneTagAtATimeEqualsThePlanMadeAtOnce) {
  // Creates, an update, converged tags, deletes under and outside the selected
  // repositories, records of another rule, an adopted intent, a failed listing.
  src_.AddImage("a", "v1", "a1");
  std::string a2 = src_.AddImage("a", "v2", "a2");
  src_.AddImage("a", "v3", "a3");
  src_.AddImage("b", "v1", "b1");
  std::string c1 = src_.AddImage("c", "v1", "c1");
  src_.AddImage("c", "v2", "c2");
  src_.AddImage("broken", "v1", "x1");
  src_.FailListingOf("broken");
  std::string da1 = dst_.AddImage("a", "v1", "a1");
  dst_.AddImage("a", "v2", "changed by hand");
  std::string old = dst_.AddImage("a", "old", "old");
  dst_.AddImage("b", "v1", "b1");
  dst_.AddImage("c", "v1", "c1");
  std::string gone = dst_.AddImage("gone", "v1", "g1");
  std::string kept = dst_.AddImage("broken", "v0", "x0");
  state_.artifacts.push_back(Managed("a", "v1", da1));
  state_.artifacts.push_back(Managed("a", "old", old));
  state_.artifacts.push_back(Managed("gone", "v1", gone));
  state_.artifacts.push_back(Managed("broken", "v0", kept));
  state::Artifact others = Managed("b", "v1", *dst_.DigestOf("b", "v1"));
  others.rule = "someone-else";
  state_.artifacts.push_back(others);
  state_.intents.push_back(IntentFor("c", "v1", c1));
  rule_.delete_missing = true;
  config_.rules = {rule_};
  for (bool refresh_only : {false, true}) {
    PlanOptions whole;
    whole.refresh_only = refresh_only;
    PlanOptions batched = whole;
    batched.batch_tags = 1;
    const int src_heads = src_.count("HeadManifest"), dst_heads = dst_.count("HeadManifest");
    const std::string expected = Describe(MakePlan(config_, state_, registries_, whole));
    const int whole_src = src_.count("HeadManifest") - src_heads;
    const int whole_dst = dst_.count("HeadManifest") - dst_heads;
    EXPECT_EQ(Describe(MakePlan(config_, state_, registries_, batched)), expected) << refresh_only;
    EXPECT_EQ(src_.count("HeadManifest") - src_heads - whole_src, whole_src);
    EXPECT_EQ(dst_.count("HeadManifest") - dst_heads - whole_dst, whole_dst);
    if (!refresh_only) {
      EXPECT_NE(expected.find("mirror delete src:a@ -> dst:a:old"), std::string::npos) << expected;
      EXPECT_NE(expected.find("mirror delete src:gone@ -> dst:gone:v1"), std::string::npos)
          << expected;
      EXPECT_NE(expected.find("mirror adopt src:c@" + c1), std::string::npos) << expected;
      EXPECT_NE(expected.find("mirror update src:a@" + a2), std::string::npos) << expected;
      EXPECT_EQ(expected.find("dst:broken:v0"), std::string::npos) << expected;  // listing failed
    }
  }
}

// Sets *CANCEL when it answers its first manifest HEAD, as Ctrl-C would then.
class CancellingRegistry : public FakeRegistry {
 public:
  CancellingRegistry(std::string name, std::atomic<bool>* cancel)
      : FakeRegistry(std::move(name)), cancel_(cancel) {}
  core::Result<std::optional<providers::ManifestHead>> HeadManifest(const std::string& repo,
                                                                   const std::string& ref) override {
    auto head = FakeRegistry::HeadManifest(repo, ref);
    cancel_->store(true);
    return head;
  }

 private:
  std::atomic<bool>* cancel_;
};

TEST_F(PlannerTest, TagsAnInterruptedPlanDidNotObserveAreErrorsNotChanges) {
  std::atomic<bool> cancel{false};
  CancellingRegistry src("src", &cancel);
  registries_["src"] = &src;
  for (const char* tag : {"v1", "v2", "v3", "v4"}) src.AddImage("app", tag, tag);
  config_.rules = {rule_};
  PlanOptions options;
  options.parallelism = 1;
  options.cancel = &cancel;
  Plan plan = MakePlan(config_, state_, registries_, options);
  // The source and the destination are asked at once, so a HEAD or two may be answered
  // before the interruption is seen; the last tags never are.
  EXPECT_LT(src.count("HeadManifest"), 4);
  EXPECT_LT(plan.changes.size(), 4u);
  for (const auto& c : plan.changes) EXPECT_NE(c.tag, "v4");  // neither side looked at
  ASSERT_EQ(plan.errors.size(), 1u);
  EXPECT_EQ(plan.errors[0].message, "not observed: the plan was interrupted");
}

// Docker Hub and Quay take exactly "namespace/name".
class TwoLevelRegistry : public FakeRegistry {
 public:
  using FakeRegistry::FakeRegistry;
  providers::PathRule path_rule() const override { return {2, 2, "namespace/name"}; }
};

TEST_F(PlannerTest, ADestinationsPathRuleRefusesNamesItCannotHoldAndKeepsTheirRecords) {
  TwoLevelRegistry dst("dst");
  registries_["dst"] = &dst;
  src_.AddImage("app", "v1", "1");
  src_.AddImage("team/app", "v1", "2");
  rule_.delete_missing = true;
  state_.artifacts.push_back(Managed("app", "v0", "sha256:old"));
  Plan plan = Make();
  ASSERT_EQ(plan.errors.size(), 1u);
  EXPECT_EQ(plan.errors[0].message,
            "endpoint \"dst\" takes repository names of exactly 2 path components "
            "(namespace/name), and \"app\" has 1; set the rule's dest_namespace or flatten");
  ASSERT_EQ(plan.changes.size(), 1u);  // no delete of what crossdock put at "app" before
  EXPECT_EQ(plan.changes[0].destination_repository, "team/app");
}

// A registry with namespaces (as Harbor's projects): "team" exists, "cache" refuses
// pushes, any other first component is missing.
class NamespacedRegistry : public FakeRegistry {
 public:
  using FakeRegistry::FakeRegistry;
  core::Result<providers::Namespace> CheckNamespace(const std::string& repo) override {
    providers::Namespace ns;
    ns.name = repo.substr(0, repo.find('/'));
    ns.exists = ns.name == "team" || ns.name == "cache";
    if (ns.name == "cache") ns.refusal = "project \"cache\" is a proxy cache";
    return ns;
  }
};

TEST_F(PlannerTest, MissingNamespacesArePlannedOnceAndRefusedOnesAreErrors) {
  NamespacedRegistry dst("dst");
  registries_["dst"] = &dst;
  src_.AddImage("team/app", "v1", "1");
  src_.AddImage("new/app", "v1", "2");
  src_.AddImage("new/tool", "v1", "3");
  src_.AddImage("cache/app", "v1", "4");
  Plan plan = Make();
  ASSERT_EQ(plan.namespaces.size(), 1u);
  EXPECT_EQ(plan.namespaces[0].endpoint, "dst");
  EXPECT_EQ(plan.namespaces[0].name, "new");
  EXPECT_EQ(plan.namespaces[0].rule, "mirror");
  EXPECT_EQ(plan.namespaces[0].repositories, (std::vector<std::string>{"new/app", "new/tool"}));
  ASSERT_EQ(plan.errors.size(), 1u);
  EXPECT_EQ(plan.errors[0].source_repository, "cache/app");
  EXPECT_EQ(plan.errors[0].message, "project \"cache\" is a proxy cache");
  EXPECT_EQ(plan.changes.size(), 3u);  // nothing for cache/app
  for (const auto& c : plan.changes) EXPECT_NE(c.destination_repository, "cache/app");
}

// A registry listing its own labels with the tags, as Harbor's artifacts list does.
class LabelListingRegistry : public DigestListingRegistry {
 public:
  using DigestListingRegistry::DigestListingRegistry;
  std::map<std::string, std::vector<std::string>> labels;  // tag -> labels
  core::Result<providers::TagListing> ListTagsWithDigests(const std::string& repo) override {
    auto l = DigestListingRegistry::ListTagsWithDigests(repo);
    if (l.ok()) l->labels = labels;
    return l;
  }
};

TEST_F(PlannerTest, RegistryLabelsSettleLabelFiltersWithoutReadingTheArtifact) {
  LabelListingRegistry src("src");
  registries_["src"] = &src;
  src.AddImage("app", "v1", "1");
  src.AddImage("app", "v2", "2");
  src.AddLabelledImage("app", "v3", "3", R"({"prod":"yes"})");
  src.labels = {{"v1", {"prod"}}};
  rule_.labels = {"prod"};
  Plan plan = Make();
  ASSERT_EQ(plan.changes.size(), 2u);
  EXPECT_EQ(plan.changes[0].tag, "v1");  // Harbor's label: no manifest read
  EXPECT_EQ(plan.changes[1].tag, "v3");  // the image's own label, read as before
  for (const auto& call : src.calls()) EXPECT_NE(call, "GetManifest app:" + *src.DigestOf("app", "v1"));
}

TEST_F(PlannerTest, DisabledRulesAreNotPlanned) {
  src_.AddImage("app", "v1", "1");
  rule_.enabled = false;
  EXPECT_TRUE(Make().changes.empty());
}

TEST_F(PlannerTest, RefreshOnlyReportsDriftAndProposesNoCopies) {
  src_.AddImage("app", "v1", "1");
  state_.artifacts.push_back(Managed("app", "gone", "sha256:x"));
  config_.rules = {rule_};
  PlanOptions o;
  o.refresh_only = true;
  Plan plan = MakePlan(config_, state_, registries_, o);
  EXPECT_TRUE(plan.changes.empty());
  ASSERT_EQ(plan.drift.size(), 1u);
  EXPECT_EQ(plan.drift[0].reason, "deleted outside crossdock");
}

}  // namespace
}  // namespace crossdock::planner

namespace crossdock::planner {
namespace {

class RuleFeaturesTest : public PlannerTest {
 protected:
  std::vector<std::string> Tags(const Plan& plan) {
    std::vector<std::string> out;
    for (const auto& c : plan.changes) out.push_back(c.destination_endpoint + ":" + c.tag);
    return out;
  }
};

TEST_F(RuleFeaturesTest, SemverRangeSelectsVersionsOnly) {
  for (const char* t : {"1.19.0", "1.20.1", "v1.25.3", "2.0.0", "latest", "1.21.0-rc1"})
    src_.AddImage("app", t, t);
  rule_.semver = ">=1.20 <2";
  EXPECT_EQ(Tags(Make()), (std::vector<std::string>{"dst:1.20.1", "dst:v1.25.3"}));
}

TEST_F(RuleFeaturesTest, KeepLatestKeepsHighestVersions) {
  for (const char* t : {"1.0.0", "1.2.0", "1.10.0", "0.9.0", "latest"}) src_.AddImage("app", t, t);
  rule_.keep_latest = 2;
  EXPECT_EQ(Tags(Make()), (std::vector<std::string>{"dst:1.10.0", "dst:1.2.0", "dst:latest"}));
}

TEST_F(RuleFeaturesTest, FanOutPlansEveryDestination) {
  testing::FakeRegistry dst2("dst2");
  registries_["dst2"] = &dst2;
  core::Endpoint e;
  e.name = "dst2";
  e.url = "http://127.0.0.1:5003";
  config_.endpoints["dst2"] = e;
  src_.AddImage("app", "v1", "1");
  dst2.AddImage("app", "v1", "1");  // converged there already
  rule_.destinations = {"dst", "dst2"};
  EXPECT_EQ(Tags(Make()), (std::vector<std::string>{"dst:v1"}));
}

TEST_F(RuleFeaturesTest, SignatureTagsGoWithTheirSubject) {
  std::string d = src_.AddImage("app", "v1", "1");
  src_.AddImage("app", "v2", "2");
  std::string sig = "sha256-" + d.substr(7) + ".sig";
  src_.AddImage("app", sig, "signature");
  src_.AddImage("app", "sha256-" + std::string(64, 'a') + ".sig", "orphan");
  rule_.tags = {"v1"};
  Plan plan = Make();
  ASSERT_EQ(Tags(plan), (std::vector<std::string>{"dst:" + sig, "dst:v1"}));
  EXPECT_EQ(plan.changes[0].accessory_of, "v1");
  rule_.include_referrers = false;
  EXPECT_EQ(Tags(Make()), (std::vector<std::string>{"dst:v1"}));
}

TEST_F(RuleFeaturesTest, ReferrersFromTheApiAreCopiedByDigest) {
  std::string subject = src_.AddImage("app", "v1", "1");
  // The referrer exists at the source by digest only (pushed with a "subject").
  std::string sbom = src_.AddImage("app", "tmp-sbom", "sbom");
  src_.SetReferrers("app", subject, {{sbom, providers::kOciManifest, 100, "application/spdx+json"}});
  dst_.SetReferrers("other", "sha256:x", {});  // the destination has the referrers API
  rule_.tags = {"v*"};
  Plan plan = Make();
  ASSERT_EQ(Tags(plan), (std::vector<std::string>{"dst:" + sbom, "dst:v1"}));
  EXPECT_EQ(plan.changes[0].accessory_of, "v1");
  EXPECT_EQ(plan.changes[0].source_digest, sbom);
  rule_.include_referrers = false;
  EXPECT_EQ(src_.count("ListReferrers"), 1);
  Make();
  EXPECT_EQ(src_.count("ListReferrers"), 1);  // not asked when referrers are off
}

TEST_F(RuleFeaturesTest, DestinationWithoutReferrersApiGetsTheFallbackIndexTag) {
  std::string subject = src_.AddImage("app", "v1", "1");
  std::string sbom = src_.AddImage("app", "tmp-sbom", "sbom");
  src_.SetReferrers("app", subject, {{sbom, providers::kOciManifest, 100, "application/spdx+json"}});
  rule_.tags = {"v*"};
  Plan plan = Make();
  std::string tag = "sha256-" + subject.substr(7);
  ASSERT_EQ(Tags(plan), (std::vector<std::string>{"dst:" + tag, "dst:" + sbom, "dst:v1"}));
  const Change& index = plan.changes[0];
  EXPECT_EQ(index.action, Action::kCreate);
  EXPECT_EQ(index.manifest_media_type, providers::kOciIndex);
  EXPECT_EQ(index.manifest_bytes,
            "{\"manifests\":[{\"artifactType\":\"application/spdx+json\",\"digest\":\"" + sbom +
                "\",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":100}],"
                "\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"schemaVersion\":2}");
  EXPECT_EQ(index.source_digest, core::Sha256Digest(index.manifest_bytes));
  // Once the destination's index lists the referrer, nothing more is planned for it.
  ASSERT_TRUE(dst_.PutManifest("app", tag, {providers::kOciIndex, index.source_digest,
                                             index.manifest_bytes}).ok());
  ASSERT_TRUE(dst_.PutManifest("app", sbom, *src_.GetManifest("app", sbom)).ok());
  ASSERT_TRUE(dst_.PutManifest("app", "v1", *src_.GetManifest("app", "v1")).ok());
  EXPECT_TRUE(Make().changes.empty());
}

TEST_F(RuleFeaturesTest, LabelFiltersNeedEveryLabel) {
  src_.AddLabelledImage("app", "a", "a", "{\"team\":\"pay\",\"tier\":\"gold\"}");
  src_.AddLabelledImage("app", "b", "b", "{\"team\":\"pay\"}");
  src_.AddLabelledImage("app", "c", "c", "{}", "{\"team\":\"pay\",\"tier\":\"gold\"}");
  rule_.labels = {"team=pay", "tier"};
  EXPECT_EQ(Tags(Make()), (std::vector<std::string>{"dst:a", "dst:c"}));
  rule_.labels = {};
  rule_.exclude_labels = {"team=pay", "tier=gold"};
  EXPECT_EQ(Tags(Make()), (std::vector<std::string>{"dst:b"}));
}

TEST_F(RuleFeaturesTest, ResourceFilterByConfigMediaType) {
  src_.AddImage("app", "img", "i");
  src_.AddArtifact("app", "chart", "c", "application/vnd.cncf.helm.config.v1+json", "{}", "");
  src_.AddArtifact("app", "other", "o", "application/vnd.example.thing", "{}", "");
  rule_.resource = "image";
  EXPECT_EQ(Tags(Make()), (std::vector<std::string>{"dst:img"}));
  rule_.resource = "chart";
  EXPECT_EQ(Tags(Make()), (std::vector<std::string>{"dst:chart"}));
  rule_.resource = "artifact";
  EXPECT_EQ(Tags(Make()), (std::vector<std::string>{"dst:other"}));
}

TEST_F(RuleFeaturesTest, AdoptTakesOwnershipOfIdenticalTags) {
  src_.AddImage("app", "v1", "1");
  dst_.AddImage("app", "v1", "1");
  rule_.adopt = true;
  Plan plan = Make();
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(plan.changes[0].action, Action::kAdopt);
  state_.artifacts.push_back(Managed("app", "v1", plan.changes[0].source_digest));
  EXPECT_TRUE(Make().changes.empty());
}

TEST_F(RuleFeaturesTest, DisabledRulesAreListed) {
  rule_.enabled = false;
  EXPECT_EQ(Make().disabled_rules, std::vector<std::string>{"mirror"});
}

}  // namespace
}  // namespace crossdock::planner
