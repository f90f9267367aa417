// End to end under injected faults: the real crossdock binary copies between real
// docker-registry processes through tests/fakes/fault_proxy (5xx, 429, resets,
// truncation, corruption, delays, altered manifests, at a rate, seeded), and every
// test reads the destination straight from the registry (curl HEAD for
// Docker-Content-Digest, skopeo inspect --raw), never through crossdock's client:
// no tag may ever be left holding a digest other than the one copied (or, when a
// copy fails, the one it held before), and transient faults at 30-50 % converge in
// one apply with the rule's default retries.
//
// The faults are drawn from a seed: each test names its own, and
// CROSSDOCK_FAULT_SEED=N replaces it (to try the same tests against other draws).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

// SEED, unless CROSSDOCK_FAULT_SEED says otherwise.
std::uint64_t FaultSeed(std::uint64_t seed) {
  const char* env = std::getenv("CROSSDOCK_FAULT_SEED");
  return env && *env ? std::strtoull(env, nullptr, 10) : seed;
}

class FaultTest : public ::testing::Test {
 protected:
  FaultTest() {
    layout_ = dir_.Sub("layout");
    config_ = dir_.Sub("crossdock.toml");
  }

  // crossdock.toml copying every repository from SRC to DST (the URLs crossdock
  // talks to: a registry or a proxy in front of it), RULE_BODY added to the rule.
  void WriteConfig(const Endpoint& src, const Endpoint& dst, const std::string& rule_body = "") {
    WriteFile(config_, "[endpoints.src]\ntype = \"docker-registry\"\nurl = \"" + src.url() +
                           "\"\n\n[endpoints.dst]\ntype = \"docker-registry\"\nurl = \"" +
                           dst.url() +
                           "\"\n\n[rules.mirror]\nsource = \"src\"\ndestination = \"dst\"\n" +
                           rule_body);
  }

  RunResult Apply() {
    return RunCrossdock({"apply", "--auto-approve", "-c", config_, "--no-color"}, {}, dir_.path());
  }

  // A small image (a layer shared by every image, one of its own) pushed to
  // REGISTRY as REPO:TAG.
  BuiltImage Seed(const Endpoint& registry, const std::string& repo, const std::string& tag,
                  uint64_t seed) {
    ImageSpec spec;
    spec.layers = {LayerSpec{.size = 3000, .seed = 1}, LayerSpec{.size = 2000 + seed, .seed = seed}};
    spec.labels = {{"seed", std::to_string(seed)}};
    std::string name = "img" + std::to_string(seed);
    BuiltImage img = BuildImage(layout_, name, spec);
    Push(layout_, name, registry, repo, tag);
    return img;
  }

  // Five images under three tags each and a two-platform index under two: 17 tags
  // in 6 repositories at the source. Fills expected_ ("repo:tag" -> digest).
  void SeedFleet() {
    for (int i = 0; i < 5; ++i) {
      std::string repo = "lib/app" + std::to_string(i);
      BuiltImage img = Seed(src_, repo, "v1", 10 + i);
      PushManifestUnderTags(src_, repo, "v1", {"v1.0", "latest"});
      for (const char* tag : {"v1", "v1.0", "latest"}) expected_[repo + ":" + tag] = img.digest;
    }
    ImageSpec amd, arm;
    amd.layers = {LayerSpec{.size = 2500, .seed = 31}};
    arm.architecture = "arm64";
    arm.variant = "v8";
    arm.layers = {LayerSpec{.size = 2500, .seed = 32}};
    BuiltImage multi = BuildIndex(layout_, "multi", {amd, arm});
    Push(layout_, "multi", src_, "lib/multi", "v1");
    PushManifestUnderTag(src_, "lib/multi", "v1", "latest");
    expected_["lib/multi:v1"] = expected_["lib/multi:latest"] = multi.digest;
  }

  // Every tag of the repositories in expected_ at the destination, read from the
  // registry itself: holds its expected digest when COMPLETE, else that or nothing.
  void ExpectNoWrongDigest(bool complete) {
    std::set<std::string> repos;
    for (const auto& [ref, digest] : expected_) repos.insert(ref.substr(0, ref.find(':')));
    for (const std::string& repo : repos) {
      for (const std::string& tag : ListTags(dst_, repo)) {
        auto it = expected_.find(repo + ":" + tag);
        std::optional<std::string> held = HeadDigest(dst_, repo, tag);
        ASSERT_NE(it, expected_.end()) << repo << ":" << tag << " should not exist";
        if (held) {
          EXPECT_EQ(*held, it->second) << repo << ":" << tag << " holds a wrong digest";
        }
      }
    }
    if (!complete) return;
    for (const auto& [ref, digest] : expected_) {
      size_t colon = ref.find(':');
      EXPECT_EQ(HeadDigest(dst_, ref.substr(0, colon), ref.substr(colon + 1)), digest) << ref;
    }
  }

  TempDir dir_;
  Registry src_, dst_;
  std::string layout_, config_;
  std::map<std::string, std::string> expected_;
};

TEST_F(FaultTest, TransientFaultsAtTheSourceConvergeInOneApply) {
  SeedFleet();
  // About half the blob downloads and a third of the manifest requests go wrong; the
  // /v2/ ping and tag lists are left alone.
  FaultProxy src(src_, {.faults = {"blob_get:corrupt:0.3", "blob_get:truncate:0.1",
                                   "blob_get:reset:0.1", "blob_get:5xx:0.1", "blob_get:delay:0.05",
                                   "manifest_get:alter:0.25", "manifest_get:5xx:0.1",
                                   "manifest_get:429:0.05", "manifest_get:reset:0.05",
                                   "manifest_head:5xx:0.3"},
                        .seed = FaultSeed(7)});
  WriteConfig(src, dst_);
  RunResult apply = Apply();
  EXPECT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  ExpectNoWrongDigest(/*complete=*/true);
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(dst_, "lib/multi", "latest")), expected_["lib/multi:v1"]);
  // The faults happened, damaged downloads among them.
  FaultProxy::Stats stats = src.GetStats();
  EXPECT_GE(stats.faults["blob_get:corrupt"] + stats.faults["blob_get:truncate"], 2);
  EXPECT_GE(stats.faults["manifest_get:alter"], 1);
  EXPECT_GE(stats.injected, 10) << stats.injected << " of " << stats.requests;
}

TEST_F(FaultTest, TransientFaultsAtTheDestinationConvergeInOneApply) {
  SeedFleet();
  FaultProxy dst(dst_, {.faults = {"upload_put:corrupt:0.2", "upload_put:truncate:0.1",
                                   "upload_put:reset:0.1", "upload_put:503:0.1:response",
                                   "upload_post:5xx:0.3", "mount:5xx:0.3", "blob_head:5xx:0.3",
                                   "manifest_put:alter:0.2", "manifest_put:5xx:0.1",
                                   "manifest_put:reset:0.1:response", "manifest_head:5xx:0.3"},
                        .seed = FaultSeed(11)});
  WriteConfig(src_, dst);
  RunResult apply = Apply();
  EXPECT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  ExpectNoWrongDigest(/*complete=*/true);
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(dst_, "lib/app3", "latest")), expected_["lib/app3:v1"]);
  FaultProxy::Stats stats = dst.GetStats();
  EXPECT_GE(stats.faults["upload_put:corrupt"] + stats.faults["upload_put:truncate"], 2);
  EXPECT_GE(stats.faults["manifest_put:alter"], 1);
  EXPECT_GE(stats.injected, 20) << stats.injected << " of " << stats.requests;
}

TEST_F(FaultTest, BlobCorruptedOnEveryDownloadIsCorruptAtTheSourceAndNothingIsTagged) {
  BuiltImage bad = Seed(src_, "lib/app", "v1", 1);
  BuiltImage good = Seed(src_, "lib/web", "v1", 2);
  const std::string layer = bad.blobs.back();
  FaultProxy src(src_, {.faults = {"blob_get:corrupt:1@" + layer}});
  WriteConfig(src, dst_, "retries = 1\n");  // two attempts of three downloads each
  RunResult apply = Apply();
  EXPECT_EQ(apply.exit_code, 1) << apply.out << apply.err;
  EXPECT_NE(apply.err.find("blob " + layer + " of lib/app at endpoint \"src\" arrived corrupted "
                           "on every one of 6 downloads (last: sha256:"),
            std::string::npos)
      << apply.err;
  EXPECT_NE(apply.err.find("; the source holds damaged content or something on the way alters it"),
            std::string::npos)
      << apply.err;
  EXPECT_EQ(src.GetStats().faults["blob_get:corrupt"], 6);
  EXPECT_FALSE(HeadDigest(dst_, "lib/app", "v1"));
  EXPECT_TRUE(ListTags(dst_, "lib/app").empty());
  EXPECT_FALSE(BlobExists(dst_, "lib/app", layer));  // nothing corrupted was uploaded
  EXPECT_EQ(HeadDigest(dst_, "lib/web", "v1"), good.digest);
}

TEST_F(FaultTest, ManifestPutAlteredEveryTimeLeavesNoWrongDigestUnderAnyTag) {
  // At the destination: lib/app:moved holds an older image (crossdock replaces it),
  // lib/app:keep one crossdock does not manage. Every manifest PUT is altered on the
  // way, the ones putting a tag back included.
  BuiltImage fresh = Seed(src_, "lib/app", "fresh", 1);
  BuiltImage moved = Seed(src_, "lib/app", "moved", 2);
  BuiltImage old = Seed(dst_, "lib/app", "moved", 3);
  BuiltImage keep = Seed(dst_, "lib/app", "keep", 4);
  FaultProxy dst(dst_, {.faults = {"manifest_put:alter:1"}});
  WriteConfig(src_, dst, "retries = 1\n");
  RunResult apply = Apply();
  EXPECT_EQ(apply.exit_code, 1) << apply.out << apply.err;
  EXPECT_NE(apply.err.find("lib/app:fresh, which did not exist before, was removed again"),
            std::string::npos)
      << apply.err;
  EXPECT_NE(apply.err.find("lib/app:moved could not be put back to " + old.digest),
            std::string::npos)
      << apply.err;
  EXPECT_NE(apply.err.find("was removed, so it holds no wrong manifest"), std::string::npos)
      << apply.err;
  expected_ = {{"lib/app:fresh", fresh.digest}, {"lib/app:moved", old.digest},
               {"lib/app:keep", keep.digest}};
  ExpectNoWrongDigest(/*complete=*/false);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "keep"), keep.digest);
  EXPECT_GE(dst.GetStats().faults["manifest_put:alter"], 4);
}

TEST_F(FaultTest, ManifestPutAlteredEveryTimeIsPutBackToWhatTheTagHeld) {
  BuiltImage fresh = Seed(src_, "lib/app", "v1", 1);
  BuiltImage old = Seed(dst_, "lib/app", "v1", 2);
  // Only the PUTs of the new manifest (the one naming its config) are altered.
  FaultProxy dst(dst_, {.faults = {"manifest_put:alter:1@" + fresh.config_digest}});
  WriteConfig(src_, dst, "retries = 0\n");
  RunResult apply = Apply();
  EXPECT_EQ(apply.exit_code, 1) << apply.out << apply.err;
  EXPECT_NE(apply.err.find("manifest " + fresh.digest + " reached lib/app:v1 at endpoint \"dst\" "
                           "altered on every one of 3 PUTs"),
            std::string::npos)
      << apply.err;
  EXPECT_NE(apply.err.find("; lib/app:v1 was put back to " + old.digest + ", which it held before"),
            std::string::npos)
      << apply.err;
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), old.digest);
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(dst_, "lib/app", "v1")), old.digest);
  EXPECT_EQ(ListTags(dst_, "lib/app"), std::vector<std::string>{"v1"});
}

TEST_F(FaultTest, ManifestPutsAlteredHalfTheTimeArePutAgainAndConverge) {
  BuiltImage img = Seed(src_, "lib/app", "v1", 1);
  std::vector<std::string> more = {"v2", "v3", "v4", "v5", "v6"};
  PushManifestUnderTags(src_, "lib/app", "v1", more);
  expected_["lib/app:v1"] = img.digest;
  for (const auto& tag : more) expected_["lib/app:" + tag] = img.digest;
  FaultProxy dst(dst_, {.faults = {"manifest_put:alter:0.5"}, .seed = FaultSeed(3)});
  WriteConfig(src_, dst);
  RunResult apply = Apply();
  EXPECT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  ExpectNoWrongDigest(/*complete=*/true);
  EXPECT_GE(dst.GetStats().faults["manifest_put:alter"], 1);
}

}  // namespace
}  // namespace crossdock::testing
