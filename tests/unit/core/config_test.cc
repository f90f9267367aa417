#include "core/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/config_check.h"
#include "core/diagnostics.h"
#include "core/secret.h"
#include "core/semver.h"

namespace crossdock::core {
namespace {

namespace fs = std::filesystem;
using Lines = std::vector<std::string>;

// Two endpoints every rule test can name (lines 1-5).
constexpr const char* kEndpoints = R"([endpoints.src]
url = "http://127.0.0.1:5001"

[endpoints.dst]
url = "http://127.0.0.1:5002"
)";

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/crossdock-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Every diagnostic of TEXT read as "crossdock.toml", formatted as users see them.
  static Lines Problems(const std::string& text) {
    Diagnostics diags;
    ParseConfig(text, "crossdock.toml", &diags);
    return Format(diags);
  }

  static Lines Format(const Diagnostics& diags) {
    Lines lines;
    for (const Diagnostic& d : diags.items()) lines.push_back(FormatDiagnostic(d));
    return lines;
  }

  std::string WriteFile(const std::string& name, const std::string& content) {
    const fs::path path = fs::path(dir_) / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << content;
    return path.string();
  }

  std::string dir_;
};

TEST_F(ConfigTest, ParsesEveryFieldOfAFullConfig) {
  WriteFile("certs/ca.pem", "-----BEGIN CERTIFICATE-----\n");
  const std::string file = WriteFile("crossdock.toml", R"(
[settings]
state = "state/crossdock.state.json"
parallelism = 8

[endpoints.src]
type = "docker-registry"
url = "http://127.0.0.1:5001/"
description = "build registry"

[endpoints.dst]
type = "docker-registry"
url = "HTTPS://127.0.0.1:5002"
username = "admin"
password = "env:DST_PASSWORD"
ca_cert = "certs/ca.pem"

[rules.mirror-lib]
description = "library images to the DR site"
source = "src"
destination = "dst"
repositories = ["lib/**", "team/{a,b}"]
exclude_repositories = ["lib/old-*"]
tags = ["v*"]
exclude_tags = ["*-rc*"]
dest_namespace = "mirror/dr"
flatten = 1
override = false
delete = true
enabled = false

[rules.all]
source = "src"
destination = "dst"
repositories = "lib/**"
dest_namespace = "all"
flatten = "all"
)");
  Diagnostics diags;
  Config config = LoadConfig(file, &diags);
  EXPECT_EQ(Format(diags), Lines());

  EXPECT_EQ(config.path, file);
  EXPECT_EQ(config.settings.state_path, dir_ + "/state/crossdock.state.json");
  EXPECT_EQ(config.settings.parallelism, 8);

  ASSERT_EQ(config.endpoints.size(), 2u);
  const Endpoint* src = config.FindEndpoint("src");
  ASSERT_NE(src, nullptr);
  EXPECT_EQ(src->name, "src");
  EXPECT_EQ(src->type, "docker-registry");
  EXPECT_EQ(src->url, "http://127.0.0.1:5001");
  EXPECT_EQ(src->host(), "127.0.0.1:5001");
  EXPECT_EQ(src->description, "build registry");
  EXPECT_EQ(src->username, "");
  EXPECT_TRUE(src->password.empty());
  EXPECT_EQ(src->ca_cert, "");
  EXPECT_FALSE(src->insecure);
  EXPECT_EQ(src->pos.line, 6);
  const Endpoint* dst = config.FindEndpoint("dst");
  ASSERT_NE(dst, nullptr);
  EXPECT_EQ(dst->url, "https://127.0.0.1:5002");
  EXPECT_EQ(dst->host(), "127.0.0.1:5002");
  EXPECT_EQ(dst->username, "admin");
  EXPECT_EQ(dst->password.spec, "env:DST_PASSWORD");
  EXPECT_EQ(dst->password.pos.line, 15);
  EXPECT_EQ(dst->password.pos.column, 12);
  EXPECT_EQ(dst->ca_cert, dir_ + "/certs/ca.pem");
  EXPECT_EQ(config.FindEndpoint("nope"), nullptr);

  ASSERT_EQ(config.rules.size(), 2u);
  const Rule& rule = config.rules[0];  // file order, not alphabetical
  EXPECT_EQ(rule.name, "mirror-lib");
  EXPECT_EQ(rule.description, "library images to the DR site");
  EXPECT_EQ(rule.source, "src");
  EXPECT_EQ(rule.destination, "dst");
  EXPECT_EQ(rule.repositories, Lines({"lib/**", "team/{a,b}"}));
  EXPECT_EQ(rule.exclude_repositories, Lines({"lib/old-*"}));
  EXPECT_EQ(rule.tags, Lines({"v*"}));
  EXPECT_EQ(rule.exclude_tags, Lines({"*-rc*"}));
  EXPECT_EQ(rule.dest_namespace, "mirror/dr");
  EXPECT_EQ(rule.flatten, 1);
  EXPECT_FALSE(rule.override_tags);
  EXPECT_TRUE(rule.delete_missing);
  EXPECT_FALSE(rule.enabled);
  EXPECT_EQ(rule.pos.line, 18);
  // Keys the rule leaves out.
  EXPECT_EQ(config.settings.home, "");
  EXPECT_EQ(rule.destinations, Lines({"dst"}));
  EXPECT_EQ(rule.mode, "");
  EXPECT_EQ(rule.remote, "");
  EXPECT_TRUE(rule.labels.empty());
  EXPECT_TRUE(rule.exclude_labels.empty());
  EXPECT_EQ(rule.resource, "");
  EXPECT_EQ(rule.semver, "");
  EXPECT_EQ(rule.keep_latest, 0);
  EXPECT_TRUE(rule.include_referrers);
  EXPECT_FALSE(rule.adopt);

  const Rule* all = config.FindRule("all");
  ASSERT_EQ(all, &config.rules[1]);
  EXPECT_EQ(all->repositories, Lines({"lib/**"}));
  EXPECT_TRUE(all->exclude_repositories.empty());
  EXPECT_TRUE(all->tags.empty());
  EXPECT_EQ(all->flatten, -1);
  EXPECT_TRUE(all->override_tags);
  EXPECT_FALSE(all->delete_missing);
  EXPECT_TRUE(all->enabled);
  EXPECT_EQ(config.FindRule("nope"), nullptr);
}

TEST_F(ConfigTest, DefaultsPutStateBesideTheConfig) {
  const std::string file = WriteFile("sub/crossdock.toml", std::string(kEndpoints) + R"(
[rules.r]
source = "src"
destination = "dst"
dest_namespace = "m"
flatten = "none"
)");
  Diagnostics diags;
  Config config = LoadConfig(file, &diags);
  EXPECT_EQ(Format(diags), Lines());
  EXPECT_EQ(config.settings.state_path, dir_ + "/sub/crossdock.state.json");
  EXPECT_EQ(config.settings.parallelism, 10);
  EXPECT_EQ(config.endpoints.at("src").type, "docker-registry");
  EXPECT_EQ(config.rules.at(0).flatten, 0);
}

TEST_F(ConfigTest, RelativePathsResolveAgainstTheConfigFolder) {
  WriteFile("conf/ca.pem", "x");
  const std::string file = WriteFile("conf/crossdock.toml", R"([settings]
state = "../var/state.json"

[endpoints.src]
url = "https://r.example.com"
username = "u"
password = "file:secrets/pw"
ca_cert = "ca.pem"

[rules.r]
source = "src"
destination = "src"
dest_namespace = "copy"
)");
  Diagnostics diags;
  Config config = LoadConfig(file, &diags);
  EXPECT_EQ(Format(diags), Lines());
  EXPECT_EQ(config.settings.state_path, dir_ + "/var/state.json");
  EXPECT_EQ(config.endpoints.at("src").password.spec, "file:" + dir_ + "/conf/secrets/pw");
  EXPECT_EQ(config.endpoints.at("src").ca_cert, dir_ + "/conf/ca.pem");
}

// A rule for the configs below (after kEndpoints).
constexpr const char* kRule = "[rules.r]\nsource = \"src\"\ndestination = \"dst\"\n";

TEST_F(ConfigTest, APostgresUrlStateIsKeptAsWritten) {
  const std::string file = WriteFile("conf/crossdock.toml", std::string(R"([settings]
state = "postgres://crossdock@db.internal:5432/crossdock?sslmode=verify-full"
)") + kEndpoints + kRule);
  Diagnostics diags;
  Config config = LoadConfig(file, &diags);
  EXPECT_EQ(Format(diags), Lines());
  EXPECT_EQ(config.settings.state_path,
            "postgres://crossdock@db.internal:5432/crossdock?sslmode=verify-full");
}

TEST_F(ConfigTest, APasswordInAPostgresUrlStateIsRefusedWithoutRepeatingIt) {
  const std::string fix =
      "; secrets never go in the config: remove it and set PGPASSWORD, or put it in a "
      "password file (~/.pgpass, or the file PGPASSFILE names)";
  EXPECT_EQ(Problems(std::string("[settings]\nstate = \"postgresql://u:hunter2@db/x\"\n") +
                     kEndpoints + kRule),
            Lines{"crossdock.toml:2:9: error: the PostgreSQL URL in \"state\" holds a password "
                  "after the user name" + fix});
  EXPECT_EQ(Problems(std::string("[settings]\nstate = \"postgres://db/x?sslmode=require&"
                                 "pass%77ord=hunter2\"\n") +
                     kEndpoints + kRule),
            Lines{"crossdock.toml:2:9: error: the PostgreSQL URL in \"state\" holds a password "
                  "parameter" + fix});
}

TEST_F(ConfigTest, ReportsTomlSyntaxErrorsWithPosition) {
  EXPECT_EQ(
      Problems("[settings]\nparallelism = \n"),
      Lines({"crossdock.toml:2:15: error: Error while parsing key-value pair: expected value, "
             "saw '\\n'"}));
}

TEST_F(ConfigTest, DuplicateRuleNamesAreATomlError) {
  EXPECT_EQ(Problems(std::string(kEndpoints) + R"([rules.r]
source = "src"
destination = "dst"
[rules.r]
)"),
            Lines({"crossdock.toml:9:1: error: Error while parsing table header: cannot redefine "
                   "existing table 'rules.r'"}));
}

TEST_F(ConfigTest, UnknownKeysGetASuggestion) {
  EXPECT_EQ(
      Problems(R"([setings]
[settings]
paralellism = 4
[endpoints.src]
url = "http://127.0.0.1:5001"
user = "me"
[rules.x]
source = "src"
destination = "src"
dest_namespace = "copy"
overide = true
colour = "red"
)"),
      Lines({
          "crossdock.toml:1:2: error: unknown key \"setings\" at the top level (did you mean "
          "\"settings\"?)",
          "crossdock.toml:3:1: error: unknown key \"paralellism\" in [settings] (did you mean "
          "\"parallelism\"?)",
          "crossdock.toml:6:1: error: unknown key \"user\" in endpoint \"src\"",
          "crossdock.toml:11:1: error: unknown key \"overide\" in rule \"x\" (did you mean "
          "\"override\"?)",
          "crossdock.toml:12:1: error: unknown key \"colour\" in rule \"x\"",
      }));
}

TEST_F(ConfigTest, WrongTypesNameTheKey) {
  EXPECT_EQ(
      Problems(R"([settings]
parallelism = "8"
state = 3
[endpoints.src]
url = 5001
insecure = "yes"
[rules.x]
source = "src"
destination = "src"
dest_namespace = "copy"
repositories = ["a/*", 2]
tags = {v = 1}
override = 1
)"),
      Lines({
          "crossdock.toml:2:15: error: \"parallelism\" must be an integer",
          "crossdock.toml:3:9: error: \"state\" must be a string",
          "crossdock.toml:5:7: error: \"url\" in endpoint \"src\" must be a string",
          "crossdock.toml:6:12: error: \"insecure\" in endpoint \"src\" must be a boolean (true "
          "or false)",
          "crossdock.toml:11:24: error: \"repositories\" in rule \"x\" must be a string or an "
          "array of strings",
          "crossdock.toml:12:8: error: \"tags\" in rule \"x\" must be a string or an array of "
          "strings",
          "crossdock.toml:13:12: error: \"override\" in rule \"x\" must be a boolean (true or "
          "false)",
      }));
}

TEST_F(ConfigTest, TablesOfTheWrongShape) {
  EXPECT_EQ(
      Problems(R"(settings = 1
endpoints = "src"
[[rules]]
source = "src"
)"),
      Lines({
          "crossdock.toml:1:12: error: \"settings\" must be a table ([settings])",
          "crossdock.toml:2:13: error: \"endpoints\" must be a table of named endpoints "
          "([endpoints.NAME])",
          "crossdock.toml:3:1: error: \"rules\" must be a table of named rules ([rules.NAME])",
          "crossdock.toml: warning: no rules defined; nothing will be replicated",
      }));
}

TEST_F(ConfigTest, SettingsOutOfRange) {
  EXPECT_EQ(Problems(std::string(R"([settings]
parallelism = 0
state = ""
)") + kEndpoints + "[rules.r]\nsource = \"src\"\ndestination = \"dst\"\n"),
            Lines({
                "crossdock.toml:2:15: error: \"parallelism\" must be between 1 and 256",
                "crossdock.toml:3:9: error: \"state\" must not be empty",
            }));
}

TEST_F(ConfigTest, MissingRequiredKeysPointAtTheTable) {
  EXPECT_EQ(Problems(R"([endpoints.src]
description = "no url"

[rules.x]
description = "nothing"
)"),
            Lines({
                "crossdock.toml:1:1: error: endpoint \"src\" is missing required key \"url\"",
                "crossdock.toml:4:1: error: rule \"x\" is missing required key \"source\"",
                "crossdock.toml:4:1: error: rule \"x\" is missing required key \"destination\"",
            }));
}

// The example in ../shared/STYLE.md, position included.
TEST_F(ConfigTest, UndefinedEndpointGetsASuggestion) {
  EXPECT_EQ(
      Problems(R"([endpoints.harbor]
url = "https://harbor.example.com"

[endpoints.dst]
url = "https://dr.example.com"

[rules.mirror]
description = "Docker Hub library images"
destination = "dst"
repositories = ["library/**"]
tags = ["v*"]
exclude_tags = ["*-rc*"]
dest_namespace = "mirror"
source   = "harbr"
)"),
      Lines({"crossdock.toml:14:12: error: rule \"mirror\" names endpoint \"harbr\", which is "
             "not defined (did you mean \"harbor\"?)"}));
  EXPECT_EQ(
      Problems(std::string(kEndpoints) + "[rules.x]\nsource = \"src\"\ndestination = \"backup\"\n"),
      Lines({"crossdock.toml:8:15: error: rule \"x\" names endpoint \"backup\", which is not "
             "defined"}));
}

TEST_F(ConfigTest, InvalidPatternsQuoteThePatternError) {
  EXPECT_EQ(
      Problems(std::string(kEndpoints) + R"([rules.x]
source = "src"
destination = "dst"
repositories = ["lib/**", "lib/[a-"]
exclude_repositories = "{a,b"
tags = ["v\\"]
exclude_tags = ["[]"]
)"),
      Lines({
          "crossdock.toml:9:27: error: invalid pattern \"lib/[a-\" in \"repositories\" of rule "
          "\"x\": unclosed '[' at offset 4",
          "crossdock.toml:10:24: error: invalid pattern \"{a,b\" in \"exclude_repositories\" of "
          "rule \"x\": unclosed '{' at offset 0",
          "crossdock.toml:11:9: error: invalid pattern \"v\\\" in \"tags\" of rule \"x\": "
          "trailing '\\' at offset 1",
          "crossdock.toml:12:17: error: invalid pattern \"[]\" in \"exclude_tags\" of rule \"x\": "
          "empty character class at offset 0",
      }));
}

// Issue 10: a pattern of 20,000 nested '{' passed validate, then crashed plan.
TEST_F(ConfigTest, PatternsBeyondTheLimitsAreErrorsAtTheirPositions) {
  const std::string huge = std::string(10000, '{') + "a" + std::string(10000, '}');
  const std::string deep = std::string(11, '{') + "a" + std::string(11, '}');
  EXPECT_EQ(Problems(std::string(kEndpoints) + "[rules.x]\nsource = \"src\"\ndestination = \"dst\"\n"
                     "tags = [\"v*\", \"" + deep + "\"]\nexclude_tags = \"" + huge + "\"\n"),
            Lines({
                "crossdock.toml:9:15: error: invalid pattern \"" + deep +
                    "\" in \"tags\" of rule \"x\": '{' at offset 10 nests braces 11 levels deep; "
                    "patterns may nest them at most 10 levels",
                "crossdock.toml:10:16: error: invalid pattern \"" + std::string(80, '{') +
                    "\"… in \"exclude_tags\" of rule \"x\": the pattern is 20001 bytes long; "
                    "patterns may be at most 1024 bytes",
            }));
}

TEST_F(ConfigTest, BareProjectNameWarns) {
  EXPECT_EQ(Problems(std::string(kEndpoints) + R"([rules.x]
source = "src"
destination = "dst"
repositories = ["library", "library/nginx", "lib*", "{a,b}"]
)"),
            Lines({"crossdock.toml:9:17: warning: repositories = [\"library\"] selects only a "
                   "repository named exactly \"library\" (did you mean \"library/**\"?)"}));
}

TEST_F(ConfigTest, FlattenOutOfRange) {
  const std::string message = "error: flatten must be -1 or \"all\", 0 or \"none\", 1, 2 or 3";
  EXPECT_EQ(Problems(std::string(kEndpoints) + R"([rules.a]
source = "src"
destination = "dst"
dest_namespace = "m"
flatten = 4
[rules.b]
source = "src"
destination = "dst"
dest_namespace = "m"
flatten = "some"
[rules.c]
source = "src"
destination = "dst"
dest_namespace = "m"
flatten = 1.0
[rules.d]
source = "src"
destination = "dst"
dest_namespace = "m"
flatten = -2
)"),
            Lines({"crossdock.toml:10:11: " + message, "crossdock.toml:15:11: " + message,
                   "crossdock.toml:20:11: " + message, "crossdock.toml:25:11: " + message}));
}

TEST_F(ConfigTest, RuleCopyingOntoItselfIsAnError) {
  EXPECT_EQ(
      Problems(std::string(kEndpoints) + R"([rules.x]
source = "src"
destination = "src"
[rules.y]
source = "src"
destination = "src"
flatten = 1
[rules.z]
source = "src"
destination = "src"
dest_namespace = "copy"
)"),
      Lines({
          "crossdock.toml:8:15: error: rule \"x\" copies onto itself: source and destination are "
          "both endpoint \"src\" and dest_namespace is empty",
          "crossdock.toml:11:15: error: rule \"y\" copies onto itself: source and destination "
          "are both endpoint \"src\" and dest_namespace is empty",
      }));
}

TEST_F(ConfigTest, FlattenWithoutNamespaceWarns) {
  EXPECT_EQ(Problems(std::string(kEndpoints) +
                     "[rules.x]\nsource = \"src\"\ndestination = \"dst\"\nflatten = 1\n"),
            Lines({"crossdock.toml:9:11: warning: flatten has no effect in rule \"x\" because "
                   "dest_namespace is empty"}));
}

TEST_F(ConfigTest, NoRulesIsAWarning) {
  EXPECT_EQ(Problems(kEndpoints),
            Lines({"crossdock.toml: warning: no rules defined; nothing will be replicated"}));
  EXPECT_EQ(Problems(""),
            Lines({"crossdock.toml: warning: no rules defined; nothing will be replicated"}));
}

TEST_F(ConfigTest, BadNamesAreErrors) {
  EXPECT_EQ(
      Problems(R"([endpoints."my registry"]
url = "http://127.0.0.1:5001"
[rules."mirror lib"]
source = "my registry"
destination = "my registry"
dest_namespace = "m"
[rules.""]
source = "my registry"
destination = "my registry"
dest_namespace = "m"
)"),
      Lines({
          "crossdock.toml:1:12: error: endpoint name \"my registry\" may contain only letters, "
          "digits, '.', '_' and '-'",
          "crossdock.toml:3:8: error: rule name \"mirror lib\" must not contain whitespace",
          "crossdock.toml:7:8: error: rule name must not be empty",
      }));
}

TEST_F(ConfigTest, EndpointTypes) {
  EXPECT_EQ(
      Problems(R"([endpoints.a]
url = "https://a.example.com"
[endpoints.b]
type = "docker-regsitry"
url = "https://b.example.com"
[endpoints.c]
type = "nexus"
url = "https://c.example.com"
[rules.r]
source = "a"
destination = "b"
)"),
      Lines({
          "crossdock.toml:4:8: error: unknown endpoint type \"docker-regsitry\" (did you mean "
          "\"docker-registry\"?)",
          "crossdock.toml:7:8: error: unknown endpoint type \"nexus\"; use \"docker-registry\" "
          "for any registry speaking the OCI distribution API",
      }));
}

TEST_F(ConfigTest, VendorTypesTakeTheirDefaultsAndApiUrl) {
  Diagnostics diags;
  Config c = ParseConfig(R"([endpoints.harbor]
type = "harbor"
url = "https://harbor.example.com/"
[endpoints.split]
type = "harbor"
url = "https://registry.example.com"
api_url = "https://api.example.com/prefix/"
[endpoints.art]
type = "jfrog-artifactory"
url = "https://art.example.com"
[endpoints.ghcr]
type = "github-ghcr"
[rules.r]
source = "split"
destination = "harbor"
)",
                         "crossdock.toml", &diags);
  EXPECT_EQ(Format(diags), Lines());
  EXPECT_EQ(c.endpoints.at("harbor").api_url, "https://harbor.example.com");
  EXPECT_EQ(c.endpoints.at("split").api_url, "https://api.example.com/prefix");
  EXPECT_EQ(c.endpoints.at("art").api_url, "https://art.example.com/artifactory");
  EXPECT_EQ(c.endpoints.at("ghcr").url, "https://ghcr.io");
  EXPECT_EQ(c.endpoints.at("ghcr").api_url, "https://api.github.com");
}

TEST_F(ConfigTest, DockerHubDefaultsAndOfficialImageNames) {
  Diagnostics diags;
  Config c = ParseConfig(R"([endpoints.hub]
type = "docker-hub"
[endpoints.local]
url = "https://registry.example.com"
[rules.r]
source = "hub"
destination = "local"
repositories = ["nginx", "{redis,alpine}", "bitnami/*", "ngin*"]
exclude_repositories = ["busybox"]
)",
                         "crossdock.toml", &diags);
  EXPECT_EQ(Format(diags), Lines());
  EXPECT_EQ(c.endpoints.at("hub").url, "https://registry-1.docker.io");
  EXPECT_EQ(c.endpoints.at("hub").api_url, "https://hub.docker.com");
  EXPECT_EQ(c.rules[0].repositories,
            Lines({"library/nginx", "library/{redis,alpine}", "bitnami/*", "library/ngin*"}));
  EXPECT_EQ(c.rules[0].exclude_repositories, Lines({"library/busybox"}));
}

TEST_F(ConfigTest, LiteralRepositoriesAreCheckedAgainstTheDestinationsPathRule) {
  EXPECT_EQ(Problems(R"([endpoints.src]
url = "https://src.example.com"
[endpoints.harbor]
type = "harbor"
url = "https://harbor.example.com"
[endpoints.hub]
type = "docker-hub"
[rules.flat]
source = "src"
destinations = ["harbor", "hub"]
repositories = ["app", "team/tool"]
[rules.fine]
source = "src"
destination = "harbor"
repositories = ["app"]
dest_namespace = "mirror"
)"),
            Lines({
                "crossdock.toml:11:16: error: rule \"flat\" copies \"app\" to \"app\" at endpoint "
                "\"harbor\", which takes repository names of at least 2 path components (Harbor "
                "repositories are PROJECT/NAME); set the rule's dest_namespace or flatten",
                "crossdock.toml:11:16: error: rule \"flat\" copies \"app\" to \"app\" at endpoint "
                "\"hub\", which takes repository names of exactly 2 path components (Docker Hub "
                "repositories are NAMESPACE/NAME); set the rule's dest_namespace or flatten",
                "crossdock.toml:11:17: warning: repositories = [\"app\"] selects only a "
                "repository named exactly \"app\" (did you mean \"app/**\"?)",
                "crossdock.toml:15:17: warning: repositories = [\"app\"] selects only a "
                "repository named exactly \"app\" (did you mean \"app/**\"?)",
            }));
}

TEST_F(ConfigTest, SourcesWithoutACatalogNeedTheirRepositoriesNamed) {
  EXPECT_EQ(Problems(R"([endpoints.hub]
type = "docker-hub"
[endpoints.ghcr]
type = "github-ghcr"
[endpoints.dst]
url = "https://dst.example.com"
[rules.all]
source = "hub"
destination = "dst"
[rules.fine]
source = "hub"
destination = "dst"
repositories = ["library/*", "bitnami/**"]
[rules.ghcr]
source = "ghcr"
destination = "dst"
repositories = ["acme/**"]
)"),
            Lines({
                "crossdock.toml:7:1: error: rule \"all\" copies from Docker Hub (endpoint "
                "\"hub\"), which cannot list all of its repositories: start each repositories "
                "pattern with a namespace (\"library/*\", \"myorg/**\") or name them",
                "crossdock.toml:17:16: warning: rule \"ghcr\" lists packages of GHCR (endpoint "
                "\"ghcr\"), which needs a token for that; without username and password (or an "
                "auth file entry for ghcr.io) only literal repository names work",
            }));
}

TEST_F(ConfigTest, VendorKeysATypeDoesNotUseOrLacksAreReported) {
  EXPECT_EQ(Problems(R"([endpoints.plain]
url = "https://a.example.com"
api_url = "https://api.example.com"
[endpoints.harbor]
type = "harbor"
api_url = "ftp://harbor.example.com"
[rules.r]
source = "plain"
destination = "harbor"
)"),
            Lines({
                "crossdock.toml:3:11: warning: api_url has no effect on endpoint \"plain\" of "
                "type \"docker-registry\", which has no API besides the registry's",
                "crossdock.toml:4:1: error: endpoint \"harbor\" is missing required key \"url\"",
                "crossdock.toml:6:11: error: api_url \"ftp://harbor.example.com\" of endpoint "
                "\"harbor\" must start with http:// or https://",
            }));
}

TEST_F(ConfigTest, AuthFileIsResolvedAndChecked) {
  WriteFile("auth/config.json", "{}");
  const std::string file = WriteFile("crossdock.toml", R"([endpoints.a]
url = "https://a.example.com"
auth_file = "auth/config.json"
[endpoints.b]
url = "https://b.example.com"
auth_file = "missing.json"
[endpoints.c]
url = "https://c.example.com"
username = "me"
auth_file = "auth/config.json"
[rules.r]
source = "a"
destination = "b"
)");
  Diagnostics diags;
  Config c = LoadConfig(file, &diags);
  EXPECT_EQ(c.endpoints.at("a").auth_file, dir_ + "/auth/config.json");
  EXPECT_EQ(Format(diags),
            Lines({file + ":6:13: error: auth_file \"missing.json\" of endpoint \"b\" not found "
                          "(looked for " + dir_ + "/missing.json)",
                   file + ":10:13: error: endpoint \"c\" sets both auth_file and "
                          "username/password; keep one of them"}));
}

TEST_F(ConfigTest, EndpointUrls) {
  EXPECT_EQ(
      Problems(R"([endpoints.a]
url = "ftp://a.example.com"
[endpoints.b]
url = "https://b.example.com/v2/"
[endpoints.c]
url = "https://"
[endpoints.d]
url = "http://d.example.com:99999"
[endpoints.e]
url = "https://admin:hunter2@e.example.com"
[endpoints.f]
url = "a.example.com"
[endpoints.g]
url = "http://[::1]:5000/"
[endpoints.h]
url = "http://bad host"
[rules.r]
source = "a"
destination = "g"
)"),
      Lines({
          "crossdock.toml:2:7: error: url \"ftp://a.example.com\" of endpoint \"a\" must start "
          "with http:// or https://",
          "crossdock.toml:4:7: error: url \"https://b.example.com/v2/\" of endpoint \"b\" must be "
          "scheme://host[:port], without a path, query or fragment",
          "crossdock.toml:6:7: error: url \"https://\" of endpoint \"c\" has no host",
          "crossdock.toml:8:7: error: url \"http://d.example.com:99999\" of endpoint \"d\" has an "
          "invalid port",
          "crossdock.toml:10:7: error: url of endpoint \"e\" must not contain credentials; use "
          "username and password",
          "crossdock.toml:12:7: error: url \"a.example.com\" of endpoint \"f\" must start with "
          "http:// or https://",
          "crossdock.toml:16:7: error: url \"http://bad host\" of endpoint \"h\" has an invalid "
          "host",
      }));
}

TEST_F(ConfigTest, PasswordsAndTls) {
  const std::string text = R"([endpoints.a]
url = "https://a.example.com"
username = "admin"
password = "hunter2"
insecure = true
[endpoints.b]
url = "http://b.example.com"
password = "env:B_PASSWORD"
insecure = true
[endpoints.c]
url = "https://c.example.com"
username = "u"
password = "env:"
ca_cert = "/nonexistent/ca.pem"
[endpoints.d]
url = "https://d.example.com"
username = "u"
password = "file:"
ca_cert = "/"
[rules.r]
source = "a"
destination = "b"
)";
  const Lines problems = Problems(text);
  EXPECT_EQ(
      problems,
      Lines({
          "crossdock.toml:4:12: warning: password for endpoint \"a\" is written in the config; "
          "use env:NAME or file:PATH",
          "crossdock.toml:5:12: warning: TLS verification is off for endpoint \"a\"",
          "crossdock.toml:8:12: error: endpoint \"b\" has a password but no username",
          "crossdock.toml:9:12: warning: insecure = true has no effect on endpoint \"b\": its "
          "url uses http://",
          "crossdock.toml:13:12: error: password of endpoint \"c\" must name an environment "
          "variable after \"env:\" (letters, digits and '_')",
          "crossdock.toml:14:11: error: ca_cert \"/nonexistent/ca.pem\" of endpoint \"c\" not "
          "found (looked for /nonexistent/ca.pem)",
          "crossdock.toml:18:12: error: password of endpoint \"d\" must name a file after "
          "\"file:\"",
          "crossdock.toml:19:11: error: ca_cert \"/\" of endpoint \"d\" is not a file (/)",
      }));
  for (const std::string& line : problems) EXPECT_EQ(line.find("hunter2"), std::string::npos);
}

TEST_F(ConfigTest, DestNamespaceMustBeARepositoryPath) {
  EXPECT_EQ(
      Problems(std::string(kEndpoints) + R"([rules.a]
source = "src"
destination = "dst"
dest_namespace = "/mirror"
[rules.b]
source = "src"
destination = "dst"
dest_namespace = "Mirror/x"
[rules.c]
source = "src"
destination = "dst"
dest_namespace = "a//b"
[rules.d]
source = "src"
destination = "dst"
dest_namespace = "team-a/dr__copy/v1.2"
)"),
      Lines({
          "crossdock.toml:9:18: error: dest_namespace \"/mirror\" must not start or end with '/'",
          "crossdock.toml:13:18: error: dest_namespace \"Mirror/x\" has an invalid path component "
          "\"Mirror\": use lowercase letters and digits, separated by '.', '_', \"__\" or '-'",
          "crossdock.toml:17:18: error: dest_namespace \"a//b\" has an invalid path component "
          "\"\": use lowercase letters and digits, separated by '.', '_', \"__\" or '-'",
      }));
}

TEST_F(ConfigTest, ParsesEveryHarborStyleAndFanOutKey) {
  const std::string file = WriteFile("crossdock.toml", R"([settings]
home = "harbor"

[endpoints.harbor]
url = "https://harbor.example.com"

[endpoints.hub]
url = "https://registry-1.docker.io"

[endpoints.dr]
url = "https://dr.example.com"

[rules.push-releases]
mode = "push"
remote = "dr"
repositories = ["apps/**"]
semver = ">=1.20 <2"
keep_latest = 3
override = false

[rules.pull-library]
mode = "pull"
remote = "hub"
repositories = ["library/{nginx,redis}"]
labels = ["org.opencontainers.image.vendor=NGINX Inc", "signed"]
exclude_labels = "deprecated"
resource = "image"
include_referrers = false
adopt = true
dest_namespace = "hub"
flatten = 1

[rules.fan-out]
source = "hub"
destinations = ["dr", "harbor"]
dest_namespace = "fan"
resource = "chart"
)");
  Diagnostics diags;
  Config config = LoadConfig(file, &diags);
  EXPECT_EQ(Format(diags), Lines());
  EXPECT_EQ(config.settings.home, "harbor");
  ASSERT_EQ(config.rules.size(), 3u);

  const Rule& push = config.rules[0];
  EXPECT_EQ(push.mode, "push");
  EXPECT_EQ(push.remote, "dr");
  EXPECT_EQ(push.source, "harbor");
  EXPECT_EQ(push.destination, "dr");
  EXPECT_EQ(push.destinations, Lines({"dr"}));
  EXPECT_EQ(push.semver, ">=1.20 <2");
  EXPECT_EQ(push.keep_latest, 3);
  EXPECT_TRUE(push.include_referrers);
  EXPECT_FALSE(push.adopt);
  EXPECT_EQ(push.resource, "");

  const Rule& pull = config.rules[1];
  EXPECT_EQ(pull.mode, "pull");
  EXPECT_EQ(pull.remote, "hub");
  EXPECT_EQ(pull.source, "hub");
  EXPECT_EQ(pull.destination, "harbor");
  EXPECT_EQ(pull.destinations, Lines({"harbor"}));
  EXPECT_EQ(pull.labels, Lines({"org.opencontainers.image.vendor=NGINX Inc", "signed"}));
  EXPECT_EQ(pull.exclude_labels, Lines({"deprecated"}));
  EXPECT_EQ(pull.resource, "image");
  EXPECT_FALSE(pull.include_referrers);
  EXPECT_TRUE(pull.adopt);
  EXPECT_EQ(pull.semver, "");
  EXPECT_EQ(pull.keep_latest, 0);

  const Rule& fan_out = config.rules[2];
  EXPECT_EQ(fan_out.mode, "");
  EXPECT_EQ(fan_out.source, "hub");
  EXPECT_EQ(fan_out.destinations, Lines({"dr", "harbor"}));
  EXPECT_EQ(fan_out.destination, "dr");
  EXPECT_EQ(fan_out.resource, "chart");
}

TEST_F(ConfigTest, HomeMustNameAnEndpoint) {
  const std::string rest = R"(
[endpoints.harbor]
url = "https://harbor.example.com"
[endpoints.hub]
url = "https://registry-1.docker.io"
[rules.r]
mode = "pull"
remote = "hub"
)";
  EXPECT_EQ(Problems("[settings]\nhome = \"harbr\"\n" + rest),
            Lines({"crossdock.toml:2:8: error: [settings] home names endpoint \"harbr\", which is "
                   "not defined (did you mean \"harbor\"?)"}));
  EXPECT_EQ(Problems("[settings]\nhome = \"\"\n" + rest),
            Lines({"crossdock.toml:2:8: error: \"home\" must not be empty"}));
  EXPECT_EQ(Problems("[settings]\nhome = 1\n" + rest),
            Lines({"crossdock.toml:2:8: error: \"home\" must be a string"}));
}

TEST_F(ConfigTest, ModeNeedsHome) {
  EXPECT_EQ(Problems(std::string(kEndpoints) + R"([rules.up]
mode = "push"
remote = "dst"
[rules.down]
mode = "pull"
remote = "dst"
enabled = false
)"),
            Lines({
                "crossdock.toml:7:8: error: mode = \"push\" needs [settings] home, the endpoint "
                "push and pull are relative to",
                "crossdock.toml:10:8: error: mode = \"pull\" needs [settings] home, the endpoint "
                "push and pull are relative to",
            }));
}

TEST_F(ConfigTest, ModeRulesNameOnlyTheirRemote) {
  EXPECT_EQ(
      Problems(R"([settings]
home = "src"
[endpoints.src]
url = "http://127.0.0.1:5001"
[endpoints.dst]
url = "http://127.0.0.1:5002"
[rules.a]
mode = "psuh"
remote = "dst"
[rules.b]
mode = "pull"
source = "dst"
destination = "src"
remote = "dst"
[rules.c]
mode = "push"
[rules.d]
mode = "push"
remote = "src"
[rules.e]
mode = "push"
remote = "dts"
[rules.f]
source = "dst"
destination = "src"
remote = "dst"
[rules.g]
mode = "pull"
remote = "dst"
destinations = ["src"]
)"),
      Lines({
          "crossdock.toml:8:8: error: unknown mode \"psuh\" (did you mean \"push\"?); use "
          "\"push\" or \"pull\"",
          "crossdock.toml:12:10: error: rule \"b\" sets both \"mode\" and \"source\"; with mode, "
          "[settings] home and remote name the endpoints",
          "crossdock.toml:13:15: error: rule \"b\" sets both \"mode\" and \"destination\"; with "
          "mode, [settings] home and remote name the endpoints",
          "crossdock.toml:15:1: error: rule \"c\" is missing required key \"remote\"",
          "crossdock.toml:19:10: error: rule \"d\" has remote = \"src\", which is [settings] "
          "home; remote must name the other endpoint",
          "crossdock.toml:22:10: error: rule \"e\" names endpoint \"dts\", which is not defined "
          "(did you mean \"dst\"?)",
          "crossdock.toml:26:10: error: rule \"f\" sets \"remote\" without \"mode\"; add mode = "
          "\"push\" or mode = \"pull\" (with [settings] home), or use source and destination",
          "crossdock.toml:30:16: error: rule \"g\" sets both \"mode\" and \"destinations\"; with "
          "mode, [settings] home and remote name the endpoints",
      }));
}

TEST_F(ConfigTest, DestinationsFanOut) {
  EXPECT_EQ(
      Problems(std::string(kEndpoints) + R"([rules.a]
source = "src"
destination = "dst"
destinations = ["dst"]
[rules.b]
source = "src"
destinations = ["dst", "drr", "dst", "src"]
[rules.c]
source = "src"
destinations = []
[rules.d]
source = "src"
destinations = ["dst", "src"]
dest_namespace = "copy"
[rules.e]
source = "src"
destinations = ["dst", 5]
)"),
      Lines({
          "crossdock.toml:9:16: error: rule \"a\" sets both \"destination\" and \"destinations\"; "
          "keep one of them",
          "crossdock.toml:12:24: error: rule \"b\" names endpoint \"drr\", which is not defined "
          "(did you mean \"dst\"?)",
          "crossdock.toml:12:31: error: rule \"b\" names endpoint \"dst\" twice in "
          "\"destinations\"",
          "crossdock.toml:12:38: error: rule \"b\" copies onto itself: source and destination are "
          "both endpoint \"src\" and dest_namespace is empty",
          "crossdock.toml:15:16: error: \"destinations\" in rule \"c\" must name at least one "
          "endpoint",
          "crossdock.toml:22:24: error: \"destinations\" in rule \"e\" must be a string or an "
          "array of strings",
      }));
}

TEST_F(ConfigTest, LabelKeysMustBeWords) {
  EXPECT_EQ(
      Problems(std::string(kEndpoints) + R"([rules.a]
source = "src"
destination = "dst"
labels = ["team=platform", "signed", "=x", "my key=v", "env=a b"]
exclude_labels = " =x"
)"),
      Lines({
          "crossdock.toml:9:38: error: label \"=x\" in \"labels\" of rule \"a\" has an empty key; "
          "use \"key\" or \"key=value\"",
          "crossdock.toml:9:44: error: label \"my key=v\" in \"labels\" of rule \"a\" has "
          "whitespace in its key; use \"key\" or \"key=value\"",
          "crossdock.toml:10:18: error: label \" =x\" in \"exclude_labels\" of rule \"a\" has "
          "whitespace in its key; use \"key\" or \"key=value\"",
      }));
}

TEST_F(ConfigTest, UnknownResource) {
  EXPECT_EQ(Problems(std::string(kEndpoints) + R"([rules.a]
source = "src"
destination = "dst"
resource = "imgae"
[rules.b]
source = "src"
destination = "dst"
resource = "helm"
[rules.c]
source = "src"
destination = "dst"
resource = "artifact"
)"),
            Lines({
                "crossdock.toml:9:12: error: unknown resource \"imgae\" (did you mean "
                "\"image\"?); use \"image\", \"chart\" or \"artifact\"",
                "crossdock.toml:13:12: error: unknown resource \"helm\"; use \"image\", "
                "\"chart\" or \"artifact\"",
            }));
}

TEST_F(ConfigTest, SemverAndKeepLatest) {
  const std::string bad_range = ">=1.x.y";
  auto parsed = VersionRange::Parse(bad_range);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(Problems(std::string(kEndpoints) + R"([rules.a]
source = "src"
destination = "dst"
semver = ">=1.x.y"
keep_latest = 0
[rules.b]
source = "src"
destination = "dst"
semver = ""
keep_latest = 3000000000
[rules.c]
source = "src"
destination = "dst"
semver = ">=1.20 <2"
keep_latest = "5"
)"),
            Lines({
                "crossdock.toml:9:10: error: invalid semver range in rule \"a\": " +
                    parsed.status().message(),
                "crossdock.toml:10:15: error: \"keep_latest\" in rule \"a\" must be at least 1; "
                "leave it out to keep every version",
                "crossdock.toml:14:10: error: \"semver\" in rule \"b\" must not be empty; leave "
                "it out to select every tag",
                "crossdock.toml:15:15: error: \"keep_latest\" in rule \"b\" is too large",
                "crossdock.toml:20:15: error: \"keep_latest\" in rule \"c\" must be an integer",
            }));
}

TEST_F(ConfigTest, ReferrersAndAdoptAreBooleans) {
  EXPECT_EQ(Problems(std::string(kEndpoints) + R"([rules.a]
source = "src"
destination = "dst"
include_referrers = "yes"
adopt = 1
)"),
            Lines({
                "crossdock.toml:9:21: error: \"include_referrers\" in rule \"a\" must be a boolean "
                "(true or false)",
                "crossdock.toml:10:9: error: \"adopt\" in rule \"a\" must be a boolean (true or "
                "false)",
            }));
}

TEST_F(ConfigTest, RulesInOppositeDirectionsWarnOfALoop) {
  EXPECT_EQ(Problems(std::string(kEndpoints) + R"([endpoints.dr]
url = "http://127.0.0.1:5003"
[rules.out]
source = "src"
destinations = ["dr", "dst"]
[rules.back]
source = "dst"
destination = "src"
[rules.again]
source = "src"
destination = "dst"
dest_namespace = "again"
[rules.off]
source = "dr"
destination = "src"
enabled = false
)"),
            Lines({
                "crossdock.toml:11:1: warning: rules \"out\" and \"back\" replicate in opposite "
                "directions between endpoints \"src\" and \"dst\"; where their repositories "
                "overlap, tags will bounce back and forth (a loop)",
                "crossdock.toml:14:1: warning: rules \"back\" and \"again\" replicate in opposite "
                "directions between endpoints \"dst\" and \"src\"; where their repositories "
                "overlap, tags will bounce back and forth (a loop)",
            }));
  // Harbor style: a push and a pull with the same remote.
  EXPECT_EQ(Problems("[settings]\nhome = \"src\"\n" + std::string(kEndpoints) + R"([rules.push]
mode = "push"
remote = "dst"
[rules.pull]
mode = "pull"
remote = "dst"
)"),
            Lines({"crossdock.toml:11:1: warning: rules \"push\" and \"pull\" replicate in "
                   "opposite directions between endpoints \"src\" and \"dst\"; where their "
                   "repositories overlap, tags will bounce back and forth (a loop)"}));
}

TEST_F(ConfigTest, FlattenDeeperThanANamedRepositoryIsAnError) {
  EXPECT_EQ(
      Problems(std::string(kEndpoints) + R"([rules.a]
source = "src"
destination = "dst"
repositories = ["library", "team/{app/api,web}"]
dest_namespace = "m"
flatten = 2
[rules.b]
source = "src"
destination = "dst"
repositories = ["library", "team/*"]
dest_namespace = "m"
flatten = 2
[rules.c]
source = "src"
destination = "dst"
repositories = "{library/nginx,c}"
exclude_repositories = "c"
dest_namespace = "m"
flatten = 1
[rules.d]
source = "src"
destination = "dst"
repositories = "{library/nginx,c}"
dest_namespace = "m"
flatten = "all"
)"),
      Lines({
          "crossdock.toml:9:17: warning: repositories = [\"library\"] selects only a repository "
          "named exactly \"library\" (did you mean \"library/**\"?)",
          "crossdock.toml:11:11: error: flatten = 2 cannot apply to repository \"library\" in "
          "rule \"a\": it has no path component before its name to drop",
          "crossdock.toml:11:11: error: flatten = 2 cannot apply to repository \"team/web\" in "
          "rule \"a\": it has only 1 path component before its name to drop",
          "crossdock.toml:15:17: warning: repositories = [\"library\"] selects only a repository "
          "named exactly \"library\" (did you mean \"library/**\"?)",
      }));
}

TEST_F(ConfigTest, NewKeysGetSuggestionsToo) {
  EXPECT_EQ(Problems(std::string("[settings]\nhom = \"src\"\n") + kEndpoints + R"([rules.a]
source = "src"
destinaton = "dst"
exclude_label = "x"
keep_last = 3
)"),
            Lines({
                "crossdock.toml:2:1: error: unknown key \"hom\" in [settings] (did you mean "
                "\"home\"?)",
                "crossdock.toml:8:1: error: rule \"a\" is missing required key \"destination\"",
                "crossdock.toml:10:1: error: unknown key \"destinaton\" in rule \"a\" (did you "
                "mean \"destination\"?)",
                "crossdock.toml:11:1: error: unknown key \"exclude_label\" in rule \"a\" (did you "
                "mean \"exclude_labels\"?)",
                "crossdock.toml:12:1: error: unknown key \"keep_last\" in rule \"a\" (did you mean "
                "\"keep_latest\"?)",
            }));
}

TEST_F(ConfigTest, CollectsEveryProblemInFileOrder) {
  const Lines problems = Problems(R"([settings]
parallelism = "many"

[endpoints.src]
url = "http://127.0.0.1:5001"

[rules.b]
source = "srcc"
destination = "dst"
overide = false

[rules.a]
source = "src"
destination = "src"
tags = ["v["]
)");
  EXPECT_EQ(
      problems,
      Lines({
          "crossdock.toml:2:15: error: \"parallelism\" must be an integer",
          "crossdock.toml:8:10: error: rule \"b\" names endpoint \"srcc\", which is not defined "
          "(did you mean \"src\"?)",
          "crossdock.toml:9:15: error: rule \"b\" names endpoint \"dst\", which is not defined",
          "crossdock.toml:10:1: error: unknown key \"overide\" in rule \"b\" (did you mean "
          "\"override\"?)",
          "crossdock.toml:14:15: error: rule \"a\" copies onto itself: source and destination are "
          "both endpoint \"src\" and dest_namespace is empty",
          "crossdock.toml:15:9: error: invalid pattern \"v[\" in \"tags\" of rule \"a\": unclosed "
          "'[' at offset 1",
      }));
}

TEST_F(ConfigTest, ErrorsAreErrorsAndWarningsAreNot) {
  Diagnostics diags;
  ParseConfig(kEndpoints, "crossdock.toml", &diags);
  EXPECT_FALSE(diags.has_errors());
  ParseConfig("[settings]\nparallelism = 0\n", "crossdock.toml", &diags);
  EXPECT_TRUE(diags.has_errors());
}

TEST_F(ConfigTest, MissingFileIsOneError) {
  Diagnostics diags;
  const std::string file = dir_ + "/absent.toml";
  LoadConfig(file, &diags);
  EXPECT_EQ(Format(diags),
            Lines({file + ": error: cannot read config: No such file or directory"}));
}

TEST_F(ConfigTest, DirectoryIsOneError) {
  Diagnostics diags;
  LoadConfig(dir_, &diags);
  EXPECT_EQ(Format(diags), Lines({dir_ + ": error: cannot read config: Is a directory"}));
}

TEST(ConfigDiagnosticTest, FormatsWithAndWithoutPosition) {
  EXPECT_EQ(FormatDiagnostic({Severity::kError, {"c.toml", 3, 7}, "bad"}),
            "c.toml:3:7: error: bad");
  EXPECT_EQ(FormatDiagnostic({Severity::kWarning, {"c.toml", 3, 7}, "meh"}),
            "c.toml:3:7: warning: meh");
  EXPECT_EQ(FormatDiagnostic({Severity::kError, {"c.toml", 0, 0}, "bad"}), "c.toml: error: bad");
  EXPECT_EQ(FormatDiagnostic({Severity::kError, {"c.toml", 3, 0}, "bad"}), "c.toml:3: error: bad");
}

class SecretTest : public ConfigTest {
 protected:
  void TearDown() override {
    unsetenv("CROSSDOCK_TEST_SECRET");
    ConfigTest::TearDown();
  }
};

TEST_F(SecretTest, EnvReadsTheVariable) {
  setenv("CROSSDOCK_TEST_SECRET", "s3cr3t-value", 1);
  auto secret = ResolveSecret({"env:CROSSDOCK_TEST_SECRET", {}});
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  EXPECT_EQ(*secret, "s3cr3t-value");
}

TEST_F(SecretTest, UnsetOrEmptyVariableNamesTheVariable) {
  unsetenv("CROSSDOCK_TEST_SECRET");
  auto unset = ResolveSecret({"env:CROSSDOCK_TEST_SECRET", {}});
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(unset.status().message(), "environment variable CROSSDOCK_TEST_SECRET is not set");

  setenv("CROSSDOCK_TEST_SECRET", "", 1);
  auto empty = ResolveSecret({"env:CROSSDOCK_TEST_SECRET", {}});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(empty.status().message(), "environment variable CROSSDOCK_TEST_SECRET is empty");

  auto nameless = ResolveSecret({"env:", {}});
  ASSERT_FALSE(nameless.ok());
  EXPECT_EQ(nameless.status().code(), Code::kInvalidArgument);
}

TEST_F(SecretTest, FileIsReadWithoutTrailingNewline) {
  const std::string path = WriteFile("pw", "s3cr3t-value\n");
  auto secret = ResolveSecret({"file:" + path, {}});
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  EXPECT_EQ(*secret, "s3cr3t-value");
  const std::string crlf = WriteFile("pw-crlf", "with space \r\n");
  EXPECT_EQ(ResolveSecret({"file:" + crlf, {}}).value(), "with space ");
}

TEST_F(SecretTest, UnreadableOrEmptyFileNamesTheFile) {
  auto missing = ResolveSecret({"file:" + dir_ + "/absent", {}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(missing.status().message(),
            "cannot read secret file " + dir_ + "/absent: No such file or directory");

  const std::string blank = WriteFile("blank", "\n");
  auto empty = ResolveSecret({"file:" + blank, {}});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "secret file " + blank + " is empty");
}

TEST_F(SecretTest, AnythingElseIsTheSecretItself) {
  EXPECT_EQ(ResolveSecret({"hunter2", {}}).value(), "hunter2");
  EXPECT_EQ(ResolveSecret({"", {}}).value(), "");
}

TEST_F(SecretTest, ErrorsNeverContainTheValue) {
  const std::string value = "s3cr3t-value";
  setenv("CROSSDOCK_TEST_SECRET", value.c_str(), 1);
  std::vector<Status> errors;
  errors.push_back(ResolveSecret({"file:" + dir_, {}}).status());  // opens, then fails to read
  errors.push_back(ResolveSecret({"env:CROSSDOCK_TEST_SECRE", {}}).status());
  errors.push_back(ResolveSecret({"file:" + WriteFile("blank", "\r\n"), {}}).status());
  for (const Status& status : errors) {
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.message().find(value), std::string::npos) << status.message();
  }
}

// Issue 10: validate accepted secrets that plan and apply could not resolve.
TEST_F(SecretTest, ValidateReportsSecretsThatWouldNotResolveAtTheirPositions) {
  const std::string value = "s3cr3t-value";
  const std::string shared = WriteFile("shared-pw", value + "\n");
  fs::permissions(shared, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read);
  const std::string own = WriteFile("own-pw", value + "\n");
  fs::permissions(own, fs::perms::owner_read | fs::perms::owner_write);
  const std::string blank = WriteFile("blank-pw", "\n");
  fs::permissions(blank, fs::perms::owner_read);
  setenv("CROSSDOCK_TEST_SECRET", value.c_str(), 1);
  const std::string file = dir_ + "/crossdock.toml";
  Diagnostics diags;
  Config config = ParseConfig(R"([settings.webhook]
token = "env:CROSSDOCK_TEST_UNSET"

[endpoints.a]
url = "http://127.0.0.1:5001"
username = "u"
password = "env:CROSSDOCK_TEST_UNSET"

[endpoints.b]
url = "http://127.0.0.1:5002"
username = "u"
password = "file:missing/pw"

[endpoints.c]
url = "http://127.0.0.1:5003"
username = "u"
password = "file:shared-pw"

[endpoints.d]
url = "http://127.0.0.1:5004"
username = "u"
password = "file:own-pw"

[endpoints.e]
url = "http://127.0.0.1:5005"
username = "u"
password = "env:CROSSDOCK_TEST_SECRET"

[endpoints.f]
url = "http://127.0.0.1:5006"
username = "u"
password = "file:blank-pw"
)",
                              file, &diags);
  ASSERT_FALSE(diags.has_errors()) << Format(diags)[0];
  diags = Diagnostics();
  CheckSecrets(config, &diags);
  EXPECT_EQ(Format(diags),
            (Lines{file + ":2:9: warning: [settings.webhook] token: environment variable "
                          "CROSSDOCK_TEST_UNSET is not set here; set it wherever plan, apply and "
                          "serve run",
                   file + ":7:12: warning: password of endpoint \"a\": environment variable "
                          "CROSSDOCK_TEST_UNSET is not set here; set it wherever plan, apply and "
                          "serve run",
                   file + ":12:12: error: password of endpoint \"b\": cannot read secret file " +
                       dir_ + "/missing/pw: No such file or directory; plan, apply and serve need "
                       "it: fix the path or the file",
                   file + ":17:12: warning: password of endpoint \"c\": secret file " + shared +
                       " is readable by group or others (mode 0644); make it readable by its "
                       "owner only (chmod 600)",
                   file + ":32:12: error: password of endpoint \"f\": secret file " + blank +
                       " is empty; plan, apply and serve need it: fix the path or the file"}));
  for (const Diagnostic& d : diags.items())
    EXPECT_EQ(d.message.find(value), std::string::npos) << d.message;

  setenv("CROSSDOCK_TEST_SECRET", "", 1);
  Diagnostics empty;
  CheckSecrets(config, &empty);
  EXPECT_EQ(empty.items().size(), 6u);
  EXPECT_NE(Format(empty)[4].find("environment variable CROSSDOCK_TEST_SECRET is empty here"),
            std::string::npos)
      << Format(empty)[4];
}

TEST_F(ConfigTest, RateLimitsRetriesAndTimeouts) {
  Diagnostics diags;
  Config c = ParseConfig(R"([endpoints.hub]
url = "https://registry-1.docker.io"
rate_limit = "600/m"
max_connections = 4

[endpoints.dst]
url = "http://127.0.0.1:5002"
rate_limit = "10/s"

[rules.r]
source = "hub"
destination = "dst"
retries = 5
timeout = "1h30m"

[rules.plain]
source = "hub"
destination = "dst"
)",
                         "crossdock.toml", &diags);
  ASSERT_FALSE(diags.has_errors()) << Format(diags)[0];
  EXPECT_EQ(c.endpoints.at("hub").rate_limit_per_second, 10.0);
  EXPECT_EQ(c.endpoints.at("hub").max_connections, 4);
  EXPECT_EQ(c.endpoints.at("dst").rate_limit_per_second, 10.0);
  EXPECT_EQ(c.endpoints.at("dst").max_connections, 0);
  EXPECT_EQ(c.rules[0].retries, 5);
  EXPECT_EQ(c.rules[0].timeout, std::chrono::minutes(90));
  EXPECT_EQ(c.rules[1].retries, 3);
  EXPECT_EQ(c.rules[1].timeout, std::chrono::milliseconds(0));
}

TEST_F(ConfigTest, BadRateLimitsRetriesAndTimeoutsAreExplained) {
  EXPECT_EQ(Problems(R"([endpoints.hub]
url = "http://127.0.0.1:5001"
rate_limit = "10/x"
max_connections = 0

[endpoints.dst]
url = "http://127.0.0.1:5002"
rate_limit = "0/s"
max_connections = 1000

[endpoints.big]
url = "http://127.0.0.1:5003"
rate_limit = "2000000/s"

[endpoints.num]
url = "http://127.0.0.1:5004"
rate_limit = 10
rate_limits = "10/s"

[rules.r]
source = "hub"
destination = "dst"
retries = 11
timeout = "30x"

[rules.q]
source = "hub"
destination = "dst"
retries = -1
timeout = "500ms"
retires = 2
)"),
            Lines({
                "crossdock.toml:3:14: error: rate_limit \"10/x\" of endpoint \"hub\": use "
                "REQUESTS/s or REQUESTS/m, e.g. \"10/s\"",
                "crossdock.toml:4:19: error: \"max_connections\" in endpoint \"hub\" must be "
                "between 1 and 256",
                "crossdock.toml:8:14: error: rate_limit \"0/s\" of endpoint \"dst\" allows no "
                "requests; use at least 1, or leave rate_limit out",
                "crossdock.toml:9:19: error: \"max_connections\" in endpoint \"dst\" must be "
                "between 1 and 256",
                "crossdock.toml:13:14: error: rate_limit \"2000000/s\" of endpoint \"big\" is "
                "more than 1000000 requests; leave rate_limit out for no limit",
                "crossdock.toml:17:14: error: \"rate_limit\" in endpoint \"num\" must be a string",
                "crossdock.toml:18:1: error: unknown key \"rate_limits\" in endpoint \"num\" (did "
                "you mean \"rate_limit\"?)",
                "crossdock.toml:23:11: error: \"retries\" in rule \"r\" must be between 0 and 10",
                "crossdock.toml:24:11: error: timeout \"30x\" in rule \"r\": use a duration such "
                "as \"90s\", \"30m\" or \"1h30m\"",
                "crossdock.toml:29:11: error: \"retries\" in rule \"q\" must be between 0 and 10",
                "crossdock.toml:30:11: error: timeout \"500ms\" in rule \"q\" must be at least 1s; "
                "leave it out for no limit",
                "crossdock.toml:31:1: error: unknown key \"retires\" in rule \"q\" (did you mean "
                "\"retries\"?)",
            }));
}

TEST_F(ConfigTest, TriggersParseAndValidateSchedulesAndZones) {
  Diagnostics diags;
  Config c = ParseConfig(std::string(kEndpoints) +
                             "[rules.nightly]\nsource = \"src\"\ndestination = \"dst\"\n"
                             "schedule = \"0 0 3 * * *\"\ntimezone = \"Europe/Berlin\"\nevents = true\n",
                         "crossdock.toml", &diags);
  ASSERT_FALSE(diags.has_errors()) << Format(diags)[0];
  EXPECT_TRUE(diags.items().empty()) << Format(diags)[0];
  EXPECT_EQ(c.rules[0].schedule, "0 0 3 * * *");
  EXPECT_EQ(c.rules[0].timezone, "Europe/Berlin");
  EXPECT_TRUE(c.rules[0].events);

  EXPECT_EQ(Problems(std::string(kEndpoints) +
                     "[rules.bad]\nsource = \"src\"\ndestination = \"dst\"\n"
                     "schedule = \"0 61 * * * *\"\ntimezone = \"Europe/Berln\"\n"),
            (Lines{"crossdock.toml:9:12: error: invalid schedule in rule \"bad\": cron \"0 61 * * * *\": "
                   "minute 61 is out of range (0-59)",
                   "crossdock.toml:10:12: error: unknown time zone \"Europe/Berln\" in rule \"bad\"; "
                   "use an IANA name such as \"Europe/Berlin\""}));
  EXPECT_EQ(Problems(std::string(kEndpoints) +
                     "[rules.z]\nsource = \"src\"\ndestination = \"dst\"\ntimezone = \"UTC\"\n"),
            (Lines{"crossdock.toml:9:12: warning: \"timezone\" has no effect in rule \"z\" without "
                   "\"schedule\""}));
}

}  // namespace
}  // namespace crossdock::core
