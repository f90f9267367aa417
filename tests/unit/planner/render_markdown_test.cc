// RenderPlanMarkdown (issue 14, work in progress): the comment's contract.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "planner/render.h"

namespace crossdock::planner {
namespace {

Change MakeChange(Action a, const std::string& rule, const std::string& repo, const std::string& tag) {
  Change c;
  c.rule = rule;
  c.action = a;
  c.source_endpoint = "hub";
  c.source_repository = repo;
  c.source_digest = "sha256:" + std::string(64, 'a');
  c.destination_endpoint = "dr";
  c.destination_host = "dr.example";
  c.destination_repository = repo;
  c.tag = tag;
  if (a != Action::kCreate) c.destination_digest = "sha256:" + std::string(64, 'b');
  if (a == Action::kDelete) c.reason = "gone from the source or no longer selected";
  return c;
}

TEST(RenderMarkdownTest, NoChangesIsTheMarkerAndOneLine) {
  Plan plan;
  EXPECT_EQ(RenderPlanMarkdown(plan, "crossdock.toml"),
            "<!-- crossdock-plan: crossdock.toml -->\n"
            "No changes. Destinations match the desired state.\n");
}

TEST(RenderMarkdownTest, DeletionsAreAWarningAndNamesAreInert) {
  Plan plan;
  plan.rules = {"mirror"};
  plan.changes = {MakeChange(Action::kCreate, "mirror", "lib/app", "v1"),
                  MakeChange(Action::kDelete, "mirror", "lib/app", "old"),
                  MakeChange(Action::kCreate, "mirror", "lib/app", "<script>")};
  plan.errors = {{"mirror", "lib/x", "HTTP 500 | <b>bold</b>"}};
  const std::string md = RenderPlanMarkdown(plan, "crossdock.toml");
  EXPECT_EQ(md.rfind("<!-- crossdock-plan: crossdock.toml -->\n", 0), 0u) << md;
  EXPECT_NE(md.find("> [!WARNING]\n> This plan deletes 1 tag: 1 from `dr`."), std::string::npos) << md;
  EXPECT_NE(md.find("<details><summary>rule <code>mirror</code> (hub -&gt; dr): 2 to copy, 1 to delete</summary>"),
            std::string::npos) << md;
  EXPECT_NE(md.find("`&lt;script&gt;`"), std::string::npos) << md;
  EXPECT_EQ(md.find("<script>"), std::string::npos) << md;
  EXPECT_NE(md.find("HTTP 500 \\| &lt;b&gt;bold&lt;/b&gt;"), std::string::npos) << md;
}

TEST(RenderMarkdownTest, AHugePlanIsCutVisiblyFromItsLargestRuleWithExactCounts) {
  Plan plan;
  plan.rules = {"big", "small"};
  for (int i = 0; i < 20000; ++i)
    plan.changes.push_back(MakeChange(Action::kCreate, "big", "lib/app", "v" + std::to_string(i)));
  for (int i = 0; i < 5; ++i)
    plan.changes.push_back(MakeChange(Action::kCreate, "small", "lib/db", "v" + std::to_string(i)));
  const std::string md = RenderPlanMarkdown(plan, "c.toml");
  EXPECT_LE(md.size(), kMaxMarkdown);
  EXPECT_NE(md.find("Plan: 20005 to copy, 0 to replace, 0 to delete."), std::string::npos);
  EXPECT_NE(md.find("(hub -&gt; dr): 20000 to copy"), std::string::npos);
  EXPECT_NE(md.find(" more changes in rule \"big\" not shown"), std::string::npos);
  EXPECT_EQ(md.find("in rule \"small\" not shown"), std::string::npos);  // the small rule whole
  EXPECT_NE(md.find("`dr/lib/db` | `v4`"), std::string::npos) << md.substr(md.size() - 400);
}

}  // namespace
}  // namespace crossdock::planner

namespace crossdock::planner {
namespace {

TEST(DeletionGuardTest, MoreDeletesThanAllowedIsAnErrorShownInTheComment) {
  Plan plan;
  plan.rules = {"mirror"};
  for (int i = 0; i < 3; ++i)
    plan.changes.push_back(MakeChange(Action::kDelete, "mirror", "lib/app", "v" + std::to_string(i)));
  EXPECT_EQ(DeletionGuard(plan), "");
  plan.max_deletes = 3;
  EXPECT_EQ(DeletionGuard(plan), "");
  plan.max_deletes = 2;
  const std::string guard = DeletionGuard(plan);
  EXPECT_EQ(guard, "this plan deletes 3 tags, more than [settings] max_deletes = 2; apply refuses it "
                   "unless given --allow-deletes");
  EXPECT_NE(RenderPlanMarkdown(plan, "c.toml").find("> [!CAUTION]\n> **Error:** this plan deletes 3"),
            std::string::npos);
  // The text plan ends with it, and PR bots reading --json find it.
  const std::string text = RenderPlanText(plan, /*color=*/false);
  EXPECT_EQ(text.substr(text.rfind("Plan:")), "Plan: 0 to copy, 0 to replace, 3 to delete.\nError: " + guard + ".\n");
  auto json = nlohmann::json::parse(RenderPlanJson(plan));
  EXPECT_EQ(json["deletion_guard"], nlohmann::json({{"max_deletes", 2}, {"message", guard}}));
}

}  // namespace
}  // namespace crossdock::planner
