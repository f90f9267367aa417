// Diff is pure: these tests hand it values and read the Plan, with no registry.
#include "planner/diff.h"

#include <gtest/gtest.h>

namespace crossdock::planner {
namespace {

constexpr const char* kA = "sha256:aaaa";
constexpr const char* kB = "sha256:bbbb";

class DiffTest : public ::testing::Test {
 protected:
  DiffTest() {
    for (const char* name : {"src", "other", "dst"}) {
      core::Endpoint e;
      e.name = name;
      e.url = std::string("https://") + name + ".example";
      config_.endpoints[name] = e;
    }
    config_.rules = {MakeRule("mirror", "src")};
    desired_.rules = {"mirror"};
  }

  static core::Rule MakeRule(const std::string& name, const std::string& source) {
    core::Rule r;
    r.name = name;
    r.source = source;
    r.destination = "dst";
    return r;
  }

  // RULE wants lib/app:TAG at dst, from SOURCE's lib/app (or REPO).
  void Want(const std::string& tag, const std::string& rule = "mirror",
            const std::string& source = "src", const std::string& repo = "lib/app") {
    desired_.tags.push_back({rule, source, repo, "lib/app", {"dst"}, tag, "", "", false});
  }
  void Source(const std::string& tag, std::optional<std::string> digest,
              const std::string& source = "src", const std::string& repo = "lib/app") {
    observed_.sources[{source, repo, tag}].digest = std::move(digest);
  }
  void Holds(const std::string& tag, std::optional<std::string> digest) {
    observed_.destinations[{"dst", "lib/app", tag}].digest = std::move(digest);
  }
  void Record(const std::string& tag, const std::string& digest,
              const std::string& rule = "mirror") {
    state_.artifacts.push_back(
        {rule, "src", "lib/app", digest, "dst", "lib/app", tag, digest, "2026-01-01T00:00:00Z"});
  }
  Plan Run(bool refresh_only = false) {
    return Diff(config_, desired_, state_, observed_, {refresh_only, std::nullopt});
  }

  core::Config config_;
  Desired desired_;
  state::State state_;
  Observed observed_;
};

// One destination tag, every way it can stand.
struct TagCase {
  const char* name;
  bool override_tags, delete_missing, adopt;
  bool desired;                         // the rule selects the tag (source holds kA)
  std::optional<std::string> held;      // what the destination holds
  std::optional<std::string> recorded;  // the state's record of it
  std::optional<Action> want;           // nullopt: no change
  const char* reason;
};

const TagCase kTagCases[] = {
    {"AbsentIsCreated", true, false, false, true, std::nullopt, std::nullopt, Action::kCreate, ""},
    {"SameDigestIsNothing", true, false, false, true, kA, std::nullopt, std::nullopt, ""},
    {"OtherDigestIsReplacedUnderOverride", true, false, false, true, kB, kB, Action::kUpdate, ""},
    {"OtherDigestIsSkippedWithoutOverride", false, false, false, true, kB, std::nullopt,
     Action::kSkip, "the destination holds another digest and override = false"},
    {"ManagedAndUnwantedIsDeletedUnderDelete", true, true, false, false, kA, kA, Action::kDelete,
     "gone from the source or no longer selected"},
    {"ManagedAndUnwantedStaysWithoutDelete", true, false, false, false, kA, kA, std::nullopt, ""},
    {"UnmanagedIsNeverDeleted", true, true, false, false, kA, std::nullopt, std::nullopt, ""},
    {"ChangedOutsideIsNotDeleted", true, true, false, false, kB, kA, Action::kSkip,
     "the destination tag was changed outside crossdock since it was copied; it is not deleted"},
    {"AlreadyGoneIsForgotten", true, true, false, false, std::nullopt, kA, Action::kDelete,
     "already absent at the destination"},
    {"SameDigestIsAdoptedUnderAdopt", true, false, true, true, kA, std::nullopt, Action::kAdopt,
     "already holds the source digest; adopt = true takes ownership"},
    {"RecordedIsNotAdoptedAgain", true, false, true, true, kA, kA, std::nullopt, ""},
};

class DiffTagCaseTest : public DiffTest, public ::testing::WithParamInterface<TagCase> {};

TEST_P(DiffTagCaseTest, PlansTheTag) {
  const TagCase& c = GetParam();
  config_.rules[0].override_tags = c.override_tags;
  config_.rules[0].delete_missing = c.delete_missing;
  config_.rules[0].adopt = c.adopt;
  if (c.desired) {
    Want("v1");
    Source("v1", kA);
  }
  Holds("v1", c.held);
  if (c.recorded) Record("v1", *c.recorded);
  Plan plan = Run();
  EXPECT_TRUE(plan.errors.empty());
  if (!c.want) {
    EXPECT_TRUE(plan.changes.empty()) << ActionName(plan.changes[0].action);
    return;
  }
  ASSERT_EQ(plan.changes.size(), 1u);
  const Change& ch = plan.changes[0];
  EXPECT_EQ(ch.action, *c.want);
  EXPECT_EQ(ch.reason, c.reason);
  EXPECT_EQ(ch.destination_digest, c.held);
  EXPECT_EQ(ch.destination_host, "dst.example");
  EXPECT_EQ(ch.tag, "v1");
}

INSTANTIATE_TEST_SUITE_P(Table, DiffTagCaseTest, ::testing::ValuesIn(kTagCases),
                         [](const auto& info) { return std::string(info.param.name); });

// A destination storing its own form of what it is sent (a chart repository,
// Registry::ConvertsManifests) holds another digest than the source's: converged while
// it holds what the state recorded writing there for this very source digest.
TEST_F(DiffTest, AConvertedCopyIsConvergedWhileItHoldsWhatWasRecordedForItsSource) {
  const char* kConverted = "sha256:cccc";
  Want("v1");
  Source("v1", kA);
  Holds("v1", kConverted);
  state_.artifacts.push_back({"mirror", "src", "lib/app", kA, "dst", "lib/app", "v1", kConverted,
                              "2026-01-01T00:00:00Z"});
  EXPECT_TRUE(Run().changes.empty());

  // The source moved: copied again.
  Source("v1", kB);
  Plan moved = Run();
  ASSERT_EQ(moved.changes.size(), 1u);
  EXPECT_EQ(moved.changes[0].action, Action::kUpdate);

  // The destination changed behind crossdock's back: not converged either.
  Source("v1", kA);
  Holds("v1", "sha256:dddd");
  Plan changed = Run();
  ASSERT_EQ(changed.changes.size(), 1u);
  EXPECT_EQ(changed.changes[0].action, Action::kUpdate);
}

TEST_F(DiffTest, TwoSourcesForOneDestinationTagAreAnErrorAndNothingIsCopied) {
  config_.rules.push_back(MakeRule("other", "other"));
  desired_.rules.push_back("other");
  Want("v1");
  Want("v1", "other", "other");
  Source("v1", kA);
  Source("v1", kB, "other");
  Holds("v1", std::nullopt);
  Plan plan = Run();
  EXPECT_TRUE(plan.changes.empty());
  ASSERT_EQ(plan.errors.size(), 2u);  // one for each rule
  EXPECT_EQ(plan.errors[0].rule, "mirror");
  EXPECT_EQ(plan.errors[1].rule, "other");
  EXPECT_EQ(plan.errors[0].message,
            "rules \"mirror\" and \"other\" both write lib/app:v1 at endpoint \"dst\", from "
            "src:lib/app and other:lib/app; nothing is copied there until one of them excludes "
            "it");
}

TEST_F(DiffTest, TwoRulesWantingOneTagFromOneSourceCopyItOnce) {
  config_.rules.push_back(MakeRule("again", "src"));
  desired_.rules.push_back("again");
  Want("v1");
  Want("v1", "again");
  Source("v1", kA);
  Holds("v1", std::nullopt);
  Plan plan = Run();
  EXPECT_TRUE(plan.errors.empty());
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(plan.changes[0].rule, "mirror");
}

TEST_F(DiffTest, AnInterruptedPushHoldingItsDigestIsAdopted) {
  state_.intents.push_back({"mirror", "src", "lib/app", kA, "dst", "lib/app", "v1", ""});
  state_.intents.push_back({"mirror", "src", "lib/app", kA, "dst", "lib/app", "v2", ""});
  Holds("v1", kA);
  Holds("v2", kB);  // the push never landed
  Plan plan = Run();
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(plan.changes[0].action, Action::kAdopt);
  EXPECT_EQ(plan.changes[0].tag, "v1");
  EXPECT_EQ(plan.changes[0].reason,
            "pushed by an apply that was interrupted before it could record it");
}

TEST_F(DiffTest, AnAdoptedIntentReplacesTheSkipPlannedForItsTag) {
  config_.rules[0].override_tags = false;
  Want("v1");
  Source("v1", kB);
  Holds("v1", kA);
  state_.intents.push_back({"mirror", "src", "lib/app", kA, "dst", "lib/app", "v1", ""});
  Plan plan = Run();
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(plan.changes[0].action, Action::kAdopt);
}

TEST_F(DiffTest, IncompleteListingsKeepWhatTheStateRecords) {
  config_.rules[0].delete_missing = true;
  Record("v1", kA);
  Holds("v1", kA);
  desired_.unlisted_repositories.insert({"mirror", "lib/app"});
  EXPECT_TRUE(Run().changes.empty());
  desired_.unlisted_repositories.clear();
  desired_.unlisted_rules.insert("mirror");
  EXPECT_TRUE(Run().changes.empty());
  desired_.unlisted_rules.clear();
  EXPECT_EQ(Run().changes.size(), 1u);
}

TEST_F(DiffTest, RulesNotPlannedKeepTheirRecords) {
  config_.rules[0].delete_missing = true;
  Record("v1", kA);
  Holds("v1", kA);
  desired_.rules.clear();
  EXPECT_TRUE(Run().changes.empty());
}

TEST_F(DiffTest, ARecordDeletedAtTheSourceIsDeletedUnlessChangedSince) {
  desired_.rules.clear();  // as EventChanges: no rule is planned whole
  Record("v1", kA);
  Record("v2", kA);
  Holds("v1", kA);
  Holds("v2", kB);
  desired_.deleted_at_source = {{"mirror", {"dst", "lib/app", "v1"}},
                                {"mirror", {"dst", "lib/app", "v2"}},
                                {"another", {"dst", "lib/app", "v1"}}};  // not its record
  Plan plan = Run();
  ASSERT_EQ(plan.changes.size(), 2u);
  EXPECT_EQ(plan.changes[0].action, Action::kDelete);
  EXPECT_EQ(plan.changes[0].reason, "deleted at the source");
  EXPECT_EQ(plan.changes[1].action, Action::kSkip);
}

TEST_F(DiffTest, FailedObservationsAreErrorsOncePerRepository) {
  Want("v1");
  Want("v2");
  Want("v3");
  observed_.sources[{"src", "lib/app", "v1"}].error = "src: connection refused";
  Source("v2", kA);
  Source("v3", kA);
  observed_.destinations[{"dst", "lib/app", "v2"}].error = "dst: 503";
  observed_.destinations[{"dst", "lib/app", "v3"}].error = "dst: 503";
  Plan plan = Run();
  EXPECT_TRUE(plan.changes.empty());
  ASSERT_EQ(plan.errors.size(), 2u);
  EXPECT_EQ(plan.errors[0].message, "src: connection refused");
  EXPECT_EQ(plan.errors[1].message, "dst: 503");
  EXPECT_EQ(plan.errors[1].source_repository, "lib/app");
}

TEST_F(DiffTest, ATagGoneFromTheSourceSinceListedIsNeitherCopiedNorDeleted) {
  config_.rules[0].delete_missing = true;
  Want("v1");
  Source("v1", std::nullopt);
  Record("v1", kA);
  Holds("v1", kA);
  Plan plan = Run();
  EXPECT_TRUE(plan.changes.empty());
  EXPECT_TRUE(plan.errors.empty());
}

TEST_F(DiffTest, RefreshOnlyReportsDriftAndPlansNothing) {
  Want("v1");
  Source("v1", kA);
  Record("v1", kA);
  Record("v2", kA);
  Record("v3", kA);
  Holds("v1", kA);
  Holds("v2", kB);
  Holds("v3", std::nullopt);
  Plan plan = Run(/*refresh_only=*/true);
  EXPECT_TRUE(plan.changes.empty());
  ASSERT_EQ(plan.drift.size(), 2u);
  EXPECT_EQ(plan.drift[0].reason, "changed outside crossdock");
  EXPECT_EQ(plan.drift[1].reason, "deleted outside crossdock");
}

TEST_F(DiffTest, ChangesAreOrderedByRuleThenDestination) {
  config_.rules.insert(config_.rules.begin(), MakeRule("first", "other"));
  desired_.rules = {"first", "mirror"};
  Want("b");
  Want("a");
  desired_.tags.push_back({"first", "other", "lib/z", "lib/z", {"dst"}, "z", "", "", false});
  Source("a", kA);
  Source("b", kA);
  Source("z", kA, "other", "lib/z");
  for (const char* t : {"a", "b"}) Holds(t, std::nullopt);
  observed_.destinations[{"dst", "lib/z", "z"}].digest = std::nullopt;
  Plan plan = Run();
  ASSERT_EQ(plan.changes.size(), 3u);
  EXPECT_EQ(plan.changes[0].tag, "z");
  EXPECT_EQ(plan.changes[1].tag, "a");
  EXPECT_EQ(plan.changes[2].tag, "b");
}

TEST_F(DiffTest, StateTagsToObserveAreTheIntentsAndTheDeletionCandidates) {
  config_.rules[0].delete_missing = true;
  Want("v1");
  Record("v1", kA);  // desired: not a candidate
  Record("v2", kA);
  state_.intents.push_back({"mirror", "src", "lib/app", kA, "dst", "lib/app", "v3", ""});
  auto keys = StateTagsToObserve(config_, desired_, state_, {});
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0], (TagKey{"dst", "lib/app", "v3"}));
  EXPECT_EQ(keys[1], (TagKey{"dst", "lib/app", "v2"}));
}

TEST_F(DiffTest, ADesiredTagRecordedTwiceIsNotDeleted) {
  // A state file edited by hand (or merged by git) can record one key twice; the
  // lookups find one record, and the other must not read as "no longer desired".
  config_.rules[0].delete_missing = true;
  Want("v1");
  Source("v1", kA);
  Holds("v1", kA);
  Record("v1", kA);
  Record("v2", kA);
  Record("v1", kA);
  Holds("v2", kA);
  Plan plan = Run();
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(plan.changes[0].tag, "v2");
  EXPECT_EQ(plan.changes[0].action, Action::kDelete);
}

TEST(ObservationMapTest, ObservationsAreFoundByTheirWholeKeyAndNeverMove) {
  ObservationMap m;
  std::vector<Observation*> made;
  auto key = [](int i) {
    return TagKey{"e" + std::to_string(i % 3), "repo" + std::to_string(i % 7), "t" + std::to_string(i)};
  };
  for (int i = 0; i < 2000; ++i) made.push_back(&m[key(i)]);
  made[5]->digest = kA;
  for (int i = 0; i < 2000; ++i)
    EXPECT_EQ(m.Find(key(i)), made[i]) << i;  // the same object, after all the inserts
  EXPECT_EQ(m.size(), 2000u);
  EXPECT_EQ(*m.Find({"e2", "repo5", "t5"})->digest, kA);
  EXPECT_EQ(m.count({"e2", "repo5", "t5"}), 1u);
  EXPECT_EQ(m.Find({"e1", "repo5", "t5"}), nullptr);  // another endpoint
  EXPECT_EQ(m.Find({"e2", "repo4", "t5"}), nullptr);  // another repository
  EXPECT_EQ(m.Find({"e2", "repo5", "t6"}), nullptr);  // another tag
  bool inserted = true;
  EXPECT_EQ(&m.Insert("e2", "repo5", "t5", &inserted), made[5]);
  EXPECT_FALSE(inserted);
  m.Insert("e2", "repo5", "new", &inserted);
  EXPECT_TRUE(inserted);
  EXPECT_EQ(m.size(), 2001u);
}

}  // namespace
}  // namespace crossdock::planner
