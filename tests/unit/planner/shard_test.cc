// Shards (PlanOptions::shard, README "Shards"): the plans of shards 0..N-1 together
// are the plan without a shard, and each shard asks the registries only about the
// destination repositories it owns.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "planner/planner.h"
#include "planner/select.h"
#include "tests/unit/fake_registry.h"

namespace crossdock::planner {
namespace {

using testing::FakeRegistry;

// A registry with namespaces (a Harbor project per first path component), none of
// which exists yet; records the repositories it is asked about.
class NamespacedRegistry : public FakeRegistry {
 public:
  using FakeRegistry::FakeRegistry;
  core::Result<providers::Namespace> CheckNamespace(const std::string& repo) override {
    std::lock_guard<std::mutex> g(mu_);
    checked_.push_back(repo);
    return providers::Namespace{repo.substr(0, repo.find('/')), false, ""};
  }
  std::vector<std::string> checked() const {
    std::lock_guard<std::mutex> g(mu_);
    return checked_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> checked_;
};

std::string Key(const Change& c) {
  return fmt::format("{} {} {}:{}@{} -> {}:{}:{} holding {} ({}) of [{}] {}", c.rule,
                     ActionName(c.action), c.source_endpoint, c.source_repository, c.source_digest,
                     c.destination_endpoint, c.destination_repository, c.tag,
                     c.destination_digest.value_or("-"), c.reason, c.accessory_of,
                     c.manifest_bytes);
}

std::string Key(const PlanError& e) {
  return e.rule + " | " + e.source_repository + " | " + e.message;
}

core::Rule MakeRule(const std::string& name, const std::string& source,
                    std::vector<std::string> destinations, std::vector<std::string> repositories) {
  core::Rule r;
  r.name = name;
  r.source = source;
  r.destination = destinations[0];
  r.destinations = std::move(destinations);
  r.repositories = std::move(repositories);
  return r;
}

class ShardPlanTest : public ::testing::Test {
 protected:
  ShardPlanTest() : src_("src"), src2_("src2"), dst_("dst"), dst2_("dst2") {
    for (const char* name : {"src", "src2", "dst", "dst2"}) {
      core::Endpoint e;
      e.name = name;
      e.url = "https://127.0.0.1:500" + std::to_string(config_.endpoints.size() + 1);
      config_.endpoints[name] = e;
    }
    registries_ = {{"src", &src_}, {"src2", &src2_}, {"dst", &dst_}, {"dst2", &dst2_}};
  }

  // Several rules, over many repositories, with every kind of change and error.
  void BuildMixedFleet() {
    // "mirror": lib/* to dst, deleting what it copied and no longer selects.
    core::Rule mirror = MakeRule("mirror", "src", {"dst"}, {"lib/*"});
    mirror.delete_missing = true;
    for (int r = 0; r < 24; ++r) {
      const std::string repo = fmt::format("lib/r{:02}", r);
      for (const char* tag : {"v1", "v2", "v3"})
        digests_[repo + ":" + tag] = src_.AddImage(repo, tag, repo + tag);
    }
    // A signature of lib/r00:v1 goes with it.
    const std::string sig = "sha256-" + digests_["lib/r00:v1"].substr(7) + ".sig";
    src_.AddImage("lib/r00", sig, "signature");
    dst_.AddImage("lib/r01", "v1", "lib/r01v1");    // converged
    dst_.AddImage("lib/r02", "v1", "other");        // replaced
    const std::string old = dst_.AddImage("lib/r03", "old", "old");  // deleted
    Record("mirror", "src", "lib/r03", "dst", "lib/r03", "old", old, old);
    Record("mirror", "src", "lib/r04", "dst", "lib/r04", "gone", old, old);  // forgotten
    const std::string changed = dst_.AddImage("lib/r05", "moved", "changed since");
    Record("mirror", "src", "lib/r05", "dst", "lib/r05", "moved", old, old);  // skipped
    (void)changed;
    // Pushed by an interrupted apply: adopted.
    const std::string pushed = dst_.AddImage("lib/r06", "v1", "lib/r06v1");
    config_.rules.push_back(mirror);
    state_.intents.push_back({"mirror", "src", "lib/r06", pushed, "dst", "lib/r06", "v1",
                              "2026-01-01T00:00:00Z"});
    // A listing that fails: an error, and what the state records there stays.
    src_.FailListingOf("lib/r07");
    Record("mirror", "src", "lib/r07", "dst", "lib/r07", "kept", old, old);

    // "flat": two source repositories that flatten into one destination repository.
    core::Rule flat = MakeRule("flat", "src", {"dst"}, {"team1/app", "team2/app"});
    flat.flatten = 1;
    flat.dest_namespace = "flat";
    src_.AddImage("team1/app", "v1", "team1");
    src_.AddImage("team2/app", "v1", "team2");
    config_.rules.push_back(flat);

    // "one" and "two": two rules, two sources, one destination repository m/app; v1
    // collides, v2 and v3 do not.
    core::Rule one = MakeRule("one", "src", {"dst"}, {"one/app"});
    one.flatten = 1;
    one.dest_namespace = "m";
    core::Rule two = MakeRule("two", "src2", {"dst"}, {"two/app"});
    two.flatten = 1;
    two.dest_namespace = "m";
    src_.AddImage("one/app", "v1", "one");
    src_.AddImage("one/app", "v2", "one v2");
    src2_.AddImage("two/app", "v1", "two");
    src2_.AddImage("two/app", "v3", "two v3");
    config_.rules.push_back(one);
    config_.rules.push_back(two);

    // "fanout": lib/r1* to two destinations, each copy in its own shard.
    core::Rule fanout = MakeRule("fanout", "src", {"dst", "dst2"}, {"lib/r1*"});
    fanout.dest_namespace = "fan";
    fanout.delete_missing = true;
    const std::string gone = dst2_.AddImage("fan/lib/r11", "v0", "v0");
    Record("fanout", "src", "lib/r11", "dst2", "fan/lib/r11", "v0", gone, gone);
    config_.rules.push_back(fanout);
  }

  void Record(const std::string& rule, const std::string& src, const std::string& repo,
              const std::string& dst, const std::string& dest_repo, const std::string& tag,
              const std::string& source_digest, const std::string& dest_digest) {
    state_.artifacts.push_back(
        {rule, src, repo, source_digest, dst, dest_repo, tag, dest_digest, "2026-01-01T00:00:00Z"});
  }

  Plan Make(std::optional<core::Shard> shard, bool refresh_only = false,
            size_t batch_tags = PlanOptions().batch_tags) {
    PlanOptions o;
    o.shard = shard;
    o.refresh_only = refresh_only;
    o.batch_tags = batch_tags;
    return MakePlan(config_, state_, registries_, o);
  }

  // The calls each registry received during F.
  template <class F>
  std::map<std::string, std::vector<std::string>> CallsDuring(F f) {
    std::map<std::string, size_t> before;
    for (const auto& [name, r] : fakes()) before[name] = r->calls().size();
    f();
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& [name, r] : fakes()) {
      auto calls = r->calls();
      out[name].assign(calls.begin() + static_cast<long>(before[name]), calls.end());
    }
    return out;
  }

  std::map<std::string, FakeRegistry*> fakes() {
    return {{"src", &src_}, {"src2", &src2_}, {"dst", &dst_}, {"dst2", &dst2_}};
  }

  // "HeadManifest repo:tag" -> "repo".
  static std::string RepoOf(const std::string& call) {
    const std::string rest = call.substr(call.find(' ') + 1);
    return rest.substr(0, rest.find_first_of(":@"));
  }

  FakeRegistry src_, src2_;
  NamespacedRegistry dst_, dst2_;
  core::Config config_;
  state::State state_;
  std::map<std::string, providers::Registry*> registries_;
  std::map<std::string, std::string> digests_;  // "repo:tag" at src -> digest
};

TEST_F(ShardPlanTest, TheShardsPlansTogetherAreThePlanWithoutShards) {
  BuildMixedFleet();
  const Plan whole = Make(std::nullopt);
  std::multiset<std::string> want, want_errors;
  for (const auto& c : whole.changes) want.insert(Key(c));
  for (const auto& e : whole.errors) want_errors.insert(Key(e));
  // The fleet has every kind of change and error.
  std::set<Action> actions;
  for (const auto& c : whole.changes) actions.insert(c.action);
  EXPECT_EQ(actions, (std::set<Action>{Action::kCreate, Action::kUpdate, Action::kDelete,
                                       Action::kSkip, Action::kAdopt}));
  const std::string errors = [&] {
    std::string s;
    for (const auto& e : want_errors) s += e + "\n";
    return s;
  }();
  EXPECT_NE(errors.find("listing lib/r07 failed"), std::string::npos) << errors;
  EXPECT_NE(errors.find("would both be copied to \"flat/app\""), std::string::npos) << errors;
  EXPECT_NE(errors.find("both write m/app:v1"), std::string::npos) << errors;
  EXPECT_FALSE(whole.namespaces.empty());

  std::set<std::tuple<std::string, std::string, std::string>> want_namespaces;
  for (const auto& n : whole.namespaces)
    for (const auto& r : n.repositories) want_namespaces.insert({n.endpoint, n.name, r});

  // Planned whole, and in batches of one repository (batches.h), as a large fleet is.
  for (auto [n, batch_tags] : std::vector<std::pair<int, size_t>>{
           {1, 50000}, {2, 50000}, {3, 50000}, {7, 50000}, {1, 1}, {3, 1}}) {
    SCOPED_TRACE("batch_tags " + std::to_string(batch_tags));
    std::multiset<std::string> got;
    std::set<std::string> got_errors;
    std::set<std::tuple<std::string, std::string, std::string>> got_namespaces;
    for (int i = 0; i < n; ++i) {
      const core::Shard shard{i, n};
      const Plan plan = Make(shard, false, batch_tags);
      ASSERT_TRUE(plan.shard);
      EXPECT_EQ(*plan.shard, shard);
      for (const auto& c : plan.changes) {
        EXPECT_TRUE(shard.Owns(c.destination_endpoint, c.destination_repository))
            << shard.Name() << ": " << Key(c);
        got.insert(Key(c));
      }
      for (const auto& e : plan.errors) {
        EXPECT_TRUE(want_errors.count(Key(e))) << shard.Name() << ": " << Key(e);
        got_errors.insert(Key(e));
      }
      for (const auto& ns : plan.namespaces)
        for (const auto& r : ns.repositories) {
          EXPECT_TRUE(shard.Owns(ns.endpoint, r)) << shard.Name() << ": " << r;
          got_namespaces.insert({ns.endpoint, ns.name, r});
        }
    }
    // Every change once, none missing, none twice.
    EXPECT_EQ(got, want) << n << " shards";
    EXPECT_EQ(got_errors, std::set<std::string>(want_errors.begin(), want_errors.end()))
        << n << " shards";
    EXPECT_EQ(got_namespaces, want_namespaces) << n << " shards";
  }
}

TEST_F(ShardPlanTest, TheShardsDriftTogetherIsTheDriftWithoutShards) {
  BuildMixedFleet();
  std::multiset<std::string> want;
  for (const auto& c : Make(std::nullopt, true).drift) want.insert(Key(c));
  EXPECT_EQ(want.size(), 3u);  // lib/r04:gone and lib/r07:kept absent, lib/r05:moved changed
  for (int n : {2, 3, 7}) {
    std::multiset<std::string> got;
    for (int i = 0; i < n; ++i)
      for (const auto& c : Make(core::Shard{i, n}, true).drift) got.insert(Key(c));
    EXPECT_EQ(got, want) << n << " shards";
  }
}

TEST_F(ShardPlanTest, AShardAsksOnlyAboutTheRepositoriesItOwns) {
  BuildMixedFleet();
  // Source repository -> where its rules copy it.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> copies;
  for (const auto& r : Select(config_, registries_, {}).repositories)
    for (const auto& d : r.destinations)
      copies[r.rule->source + " " + r.source_repository].push_back({d, r.destination_repository});
  const auto owns_a_copy = [&](const core::Shard& shard, const std::string& source,
                               const std::string& repo) {
    for (const auto& [endpoint, dest] : copies[source + " " + repo])
      if (shard.Owns(endpoint, dest)) return true;
    return false;
  };
  for (int n : {2, 3, 7}) {
    for (int i = 0; i < n; ++i) {
      const core::Shard shard{i, n};
      auto calls = CallsDuring([&] { (void)Make(shard); });
      // Listing the catalog is every shard's work: once per rule that reads it, as
      // without shards.
      EXPECT_EQ(std::count(calls["src"].begin(), calls["src"].end(), "ListRepositories"), 2);
      for (const char* source : {"src", "src2"})
        for (const auto& call : calls[source]) {
          if (call == "ListRepositories") continue;
          EXPECT_TRUE(owns_a_copy(shard, source, RepoOf(call))) << shard.Name() << ": " << call;
        }
      for (const char* dest : {"dst", "dst2"})
        for (const auto& call : calls[dest])
          EXPECT_TRUE(shard.Owns(dest, RepoOf(call))) << shard.Name() << ": " << call;
    }
  }
}

TEST_F(ShardPlanTest, NamespacesAreCheckedOnlyForOwnedRepositories) {
  BuildMixedFleet();
  for (int i = 0; i < 3; ++i) {
    const core::Shard shard{i, 3};
    const size_t before_dst = dst_.checked().size(), before_dst2 = dst2_.checked().size();
    (void)Make(shard);
    for (auto [registry, before] : {std::pair{&dst_, before_dst}, std::pair{&dst2_, before_dst2}}) {
      auto checked = registry->checked();
      for (size_t k = before; k < checked.size(); ++k)
        EXPECT_TRUE(shard.Owns(registry->name(), checked[k])) << shard.Name() << ": " << checked[k];
    }
  }
}

// One destination per source repository: the shards' HEADs add up to the HEADs of the
// plan without shards, and each shard sends about its share.
TEST_F(ShardPlanTest, HeadsSplitAcrossShardsWithoutRepeats) {
  core::Rule mirror = MakeRule("mirror", "src", {"dst"}, {"lib/*"});
  mirror.delete_missing = true;
  for (int r = 0; r < 120; ++r) {
    const std::string repo = fmt::format("lib/r{:03}", r);
    src_.AddImage(repo, "v1", repo);
    src_.AddImage(repo, "v2", repo + "2");
    const std::string gone = dst_.AddImage(repo, "v0", repo + "0");
    Record("mirror", "src", repo, "dst", repo, "v0", gone, gone);
  }
  config_.rules = {mirror};
  const auto heads = [&](std::optional<core::Shard> shard) {
    auto calls = CallsDuring([&] { (void)Make(shard); });
    long n = 0;
    for (const auto& [name, list] : calls)
      for (const auto& c : list) n += c.rfind("HeadManifest ", 0) == 0;
    return n;
  };
  const long whole = heads(std::nullopt);
  EXPECT_EQ(whole, 120 * 5);  // v1, v2 at both sides; v0 at the destination
  for (int n : {1, 2, 3, 4, 7}) {
    long sum = 0;
    for (int i = 0; i < n; ++i) {
      const long mine = heads(core::Shard{i, n});
      sum += mine;
      // Its share, give or take the hash's unevenness over 120 repositories.
      EXPECT_GT(mine, whole / n / 2) << i << "/" << n;
      EXPECT_LT(mine, whole / n * 3 / 2) << i << "/" << n;
    }
    EXPECT_EQ(sum, whole) << n << " shards";
  }
}

}  // namespace
}  // namespace crossdock::planner
