#include "planner/events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/fake_registry.h"

namespace crossdock::planner {
namespace {

using testing::FakeRegistry;

constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";

// Valid digests (core::IsValidDigest): events with any other are refused.
const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');
const std::string kOther = "sha256:" + std::string(64, 'e');
const std::string kRecorded = "sha256:" + std::string(64, 'f');
const std::string kX = "sha256:" + std::string(64, '9');

std::string Envelope(const std::string& events) { return "{\"events\":[" + events + "]}"; }

std::string PushEvent(const std::string& repo, const std::string& tag, const std::string& digest,
                      const std::string& media_type = kOciManifest) {
  return "{\"action\":\"push\",\"target\":{\"mediaType\":\"" + media_type + "\",\"digest\":\"" +
         digest + "\",\"repository\":\"" + repo + "\",\"tag\":\"" + tag +
         "\",\"url\":\"http://127.0.0.1:5001/v2/" + repo + "/manifests/" + digest +
         "\"},\"request\":{\"host\":\"127.0.0.1:5001\"}}";
}

TEST(ParseEnvelopeTest, KeepsManifestPushesAndDeletesAndDropsBlobsAndPulls) {
  auto events = ParseEnvelope(Envelope(
      PushEvent("lib/app", "v1", kA) + "," +
      PushEvent("lib/app", "", kB, "application/vnd.oci.image.layer.v1.tar+gzip") + "," +
      "{\"action\":\"pull\",\"target\":{\"mediaType\":\"" + kOciManifest +
      "\",\"digest\":\"" + kA + "\",\"repository\":\"lib/app\"}}," +
      "{\"action\":\"delete\",\"target\":{\"digest\":\"" + kA + "\",\"repository\":\"lib/app\"}}," +
      "{\"action\":\"delete\",\"target\":{\"tag\":\"v1\",\"repository\":\"lib/app\"}}"));
  ASSERT_TRUE(events.ok()) << events.status().message();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].action, "push");
  EXPECT_EQ((*events)[0].tag, "v1");
  EXPECT_EQ((*events)[0].digest, kA);
  EXPECT_EQ((*events)[0].request_host, "127.0.0.1:5001");
  EXPECT_EQ((*events)[1].action, "delete");
  EXPECT_EQ((*events)[1].digest, kA);
  EXPECT_EQ((*events)[2].tag, "v1");
  EXPECT_EQ((*events)[2].digest, "");
}

TEST(ParseEnvelopeTest, BadBodiesAreRefusedWithOneLineReasons) {
  EXPECT_EQ(ParseEnvelope("not json").status().message(), "the body is not JSON");
  EXPECT_EQ(ParseEnvelope("{\"event\":[]}").status().message(),
            "the body is not a distribution notification envelope: it needs an \"events\" array");
  EXPECT_EQ(ParseEnvelope("[1]").status().message(),
            "the body is not a distribution notification envelope: it needs an \"events\" array");
  EXPECT_EQ(ParseEnvelope(Envelope("3")).status().message(), "event 0 is not an object");
  EXPECT_EQ(ParseEnvelope(Envelope("{\"target\":{}}")).status().message(),
            "event 0 has no \"action\" string");
  EXPECT_EQ(ParseEnvelope(Envelope("{\"action\":\"push\"}")).status().message(),
            "event 0 has no \"target\" object");
  EXPECT_EQ(ParseEnvelope(Envelope(PushEvent("a", "v1", kA) +
                                   ",{\"action\":\"push\",\"target\":{\"repository\":7}}"))
                .status()
                .message(),
            "event 1 has a target field that is not a string");
  EXPECT_EQ(ParseEnvelope(Envelope("{\"action\":\"push\",\"target\":{\"mediaType\":\"" +
                                   std::string(kOciManifest) + "\",\"digest\":\"" + kA + "\"}}"))
                .status()
                .message(),
            "event 0 has no target.repository");
  EXPECT_EQ(ParseEnvelope(Envelope("{\"action\":\"push\",\"target\":{\"mediaType\":\"" +
                                   std::string(kOciManifest) + "\",\"repository\":\"a\",\"tag\":\"v\"}}"))
                .status()
                .message(),
            "event 0 is a push without target.digest");
  EXPECT_EQ(ParseEnvelope(Envelope("{\"action\":\"delete\",\"target\":{\"repository\":\"a\"}}"))
                .status()
                .message(),
            "event 0 has neither target.digest nor target.tag");
  EXPECT_EQ(ParseEnvelope(Envelope("")).value().size(), 0u);
}

// Issue 10: with repositories = ["lib/**"], these reached the destination through
// curl's dot-segment removal, as other/victim:prod, other/victim:pwned and other/secret.
TEST(ParseEnvelopeTest, NamesOutsideTheDistributionGrammarRefuseTheWholeRequest) {
  const std::string ok = PushEvent("lib/app", "v1", kA);
  EXPECT_EQ(ParseEnvelope(Envelope(ok + "," + PushEvent("lib/../other/victim", "prod", kA)))
                .status()
                .message(),
            "event 1: repository \"lib/../other/victim\" is not a valid repository name: "
            "lowercase letters and digits, separated by '.', '_', \"__\" or '-', in components "
            "joined by '/', at most 255 characters");
  EXPECT_EQ(ParseEnvelope(Envelope(PushEvent("lib/app", "../../../other/victim/manifests/pwned",
                                             kA)))
                .status()
                .message(),
            "event 0: tag \"../../../other/victim/manifests/pwned\" is not a valid tag: up to 128 "
            "letters, digits, '_', '.' and '-', not starting with '.' or '-'");
  EXPECT_EQ(ParseEnvelope(Envelope(PushEvent("lib/app", "v1", "sha256:../../x"))).status().message(),
            "event 0: digest \"sha256:../../x\" is not a valid digest: \"sha256:\" and 64 "
            "lowercase hex digits");
  // Deletes too; control characters are shown escaped, never echoed raw.
  EXPECT_THAT(ParseEnvelope(Envelope("{\"action\":\"delete\",\"target\":{\"tag\":\"v1\",\"repository\""
                                   ":\"lib/\\u001b[31m\"}}"))
                .status()
                .message(),
            ::testing::StartsWith("event 0: repository \"lib/\\x1b[31m\" is not"));
  for (const std::string& repo :
       std::vector<std::string>{"lib/../other/secret", "lib/./app", "lib//app", "Lib/app",
                                "lib/app?n=1", "lib%2f..%2fx", std::string(256, 'a')})
    EXPECT_FALSE(ParseEnvelope(Envelope(PushEvent(repo, "v1", kA))).ok()) << repo;
  for (const std::string& tag :
       std::vector<std::string>{".v1", "-v1", "v1/x", "v1?x", "v 1", std::string(129, 'a')})
    EXPECT_FALSE(ParseEnvelope(Envelope(PushEvent("lib/app", tag, kA))).ok()) << tag;
  // Pulls and blob pushes are dropped unread, as before.
  EXPECT_TRUE(ParseEnvelope(Envelope(PushEvent("lib/../x", "", kA,
                                               "application/vnd.oci.image.layer.v1.tar+gzip")))
                  .ok());
}

// Harbor's Default payload as goharbor/harbor builds it
// (src/controller/event/handler/webhook/artifact/artifact.go).
std::string HarborPayload(const std::string& type, const std::string& resources) {
  return R"({"type":")" + type +
         R"(","occur_at":1737446601,"operator":"admin","event_data":{"resources":[)" +
         resources +
         R"(],"repository":{"date_created":1737446600,"name":"app","namespace":"lib",)"
         R"("repo_full_name":"lib/app","repo_type":"private"}}})";
}

std::string HarborResource(const std::string& tag, const std::string& digest) {
  return R"({"digest":")" + digest + R"(","tag":")" + tag +
         R"(","resource_url":"harbor.example:8443/lib/app:)" + tag + R"("})";
}

TEST(ParseHarborPayloadTest, ArtifactAndTagEventsInBothFormats) {
  auto push = ParseHarborPayload(HarborPayload("PUSH_ARTIFACT", HarborResource("v1", kA)));
  ASSERT_TRUE(push.ok()) << push.status().message();
  ASSERT_EQ(push->size(), 1u);
  RegistryEvent want;
  want.action = "push";
  want.digest = kA;
  want.repository = "lib/app";
  want.tag = "v1";
  want.request_host = "harbor.example:8443";
  EXPECT_EQ((*push)[0], want);

  // Untagged: Harbor repeats the digest in "tag".
  auto untagged =
      ParseHarborPayload(HarborPayload("DELETE_ARTIFACT", HarborResource(kB, kB)));
  ASSERT_TRUE(untagged.ok());
  ASSERT_EQ(untagged->size(), 1u);
  EXPECT_EQ((*untagged)[0].action, "delete");
  EXPECT_EQ((*untagged)[0].tag, "");
  EXPECT_EQ((*untagged)[0].digest, kB);

  auto retag = ParseHarborPayload(HarborPayload("CREATE_TAG", HarborResource("v2", kA)));
  ASSERT_TRUE(retag.ok());
  EXPECT_EQ((*retag)[0].action, "push");
  auto untag = ParseHarborPayload(HarborPayload("DELETE_TAG", HarborResource("v2", "")));
  ASSERT_TRUE(untag.ok());
  EXPECT_EQ((*untag)[0].action, "delete");
  EXPECT_EQ((*untag)[0].tag, "v2");

  // CloudEvents (Harbor 2.8+): the same data under "data".
  auto cloud = ParseHarborPayload(
      R"({"specversion":"1.0","id":"4b2f","source":"/projects/1/webhook/policies/3",)"
      R"("type":"harbor.artifact.pushed","datacontenttype":"application/json",)"
      R"("time":"2023-03-06T06:08:43Z","data":{"resources":[)" +
      HarborResource("v3", kC) +
      R"(],"repository":{"name":"app","namespace":"lib","repo_full_name":"lib/app"}},)"
      R"("operator":"admin"})");
  ASSERT_TRUE(cloud.ok()) << cloud.status().message();
  ASSERT_EQ(cloud->size(), 1u);
  EXPECT_EQ((*cloud)[0].tag, "v3");
  EXPECT_EQ((*cloud)[0].digest, kC);
  EXPECT_EQ((*cloud)[0].request_host, "harbor.example:8443");

  // Pulls, scans and quota warnings start nothing.
  for (const char* type : {"PULL_ARTIFACT", "SCANNING_COMPLETED", "QUOTA_WARNING",
                           "harbor.artifact.pulled"}) {
    auto none = ParseHarborPayload(HarborPayload(type, HarborResource("v1", kA)));
    ASSERT_TRUE(none.ok()) << type;
    EXPECT_TRUE(none->empty()) << type;
  }
}

TEST(ParseHarborPayloadTest, BadPayloadsAreRefusedWithOneLineReasons) {
  EXPECT_EQ(ParseHarborPayload("{").status().message(), "the body is not JSON");
  EXPECT_EQ(ParseHarborPayload("[]").status().message(),
            "the body is not a Harbor webhook payload: not an object");
  EXPECT_EQ(ParseHarborPayload(R"({"events":[]})").status().message(),
            "the body is not a Harbor webhook payload: it needs a \"type\" string");
  EXPECT_EQ(ParseHarborPayload(R"({"type":"PUSH_ARTIFACT"})").status().message(),
            "the Harbor payload has no \"event_data\" object");
  EXPECT_EQ(ParseHarborPayload(R"({"type":"PUSH_ARTIFACT","event_data":{"resources":[]}})")
                .status()
                .message(),
            "the Harbor payload has no event_data.repository.repo_full_name");
  EXPECT_EQ(ParseHarborPayload(
                R"({"type":"PUSH_ARTIFACT","event_data":{"repository":{"repo_full_name":"a"}}})")
                .status()
                .message(),
            "the Harbor payload has no event_data.resources array");
  EXPECT_EQ(ParseHarborPayload(HarborPayload("PUSH_ARTIFACT", HarborResource("v1", "")))
                .status()
                .message(),
            "resource 0 is a push without a digest");
  EXPECT_EQ(ParseHarborPayload(HarborPayload("PUSH_ARTIFACT", R"({"digest":7})")).status().message(),
            "resource 0 has a field that is not a string");
}

TEST(ParseHarborPayloadTest, NamesOutsideTheDistributionGrammarAreRefused) {
  std::string traversal = HarborPayload("PUSH_ARTIFACT", HarborResource("prod", kA));
  traversal.replace(traversal.find("\"lib/app\""), 9, "\"lib/../other/victim\"");
  EXPECT_EQ(ParseHarborPayload(traversal).status().message(),
            "resource 0: repository \"lib/../other/victim\" is not a valid repository name: "
            "lowercase letters and digits, separated by '.', '_', \"__\" or '-', in components "
            "joined by '/', at most 255 characters");
  EXPECT_THAT(ParseHarborPayload(HarborPayload(
                                   "PUSH_ARTIFACT",
                                   HarborResource("v1", kA) + "," +
                                       HarborResource("../../../other/victim/manifests/pwned", kA)))
                .status()
                .message(),
            ::testing::StartsWith("resource 1: tag \"../../../other/victim/manifests/pwned\" is "));
  EXPECT_FALSE(
      ParseHarborPayload(HarborPayload("DELETE_ARTIFACT", HarborResource("v1", "sha256:x/../y")))
          .ok());
}

class EventsTest : public ::testing::Test {
 protected:
  EventsTest() : src_("src"), dst_("dst") {
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
    rule_.events = true;
    registries_ = {{"src", &src_}, {"dst", &dst_}};
  }

  RegistryEvent Push(const std::string& repo, const std::string& tag, const std::string& digest) {
    return {"push", kOciManifest, digest, repo, tag, "", ""};
  }

  std::vector<Change> Changes(const std::vector<RegistryEvent>& events) {
    config_.rules = {rule_};
    std::vector<JournaledEvent> journaled;
    for (const auto& e : events) journaled.push_back({"src", e});
    return EventChanges(config_, state_, registries_, journaled, &errors_);
  }

  state::Artifact Managed(const std::string& repo, const std::string& tag,
                          const std::string& digest) {
    return {"mirror", "src", repo, digest, "dst", repo, tag, digest, "2024-01-01T00:00:00Z"};
  }

  FakeRegistry src_, dst_;
  core::Config config_;
  core::Rule rule_;
  state::State state_;
  std::vector<PlanError> errors_;
  std::map<std::string, providers::Registry*> registries_;
};

TEST_F(EventsTest, EndpointIsMatchedByPathThenUrlHostThenRequestHost) {
  RegistryEvent e = Push("a", "v1", kA);
  e.url = "https://127.0.0.1:5002/v2/a/manifests/sha256:aa";
  e.request_host = "127.0.0.1:5001";
  EXPECT_EQ(MatchEndpoint(config_, e, "").value(), "dst");
  EXPECT_EQ(MatchEndpoint(config_, e, "src").value(), "src");
  e.url = "";
  EXPECT_EQ(MatchEndpoint(config_, e, "").value(), "src");
  e.url = "http://registry.example:5000/v2/a/manifests/sha256:aa";
  e.request_host = "";
  EXPECT_EQ(MatchEndpoint(config_, e, "").status().message(),
            "no endpoint has host \"registry.example:5000\"; append /<endpoint> to the "
            "webhook path, e.g. /webhooks/distribution/<endpoint>");
  EXPECT_EQ(MatchEndpoint(config_, e, "harbr").status().message(),
            "no endpoint named \"harbr\" in the configuration");
  e.url = "";
  EXPECT_EQ(MatchEndpoint(config_, e, "").status().message(),
            "the event names no host; append /<endpoint> to the webhook path, e.g. "
            "/webhooks/distribution/<endpoint>");
  e.request_host = "evil\n2025-01-01T00:00:00Z accepted";  // a forged log line
  EXPECT_EQ(MatchEndpoint(config_, e, "").status().message(),
            "no endpoint has host \"evil\\x0a2025-01-01T00:00:00Z accepted\"; append /<endpoint> "
            "to the webhook path, e.g. /webhooks/distribution/<endpoint>");
}

TEST_F(EventsTest, RulesMatchOnlyWithEventsEnabledSourceAndFilters) {
  rule_.repositories = {"lib/**"};
  rule_.exclude_tags = {"*-rc*"};
  core::Rule manual = rule_;
  manual.name = "manual";
  manual.events = false;
  core::Rule disabled = rule_;
  disabled.name = "off";
  disabled.enabled = false;
  core::Rule semver = rule_;
  semver.name = "stable";
  semver.semver = ">=2";
  core::Rule latest = rule_;
  latest.name = "latest";
  latest.keep_latest = 3;
  config_.rules = {rule_, manual, disabled, semver, latest};
  auto names = [&](const RegistryEvent& e, const std::string& endpoint = "src") {
    std::vector<std::string> out;
    for (const auto* r : MatchRules(config_, endpoint, e)) out.push_back(r->name);
    return out;
  };
  EXPECT_EQ(names(Push("lib/app", "v1.0", kA)), std::vector<std::string>{"mirror"});
  EXPECT_EQ(names(Push("lib/app", "v2.1", kA)),
            (std::vector<std::string>{"mirror", "stable"}));
  EXPECT_TRUE(names(Push("lib/app", "v2.1-rc1", kA)).empty());
  EXPECT_TRUE(names(Push("other/app", "v2.1", kA)).empty());
  EXPECT_TRUE(names(Push("lib/app", "v2.1", kA), "dst").empty());
  // A delete naming only the digest passes the tag filters.
  RegistryEvent del{"delete", "", kA, "lib/app", "", "", ""};
  EXPECT_EQ(names(del), (std::vector<std::string>{"mirror", "stable"}));
}

TEST_F(EventsTest, PushCopiesByTheEventDigestWithoutResolvingTheTag) {
  rule_.dest_namespace = "mirror";
  rule_.flatten = 1;
  auto changes = Changes({Push("lib/app", "v1", kA)});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].action, Action::kCreate);
  EXPECT_EQ(changes[0].source_digest, kA);
  EXPECT_EQ(changes[0].destination_repository, "mirror/app");
  EXPECT_EQ(changes[0].destination_host, "127.0.0.1:5002");
  EXPECT_EQ(src_.calls(), std::vector<std::string>{});
  EXPECT_EQ(dst_.calls(), std::vector<std::string>{"HeadManifest mirror/app:v1"});
  EXPECT_TRUE(errors_.empty());
}

TEST_F(EventsTest, BurstsAreCoalescedPerDestinationTagAndTheLastPushWins) {
  auto changes = Changes({Push("a", "v1", kA), Push("a", "v2", kB),
                          Push("a", "v1", kC)});
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].tag, "v1");
  EXPECT_EQ(changes[0].source_digest, kC);
  EXPECT_EQ(changes[1].tag, "v2");
}

TEST_F(EventsTest, PushOfAnExistingTagHonoursOverrideAndSkipsTheSameDigest) {
  std::string held = dst_.AddImage("a", "v1", "one");
  EXPECT_TRUE(Changes({Push("a", "v1", held)}).empty());
  auto update = Changes({Push("a", "v1", kOther)});
  ASSERT_EQ(update.size(), 1u);
  EXPECT_EQ(update[0].action, Action::kUpdate);
  rule_.override_tags = false;
  auto skip = Changes({Push("a", "v1", kOther)});
  ASSERT_EQ(skip.size(), 1u);
  EXPECT_EQ(skip[0].action, Action::kSkip);
}

TEST_F(EventsTest, DeleteRemovesManagedArtifactsOnlyUnderDeleteTrue) {
  std::string d = dst_.AddImage("a", "v1", "one");
  dst_.AddImage("a", "v2", "one");  // same digest, another tag
  state_.artifacts = {Managed("a", "v1", d), Managed("a", "v2", d), Managed("a", "v3", kX)};
  RegistryEvent by_digest{"delete", "", d, "a", "", "", ""};
  EXPECT_TRUE(Changes({by_digest}).empty());
  rule_.delete_missing = true;
  auto changes = Changes({by_digest});
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].action, Action::kDelete);
  EXPECT_EQ(changes[0].tag, "v1");
  EXPECT_EQ(changes[0].reason, "deleted at the source");
  EXPECT_EQ(changes[1].tag, "v2");
  // The tag-only event distribution also sends.
  RegistryEvent by_tag{"delete", "", "", "a", "v3", "", ""};
  auto tagged = Changes({by_tag});
  ASSERT_EQ(tagged.size(), 1u);
  EXPECT_EQ(tagged[0].tag, "v3");
  EXPECT_EQ(tagged[0].reason, "already absent at the destination");
}

TEST_F(EventsTest, DeleteLeavesADestinationTagChangedOutsideCrossdock) {
  rule_.delete_missing = true;
  dst_.AddImage("a", "v1", "changed");
  state_.artifacts = {Managed("a", "v1", kRecorded)};
  auto changes = Changes({RegistryEvent{"delete", "", kRecorded, "a", "", "", ""}});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].action, Action::kSkip);
}

TEST_F(EventsTest, UnmanagedDeletesAndUnselectedRepositoriesChangeNothing) {
  rule_.delete_missing = true;
  rule_.repositories = {"lib/*"};
  EXPECT_TRUE(Changes({RegistryEvent{"delete", "", kA, "lib/a", "", "", ""},
                       Push("other", "v1", kA)})
                  .empty());
  EXPECT_TRUE(dst_.calls().empty());
}

TEST_F(EventsTest, AnEventWithAnInvalidNameNeverReachesARegistry) {
  rule_.delete_missing = true;
  state_.artifacts = {Managed("lib/../other/victim", "prod", kA)};  // a state edited by hand
  auto changes = Changes({Push("lib/../other/victim", "prod", kA),
                          Push("lib/app", "../../../other/victim/manifests/pwned", kA),
                          RegistryEvent{"delete", "", kA, "lib/../other/victim", "", "", ""}});
  EXPECT_TRUE(changes.empty());
  EXPECT_TRUE(dst_.calls().empty());
  // The push and the delete of "lib/../other/victim" share one error (the plan says
  // each problem once per repository).
  ASSERT_EQ(errors_.size(), 2u);
  EXPECT_THAT(errors_[0].message,
              ::testing::StartsWith("event: repository \"lib/../other/victim\" is not a"));
  EXPECT_THAT(errors_[1].message,
              ::testing::StartsWith("event: tag \"../../../other/victim/manifests/pwned\" is not"));
}

TEST(JournalTest, LinesWithInvalidNamesAreRefused) {
  JournaledEvent e{"src", {"push", kOciManifest, kA, "lib/../other/secret", "v1", "", ""}};
  std::string line = JournalLine(e);
  EXPECT_EQ(ParseJournalLine(line.substr(0, line.size() - 1)).status().message(),
            "journal line of endpoint \"src\": repository \"lib/../other/secret\" is not a valid "
            "repository name: lowercase letters and digits, separated by '.', '_', \"__\" or '-', "
            "in components joined by '/', at most 255 characters; the line is skipped");
  e.event.repository = "lib/app";
  e.event.digest = "sha256:zz";
  line = JournalLine(e);
  EXPECT_EQ(ParseJournalLine(line).status().code(), core::Code::kDataLoss);
}

TEST(JournalTest, LinesRoundTripAndTornLinesAreRefused) {
  JournaledEvent e{"src", {"push", kOciManifest, kA, "lib/app", "v1", "", ""}};
  std::string line = JournalLine(e);
  ASSERT_EQ(line.back(), '\n');
  auto back = ParseJournalLine(line.substr(0, line.size() - 1));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, e);
  EXPECT_EQ(ParseJournalLine("{\"endpoint\":\"src\",\"act").status().message(),
            "unreadable journal line: {\"endpoint\":\"src\",\"act");
}

TEST(WebhookConfigTest, TokenIsASecretRefAndUnknownKeysAreErrors) {
  core::Diagnostics diags;
  core::Config c = core::ParseConfig(
      "[settings.webhook]\ntoken = \"env:HOOK_TOKEN\"\n", "/tmp/x/crossdock.toml", &diags);
  EXPECT_FALSE(diags.has_errors());
  EXPECT_EQ(c.settings.webhook_token.spec, "env:HOOK_TOKEN");

  core::Diagnostics bad;
  (void)core::ParseConfig("[settings.webhook]\ntokn = \"env:X\"\n", "/tmp/x/crossdock.toml", &bad);
  ASSERT_TRUE(bad.has_errors());
  std::string all;
  for (const auto& d : bad.items()) all += d.message + "\n";
  EXPECT_NE(all.find("unknown key \"tokn\" in [settings.webhook]"), std::string::npos) << all;
}

}  // namespace
}  // namespace crossdock::planner
