#include "planner/saved_plan.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/digest.h"
#include "tests/unit/fake_registry.h"

namespace crossdock::planner {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');

class SavedPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/crossdock-plan-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
    path_ = dir_ + "/plan.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static Change Copy(const std::string& repo, const std::string& tag) {
    Change c;
    c.rule = "mirror";
    c.source_endpoint = "src";
    c.source_repository = repo;
    c.source_digest = kA;
    c.destination_endpoint = "dst";
    c.destination_host = "127.0.0.1:5002";
    c.destination_repository = repo;
    c.tag = tag;
    return c;
  }

  SavedPlan Sample() const {
    SavedPlan s;
    s.config_path = dir_ + "/crossdock.toml";
    s.config_digest = kB;
    s.plan.rules = {"mirror"};
    Change update = Copy("lib/app", "v2");
    update.action = Action::kUpdate;
    update.destination_digest = kB;
    Change del = Copy("", "v0");  // its source is gone
    del.action = Action::kDelete;
    del.source_digest = "";
    del.destination_repository = "lib/old";
    Change referrer = Copy("lib/app", kB);  // copied by digest
    referrer.accessory_of = "v1";
    Change fallback = Copy("lib/app", "sha256-" + std::string(64, 'a'));
    fallback.manifest_bytes = R"({"schemaVersion":2})";
    fallback.source_digest = core::Sha256Digest(fallback.manifest_bytes);
    s.plan.changes = {Copy("lib/app", "v1"), update, del, referrer, fallback};
    return s;
  }

  // Writes SAMPLE, replaces FROM by TO in the file, reads it back.
  core::Result<SavedPlan> Tampered(const std::string& from, const std::string& to) {
    EXPECT_TRUE(WritePlanFile(path_, Sample()).ok());
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    std::ofstream(path_, std::ios::trunc) << s;
    return ReadPlanFile(path_);
  }

  std::string dir_, path_;
};

TEST_F(SavedPlanTest, RoundTrips) {
  ASSERT_TRUE(WritePlanFile(path_, Sample()).ok());
  auto back = ReadPlanFile(path_);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->plan.changes.size(), 5u);
  EXPECT_EQ(back->plan.changes[1].destination_digest, kB);
  EXPECT_EQ(back->plan.changes[3].tag, kB);
  EXPECT_EQ(back->plan.changes[4].manifest_bytes, R"({"schemaVersion":2})");
}

// Issue 10: a plan file is a way in as well; its names are checked as an event's are.
TEST_F(SavedPlanTest, AlteredNamesAreRefusedNamingTheFile) {
  const std::string advice =
      "; the file was altered or damaged since it was made, so nothing of it is applied: make a "
      "new plan with `crossdock plan --out FILE`";
  auto victim = Tampered("\"destination_repository\": \"lib/app\"",
                         "\"destination_repository\": \"lib/../other/victim\"");
  EXPECT_EQ(victim.status().code(), core::Code::kDataLoss);
  EXPECT_EQ(victim.status().message(),
            path_ +
                ": change 1: repository \"lib/../other/victim\" is not a valid repository "
                "name: lowercase letters and digits, separated by '.', '_', \"__\" or '-', in "
                "components joined by '/', at most 255 characters" +
                advice);
  auto pwned = Tampered("\"tag\": \"v2\"", "\"tag\": \"../../../other/victim/manifests/pwned\"");
  EXPECT_EQ(pwned.status().message(),
            path_ +
                ": change 2: tag \"../../../other/victim/manifests/pwned\" is not a valid tag: "
                "up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'" +
                advice);
  auto source = Tampered("\"source_repository\": \"lib/app\"",
                         "\"source_repository\": \"lib/../other/secret\"");
  EXPECT_NE(source.status().message().find("change 1: repository \"lib/../other/secret\""),
            std::string::npos)
      << source.status().message();
  auto digest = Tampered("\"source_digest\": \"" + kA, "\"source_digest\": \"sha256:../" + kA);
  EXPECT_NE(digest.status().message().find("is not a valid digest"), std::string::npos)
      << digest.status().message();
  auto manifest = Tampered("schemaVersion", "schemaVersiom");
  EXPECT_EQ(manifest.status().message(), path_ + ": change 5: its manifest is not " +
                                             Sample().plan.changes[4].source_digest + advice);
}

// Issue 11: actions are stored by name, so a reordered enum cannot change what an old
// plan does; an unknown or tampered one is refused.
TEST_F(SavedPlanTest, ActionsAreStoredByName) {
  ASSERT_TRUE(WritePlanFile(path_, Sample()).ok());
  std::ifstream in(path_);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("\"action\": \"update\""), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("\"crossdock_plan_format\": 5"), std::string::npos);
  auto back = ReadPlanFile(path_);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->plan.changes[1].action, Action::kUpdate);
  EXPECT_EQ(back->plan.changes[2].action, Action::kDelete);
}

TEST_F(SavedPlanTest, AnUnknownActionIsRefused) {
  auto r = Tampered("\"action\": \"update\"", "\"action\": \"obliterate\"");
  EXPECT_EQ(r.status().code(), core::Code::kDataLoss);
  EXPECT_EQ(r.status().message(),
            path_ + " is not a crossdock plan file (unknown action \"obliterate\"); make one with "
                    "`crossdock plan --out FILE`");
  auto number = Tampered("\"action\": \"update\"", "\"action\": 2");
  EXPECT_EQ(number.status().code(), core::Code::kDataLoss) << number.status().message();
}

TEST_F(SavedPlanTest, OtherFormatVersionsAreRefusedAsSuch) {
  auto newer = Tampered("\"crossdock_plan_format\": 5", "\"crossdock_plan_format\": 6");
  EXPECT_EQ(newer.status().code(), core::Code::kInvalidArgument);
  EXPECT_EQ(newer.status().message(), path_ +
                                          " was written by a newer crossdock (plan format 6, this "
                                          "one reads 5); upgrade crossdock");
  auto older = Tampered("\"crossdock_plan_format\": 5", "\"crossdock_plan_format\": 4");
  EXPECT_EQ(older.status().message(), path_ +
                                          " was written by an older crossdock (plan format 4, "
                                          "this one reads 5); make a new plan with `crossdock "
                                          "plan --out FILE`");
}

// Issue 14: the deletion guard travels with the plan, so `show` and `apply PLANFILE`
// see the limit the plan was reviewed under.
TEST_F(SavedPlanTest, MaxDeletesRoundTrips) {
  SavedPlan s = Sample();
  s.plan.max_deletes = 0;
  ASSERT_TRUE(WritePlanFile(path_, s).ok());
  auto back = ReadPlanFile(path_);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->plan.max_deletes, std::optional<long>(0));
  ASSERT_TRUE(WritePlanFile(path_, Sample()).ok());
  back = ReadPlanFile(path_);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->plan.max_deletes, std::nullopt);
}

// Issue 15: a shard's plan says which shard it is, so `apply PLANFILE` runs it as that
// shard; a file whose shard or changes were altered is refused.
TEST_F(SavedPlanTest, TheShardRoundTripsAndBoundsTheChanges) {
  SavedPlan s = Sample();
  ASSERT_TRUE(WritePlanFile(path_, s).ok());
  auto back = ReadPlanFile(path_);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->plan.shard, std::nullopt);
  // The shard of 2 that owns every destination repository of the sample.
  std::optional<core::Shard> owner;
  for (int i = 0; i < 2 && !owner; ++i) {
    const core::Shard shard{i, 2};
    if (std::all_of(s.plan.changes.begin(), s.plan.changes.end(), [&](const Change& c) {
          return shard.Owns(c.destination_endpoint, c.destination_repository);
        }))
      owner = shard;
  }
  ASSERT_TRUE(owner);  // "lib/app" and "lib/old" at "dst" share shard 0 of 2
  s.plan.shard = owner;
  ASSERT_TRUE(WritePlanFile(path_, s).ok());
  std::ifstream in(path_);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("\"shard\": \"" + owner->Name() + "\""), std::string::npos)
      << text.str();
  back = ReadPlanFile(path_);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->plan.shard, owner);

  // Another shard's repository in the file, or a shard that cannot be.
  const core::Shard other{(owner->index + 1) % 2, 2};
  const auto write_shard = [&](const std::string& shard) {
    std::string altered = text.str();
    const std::string was = "\"shard\": \"" + owner->Name() + "\"";
    altered.replace(altered.find(was), was.size(), "\"shard\": \"" + shard + "\"");
    std::ofstream(path_, std::ios::trunc) << altered;
  };
  write_shard(other.Name());
  back = ReadPlanFile(path_);
  EXPECT_EQ(back.status().code(), core::Code::kDataLoss);
  EXPECT_NE(back.status().message().find(": change 1: lib/app at endpoint \"dst\" is not in the "
                                         "plan's shard " + other.Name() +
                                         "; the file was altered or damaged"),
            std::string::npos)
      << back.status().message();
  write_shard("2/2");
  back = ReadPlanFile(path_);
  EXPECT_EQ(back.status().code(), core::Code::kDataLoss);
  EXPECT_EQ(back.status().message(),
            path_ + " is not a crossdock plan file (shard: --shard \"2/2\": the index 2 is not "
                    "below the count 2 (shards are numbered from 0 to 1); expected --shard I/N, "
                    "shard I of N with whole numbers 0 <= I < N (e.g. --shard 0/4)); make one "
                    "with `crossdock plan --out FILE`");
}

// The staleness checks apply ran in cmd/ before issue 11; now unit-tested here.
TEST_F(SavedPlanTest, APlanIsStaleOnceTheStateTheConfigOrASourceMoved) {
  testing::FakeRegistry src("src");
  std::map<std::string, providers::Registry*> registries = {{"src", &src}};
  core::Config config;
  config.path = dir_ + "/crossdock.toml";
  std::ofstream(config.path) << "# v1\n";
  state::State state;
  state.lineage = "L";
  state.serial = 3;
  Plan plan;
  plan.state_lineage = "L";
  plan.state_serial = 3;
  Change c = Copy("lib/app", "v1");
  c.source_digest = src.AddImage("lib/app", "v1", "one");
  plan.changes = {c};
  SavedPlan saved = MakeSavedPlan(config, plan);
  EXPECT_EQ(saved.config_digest, core::Sha256Digest("# v1\n"));
  auto check = [&] { return CheckSavedPlanCurrent(saved, state, "s.json", config, registries); };
  EXPECT_TRUE(check().ok()) << check().message();

  state.serial = 4;
  EXPECT_EQ(check().message(), "Saved plan is stale: the state changed since the plan was made "
                               "(serial 3 then, 4 now). Run crossdock plan again.");
  state.serial = 3;
  state.lineage = "M";
  EXPECT_EQ(check().message(), "Saved plan does not match the given state: the plan was made for "
                               "state lineage L, s.json has lineage M");
  state.lineage = "L";
  std::ofstream(config.path) << "# v2\n";
  EXPECT_EQ(check().message(), "Saved plan is stale: " + config.path +
                                   " changed since the plan was made. Run crossdock plan again.");
  std::ofstream(config.path) << "# v1\n";
  const std::string moved = src.AddImage("lib/app", "v1", "two");
  EXPECT_EQ(check().code(), core::Code::kConflict);
  EXPECT_EQ(check().message(), "Saved plan is stale: lib/app:v1 at endpoint \"src\" is now " +
                                   moved + ", the plan copies " + c.source_digest +
                                   ". Run crossdock plan again.");
}

}  // namespace
}  // namespace crossdock::planner
