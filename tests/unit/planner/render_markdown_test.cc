// RenderPlanMarkdown (issue 14): the pull request comment's contract, pinned; the same
// comment rendered by real CommonMark implementations (Debian's cmark, and cmark-gfm,
// GitHub's fork, for the tables); the length limit; the deletion guard in every form.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

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

// A plan with one of everything a reviewer may see.
Plan EveryKindOfLine() {
  Plan plan;
  plan.rules = {"mirror", "dr"};
  plan.max_deletes = 1;
  Change copy = MakeChange(Action::kCreate, "mirror", "lib/app", "v2");
  Change replace = MakeChange(Action::kUpdate, "mirror", "lib/app", "latest");
  Change skip = MakeChange(Action::kSkip, "mirror", "lib/app", "v1");
  skip.reason = "exists with another digest and override = false";
  Change del = MakeChange(Action::kDelete, "dr", "team/db", "old");
  Change del2 = MakeChange(Action::kDelete, "dr", "team/db", "older");
  del.destination_endpoint = del2.destination_endpoint = "harbor";
  Change odd = MakeChange(Action::kCreate, "dr", "team/db", "<script>");
  odd.destination_endpoint = "harbor";
  plan.changes = {copy, replace, skip, del, del2, odd};
  plan.namespaces = {{"harbor", "team", "dr", {"team/db"}}};
  plan.errors = {{"mirror", "lib/broken", "HTTP 500 from hub | <b>retry</b> later"},
                 {"dr", "", "endpoint \"hub\": connection refused"}};
  plan.warnings = {"endpoint \"hub\": TLS verification is off (insecure = true)"};
  return plan;
}

// tests/unit/planner/testdata/FILE, from the source tree ($CROSSDOCK_SRC, else ".").
std::string TestData(const std::string& file) {
  const char* src = std::getenv("CROSSDOCK_SRC");
  std::ifstream in(std::string(src ? src : ".") + "/tests/unit/planner/testdata/" + file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// COMMAND's stdout with INPUT on its stdin (through a file: no pipe deadlock).
std::string Filter(const std::string& command, const std::string& input) {
  char path[] = "/tmp/crossdock-md-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, input.data(), input.size()), static_cast<ssize_t>(input.size()));
  close(fd);
  std::string out;
  if (FILE* pipe = popen((command + " < " + path).c_str(), "r")) {
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
    EXPECT_EQ(pclose(pipe), 0) << command;
  }
  unlink(path);
  return out;
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

TEST(RenderMarkdownTest, EveryKindOfLineIsPinned) {
  const std::string golden = TestData("plan_comment.md");
  ASSERT_FALSE(golden.empty()) << "tests/unit/planner/testdata/plan_comment.md not found: set CROSSDOCK_SRC";
  EXPECT_EQ(RenderPlanMarkdown(EveryKindOfLine(), "ci/crossdock.toml"), golden);
}

// What GitHub and GitLab show: the comment through real CommonMark implementations.
// --unsafe keeps raw HTML as the forges do for <details>, <summary>, <code>, <br>.
TEST(RenderMarkdownTest, CommonMarkKeepsTheFoldsTablesAndInertNames) {
  const std::string md = RenderPlanMarkdown(EveryKindOfLine(), "ci/crossdock.toml");
  // CommonMark (cmark): the marker stays a hidden comment; each <details> block is
  // opened and closed around its table; nothing the registry named became HTML.
  const std::string html = Filter("cmark --unsafe", md);
  EXPECT_EQ(html.rfind("<!-- crossdock-plan: ci/crossdock.toml -->\n", 0), 0u) << html;
  EXPECT_EQ(Count(html, "<details><summary>rule <code>"), 2u) << html;
  EXPECT_EQ(Count(html, "</details>"), 2u) << html;
  EXPECT_NE(html.find("<h3>crossdock plan</h3>"), std::string::npos) << html;
  EXPECT_EQ(html.find("<script>"), std::string::npos) << html;
  EXPECT_EQ(html.find("<b>"), std::string::npos) << html;
  EXPECT_EQ(html.find("\\"), std::string::npos) << html;  // no escape shows as a backslash
  // GitHub's fork (cmark-gfm) with tables: every row a row, every cell in place.
  const std::string gfm = Filter("cmark-gfm --unsafe -e table", md);
  EXPECT_EQ(Count(gfm, "<table>"), 2u) << gfm;
  EXPECT_EQ(Count(gfm, "<tr>"), 2u + 6u) << gfm;  // two header rows, six changes
  EXPECT_EQ(Count(gfm, "<td>"), 6u * 5u) << gfm;
  EXPECT_NE(gfm.find("<td><code>&lt;script&gt;</code></td>"), std::string::npos) << gfm;
  EXPECT_NE(gfm.find("<td><strong>delete</strong></td>\n<td><code>harbor/team/db</code></td>\n"
                     "<td><code>old</code></td>"),
            std::string::npos) << gfm;
  EXPECT_NE(gfm.find("HTTP 500 from hub | &lt;b&gt;retry&lt;/b&gt; later"), std::string::npos) << gfm;
  EXPECT_NE(gfm.find("more than [settings] max_deletes = 1;"), std::string::npos) << gfm;
  EXPECT_EQ(gfm.find("<script>"), std::string::npos) << gfm;
}

TEST(RenderMarkdownTest, NoChangesIsTheMarkerAndOneLine) {
  Plan plan;
  EXPECT_EQ(RenderPlanMarkdown(plan, "crossdock.toml"),
            "<!-- crossdock-plan: crossdock.toml -->\n"
            "No changes. Destinations match the desired state.\n");
}

// Its marker too: each shard's comment is its own, not the last shard's.
TEST(RenderMarkdownTest, AShardsCommentNamesItsShard) {
  Plan plan;
  plan.shard = core::Shard{0, 2};
  EXPECT_EQ(RenderPlanMarkdown(plan, "crossdock.toml"),
            "<!-- crossdock-plan: crossdock.toml shard 0/2 -->\n"
            "Shard 0/2: No changes. Destinations match the desired state.\n");
  plan.rules = {"mirror"};
  plan.changes = {MakeChange(Action::kCreate, "mirror", "lib/app", "v1")};
  const std::string md = RenderPlanMarkdown(plan, "crossdock.toml");
  EXPECT_EQ(md.rfind("<!-- crossdock-plan: crossdock.toml shard 0/2 -->\n"
                     "### crossdock plan, shard 0/2\n\n"
                     "**Shard 0/2: Plan: 1 to copy, 0 to replace, 0 to delete.**\n\n",
                     0),
            0u)
      << md;
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
  EXPECT_NE(md.find("> [!WARNING]\n> This plan deletes 1 tag: 1 from <code>dr</code>."), std::string::npos) << md;
  EXPECT_NE(md.find("<details><summary>rule <code>mirror</code> (hub -&gt; dr): 2 to copy, 1 to delete</summary>"),
            std::string::npos) << md;
  EXPECT_NE(md.find("<code>&lt;script&gt;</code>"), std::string::npos) << md;
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
  EXPECT_LT(md.size(), kMaxMarkdown);
  EXPECT_NE(md.find("Plan: 20005 to copy, 0 to replace, 0 to delete."), std::string::npos);
  EXPECT_NE(md.find("(hub -&gt; dr): 20000 to copy"), std::string::npos);
  EXPECT_NE(md.find(" more changes in rule \"big\" not shown"), std::string::npos);
  EXPECT_EQ(md.find("in rule \"small\" not shown"), std::string::npos);  // the small rule whole
  EXPECT_NE(md.find("<code>dr/lib/db</code> | <code>v4</code>"), std::string::npos) << md.substr(md.size() - 400);
  // The shown rows plus the cut add up to the rule's 20,000.
  const size_t shown = Count(md, "| copy | <code>dr/lib/app</code>");
  const size_t cut_at = md.find("\n… ");
  ASSERT_NE(cut_at, std::string::npos);
  std::string cut = md.substr(cut_at + 5, md.find(' ', cut_at + 5) - cut_at - 5);
  cut.erase(std::remove(cut.begin(), cut.end(), ','), cut.end());
  EXPECT_EQ(shown + std::stoul(cut), 20000u) << cut;
  std::printf("20,000-change plan: %zu characters, %zu rows shown, %s cut\n", md.size(), shown,
              cut.c_str());
}

TEST(RenderMarkdownTest, ThousandsOfErrorsAreCutVisiblyAndLeaveRoomForTheTables) {
  Plan plan;
  plan.rules = {"mirror"};
  plan.changes = {MakeChange(Action::kCreate, "mirror", "lib/app", "v1")};
  for (int i = 0; i < 5000; ++i)
    plan.errors.push_back({"mirror", "lib/repo" + std::to_string(i), "HTTP 503 Service Unavailable"});
  const std::string md = RenderPlanMarkdown(plan, "c.toml");
  EXPECT_LT(md.size(), kMaxMarkdown);
  EXPECT_NE(md.find("The plan is incomplete: 5000 errors below."), std::string::npos);
  EXPECT_NE(md.find(" more errors not shown: run `crossdock plan` to see them all"), std::string::npos);
  EXPECT_NE(md.find("| copy | <code>dr/lib/app</code> | <code>v1</code>"), std::string::npos);
}

// Hundreds of rules (a first plan of a large import): each fold costs characters even
// without rows, so whole rules are left out last, in one visible line.
TEST(RenderMarkdownTest, HundredsOfRulesStayUnderTheLimitWithTheRestCounted) {
  Plan plan;
  for (int r = 0; r < 600; ++r) {
    const std::string rule = "rule-" + std::to_string(r);
    plan.rules.push_back(rule);
    for (int i = 0; i < 3; ++i)
      plan.changes.push_back(MakeChange(Action::kCreate, rule, "lib/app" + std::to_string(r), "v" + std::to_string(i)));
  }
  for (int i = 0; i < 3000; ++i)
    plan.errors.push_back({"rule-0", "lib/broken" + std::to_string(i), "HTTP 503"});
  const std::string md = RenderPlanMarkdown(plan, "c.toml");
  EXPECT_LT(md.size(), kMaxMarkdown);
  EXPECT_NE(md.find("**Plan: 1800 to copy, 0 to replace, 0 to delete."), std::string::npos);
  const size_t folds = Count(md, "<details>");
  ASSERT_GT(folds, 0u);
  ASSERT_LT(folds, 600u);
  const size_t changes = (600 - folds) * 3;  // over 1,000: written with a comma
  ASSERT_GE(changes, 1000u);
  const std::string line = fmt::format("… {} more rules ({},{:03} changes) not shown\n", 600 - folds,
                                       changes / 1000, changes % 1000);
  EXPECT_NE(md.find(line), std::string::npos) << md.substr(md.find("</details>\n\n…"), 200);
  EXPECT_NE(md.find("#### Errors"), std::string::npos);
}

// A message's line breaks, "\r" included, cannot end a table row or start a block.
TEST(RenderMarkdownTest, ControlCharactersInMessagesAreSpaces) {
  Plan plan;
  plan.rules = {"m"};
  Change skip = MakeChange(Action::kSkip, "m", "lib/app", "v1");
  skip.reason = "held\r\r---\r\n| x |\tend";
  plan.changes = {skip};
  const std::string md = RenderPlanMarkdown(plan, "c\r.toml");
  EXPECT_EQ(md.find('\r'), std::string::npos);
  EXPECT_EQ(md.find('\t'), std::string::npos);
  EXPECT_NE(md.find("<br>held  ---  \\| x \\| end |\n"), std::string::npos) << md;
  EXPECT_EQ(md.rfind("<!-- crossdock-plan: c .toml -->\n", 0), 0u) << md;
}

TEST(RenderMarkdownTest, ARefreshOnlyPlanListsItsDriftAsStateUpdates) {
  Plan plan;
  plan.refresh_only = true;
  plan.rules = {"mirror"};
  EXPECT_EQ(RenderPlanMarkdown(plan, "c.toml"),
            "<!-- crossdock-plan: c.toml -->\nNo changes. The state matches the destinations.\n");
  Change gone = MakeChange(Action::kDelete, "mirror", "lib/app", "v1");
  gone.reason = "deleted at the destination";
  plan.drift = {gone};
  const std::string md = RenderPlanMarkdown(plan, "c.toml");
  EXPECT_NE(md.find("**Refresh: 1 state record to update.**"), std::string::npos) << md;
  EXPECT_NE(md.find("(hub -&gt; dr): 1 state record to update</summary>"), std::string::npos) << md;
  EXPECT_NE(md.find("| refresh state | <code>dr/lib/app</code> | <code>v1</code>"), std::string::npos) << md;
  EXPECT_EQ(md.find("**delete**"), std::string::npos) << md;
  EXPECT_EQ(md.find("[!WARNING]"), std::string::npos) << md;
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
