// The key tables (core/config_keys.h) against the loader: every key in a table is
// read, with the default the table gives; a key outside a table is refused; and the
// schema made from the tables (core/config_schema.h) has their keys, and patterns that
// accept exactly what the loader accepts.
#include "core/config_keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/config_schema.h"
#include "core/diagnostics.h"

namespace crossdock::core {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
// What the loader made of one key: KEY's value in CONFIG, as JSON.
using Getter = std::function<Json(const Config& config)>;

// tests/data/every-key.toml: every key of every table, each with a value other than its
// default (its first lines say how).
std::string EveryKeyConfig() {
  const char* src = std::getenv("CROSSDOCK_SRC");
  std::ifstream in(fs::path(src ? src : ".") / "tests" / "data" / "every-key.toml");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The same endpoints and rules with only the keys the loader requires.
constexpr const char* kRequiredKeysOnly = R"([endpoints.full]
url = "https://127.0.0.1:5000"
[endpoints.ecr]
type = "aws-ecr"
url = "https://123456789012.dkr.ecr.us-east-1.amazonaws.com"
[endpoints.third]
url = "http://127.0.0.1:5003"
[rules.a]
source = "full"
destination = "ecr"
[rules.m]
source = "full"
destination = "ecr"
[rules.d]
source = "full"
destination = "ecr"
)";

const Endpoint& EndpointOf(const Config& config, const char* name) {
  static const Endpoint kAbsent;
  const Endpoint* endpoint = config.FindEndpoint(name);
  return endpoint ? *endpoint : kAbsent;
}

const Rule& RuleOf(const Config& config, const char* name) {
  static const Rule kAbsent;
  const Rule* rule = config.FindRule(name);
  return rule ? *rule : kAbsent;
}

// One getter per key of each table, by table title. The tests check that these are
// exactly the tables' keys, so a key added to a table needs one here.
std::map<std::string, std::map<std::string, Getter>> Getters(const fs::path& dir) {
  const auto full = [](const Config& c) -> const Endpoint& { return EndpointOf(c, "full"); };
  const auto a = [](const Config& c) -> const Rule& { return RuleOf(c, "a"); };
  return {
      {TopLevelKeys().title,
       {{"settings", [](const Config& c) { return Json(c.settings.parallelism); }},
        {"endpoints", [](const Config& c) { return Json(c.endpoints.size()); }},
        {"rules", [](const Config& c) { return Json(c.rules.size()); }}}},
      {SettingsKeys().title,
       {{"state",
         [dir](const Config& c) {
           return Json(fs::path(c.settings.state_path).lexically_relative(dir).string());
         }},
        {"parallelism", [](const Config& c) { return Json(c.settings.parallelism); }},
        {"home", [](const Config& c) { return Json(c.settings.home); }},
        {"webhook", [](const Config& c) { return Json(c.settings.webhook_token.spec); }},
        {"max_deletes",
         [](const Config& c) {
           return c.settings.max_deletes ? Json(*c.settings.max_deletes) : Json();
         }}}},
      {WebhookKeys().title,
       {{"token", [](const Config& c) { return Json(c.settings.webhook_token.spec); }}}},
      {EndpointKeys().title,
       {{"type", [=](const Config& c) { return Json(full(c).type); }},
        {"url", [=](const Config& c) { return Json(full(c).url); }},
        {"api_url", [=](const Config& c) { return Json(full(c).api_url); }},
        {"region", [](const Config& c) { return Json(EndpointOf(c, "ecr").region); }},
        {"description", [=](const Config& c) { return Json(full(c).description); }},
        {"username", [=](const Config& c) { return Json(full(c).username); }},
        {"password", [=](const Config& c) { return Json(full(c).password.spec); }},
        {"auth_file", [](const Config& c) { return Json(EndpointOf(c, "ecr").auth_file); }},
        {"ca_cert", [=](const Config& c) { return Json(full(c).ca_cert); }},
        {"insecure", [=](const Config& c) { return Json(full(c).insecure); }},
        {"rate_limit", [=](const Config& c) { return Json(full(c).rate_limit_per_second); }},
        {"max_connections", [=](const Config& c) { return Json(full(c).max_connections); }}}},
      {RuleKeys().title,
       {{"description", [=](const Config& c) { return Json(a(c).description); }},
        {"source", [](const Config& c) { return Json(RuleOf(c, "d").source); }},
        {"destination", [](const Config& c) { return Json(RuleOf(c, "d").destination); }},
        {"destinations", [=](const Config& c) { return Json(a(c).destinations); }},
        {"mode", [](const Config& c) { return Json(RuleOf(c, "m").mode); }},
        {"remote", [](const Config& c) { return Json(RuleOf(c, "m").remote); }},
        {"repositories", [=](const Config& c) { return Json(a(c).repositories); }},
        {"exclude_repositories", [=](const Config& c) { return Json(a(c).exclude_repositories); }},
        {"tags", [=](const Config& c) { return Json(a(c).tags); }},
        {"exclude_tags", [=](const Config& c) { return Json(a(c).exclude_tags); }},
        {"immutable_tags", [=](const Config& c) { return Json(a(c).immutable_tags); }},
        {"labels", [=](const Config& c) { return Json(a(c).labels); }},
        {"exclude_labels", [=](const Config& c) { return Json(a(c).exclude_labels); }},
        {"resource", [=](const Config& c) { return Json(a(c).resource); }},
        {"semver", [=](const Config& c) { return Json(a(c).semver); }},
        {"keep_latest", [=](const Config& c) { return Json(a(c).keep_latest); }},
        {"include_referrers", [=](const Config& c) { return Json(a(c).include_referrers); }},
        {"adopt", [=](const Config& c) { return Json(a(c).adopt); }},
        {"dest_namespace", [=](const Config& c) { return Json(a(c).dest_namespace); }},
        {"flatten", [=](const Config& c) { return Json(a(c).flatten); }},
        {"override", [=](const Config& c) { return Json(a(c).override_tags); }},
        {"delete", [=](const Config& c) { return Json(a(c).delete_missing); }},
        {"enabled", [=](const Config& c) { return Json(a(c).enabled); }},
        {"schedule", [=](const Config& c) { return Json(a(c).schedule); }},
        {"timezone", [=](const Config& c) { return Json(a(c).timezone); }},
        {"events", [=](const Config& c) { return Json(a(c).events); }},
        {"retries", [=](const Config& c) { return Json(a(c).retries); }},
        {"timeout", [=](const Config& c) { return Json(a(c).timeout.count()); }}}},
  };
}

const std::vector<const ConfigTable*>& Tables() {
  static const std::vector<const ConfigTable*> tables = {
      &TopLevelKeys(), &SettingsKeys(), &WebhookKeys(), &EndpointKeys(), &RuleKeys()};
  return tables;
}

class ConfigKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/crossdock-config-keys-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    std::ofstream(dir_ / "ca.pem") << "-----BEGIN CERTIFICATE-----\n";
    std::ofstream(dir_ / "auth.json") << "{\"auths\": {}}\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // TEXT loaded from crossdock.toml in the scratch folder; its diagnostics, formatted,
  // into *PROBLEMS.
  Config Load(const std::string& text, std::vector<std::string>* problems) {
    std::ofstream(dir_ / "crossdock.toml") << text;
    Diagnostics diags;
    Config config = LoadConfig((dir_ / "crossdock.toml").string(), &diags);
    for (const Diagnostic& d : diags.items()) problems->push_back(FormatDiagnostic(d));
    return config;
  }

  fs::path dir_;
};

TEST_F(ConfigKeysTest, EveryKeyOfEveryTableIsReadByTheLoader) {
  const std::string text = EveryKeyConfig();
  ASSERT_FALSE(text.empty()) << "tests/data/every-key.toml not found: set CROSSDOCK_SRC";
  std::vector<std::string> problems, none;
  const Config every = Load(text, &problems);
  // The one warning a non-default value brings.
  const std::string file = (dir_ / "crossdock.toml").string();
  EXPECT_EQ(problems, std::vector<std::string>{file + ":24:12: warning: TLS verification is off "
                                                      "for endpoint \"full\""});
  const Config required = Load(kRequiredKeysOnly, &none);
  EXPECT_EQ(none, std::vector<std::string>{});
  const Config empty = Load("", &none);

  const auto getters = Getters(dir_);
  for (const ConfigTable* table : Tables()) {
    SCOPED_TRACE(table->title);
    ASSERT_TRUE(getters.contains(table->title));
    const std::map<std::string, Getter>& of_table = getters.at(table->title);
    std::vector<std::string> names;
    for (const auto& [name, getter] : of_table) names.push_back(name);
    std::vector<std::string> keys = table->Names();
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(names, keys) << "each key needs a getter here";
    // The top level's tables are all optional: compare with no config at all.
    const Config& baseline = table == &TopLevelKeys() ? empty : required;
    for (const auto& [name, value_of] : of_table) {
      EXPECT_NE(value_of(every), value_of(baseline)) << name << " is not read";
    }
  }
}

TEST_F(ConfigKeysTest, DefaultsAreWhatTheLoaderAssumes) {
  std::vector<std::string> problems;
  const Config required = Load(kRequiredKeysOnly, &problems);
  ASSERT_EQ(problems, std::vector<std::string>{});
  const auto getters = Getters(dir_);
  int with_default = 0;
  for (const ConfigTable* table : Tables()) {
    for (const ConfigKey& key : table->keys) {
      if (key.default_json.empty()) continue;
      ++with_default;
      Json expected = Json::parse(key.default_json);
      EXPECT_EQ(getters.at(table->title).at(key.name)(required), expected)
          << table->title << " " << key.name;
    }
  }
  EXPECT_EQ(with_default, 12);
}

TEST_F(ConfigKeysTest, LoaderRefusesAKeyOutsideEachTable) {
  const std::string file = (dir_ / "crossdock.toml").string();
  std::string text = EveryKeyConfig();
  ASSERT_FALSE(text.empty()) << "tests/data/every-key.toml not found: set CROSSDOCK_SRC";
  // After each table header: a key no table has.
  for (const char* header : {"[settings]\n", "[settings.webhook]\n", "[endpoints.third]\n",
                             "[rules.d]\n"}) {
    text.insert(text.find(header) + std::string(header).size(), "colour = 1\n");
  }
  text.insert(0, "colour = 1\n");
  std::vector<std::string> problems;
  Load(text, &problems);
  EXPECT_EQ(problems,
            (std::vector<std::string>{
                file + ":1:1: error: unknown key \"colour\" at the top level",
                file + ":10:1: error: unknown key \"colour\" in [settings]",
                file + ":16:1: error: unknown key \"colour\" in [settings.webhook]",
                file + ":27:12: warning: TLS verification is off for endpoint \"full\"",
                file + ":38:1: error: unknown key \"colour\" in endpoint \"third\"",
                file + ":73:1: error: unknown key \"colour\" in rule \"d\"",
            }));
}

TEST_F(ConfigKeysTest, SchemaDirectiveOnTheFirstLineIsAComment) {
  std::vector<std::string> problems;
  const Config config = Load(std::string("#:schema ./crossdock.schema.json\n") + kRequiredKeysOnly,
                             &problems);
  EXPECT_EQ(problems, std::vector<std::string>{});
  EXPECT_EQ(config.rules.size(), 3u);
}

// Whether the loader accepts VALUE written as KEY (a TOML basic string) in rule "a"
// or endpoint "full" of kRequiredKeysOnly.
bool LoaderAccepts(const std::string& table, const std::string& key, const std::string& value) {
  std::string text = kRequiredKeysOnly;
  const std::string header = table + "\n";
  text.insert(text.find(header) + header.size(), key + " = " + Json(value).dump() + "\n");
  Diagnostics diags;
  ParseConfig(text, "crossdock.toml", &diags);
  return !diags.has_errors();
}

bool PatternMatches(const std::string& pattern, const std::string& value) {
  return std::regex_search(value, std::regex(pattern, std::regex::ECMAScript));
}

TEST(ConfigSchemaPatternTest, PatternsAcceptExactlyWhatTheLoaderAccepts) {
  struct Case {
    std::string table, key;
    const ConfigKey& spec;
    std::vector<std::string> values;
  };
  const std::vector<Case> cases = {
      {"[endpoints.full]", "rate_limit", EndpointKeys().Key("rate_limit"),
       {"1/s", "10/m", "999999/s", "1000000/s", "000000001/s", "001000000/m", "1000001/s",
        "0/s", "000000000/s", "0000000001/s", "10/h", "10/S", " 10/s", "10/s ", "/s", "1.5/s",
        "-1/s", "10", "1e3/s"}},
      {"[rules.a]", "dest_namespace", RuleKeys().Key("dest_namespace"),
       {"", "a", "mirror/dr", "a__b", "a___b", "a-b", "a--b", "a.b", "a_.b", "a..b", "A", "a/",
        "/a", "a//b", "a-", "-a", "_a", "a.b_c/d-e/f__g", "a b"}},
      {"[rules.a]", "labels", RuleKeys().Key("labels"),
       {"k", "k=v", "k=", "k==v", "=v", "=", "", "k v=1", "k=v w", "k\t", "\xc3\xa9=1",
        "a.b/c=d e"}},
  };
  for (const Case& c : cases) {
    ASSERT_FALSE(c.spec.pattern.empty()) << c.key;
    for (const std::string& value : c.values) {
      EXPECT_EQ(PatternMatches(c.spec.pattern, value), LoaderAccepts(c.table, c.key, value))
          << c.key << " = " << Json(value).dump();
    }
  }
}

TEST(ConfigSchemaPatternTest, StatePatternAcceptsExactlyTheLocationsTheLoaderAccepts) {
  const std::vector<std::string> values = {
      "", "crossdock.state.json", "/var/lib/x.json", "postgres://db/x", "postgresql://db/x",
      "postgres://u@db:5432/x?sslmode=verify-full", "postgres://u:pw@db/x",
      "postgresql://u:@db/x", "postgres://:pw@db", "postgres://db:5432/x@y",
      "postgres://db/x?password=pw", "postgres://db/x?sslmode=require&password=pw",
      "postgres://db/x?sslpassword=pw", "postgres://db/x?pass%77ord=pw",
      "postgres://db/x?PASS%57ORD=pw", "postgres://db/x?p%61ssword=pw&a=b",
      "postgres://db/x?passfile=/p", "postgres://db/x?mypassword=pw", "POSTGRES://u:pw@db/x",
      "file:u:pw@db", "postgres://db/x?password", "postgres://h?x=1&password=",
      "postgres://u?p:w@db/x", "postgres://db/x#password=pw"};
  const std::string pattern = SettingsKeys().Key("state").pattern;
  ASSERT_FALSE(pattern.empty());
  for (const std::string& value : values) {
    std::string text = std::string("[settings]\nstate = ") + Json(value).dump() + "\n" +
                       kRequiredKeysOnly;
    Diagnostics diags;
    ParseConfig(text, "crossdock.toml", &diags);
    EXPECT_EQ(PatternMatches(pattern, value), !diags.has_errors()) << Json(value).dump();
  }
}

TEST(ConfigSchemaPatternTest, NamePatternsAcceptExactlyTheNamesTheLoaderAccepts) {
  const std::vector<std::string> names = {"a",  "a.b_c-D9", "a b", "a/b", "a\tb",
                                          "",   "\xc3\xa9", "a:b", "-",   "a\nb"};
  for (const std::string& name : names) {
    const std::string quoted = Json(name).dump();
    Diagnostics endpoint_diags, rule_diags;
    ParseConfig("[endpoints." + quoted + "]\nurl = \"http://127.0.0.1:5000\"\n", "c.toml",
                &endpoint_diags);
    ParseConfig("[endpoints.src]\nurl = \"http://127.0.0.1:5000\"\n[endpoints.dst]\n"
                "url = \"http://127.0.0.1:5001\"\n[rules." + quoted +
                    "]\nsource = \"src\"\ndestination = \"dst\"\n",
                "c.toml", &rule_diags);
    EXPECT_EQ(PatternMatches(TopLevelKeys().Key("endpoints").name_pattern, name),
              !endpoint_diags.has_errors())
        << "endpoint " << quoted;
    EXPECT_EQ(PatternMatches(TopLevelKeys().Key("rules").name_pattern, name),
              !rule_diags.has_errors())
        << "rule " << quoted;
  }
}

TEST(ConfigSchemaTest, EveryTableIsClosedAndDescribesEachOfItsKeys) {
  const nlohmann::ordered_json schema = ConfigSchema();
  EXPECT_EQ(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
  const std::vector<std::pair<const ConfigTable*, nlohmann::ordered_json>> tables = {
      {&TopLevelKeys(), schema},
      {&SettingsKeys(), schema["properties"]["settings"]},
      {&WebhookKeys(), schema["properties"]["settings"]["properties"]["webhook"]},
      {&EndpointKeys(), schema["properties"]["endpoints"]["additionalProperties"]},
      {&RuleKeys(), schema["properties"]["rules"]["additionalProperties"]},
  };
  for (const auto& [table, object] : tables) {
    SCOPED_TRACE(table->title);
    EXPECT_EQ(object["title"], table->title);
    EXPECT_EQ(object["additionalProperties"], false);
    std::vector<std::string> properties;
    for (const auto& [name, property] : object["properties"].items()) {
      properties.push_back(name);
      EXPECT_FALSE(property.value("description", "").empty()) << name;
    }
    EXPECT_EQ(properties, table->Names());
  }
}

TEST(ConfigSchemaTest, KeyFormsArePinned) {
  const nlohmann::ordered_json rule = ConfigSchema()["properties"]["rules"]["additionalProperties"];
  EXPECT_EQ(rule["properties"]["retries"].dump(),
            R"({"description":"How often a copy that failed transiently is tried again.",)"
            R"("type":"integer","minimum":0,"maximum":10,"default":3})");
  EXPECT_EQ(rule["properties"]["flatten"]["oneOf"].dump(),
            R"([{"type":"integer","minimum":-1,"maximum":3},{"type":"string","enum":["all","none"]}])");
  EXPECT_EQ(rule["properties"]["destinations"].dump(),
            R"({"description":"Several endpoints to copy to, each planned and recorded on its )"
            R"(own; instead of destination.","type":["string","array"],"items":{"type":"string"},)"
            R"("minItems":1,"uniqueItems":true})");
  EXPECT_EQ(rule["properties"]["mode"]["enum"].dump(), R"(["push","pull"])");
  EXPECT_EQ(rule["properties"]["resource"]["enum"].dump(), R"(["image","chart","artifact"])");
  const nlohmann::ordered_json endpoint =
      ConfigSchema()["properties"]["endpoints"]["additionalProperties"];
  EXPECT_EQ(endpoint["properties"]["type"]["enum"].dump(),
            R"(["docker-registry","harbor","docker-hub","quay","gitlab","github-ghcr",)"
            R"("jfrog-artifactory","aws-ecr","google-gcr","azure-acr","ali-acr","huawei-SWR",)"
            R"("helm-repo"])");
  EXPECT_EQ(endpoint["properties"]["type"]["default"], "docker-registry");
  EXPECT_EQ(endpoint["else"].dump(), R"({"required":["url"]})");
}

}  // namespace
}  // namespace crossdock::core
