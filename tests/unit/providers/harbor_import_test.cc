// `crossdock import harbor` (providers/harbor/replication_import.h): Harbor's registries
// and replication policies mapped to a config, which is then read back with the real
// config loader. The policies come from Harbor's own tests and documentation
// (goharbor/harbor at c50c7ddd6e): tests/apitests/python/test_system_permission.py,
// test_replication_from_dockerhub.py, tests/robot-cases/Group3-Upgrade/data.json, the
// portal's create-edit-rule spec, and api/v2.0/swagger.yaml (ReplicationPolicy,
// Registry); the answers are shaped as handler/replication.go convertReplicationPolicy
// and handler/registry.go convertRegistry write them (secrets masked as "*****", the
// local Harbor as registry id 0 "Local").
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/config.h"
#include "core/naming.h"
#include "providers/harbor/replication_import.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

using nlohmann::json;

// GET /api/v2.0/registries as Harbor answers it.
const char* kRegistries = R"([
  {"creation_time":"2024-02-16T21:45:08.342Z","credential":{"access_key":"zzzzzz","access_secret":"*****","type":"basic"},
   "description":"","id":1,"insecure":false,"name":"DockerHub","status":"healthy","type":"docker-hub",
   "update_time":"2024-02-16T21:45:08.342Z","url":"https://hub.docker.com"},
  {"credential":{"access_key":"admin","access_secret":"*****","type":"basic"},"description":"test","id":4,
   "insecure":true,"name":"target_04","status":"healthy","type":"harbor","url":"https://4.4.4.4"},
  {"credential":{"access_key":"","access_secret":"","type":"basic"},"id":7,"insecure":false,
   "name":"dr.registry","status":"healthy","type":"docker-registry","url":"http://127.0.0.1:5000/"}
])";

// The local Harbor as the API shows it in a policy (manager.go getLocalRegistry).
const char* kLocal = R"({"creation_time":"0001-01-01T00:00:00.000Z","credential":{"access_secret":"*****","type":"secret"},
  "id":0,"insecure":true,"name":"Local","status":"healthy","type":"harbor","update_time":"0001-01-01T00:00:00.000Z",
  "url":"http://harbor-core:80"})";

HarborImportOptions Options() {
  HarborImportOptions o;
  o.harbor_url = "https://harbor.example.com";
  o.username = "admin";
  o.origin = "Harbor at https://harbor.example.com";
  o.time = "2026-03-01T10:00:00Z";
  return o;
}

class HarborImportTest : public ::testing::Test {
 protected:
  // Imports POLICIES (a JSON list) against kRegistries; fails the test on an error.
  ImportedConfig Import(const std::string& policies, HarborImportOptions options = Options()) {
    HarborReplicationSetup setup;
    setup.registries = json::parse(kRegistries);
    setup.policies = json::parse(policies);
    auto imported = ImportHarborReplication(setup, options);
    EXPECT_TRUE(imported.ok()) << imported.status().message();
    return imported.ok() ? *imported : ImportedConfig{};
  }
  core::Status ImportError(const std::string& policies) {
    HarborReplicationSetup setup;
    setup.registries = json::parse(kRegistries);
    setup.policies = json::parse(policies);
    return ImportHarborReplication(setup, Options()).status();
  }
  // TOML read back by the config loader, which must find no error.
  core::Config Load(const std::string& toml) {
    core::Diagnostics diags;
    core::Config config = core::ParseConfig(toml, "imported.toml", &diags);
    for (const auto& d : diags.items())
      EXPECT_NE(d.severity, core::Severity::kError) << core::FormatDiagnostic(d) << "\n" << toml;
    return config;
  }
  // A copy: CONFIG is often a temporary.
  core::Rule OnlyRule(const core::Config& config) {
    EXPECT_EQ(config.rules.size(), 1u);
    return config.rules.empty() ? core::Rule{} : config.rules[0];
  }
  static bool Has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
};

// tests/apitests/python/test_system_permission.py's payload, as the API lists it.
TEST_F(HarborImportTest, PushPolicyBecomesAPushRuleFromHarborItself) {
  const std::string policy = std::string(R"([{"id":3,"name":"replication_policy_4711","src_registry":)") +
                             kLocal + R"(,"dest_registry":{"id":4,"name":"target_04"},
    "dest_namespace":"library","dest_namespace_replace_count":1,
    "trigger":{"type":"manual","trigger_settings":{"cron":""}},
    "filters":[{"type":"name","value":"library/**"}],
    "enabled":true,"deletion":false,"replicate_deletion":false,"override":true,"speed":-1,"copy_by_chunk":false,
    "single_active_replication":false}])";
  ImportedConfig imported = Import(policy);
  core::Config config = Load(imported.toml);
  EXPECT_EQ(config.settings.home, "harbor");
  const core::Endpoint* harbor = config.FindEndpoint("harbor");
  ASSERT_NE(harbor, nullptr);
  EXPECT_EQ(harbor->type, "harbor");
  EXPECT_EQ(harbor->url, "https://harbor.example.com");
  EXPECT_EQ(harbor->username, "admin");
  EXPECT_EQ(harbor->password.spec, "env:CROSSDOCK_HARBOR_PASSWORD");
  const core::Rule rule = OnlyRule(config);
  EXPECT_EQ(rule.name, "replication_policy_4711");
  EXPECT_EQ(rule.mode, "push");
  EXPECT_EQ(rule.remote, "target_04");
  EXPECT_EQ(rule.source, "harbor");
  EXPECT_EQ(rule.destinations, std::vector<std::string>{"target_04"});
  EXPECT_EQ(rule.repositories, std::vector<std::string>{"library/**"});
  EXPECT_TRUE(rule.tags.empty());
  EXPECT_EQ(rule.dest_namespace, "library");
  EXPECT_EQ(rule.flatten, 1);
  EXPECT_TRUE(rule.override_tags);
  EXPECT_FALSE(rule.delete_missing);
  EXPECT_TRUE(rule.enabled);
  EXPECT_TRUE(rule.schedule.empty());
  EXPECT_FALSE(rule.events);
  EXPECT_TRUE(imported.warnings.size() == 1) << "only the insecure registry";
  EXPECT_EQ(imported.rules, 1);
  EXPECT_EQ(imported.endpoints, 4);
}

// What Harbor's UI sends (create-edit-rule.component.ts): src_registry null for push.
TEST_F(HarborImportTest, NullSourceRegistryIsHarborItselfToo) {
  core::Config config = Load(Import(R"([{"id":1,"name":"p","src_registry":null,
      "dest_registry":{"id":7},"trigger":{"type":"manual"},"enabled":true,"override":true}])").toml);
  EXPECT_EQ(OnlyRule(config).mode, "push");
  EXPECT_EQ(OnlyRule(config).remote, "dr.registry");
}

// tests/apitests/python/test_replication_from_dockerhub.py: a pull rule; the answer in
// Harbor's documentation (its "lolz" example) with the local Harbor as destination.
TEST_F(HarborImportTest, PullPolicyBecomesAPullRuleIntoHarbor) {
  const std::string policy = std::string(R"([{"copy_by_chunk":false,"creation_time":"2024-02-16T21:48:52.251Z",
    "dest_namespace_replace_count":1,"dest_registry":)") + kLocal + R"(,"enabled":true,
    "filters":[{"type":"name","value":"lolz/app"},{"decoration":"matches","type":"tag","value":"v8.11**"}],
    "id":1,"name":"lolz","override":true,"speed":0,
    "src_registry":{"creation_time":"2024-02-16T21:45:08.342Z","credential":{"access_key":"zzzzzz",
      "access_secret":"*****","type":"basic"},"id":1,"name":"DockerHub","status":"healthy","type":"docker-hub",
      "update_time":"2024-02-16T21:45:08.342Z","url":"https://hub.docker.com"},
    "trigger":{"trigger_settings":{},"type":"manual"},"update_time":"2024-02-16T22:06:02.322Z"}])";
  ImportedConfig imported = Import(policy);
  core::Config config = Load(imported.toml);
  const core::Rule rule = OnlyRule(config);
  EXPECT_EQ(rule.mode, "pull");
  EXPECT_EQ(rule.remote, "DockerHub");
  EXPECT_EQ(rule.source, "DockerHub");
  EXPECT_EQ(rule.destinations, std::vector<std::string>{"harbor"});
  EXPECT_EQ(rule.repositories, std::vector<std::string>{"lolz/app"});
  EXPECT_EQ(rule.tags, std::vector<std::string>{"v8.11**"});
  EXPECT_TRUE(rule.dest_namespace.empty()) << "no namespace: the count is ignored, as in Harbor";
  const core::Endpoint* hub = config.FindEndpoint("DockerHub");
  ASSERT_NE(hub, nullptr);
  EXPECT_EQ(hub->type, "docker-hub");
  EXPECT_EQ(hub->url, "https://registry-1.docker.io") << "the registry Harbor's adapter uses";
  EXPECT_EQ(hub->username, "zzzzzz");
  EXPECT_EQ(hub->password.spec, "env:CROSSDOCK_DOCKERHUB_PASSWORD");
}

TEST_F(HarborImportTest, SecretsAreNeverWrittenEvenWhenHarborShowsThem) {
  HarborReplicationSetup setup;
  setup.registries = json::parse(R"([{"id":2,"name":"dr","type":"harbor","url":"https://dr.example",
      "credential":{"type":"basic","access_key":"robot$dr","access_secret":"s3cr3t-from-harbor"}}])");
  setup.policies = json::parse(R"([{"id":1,"name":"p","dest_registry":{"id":2},"enabled":true}])");
  auto imported = ImportHarborReplication(setup, Options());
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  EXPECT_FALSE(Has(imported->toml, "s3cr3t")) << imported->toml;
  core::Config config = Load(imported->toml);
  EXPECT_EQ(config.FindEndpoint("dr")->username, "robot$dr");
  EXPECT_EQ(config.FindEndpoint("dr")->password.spec, "env:CROSSDOCK_DR_PASSWORD");
  EXPECT_EQ(imported->password_variables,
            (std::vector<std::string>{"CROSSDOCK_HARBOR_PASSWORD", "CROSSDOCK_DR_PASSWORD"}));
}

TEST_F(HarborImportTest, RegistriesKeepTheirTypeUrlAndTls) {
  ImportedConfig imported = Import("[]");
  core::Config config = Load(imported.toml);
  const core::Endpoint* target = config.FindEndpoint("target_04");
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target->type, "harbor");
  EXPECT_EQ(target->url, "https://4.4.4.4");
  EXPECT_EQ(target->description, "test");
  EXPECT_TRUE(target->insecure);
  const core::Endpoint* dr = config.FindEndpoint("dr.registry");
  ASSERT_NE(dr, nullptr) << imported.toml;
  EXPECT_TRUE(Has(imported.toml, "[endpoints.\"dr.registry\"]")) << "a dotted name is quoted";
  EXPECT_EQ(dr->type, "docker-registry");
  EXPECT_EQ(dr->url, "http://127.0.0.1:5000");
  EXPECT_TRUE(dr->username.empty());
  EXPECT_TRUE(dr->password.empty()) << "anonymous in Harbor";
  EXPECT_FALSE(dr->insecure);
  ASSERT_EQ(imported.warnings.size(), 1u);
  EXPECT_EQ(imported.warnings[0],
            "endpoint \"target_04\" (Harbor registry 4): TLS verification is off, as it is in "
            "Harbor for this registry");
}

TEST_F(HarborImportTest, ATypeCrossdockLacksIsADockerRegistryWithAWarning) {
  HarborReplicationSetup setup;
  setup.registries = json::parse(R"([{"id":9,"name":"tcr","type":"tencent-tcr","url":"https://tcr.example",
      "credential":{"type":"basic","access_key":"AKID","access_secret":"*****"}}])");
  auto imported = ImportHarborReplication(setup, Options());
  ASSERT_TRUE(imported.ok());
  core::Config config = Load(imported->toml);
  EXPECT_EQ(config.FindEndpoint("tcr")->type, "docker-registry");
  ASSERT_EQ(imported->warnings.size(), 1u);
  EXPECT_TRUE(Has(imported->warnings[0], "Harbor's type \"tencent-tcr\" is not one crossdock knows"))
      << imported->warnings[0];
}

TEST_F(HarborImportTest, ACaCertificateIsWrittenBesideTheConfig) {
  HarborReplicationSetup setup;
  setup.registries = json::parse(R"([{"id":2,"name":"dr","type":"harbor","url":"https://dr.example",
      "ca_certificate":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"}])");
  auto imported = ImportHarborReplication(setup, Options());
  ASSERT_TRUE(imported.ok());
  ASSERT_EQ(imported->files.count("dr-ca.pem"), 1u);
  EXPECT_EQ(imported->files.at("dr-ca.pem"),
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  EXPECT_TRUE(Has(imported->toml, "ca_cert = \"dr-ca.pem\"")) << imported->toml;
  // Printed on stdout, there is nowhere to put it: a note says so.
  HarborImportOptions to_stdout = Options();
  to_stdout.can_write_files = false;
  auto printed = ImportHarborReplication(setup, to_stdout);
  ASSERT_TRUE(printed.ok());
  EXPECT_TRUE(printed->files.empty());
  EXPECT_FALSE(Has(printed->toml, "ca_cert ="));
  Load(printed->toml);
  EXPECT_EQ(printed->warnings.size(), 1u);
}

// Every filter type and decoration (swagger.yaml ReplicationFilter, model/policy.go).
TEST_F(HarborImportTest, FiltersMapToCrossdocksKeys) {
  core::Config config = Load(Import(R"([{"id":5,"name":"filters","dest_registry":{"id":4},"enabled":true,
      "filters":[{"type":"name","value":"library/{nginx,redis}"},
                 {"type":"tag","value":"v*","decoration":"matches"},
                 {"type":"tag","value":"*-rc*","decoration":"excludes"},
                 {"type":"tag","value":"*-beta","decoration":"excludes"},
                 {"type":"label","value":["release","team=platform"],"decoration":"matches"},
                 {"type":"label","value":["qa"]},
                 {"type":"label","value":["experimental"],"decoration":"excludes"}]}])").toml);
  const core::Rule rule = OnlyRule(config);
  EXPECT_EQ(rule.repositories, std::vector<std::string>{"library/{nginx,redis}"});
  EXPECT_EQ(rule.tags, std::vector<std::string>{"v*"});
  EXPECT_EQ(rule.exclude_tags, (std::vector<std::string>{"*-rc*", "*-beta"}));
  EXPECT_EQ(rule.labels, (std::vector<std::string>{"release", "team=platform", "qa"}));
  EXPECT_EQ(rule.exclude_labels, std::vector<std::string>{"experimental"});
  EXPECT_TRUE(rule.enabled);
}

TEST_F(HarborImportTest, EmptyFilterValuesSelectEverythingAsInHarbor) {
  core::Config config = Load(Import(R"([{"id":5,"name":"all","dest_registry":{"id":4},"enabled":true,
      "filters":[{"type":"name","value":""},{"type":"tag","value":"","decoration":"excludes"},
                 {"type":"label","value":[]}]}])").toml);
  const core::Rule rule = OnlyRule(config);
  EXPECT_TRUE(rule.repositories.empty());
  EXPECT_TRUE(rule.exclude_tags.empty());
  EXPECT_TRUE(rule.labels.empty());
}

// Harbor ANDs its filters; a crossdock list is any of its entries.
TEST_F(HarborImportTest, FiltersWithoutAnEquivalentDisableTheRule) {
  for (const char* filters :
       {R"([{"type":"name","value":"a/**"},{"type":"name","value":"b/**"}])",
        R"([{"type":"tag","value":"v*"},{"type":"tag","value":"*.*","decoration":"matches"}])",
        R"([{"type":"label","value":["a"],"decoration":"excludes"},{"type":"label","value":["b"],"decoration":"excludes"}])",
        R"([{"type":"label","value":["has space"]}])"}) {
    ImportedConfig imported = Import(std::string(R"([{"id":6,"name":"and","dest_registry":{"id":4},"enabled":true,"filters":)") +
                                     filters + "}]");
    const core::Rule rule = OnlyRule(Load(imported.toml));
    EXPECT_FALSE(rule.enabled) << filters;
    EXPECT_TRUE(Has(imported.toml, "enabled = false  # enabled in Harbor: see the notes above")) << imported.toml;
    EXPECT_EQ(imported.warnings.size(), 2u) << filters;  // and the insecure registry
  }
}

TEST_F(HarborImportTest, TheResourceFilterIsANoteBecauseHarborDoesNotApplyIt) {
  ImportedConfig imported = Import(R"([{"id":5,"name":"images","dest_registry":{"id":4},"enabled":true,
      "filters":[{"type":"resource","value":"image"}]}])");
  EXPECT_TRUE(OnlyRule(Load(imported.toml)).resource.empty());
  EXPECT_TRUE(Has(imported.toml, "# Harbor's resource filter \"image\" is not applied by Harbor 2.8"))
      << imported.toml;
  EXPECT_TRUE(Has(imported.toml, "\n# resource = \"image\"  # to copy images only\n"));
  EXPECT_EQ(imported.warnings.size(), 1u) << "only the insecure registry: nothing changes";
}

// flow/stage.go replaceNamespace for "a/b/c/d" into "ns" (harbor-replication.md).
TEST_F(HarborImportTest, ReplaceCountsAreFlattenCountForCount) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-1", "ns/d"}, {"0", "ns/a/b/c/d"}, {"1", "ns/b/c/d"}, {"2", "ns/c/d"}, {"3", "ns/d"},
      {"null", "ns/d"}};  // the API's default: -1
  for (const auto& [count, expected] : cases) {
    const core::Rule rule = OnlyRule(Load(Import(
        R"([{"id":1,"name":"f","dest_registry":{"id":4},"enabled":true,"dest_namespace":"ns",
            "dest_namespace_replace_count":)" + count + "}]").toml));
    auto dest = core::DestinationRepository("a/b/c/d", rule.dest_namespace, rule.flatten);
    ASSERT_TRUE(dest.ok()) << count;
    EXPECT_EQ(*dest, expected) << count;
  }
  // A missing count is the API's -1 too.
  EXPECT_EQ(OnlyRule(Load(Import(R"([{"id":1,"name":"f","dest_registry":{"id":4},"enabled":true,
      "dest_namespace":"x/y"}])").toml)).flatten, -1);
  // Beyond 3: no equivalent.
  ImportedConfig deep = Import(R"([{"id":1,"name":"f","dest_registry":{"id":4},"enabled":true,
      "dest_namespace":"ns","dest_namespace_replace_count":4}])");
  EXPECT_FALSE(OnlyRule(Load(deep.toml)).enabled);
  EXPECT_TRUE(Has(deep.toml, "# Harbor's dest_namespace_replace_count 4 has no equivalent")) << deep.toml;
}

// tests/robot-cases/Group3-Upgrade/data.json ("trigger_type":"scheduled", "cron":"0 0 */8 * * *").
TEST_F(HarborImportTest, TriggersMapToScheduleAndEvents) {
  const core::Rule scheduled = OnlyRule(Load(Import(R"([{"id":2,"name":"rulelibrary","src_registry":{"id":4},
      "dest_namespace":"rule2-namespace","deletion":false,"enabled":true,"override":true,"description":"string",
      "trigger":{"type":"scheduled","trigger_settings":{"cron":"0 0 */8 * * *"}},
      "filters":[{"type":"name","value":"namefilter2"},{"type":"tag","value":"tagfilter2"}]}])").toml));
  EXPECT_EQ(scheduled.schedule, "0 0 */8 * * *");
  EXPECT_FALSE(scheduled.events);
  EXPECT_EQ(scheduled.description, "string");
  EXPECT_EQ(scheduled.mode, "pull");
  const core::Rule events = OnlyRule(Load(Import(R"([{"id":2,"name":"e","dest_registry":{"id":4},"enabled":true,
      "trigger":{"type":"event_based","trigger_settings":null}}])").toml));
  EXPECT_TRUE(events.events);
  EXPECT_TRUE(events.schedule.empty());
  const core::Rule none = OnlyRule(Load(Import(R"([{"id":2,"name":"m","dest_registry":{"id":4},"enabled":true,
      "trigger":null}])").toml));
  EXPECT_TRUE(none.schedule.empty());
  EXPECT_FALSE(none.events);
}

TEST_F(HarborImportTest, DeletionOverrideAndEnabledAsHarborHasThem) {
  const core::Rule rule = OnlyRule(Load(Import(R"([{"id":2,"name":"d","dest_registry":{"id":4},
      "enabled":false,"override":false,"deletion":true,"replicate_deletion":true}])").toml));
  EXPECT_TRUE(rule.delete_missing);
  EXPECT_FALSE(rule.override_tags);
  EXPECT_FALSE(rule.enabled);
  // The older field alone (Harbor before replicate_deletion).
  EXPECT_TRUE(OnlyRule(Load(Import(R"([{"id":2,"name":"d","dest_registry":{"id":4},"enabled":true,
      "deletion":true}])").toml)).delete_missing);
}

TEST_F(HarborImportTest, SpeedAndCopyByChunkAreNotesAndWarnings) {
  ImportedConfig imported = Import(R"([{"id":8,"name":"slow","dest_registry":{"id":7},"enabled":true,
      "speed":1024,"copy_by_chunk":true}])");
  EXPECT_TRUE(OnlyRule(Load(imported.toml)).enabled) << "what is copied is the same";
  EXPECT_TRUE(Has(imported.toml, "# Harbor limits this policy's bandwidth (speed = 1024 per task)"))
      << imported.toml;
  EXPECT_TRUE(Has(imported.toml, "# Harbor copies this policy's blobs in chunks (copy_by_chunk)"));
  ASSERT_EQ(imported.warnings.size(), 3u);
  EXPECT_TRUE(imported.warnings[1].starts_with(
      "rule \"slow\" (Harbor replication policy 8): Harbor limits this policy's bandwidth"))
      << imported.warnings[1];
}

TEST_F(HarborImportTest, NamesAreMadeValidAndQuoted) {
  ImportedConfig imported = Import(R"([{"id":1,"name":"push \"all\" to dr","dest_registry":{"id":7},
      "enabled":true,"description":"line one\nline \\ two"},
      {"id":2,"name":"push \"all\" to dr ","dest_registry":{"id":7},"enabled":true}])");
  core::Config config = Load(imported.toml);
  ASSERT_EQ(config.rules.size(), 2u);
  EXPECT_EQ(config.rules[0].name, "push-\"all\"-to-dr");
  EXPECT_EQ(config.rules[1].name, "push-\"all\"-to-dr-2");
  EXPECT_EQ(config.rules[0].description, "line one\nline \\ two");
}

TEST_F(HarborImportTest, EndpointNamesAndTheirVariablesNeverCollide) {
  HarborReplicationSetup setup;
  setup.registries = json::parse(R"([
      {"id":2,"name":"harbor","type":"harbor","url":"https://a.example","credential":{"access_key":"u","access_secret":"*****"}},
      {"id":3,"name":"a-b","type":"harbor","url":"https://b.example","credential":{"access_key":"u","access_secret":"*****"}},
      {"id":4,"name":"a.b","type":"harbor","url":"https://c.example","credential":{"access_key":"u","access_secret":"*****"}},
      {"id":5,"name":"Ärger & Co","type":"harbor","url":"https://d.example"}])");
  auto imported = ImportHarborReplication(setup, Options());
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  core::Config config = Load(imported->toml);
  EXPECT_EQ(config.FindEndpoint("harbor")->url, "https://harbor.example.com") << "Harbor itself";
  EXPECT_EQ(config.FindEndpoint("harbor-2")->url, "https://a.example");
  EXPECT_EQ(config.FindEndpoint("a-b")->password.spec, "env:CROSSDOCK_A_B_PASSWORD");
  EXPECT_EQ(config.FindEndpoint("a.b")->password.spec, "env:CROSSDOCK_A_B_2_PASSWORD");
  EXPECT_EQ(config.FindEndpoint("rger-Co")->url, "https://d.example") << imported->toml;
}

// Harbor itself would fail these runs (Docker Hub takes exactly two components).
TEST_F(HarborImportTest, ARuleTheLoaderRefusesIsCommentedOutWithItsReason) {
  ImportedConfig imported = Import(R"([{"id":1,"name":"deep","dest_registry":{"id":1},"enabled":true,
      "filters":[{"type":"name","value":"a/b/c"}],"dest_namespace":"x","dest_namespace_replace_count":0},
      {"id":2,"name":"fine","dest_registry":{"id":1},"enabled":true,"filters":[{"type":"name","value":"a/b"}],
       "dest_namespace":"x","dest_namespace_replace_count":1}])");
  core::Config config = Load(imported.toml);
  ASSERT_EQ(config.rules.size(), 1u) << imported.toml;
  EXPECT_EQ(config.rules[0].name, "fine");
  EXPECT_TRUE(Has(imported.toml, "# [rules.deep]\n")) << imported.toml;
  EXPECT_TRUE(Has(imported.toml, "# mode = \"push\"")) << imported.toml;
  EXPECT_TRUE(Has(imported.toml, "not imported, because crossdock validate refuses it: rule \"deep\""))
      << imported.toml;
  EXPECT_EQ(imported.rules, 1);
}

TEST_F(HarborImportTest, ThePolicyFileStartsWithWhereItCameFrom) {
  ImportedConfig imported = Import("[]");
  EXPECT_TRUE(imported.toml.starts_with(
      "# Imported from Harbor at https://harbor.example.com by `crossdock import harbor` on\n"
      "#   2026-03-01T10:00:00Z: 3 registries and 0 replication policies.\n"))
      << imported.toml;
}

TEST_F(HarborImportTest, OfflineWithoutUrlUsesHarborsInternalAddressWithANote) {
  HarborImportOptions options = Options();
  options.harbor_url.clear();
  options.username.clear();
  ImportedConfig imported = Import(std::string(R"([{"id":1,"name":"p","src_registry":)") + kLocal +
                                       R"(,"dest_registry":{"id":7},"enabled":true}])",
                                   options);
  core::Config config = Load(imported.toml);
  EXPECT_EQ(config.FindEndpoint("harbor")->url, "http://harbor-core:80");
  EXPECT_TRUE(config.FindEndpoint("harbor")->username.empty());
  EXPECT_TRUE(Has(imported.toml, "# the policies give only Harbor's internal address")) << imported.toml;
  EXPECT_EQ(imported.warnings.size(), 3u) << "the address, the credentials, the insecure registry";
}

TEST_F(HarborImportTest, InputHarborWouldNotHoldIsAnError) {
  core::Status unknown = ImportError(R"([{"id":3,"name":"p","dest_registry":{"id":99,"name":"gone"},"enabled":true}])");
  EXPECT_EQ(unknown.code(), core::Code::kInvalidArgument);
  EXPECT_EQ(unknown.message(),
            "replication policy \"p\" (id 3) names registry id 99 (\"gone\") as its destination, "
            "which is not among Harbor's 3 registries: export both lists from the same Harbor");
  EXPECT_EQ(ImportError(R"([{"id":3,"name":"p","enabled":true}])").message(),
            "replication policy \"p\" (id 3) names no registry besides Harbor itself: Harbor "
            "replicates between itself and one registry (src_registry or dest_registry is Harbor)");
  EXPECT_EQ(ImportError(R"([{"id":3,"name":"p","src_registry":{"id":1},"dest_registry":{"id":4}}])").code(),
            core::Code::kInvalidArgument);
  EXPECT_EQ(ImportError(R"([{"id":3,"name":"p","dest_registry":{"id":4},"filters":[{"type":"name","value":7}]}])")
                .message(),
            "filter 1 (name) of replication policy \"p\" (id 3): its value must be a string");
}

TEST(HarborListFileTest, MalformedJsonNamesFileLineAndColumn) {
  auto bad = ParseHarborList("[\n  {\"id\": 1,\n   \"name\": }\n]\n", "policies.json",
                             "/api/v2.0/replication/policies");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), core::Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "policies.json:3:12: not JSON (expected the body of GET /api/v2.0/replication/policies)");
  // A registry export holds passwords: nothing read is quoted (nlohmann's message says
  // "last read: '…'", here the secret up to the line break it may not hold).
  auto secret = ParseHarborList(
      "[{\"id\": 1,\n  \"credential\": {\"access_secret\": \"s3cret-Harbor12345\n\"}}]",
      "registries.json", "/api/v2.0/registries");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().message(),
            "registries.json:2:54: not JSON (expected the body of GET /api/v2.0/registries)");
  EXPECT_EQ(secret.status().message().find("s3cret"), std::string::npos);
  auto object = ParseHarborList("{\"errors\":[]}", "registries.json", "/api/v2.0/registries");
  EXPECT_EQ(object.status().message(),
            "registries.json: not a JSON list (expected the body of GET /api/v2.0/registries)");
  EXPECT_TRUE(ParseHarborList("[{\"id\":1}]", "r.json", "/api/v2.0/registries").ok());
}

// Harbor's API: pages with Link, Basic credentials, refusals.
class HarborFetchTest : public ::testing::Test {
 protected:
  static HttpResponse Json(long status, const std::string& body, const std::string& link = "") {
    HttpResponse r;
    r.status = status;
    r.body = body;
    if (!link.empty()) r.headers.emplace("link", link);
    return r;
  }
};

TEST_F(HarborFetchTest, ReadsEveryPageOfBothListsWithBasicCredentials) {
  FakeHttp http(nullptr, [](const HttpRequest& req) {
    if (req.url == "https://h.example/api/v2.0/registries?page=1&page_size=100")
      return Json(200, R"([{"id":1}])",
                  R"(</api/v2.0/registries?page=2&page_size=100>; rel="next")");
    if (req.url == "https://h.example/api/v2.0/registries?page=2&page_size=100")
      return Json(200, R"([{"id":2}])",
                  R"(</api/v2.0/registries?page=1&page_size=100>; rel="prev")");
    if (req.url == "https://h.example/api/v2.0/replication/policies?page=1&page_size=100")
      return Json(200, R"([{"id":5}])");
    return Json(404, "");
  });
  auto setup = FetchHarborReplicationSetup(&http, "https://h.example/", "admin", "Harbor12345");
  ASSERT_TRUE(setup.ok()) << setup.status().message();
  EXPECT_EQ(setup->registries, json::parse(R"([{"id":1},{"id":2}])"));
  EXPECT_EQ(setup->policies, json::parse(R"([{"id":5}])"));
  const auto sent = http.sent();
  ASSERT_EQ(sent.size(), 3u);
  for (const auto& s : sent) {
    EXPECT_EQ(s.method, "GET");
    EXPECT_NE(std::find(s.headers.begin(), s.headers.end(),
                        std::make_pair(std::string("Authorization"),
                                       std::string("Basic YWRtaW46SGFyYm9yMTIzNDU="))),
              s.headers.end());
  }
}

TEST_F(HarborFetchTest, RefusalsSayWhatToDoWithoutThePassword) {
  const std::vector<std::tuple<long, std::string, core::Code, std::string>> cases = {
      {401, R"({"errors":[{"code":"UNAUTHORIZED","message":"unauthorized"}]})",
       core::Code::kUnauthenticated,
       "Harbor at https://h.example refused the credentials of user \"admin\" (GET "
       "/api/v2.0/registries: HTTP 401 UNAUTHORIZED: unauthorized): check --username and "
       "--password"},
      {403, R"({"errors":[{"code":"FORBIDDEN","message":"admin"}]})", core::Code::kPermissionDenied,
       "user \"admin\" may not read Harbor's replication setup at https://h.example (GET "
       "/api/v2.0/registries: HTTP 403 FORBIDDEN: admin): importing it needs a Harbor system "
       "administrator"},
      {404, "404 page not found\n", core::Code::kNotFound,
       "no Harbor 2.x API at https://h.example (GET /api/v2.0/registries: HTTP 404): give "
       "Harbor's own address as --url; Harbor 1.x is not supported"},
      {200, "<html>hello</html>", core::Code::kNotFound,
       "no Harbor 2.x API at https://h.example: the answer to GET /api/v2.0/registries is not "
       "JSON; give Harbor's own address as --url"}};
  for (const auto& [status, body, code, message] : cases) {
    FakeHttp http(nullptr, [&](const HttpRequest&) {
      return Json(status, body);
    });
    auto setup = FetchHarborReplicationSetup(&http, "https://h.example", "admin", "wr0ng-pw");
    ASSERT_FALSE(setup.ok()) << status;
    EXPECT_EQ(setup.status().code(), code) << status;
    EXPECT_EQ(setup.status().message(), message);
    EXPECT_EQ(setup.status().message().find("wr0ng-pw"), std::string::npos);
  }
}

TEST_F(HarborFetchTest, UnreachableHarborAndForeignLinksAreErrors) {
  struct Down : HttpClient {
    core::Result<HttpResponse> Do(const HttpRequest&) override {
      return core::Status::Unavailable("connecting to h.example:443: Connection refused");
    }
  } down;
  auto unreachable = FetchHarborReplicationSetup(&down, "https://h.example", "admin", "pw");
  EXPECT_EQ(unreachable.status().code(), core::Code::kUnavailable);
  EXPECT_EQ(unreachable.status().message(),
            "cannot reach Harbor at https://h.example (GET /api/v2.0/registries): connecting to "
            "h.example:443: Connection refused; check --url, and --ca-cert or --insecure for TLS");
  FakeHttp off(nullptr, [](const HttpRequest&) {
    return Json(200, "[]", R"(<https://elsewhere.example/api/v2.0/registries?page=2>; rel="next")");
  });
  auto foreign = FetchHarborReplicationSetup(&off, "https://h.example", "admin", "pw");
  EXPECT_EQ(foreign.status().code(), core::Code::kPermissionDenied);
  EXPECT_EQ(off.sent().size(), 1u) << "nothing sent elsewhere";
}

}  // namespace
}  // namespace crossdock::providers
