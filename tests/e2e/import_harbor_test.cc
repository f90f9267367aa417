// End to end: `crossdock import harbor` against tests/fakes/harbor serving a replication
// setup (GET /api/v2.0/registries and /replication/policies, admin only) in front of a
// real docker-registry, with a second plain registry as Harbor's registered remote. The
// imported file must pass `crossdock validate`, and `crossdock plan --json` on it must
// copy exactly the repositories and tags seeded with skopeo that the policies select;
// an apply of it is checked at the registries themselves.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <tuple>

#include "tests/e2e/vendor_e2e.h"
#include "tests/support/harness.h"
#include "tests/support/vendor_fakes.h"

namespace crossdock::testing {
namespace {

using nlohmann::json;

HarborFake::Options SetupServingHarbor(const TempDir& dir) {
  HarborFake::Options o;
  o.users = {{"admin", "Harbor12345"}, {"dev", "dev-pw"}};
  o.projects = {"library:public", "apps"};
  o.registries_file = dir.Sub("harbor-registries.json");
  o.policies_file = dir.Sub("harbor-policies.json");
  o.page_cap = 2;  // the import reads the policies in two pages, as Harbor pages them
  return o;
}

// The local Harbor in a policy, as Harbor's API shows it (src/pkg/reg/manager.go).
const json kLocal = {{"id", 0},
                     {"name", "Local"},
                     {"type", "harbor"},
                     {"url", "http://core:8080"},
                     {"insecure", true},
                     {"status", "healthy"},
                     {"credential", {{"type", "secret"}, {"access_secret", "*****"}}}};

class ImportHarborTest : public VendorE2eTest {
 protected:
  ImportHarborTest() : harbor_(behind_, SetupServingHarbor(dir_)) {}

  // The remote registry Harbor knows as id 1, "dr" (anonymous, as plain_ is).
  json Registries() const {
    return json::array({{{"id", 1},
                         {"name", "dr"},
                         {"type", "docker-registry"},
                         {"url", plain_.url()},
                         {"description", "the DR site"},
                         {"insecure", false},
                         {"status", "healthy"},
                         {"credential", {{"type", "basic"}, {"access_key", ""}, {"access_secret", ""}}},
                         {"creation_time", "2024-05-01T08:00:00.000Z"},
                         {"update_time", "2024-05-01T08:00:00.000Z"}}});
  }
  json Remote() const { return Registries()[0]; }
  // One policy as GET /api/v2.0/replication/policies lists it.
  json Policy(int id, const std::string& name, bool push, json filters, const std::string& ns,
              int count, json trigger, bool enabled = true) const {
    return {{"id", id},
            {"name", name},
            {"description", ""},
            {"src_registry", push ? kLocal : Remote()},
            {"dest_registry", push ? Remote() : kLocal},
            {"dest_namespace", ns},
            {"dest_namespace_replace_count", count},
            {"filters", filters},
            {"trigger", trigger},
            {"deletion", false},
            {"replicate_deletion", false},
            {"override", true},
            {"enabled", enabled},
            {"speed", -1},
            {"copy_by_chunk", false},
            {"single_active_replication", false},
            {"creation_time", "2024-05-01T08:00:00.000Z"},
            {"update_time", "2024-05-01T08:00:00.000Z"}};
  }
  // Push and pull, name, tag (matches and excludes) and label filters, flattening, each
  // trigger, one policy disabled.
  json Policies() const {
    const json manual = {{"type", "manual"}, {"trigger_settings", {{"cron", ""}}}};
    return json::array(
        {Policy(1, "release to dr", true,
                {{{"type", "name"}, {"value", "apps/**"}},
                 {{"type", "tag"}, {"value", "v*"}, {"decoration", "matches"}},
                 {{"type", "tag"}, {"value", "*-rc*"}, {"decoration", "excludes"}}},
                "dr", 1, manual),
         Policy(2, "pull redis", false,
                {{{"type", "name"}, {"value", "upstream/redis"}}, {{"type", "tag"}, {"value", "7.*"}}},
                "mirror", -1,
                {{"type", "scheduled"}, {"trigger_settings", {{"cron", "0 0 3 * * *"}}}}),
         Policy(3, "released library", true,
                {{{"type", "name"}, {"value", "library/**"}},
                 {{"type", "label"}, {"value", {"release"}}, {"decoration", "matches"}}},
                "", -1, {{"type", "event_based"}, {"trigger_settings", nullptr}}),
         Policy(4, "everything else", false, {{{"type", "name"}, {"value", "other/**"}}}, "", -1,
                manual, false)});
  }
  void ServeSetup(const json& registries, const json& policies) {
    WriteFile(harbor_.options().registries_file, registries.dump(2));
    WriteFile(harbor_.options().policies_file, policies.dump(2));
  }
  // crossdock ARGS run in dir_ with HOME there, and ENV.
  RunResult Run(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    env["HOME"] = dir_.path();
    return RunCrossdock(args, env, dir_.path());
  }
  RunResult Import(std::vector<std::string> extra, const std::string& password = "Harbor12345",
                   const std::string& user = "admin") {
    std::vector<std::string> args = {"import", "harbor", "--url", harbor_.url(), "--username",
                                     user, "--password", "env:HARBOR_PASSWORD"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args, {{"HARBOR_PASSWORD", password}});
  }
  // crossdock COMMAND on the imported FILE, with Harbor's password where it asks for it.
  RunResult OnImported(std::vector<std::string> command, const std::string& file) {
    command.insert(command.end(), {"-c", file, "--no-color"});
    return Run(command, {{"CROSSDOCK_HARBOR_PASSWORD", "Harbor12345"}});
  }

  HarborFake harbor_;
};

TEST_F(ImportHarborTest, ImportedPoliciesPlanExactlyWhatTheySelect) {
  // Harbor's own projects (the push policies' source).
  const BuiltImage api1 = Seed(harbor_, "apps/api", "v1.0", 1);
  const BuiltImage api11 = Seed(harbor_, "apps/api", "v1.1", 2);
  Seed(harbor_, "apps/api", "v2.0-rc1", 3);   // excluded tag
  Seed(harbor_, "apps/api", "latest", 4);     // not v*
  const BuiltImage web = Seed(harbor_, "apps/web", "v1.0", 5);
  const BuiltImage cli = Seed(harbor_, "apps/tools/cli", "v3", 6);
  const BuiltImage nginx = Seed(harbor_, "library/nginx", "1.25", 7);
  Seed(harbor_, "library/alpine", "3.19", 8);  // no label
  harbor_.AddLabel("library", "nginx", "1.25", "release");
  // The registered remote (the pull policies' source).
  const BuiltImage redis70 = Seed(plain_, "upstream/redis", "7.0", 9);
  const BuiltImage redis72 = Seed(plain_, "upstream/redis", "7.2", 10);
  Seed(plain_, "upstream/redis", "6.2", 11);    // not 7.*
  Seed(plain_, "upstream/busybox", "1.36", 12);  // another name
  Seed(plain_, "other/thing", "1", 13);          // its policy is disabled
  ServeSetup(Registries(), Policies());

  RunResult imported = Import({"--out", "imported.toml"});
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  EXPECT_EQ(imported.out,
            "Wrote imported.toml: 2 endpoints and 4 rules (2 notes to read).\n"
            "Next: set CROSSDOCK_HARBOR_PASSWORD; crossdock validate -c imported.toml, then "
            "crossdock plan -c imported.toml.\n");
  // Nothing without an equivalent here; what validate will say about the rules is noted:
  // pull-redis copies from dr to harbor, the two push rules the other way.
  EXPECT_EQ(imported.err,
            "Warning: rule \"pull-redis\" (Harbor replication policy 2): crossdock validate warns: "
            "rules \"release-to-dr\" and \"pull-redis\" replicate in opposite directions between "
            "endpoints \"harbor\" and \"dr\"; where their repositories overlap, tags will bounce "
            "back and forth (a loop)\n"
            "Warning: rule \"released-library\" (Harbor replication policy 3): crossdock validate "
            "warns: rules \"pull-redis\" and \"released-library\" replicate in opposite directions "
            "between endpoints \"dr\" and \"harbor\"; where their repositories overlap, tags will "
            "bounce back and forth (a loop)\n");
  const std::string toml = ReadFile(dir_.Sub("imported.toml"));
  EXPECT_TRUE(toml.starts_with("# Imported from Harbor at " + harbor_.url() + " by `crossdock"))
      << toml;
  EXPECT_EQ(toml.find("Harbor12345"), std::string::npos);

  RunResult validate = OnImported({"validate"}, "imported.toml");
  EXPECT_EQ(validate.exit_code, 0) << validate.out << validate.err;
  EXPECT_EQ(validate.out, "The configuration is valid: 2 endpoints, 4 rules.\n");
  EXPECT_NE(validate.err.find("warning: rules \"release-to-dr\" and \"pull-redis\" replicate in "
                              "opposite directions"),
            std::string::npos)
      << validate.err;
  EXPECT_EQ(validate.err.find("error"), std::string::npos) << validate.err;

  RunResult plan = OnImported({"plan", "--json"}, "imported.toml");
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  const json j = json::parse(plan.out);
  // rule, destination endpoint, destination repository, tag -> source digest
  std::map<std::tuple<std::string, std::string, std::string, std::string>, std::string> copies;
  for (const json& c : j.at("changes")) {
    EXPECT_EQ(c.at("action"), "create") << c.dump();
    copies[{c.at("rule"), c.at("destination_endpoint"), c.at("destination_repository"), c.at("tag")}] =
        c.at("source_digest");
  }
  const std::map<std::tuple<std::string, std::string, std::string, std::string>, std::string> expected = {
      {{"release-to-dr", "dr", "dr/api", "v1.0"}, api1.digest},
      {{"release-to-dr", "dr", "dr/api", "v1.1"}, api11.digest},
      {{"release-to-dr", "dr", "dr/web", "v1.0"}, web.digest},
      {{"release-to-dr", "dr", "dr/tools/cli", "v3"}, cli.digest},
      {{"pull-redis", "harbor", "mirror/redis", "7.0"}, redis70.digest},
      {{"pull-redis", "harbor", "mirror/redis", "7.2"}, redis72.digest},
      {{"released-library", "dr", "library/nginx", "1.25"}, nginx.digest}};
  EXPECT_EQ(copies, expected) << plan.out;
  EXPECT_EQ(j.at("namespaces"),
            json::parse(R"([{"endpoint":"harbor","namespace":"mirror","rule":"pull-redis"}])"));
  EXPECT_EQ(j.at("disabled_rules"), json::array({"everything-else"})) << plan.out;

  // What crossdock rules says of the triggers.
  RunResult rules = OnImported({"rules", "--json"}, "imported.toml");
  ASSERT_EQ(rules.exit_code, 0) << rules.err;
  EXPECT_NE(rules.out.find("0 0 3 * * *"), std::string::npos) << rules.out;

  RunResult apply = OnImported({"apply", "--auto-approve"}, "imported.toml");
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(plain_, "dr/api", "v1.0"), api1.digest);
  EXPECT_EQ(HeadDigest(plain_, "dr/tools/cli", "v3"), cli.digest);
  EXPECT_EQ(HeadDigest(plain_, "library/nginx", "1.25"), nginx.digest);
  EXPECT_EQ(ListTags(plain_, "library/alpine"), std::vector<std::string>{});
  EXPECT_EQ(ListTags(plain_, "dr/api"), (std::vector<std::string>{"v1.0", "v1.1"}));
  EXPECT_EQ(HeadDigest(behind_, "mirror/redis", "7.2"), redis72.digest);
  EXPECT_EQ(ListTags(behind_, "mirror/redis"), (std::vector<std::string>{"7.0", "7.2"}));
  EXPECT_EQ(ListTags(behind_, "mirror/thing"), std::vector<std::string>{});
}

TEST_F(ImportHarborTest, FromFileWritesWhatTheApiImportWrites) {
  ServeSetup(Registries(), Policies());
  WriteFile(dir_.Sub("policies.json"), Policies().dump(2));
  WriteFile(dir_.Sub("registries.json"), Registries().dump(2));
  RunResult live = Import({"--out", "live.toml"});
  ASSERT_EQ(live.exit_code, 0) << live.err;
  RunResult offline = Run({"import", "harbor", "--from-file", "policies.json", "registries.json",
                           "--url", harbor_.url(), "--username", "admin", "--out", "offline.toml"});
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  // Past the header (origin and time), the two are the same.
  auto body = [](const std::string& text) { return text.substr(text.find("\n[settings]")); };
  EXPECT_EQ(body(ReadFile(dir_.Sub("offline.toml"))), body(ReadFile(dir_.Sub("live.toml"))));
  EXPECT_TRUE(ReadFile(dir_.Sub("offline.toml"))
                  .starts_with("# Imported from Harbor's replication policies in policies.json and "
                               "registries in\n#   registries.json by `crossdock import harbor` on "))
      << ReadFile(dir_.Sub("offline.toml"));
  // Printed on stdout without --out.
  RunResult printed = Run({"import", "harbor", "--from-file", "policies.json", "registries.json",
                           "--url", harbor_.url(), "--username", "admin"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_EQ(body(printed.out), body(ReadFile(dir_.Sub("live.toml"))));
  // An existing file is not replaced without --force.
  RunResult again = Import({"--out", "live.toml"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "Error: live.toml exists already: choose another --out, or add --force to "
                       "replace it\n");
  EXPECT_EQ(Import({"--out", "live.toml", "--force"}).exit_code, 0);
}

TEST_F(ImportHarborTest, WhatHasNoEquivalentIsANoteAndAWarning) {
  json policies = Policies();
  policies[0]["speed"] = 2048;
  policies[0]["dest_namespace_replace_count"] = 4;
  ServeSetup(Registries(), policies);
  RunResult imported = Import({"--out", "imported.toml"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(imported.err,
            "Warning: rule \"release-to-dr\" (Harbor replication policy 1): Harbor's "
            "dest_namespace_replace_count 4 has no equivalent: crossdock's flatten goes from -1 "
            "to 3; the rule is disabled until you have looked at it\n"
            "Warning: rule \"release-to-dr\" (Harbor replication policy 1): Harbor limits this "
            "policy's bandwidth (speed = 2048 per task); crossdock has no bandwidth limit (an "
            "endpoint's rate_limit and max_connections limit its requests)\n"
            "Warning: rule \"released-library\" (Harbor replication policy 3): crossdock validate "
            "warns: rules \"pull-redis\" and \"released-library\" replicate in opposite directions "
            "between endpoints \"dr\" and \"harbor\"; where their repositories overlap, tags will "
            "bounce back and forth (a loop)\n");
  const std::string toml = ReadFile(dir_.Sub("imported.toml"));
  EXPECT_NE(toml.find("# Harbor limits this policy's bandwidth (speed = 2048 per task);"),
            std::string::npos)
      << toml;
  RunResult validate = OnImported({"validate"}, "imported.toml");
  EXPECT_EQ(validate.exit_code, 0) << validate.err;
}

TEST_F(ImportHarborTest, RefusalsAndBadInputFailWithOneClearMessage) {
  ServeSetup(Registries(), Policies());
  RunResult wrong = Import({}, "not-the-password");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_EQ(wrong.err, "Error: Harbor at " + harbor_.url() +
                           " refused the credentials of user \"admin\" (GET /api/v2.0/registries: "
                           "HTTP 401 UNAUTHORIZED: unauthorized): check --username and --password\n");
  EXPECT_EQ(wrong.out, "");
  RunResult developer = Import({}, "dev-pw", "dev");
  EXPECT_EQ(developer.exit_code, 1);
  EXPECT_EQ(developer.err, "Error: user \"dev\" may not read Harbor's replication setup at " +
                               harbor_.url() +
                               " (GET /api/v2.0/registries: HTTP 403 FORBIDDEN: dev): importing "
                               "it needs a Harbor system administrator\n");
  const int closed = FreePort();
  RunResult unreachable = Run({"import", "harbor", "--url", "http://127.0.0.1:" + std::to_string(closed),
                               "--username", "admin", "--password", "env:HARBOR_PASSWORD"},
                              {{"HARBOR_PASSWORD", "Harbor12345"}});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_TRUE(unreachable.err.starts_with("Error: cannot reach Harbor at http://127.0.0.1:" +
                                          std::to_string(closed) + " (GET /api/v2.0/registries): "))
      << unreachable.err;
  EXPECT_EQ(unreachable.err.find("Harbor12345"), std::string::npos);

  RunResult with_secret = Run({"import", "harbor", "--url", "https://admin:s3cret@127.0.0.1:1",
                               "--username", "admin", "--password", "env:HARBOR_PASSWORD"});
  EXPECT_EQ(with_secret.exit_code, 1);
  EXPECT_EQ(with_secret.err,
            "Error: --url must not contain credentials; use --username and --password\n");

  WriteFile(dir_.Sub("broken.json"), "[\n  {\"id\": 1,\n   \"name\": \"x\",}\n]\n");
  WriteFile(dir_.Sub("registries.json"), Registries().dump());
  RunResult broken = Run({"import", "harbor", "--from-file", "broken.json", "registries.json"});
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_EQ(broken.err,
            "Error: broken.json:3:16: not JSON (expected the body of GET /api/v2.0/replication/policies)\n");
  WriteFile(dir_.Sub("policies.json"), Policies().dump());
  RunResult swapped = Run({"import", "harbor", "--from-file", "registries.json", "policies.json"});
  EXPECT_EQ(swapped.exit_code, 1);
  EXPECT_EQ(swapped.err, "Error: registries.json holds registries, not replication policies: give "
                         "--from-file POLICIES REGISTRIES in that order\n");

  json dangling = Policies();
  dangling[1]["src_registry"] = {{"id", 9}, {"name", "gone"}};
  WriteFile(dir_.Sub("dangling.json"), dangling.dump());
  RunResult unknown = Run({"import", "harbor", "--from-file", "dangling.json", "registries.json",
                           "--url", harbor_.url()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err,
            "Error: replication policy \"pull redis\" (id 2) names registry id 9 (\"gone\") as its "
            "source, which is not among Harbor's 1 registries: export both lists from the same "
            "Harbor\n");
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("crossdock.toml")));
}

// The fake itself, read with curl: Harbor's paging, and RequireSystemAccess.
TEST_F(ImportHarborTest, TheFakeServesTheSetupToTheSystemAdminOnly) {
  ServeSetup(Registries(), Policies());
  const HttpAnswer page1 = CurlRequest(harbor_, "GET", "/api/v2.0/replication/policies", {}, {}, "admin:Harbor12345");
  EXPECT_EQ(page1.status, 200);
  EXPECT_EQ(json::parse(page1.body), json::array({Policies()[0], Policies()[1]}));
  EXPECT_EQ(page1.headers.at("x-total-count"), "4");
  EXPECT_EQ(page1.headers.at("link"), "</api/v2.0/replication/policies?page=2&page_size=2>; rel=\"next\"");
  const HttpAnswer page2 = CurlRequest(harbor_, "GET", "/api/v2.0/replication/policies?page=2&page_size=2", {},
                                       {}, "admin:Harbor12345");
  EXPECT_EQ(json::parse(page2.body), json::array({Policies()[2], Policies()[3]}));
  EXPECT_EQ(json::parse(CurlRequest(harbor_, "GET", "/api/v2.0/registries", {}, {}, "admin:Harbor12345").body),
            Registries());
  const HttpAnswer anonymous = CurlRequest(harbor_, "GET", "/api/v2.0/registries", {}, {}, "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(json::parse(anonymous.body),
            json::parse(R"({"errors":[{"code":"UNAUTHORIZED","message":"unauthorized"}]})"));
  const HttpAnswer developer = CurlRequest(harbor_, "GET", "/api/v2.0/replication/policies", {}, {}, "dev:dev-pw");
  EXPECT_EQ(developer.status, 403);
  EXPECT_EQ(json::parse(developer.body), json::parse(R"({"errors":[{"code":"FORBIDDEN","message":"dev"}]})"));
  EXPECT_EQ(CurlRequest(harbor_, "GET", "/api/v2.0/registries", {}, {}, "admin:wrong").status, 401)
      << "wrong credentials make the caller anonymous";
}

TEST_F(ImportHarborTest, Harbor1xOrNoHarborAtAllIs404) {
  Registry upstream;
  HarborFake::Options o;
  o.v1 = true;
  HarborFake old(upstream, o);
  RunResult r = Run({"import", "harbor", "--url", old.url(), "--username", "admin", "--password",
                     "env:HARBOR_PASSWORD"},
                    {{"HARBOR_PASSWORD", "Harbor12345"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: no Harbor 2.x API at " + old.url() +
                       " (GET /api/v2.0/registries: HTTP 404 NOT_FOUND: path "
                       "/api/v2.0/registries was not found): give Harbor's "
                       "own address as --url; Harbor 1.x is not supported\n");
}

TEST_F(ImportHarborTest, HelpDescribesEveryFlag) {
  RunResult help = Run({"import", "harbor", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag : {"--url URL", "--username USER", "--password SECRET", "--ca-cert FILE",
                           "--insecure", "--from-file POLICIES REGISTRIES", "--out FILE", "--force"})
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag << "\n" << help.out;
  RunResult other = Run({"import", "quay"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_TRUE(other.err.starts_with("Error: expected `crossdock import harbor`")) << other.err;
}

}  // namespace
}  // namespace crossdock::testing
