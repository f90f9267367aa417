#include <gtest/gtest.h>

#include "planner/render.h"

namespace crossdock::planner {
namespace {

const std::string kA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string kB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

Change MakeChange(Action a, const std::string& tag) {
  Change c;
  c.rule = "mirror";
  c.action = a;
  c.source_endpoint = "src";
  c.source_repository = "lib/app";
  c.source_digest = a == Action::kDelete ? "" : kA;
  c.destination_endpoint = "dst";
  c.destination_host = "127.0.0.1:5002";
  c.destination_repository = "mirror/app";
  c.tag = tag;
  if (a != Action::kCreate) c.destination_digest = kB;
  if (a == Action::kSkip) c.reason = "the destination holds another digest and override = false";
  if (a == Action::kDelete) c.reason = "gone from the source or no longer selected";
  return c;
}

Plan Sample() {
  Plan p;
  p.changes = {MakeChange(Action::kCreate, "v1"), MakeChange(Action::kUpdate, "v2"),
               MakeChange(Action::kDelete, "v0"), MakeChange(Action::kSkip, "v3")};
  p.errors = {{"mirror", "lib/broken", "repository \"lib/broken\" does not exist"}};
  return p;
}

TEST(RenderTextTest, PlanIsGroupedByRuleWithSymbolsAndSummary) {
  EXPECT_EQ(RenderPlanText(Sample(), false),
            "crossdock will perform the following actions:\n"
            "\n"
            "  # rule \"mirror\" (src -> dst)\n"
            "  + 127.0.0.1:5002/mirror/app:v1  sha256:aaaaaaaaaaaa\n"
            "      from lib/app:v1\n"
            "  ~ 127.0.0.1:5002/mirror/app:v2  sha256:bbbbbbbbbbbb -> sha256:aaaaaaaaaaaa\n"
            "      from lib/app:v2\n"
            "  - 127.0.0.1:5002/mirror/app:v0  sha256:bbbbbbbbbbbb\n"
            "      gone from the source or no longer selected\n"
            "  ! 127.0.0.1:5002/mirror/app:v3  sha256:bbbbbbbbbbbb\n"
            "      skipped: the destination holds another digest and override = false\n"
            "\n"
            "Errors:\n"
            "  rule \"mirror\", repository \"lib/broken\": repository \"lib/broken\" does not exist\n"
            "\n"
            "Plan: 1 to copy, 1 to replace, 1 to delete. 1 skipped. The plan is incomplete: 1 error above.\n");
}

TEST(RenderTextTest, EmptyPlanSaysNoChanges) {
  EXPECT_EQ(RenderPlanText(Plan{}, false), "No changes. Destinations match the desired state.\n");
}

TEST(RenderTextTest, APlanWithErrorsNeverSaysTheDestinationsMatch) {
  Plan p;
  p.errors.push_back({"mirror", "", "cannot reach endpoint \"src\": connection refused"});
  EXPECT_EQ(SummaryLine(p),
            "No changes found where crossdock could look. The plan is incomplete: 1 error above.");
  p.errors.push_back({"mirror", "lib/app", "HTTP 500"});
  p.refresh_only = true;
  EXPECT_EQ(SummaryLine(p),
            "No differences found where crossdock could look. The plan is incomplete: 2 errors "
            "above.");
  p.refresh_only = false;
  planner::Change c;
  c.action = Action::kCreate;
  p.changes.push_back(c);
  EXPECT_EQ(SummaryLine(p),
            "Plan: 1 to copy, 0 to replace, 0 to delete. The plan is incomplete: 2 errors above.");
}

TEST(RenderTextTest, ColourWrapsSymbols) {
  Plan p;
  p.changes = {MakeChange(Action::kCreate, "v1")};
  EXPECT_NE(RenderPlanText(p, true).find("\033[32m+\033[0m"), std::string::npos);
}

TEST(RenderTextTest, NamespaceToCreateComesBeforeTheFirstTagNeedingIt) {
  Plan p;
  p.changes = {MakeChange(Action::kCreate, "v1"), MakeChange(Action::kCreate, "v2")};
  p.namespaces = {{"dst", "mirror", "mirror", {"mirror/app"}}};
  EXPECT_EQ(RenderPlanText(p, false),
            "crossdock will perform the following actions:\n"
            "\n"
            "  # rule \"mirror\" (src -> dst)\n"
            "  + namespace dst/mirror\n"
            "  + 127.0.0.1:5002/mirror/app:v1  sha256:aaaaaaaaaaaa\n"
            "      from lib/app:v1\n"
            "  + 127.0.0.1:5002/mirror/app:v2  sha256:aaaaaaaaaaaa\n"
            "      from lib/app:v2\n"
            "\n"
            "Plan: 2 to copy, 0 to replace, 0 to delete. 1 namespace to create.\n");
  EXPECT_NE(RenderPlanJson(p).find(
                "\"namespaces\":[{\"endpoint\":\"dst\",\"namespace\":\"mirror\",\"rule\":\"mirror\"}]"),
            std::string::npos)
      << RenderPlanJson(p);
}

TEST(RenderJsonTest, SchemaIsStable) {
  Plan p = Sample();
  p.changes.resize(2);
  EXPECT_EQ(RenderPlanJson(p),
            "{\"format_version\":\"1\",\"changes\":["
            "{\"rule\":\"mirror\",\"action\":\"create\",\"source_endpoint\":\"src\","
            "\"source_repository\":\"lib/app\",\"destination_endpoint\":\"dst\","
            "\"destination_repository\":\"mirror/app\",\"tag\":\"v1\",\"source_digest\":\"" + kA +
            "\",\"destination_digest\":null,\"reason\":null},"
            "{\"rule\":\"mirror\",\"action\":\"update\",\"source_endpoint\":\"src\","
            "\"source_repository\":\"lib/app\",\"destination_endpoint\":\"dst\","
            "\"destination_repository\":\"mirror/app\",\"tag\":\"v2\",\"source_digest\":\"" + kA +
            "\",\"destination_digest\":\"" + kB + "\",\"reason\":null}],"
            "\"namespaces\":[],"
            "\"errors\":[{\"rule\":\"mirror\",\"source_repository\":\"lib/broken\","
            "\"message\":\"repository \\\"lib/broken\\\" does not exist\"}],"
            "\"warnings\":[],\"summary\":{\"create\":1,\"update\":1,\"delete\":0,\"skip\":0}}");
}

// A shard's plan (--shard I/N) says so in its summary and its JSON; a plan without
// one keeps both as they were.
TEST(RenderShardTest, AShardsPlanNamesItsShard) {
  Plan p;
  p.changes = {MakeChange(Action::kCreate, "v1")};
  p.shard = core::Shard{1, 3};
  EXPECT_EQ(SummaryLine(p), "Shard 1/3: Plan: 1 to copy, 0 to replace, 0 to delete.");
  const std::string text = RenderPlanText(p, false);
  EXPECT_EQ(text.substr(text.rfind("\n", text.size() - 2) + 1),
            "Shard 1/3: Plan: 1 to copy, 0 to replace, 0 to delete.\n");
  EXPECT_EQ(RenderPlanJson(p).rfind("{\"format_version\":\"1\",\"shard\":{\"index\":1,\"count\":3},"
                                    "\"changes\":[", 0),
            0u)
      << RenderPlanJson(p);
  p.changes.clear();
  EXPECT_EQ(RenderPlanText(p, false),
            "Shard 1/3: No changes. Destinations match the desired state.\n");
  p.shard.reset();
  EXPECT_EQ(RenderPlanJson(p).find("shard"), std::string::npos);
}

}  // namespace
}  // namespace crossdock::planner
