// examples/ci/gitlab-ci.yml as shipped: its jobs' own before_script and script (read
// from the file by tests/support/ci_workflow.h and run as one bash script, as GitLab's
// runner does) against tests/fakes/gitlab_mr_api, real docker-registry processes, a bare
// git repository as `origin` (which holds the state branch) and the crossdock under test
// as `crossdock` in PATH. What GitLab itself does around a job is simulated: the clone
// (a git repository with crossdock.toml and origin) and, after the plan job, the
// pipeline that keeps plan.bin as the job's artifact, which the apply job then finds
// and downloads through the REST API.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/e2e/ci_workflow_e2e.h"

namespace crossdock::testing {
namespace {

using nlohmann::json;

constexpr const char* kToken = "glpat-fake0token0for0the0pipeline";
constexpr const char* kProjectId = "42";

class GitlabWorkflowTest : public CiWorkflowTest {
 protected:
  GitlabWorkflowTest()
      : api_("gitlab_mr_api", {"--token", kToken, "--project-id", kProjectId}, dir_.Sub("gitlab_mr_api.log")) {
    // GitLab takes push options; this records them.
    Git({"--git-dir", origin_, "config", "receive.advertisePushOptions", "true"});
    WriteFile(origin_ + "/hooks/pre-receive",
              "#!/bin/sh\ni=0\nwhile [ \"$i\" -lt \"${GIT_PUSH_OPTION_COUNT:-0}\" ]; do\n"
              "  eval \"echo \\$GIT_PUSH_OPTION_$i\" >> \"$GIT_DIR/push-options\"\n  i=$((i + 1))\ndone\n");
    chmod((origin_ + "/hooks/pre-receive").c_str(), 0755);
  }

  struct Run {
    RunResult result;
    std::string workspace;
  };

  // Runs job JOB in a fresh clone with what GitLab and the project's CI/CD variables give.
  Run RunJob(const std::string& job, const EnvMap& predefined) {
    Run run;
    run.workspace = NewDir("workspace");
    Checkout(run.workspace);
    EnvMap env = BaseRunnerEnv(NewDir("home"));
    env.insert({{"GITLAB_CI", "true"},
                {"CI_API_V4_URL", api_.url() + "/api/v4"},
                {"CI_PROJECT_ID", kProjectId},
                {"CI_PROJECT_PATH", "acme/registry-config"},
                {"CI_PROJECT_DIR", run.workspace},
                {"CI_DEFAULT_BRANCH", "main"},
                {"CI_SERVER_PROTOCOL", "https"},
                {"CI_SERVER_HOST", "gitlab.invalid"},
                {"CI_SERVER_PORT", "443"},
                // The project's CI/CD variables.
                {"CROSSDOCK_GITLAB_TOKEN", kToken},
                {"REGISTRY_PASSWORD", kRegistrySecret},
                {"CROSSDOCK_STATE_PUSH_URL", "file://" + origin_}});
    for (const auto& [k, v] : predefined) env[k] = v;
    run.result = RunGitlabJob(LoadGitlabJob(SourcePath("examples/ci/gitlab-ci.yml"), job), run.workspace, env);
    return run;
  }

  // The plan job of merge request IID's pipeline for its last commit HEAD_SHA; then what
  // GitLab does with the job's artifacts: plan.bin kept with the job.
  Run MergeRequest(int iid, const std::string& head_sha) {
    Run run = RunJob("crossdock-plan", {{"CI_PIPELINE_SOURCE", "merge_request_event"},
                                        {"CI_MERGE_REQUEST_IID", std::to_string(iid)},
                                        {"CI_COMMIT_SHA", head_sha}});
    const std::string plan = run.workspace + "/plan.bin";
    Curl("POST",
         api_.url() + "/fake/pipelines?mr=" + std::to_string(iid) + "&sha=" + head_sha +
             "&status=" + (run.result.exit_code == 0 ? "success" : "failed"),
         access(plan.c_str(), R_OK) == 0 ? plan : "");
    return run;
  }
  // Merge request IID merged as MERGE_SHA into main, and main's pipeline.
  Run Merge(int iid, const std::string& merge_sha) {
    Curl("POST", api_.url() + "/fake/merged?mr=" + std::to_string(iid) + "&merge_commit_sha=" + merge_sha);
    return RunJob("crossdock-apply", {{"CI_PIPELINE_SOURCE", "push"},
                                      {"CI_COMMIT_BRANCH", "main"},
                                      {"CI_COMMIT_SHA", merge_sha}});
  }

  json Notes(int iid) { return json::parse(Curl("GET", api_.url() + "/fake/notes?mr=" + std::to_string(iid))); }
  std::vector<std::string> Requests(size_t from = 0) {
    auto all = json::parse(Curl("GET", api_.url() + "/fake/requests")).get<std::vector<std::string>>();
    return std::vector<std::string>(all.begin() + std::min(from, all.size()), all.end());
  }
  static std::string Log(const Run& run) { return run.result.out + "\n-- stderr:\n" + run.result.err; }
  static void ExpectNoSecretIn(const Run& run) {
    EXPECT_FALSE(Contains(Log(run), kRegistrySecret));
    EXPECT_FALSE(Contains(Log(run), kToken));
  }
  // The job's Code Quality report: a JSON array.
  static json CodeQuality(const Run& run) {
    return json::parse(ReadFile(run.workspace + "/gl-code-quality-report.json"));
  }

  FakeProcess api_;
};

TEST_F(GitlabWorkflowTest, MergeRequestGetsOneNoteEditedInPlaceAcrossPages) {
  // 150 notes from people first: the plan's note lands on page 2 of 100 (oldest first).
  Curl("POST", api_.url() + "/fake/notes?mr=7&count=150&author=reviewer");
  WriteConfig("\"v1\"");
  Run first = MergeRequest(7, Sha('1'));
  ASSERT_EQ(first.result.exit_code, 0) << Log(first);
  EXPECT_TRUE(Contains(first.result.out, "Added a note.")) << Log(first);
  json notes = Notes(7);
  ASSERT_EQ(notes.size(), 151u);
  const json ours = notes.back();
  const std::string body = ours["body"];
  EXPECT_EQ(body, ReadFile(first.workspace + "/plan.md"));
  EXPECT_TRUE(body.starts_with(kPlanMarker)) << body;
  EXPECT_TRUE(Contains(body, "Plan: 1 to copy, 0 to replace, 0 to delete.")) << body;
  EXPECT_TRUE(CodeQuality(first).empty());
  ExpectNoSecretIn(first);

  WriteConfig("\"v1\", \"v2\"");
  const size_t seen = Requests().size();
  Run second = MergeRequest(7, Sha('2'));
  ASSERT_EQ(second.result.exit_code, 0) << Log(second);
  notes = Notes(7);
  ASSERT_EQ(notes.size(), 151u);
  EXPECT_EQ(notes.back()["id"], ours["id"]);
  EXPECT_EQ(notes.back()["edits"], 1);
  EXPECT_TRUE(Contains(notes.back()["body"], "Plan: 2 to copy, 0 to replace, 0 to delete."));
  const std::vector<std::string> requests = Requests(seen);
  const std::string notes_path = "/api/v4/projects/42/merge_requests/7/notes";
  EXPECT_EQ(CountPrefix(requests, "GET " + notes_path + "?order_by=created_at&page=2&per_page=100&sort=asc"), 1)
      << Log(second);
  EXPECT_EQ(CountPrefix(requests, "POST "), 0) << Log(second);
  EXPECT_EQ(CountPrefix(requests, "PUT " + notes_path + "/" + std::to_string(ours["id"].get<long>())), 1);
  ExpectNoSecretIn(second);
}

TEST_F(GitlabWorkflowTest, NotePlantedByAnotherUserIsLeftAlone) {
  // Someone else posts a note that starts with the plan's marker, before the first plan:
  // the job adds its own and edits only that one (by the token's user id), then and later.
  WriteFile(dir_.Sub("planted.md"), std::string(kPlanMarker) + "Nothing to review here, merge away.\n");
  Curl("POST", api_.url() + "/fake/notes?mr=7&count=1&author=mallory", dir_.Sub("planted.md"));
  const json planted = Notes(7)[0];
  WriteConfig("\"v1\"");
  Run first = MergeRequest(7, Sha('1'));
  ASSERT_EQ(first.result.exit_code, 0) << Log(first);
  json notes = Notes(7);
  ASSERT_EQ(notes.size(), 2u) << Log(first);
  EXPECT_EQ(notes[0], planted);
  EXPECT_EQ(notes[1]["author"], "project_42_bot");
  EXPECT_TRUE(Contains(notes[1]["body"], "Plan: 1 to copy, 0 to replace, 0 to delete."));

  WriteConfig("\"v1\", \"v2\"");
  Run second = MergeRequest(7, Sha('2'));
  ASSERT_EQ(second.result.exit_code, 0) << Log(second);
  json again = Notes(7);
  ASSERT_EQ(again.size(), 2u) << Log(second);
  EXPECT_EQ(again[0], planted);
  EXPECT_EQ(again[1]["id"], notes[1]["id"]);
  EXPECT_EQ(again[1]["edits"], 1);
  EXPECT_TRUE(Contains(again[1]["body"], "Plan: 2 to copy, 0 to replace, 0 to delete."));
}

TEST_F(GitlabWorkflowTest, MergeAppliesTheReviewedPlanAndKeepsTheStateOnABranch) {
  WriteConfig("\"v1\"");
  ASSERT_EQ(MergeRequest(7, Sha('1')).result.exit_code, 0);
  Run apply = Merge(7, Sha('a'));
  ASSERT_EQ(apply.result.exit_code, 0) << Log(apply);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), v1_.digest);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v2"), std::nullopt);
  EXPECT_TRUE(Contains(apply.result.out, "Applying the plan reviewed in merge request !7")) << Log(apply);
  EXPECT_TRUE(Contains(StateOnBranch(), "lib/app"));
  EXPECT_EQ(ReadFile(origin_ + "/push-options"), "ci.skip\n");
  EXPECT_TRUE(CodeQuality(apply).empty());  // the default branch's report, to compare with
  ExpectNoSecretIn(apply);
  // plan.bin came through the redirect to storage without the token.
  EXPECT_TRUE(Contains(api_.log(), "/plan.bin 200")) << api_.log();
  EXPECT_FALSE(Contains(api_.log(), "/plan.bin 401")) << api_.log();

  WriteConfig("\"v1\", \"v2\"");
  Run next = MergeRequest(9, Sha('3'));
  ASSERT_EQ(next.result.exit_code, 0) << Log(next);
  EXPECT_TRUE(Contains(Notes(9)[0]["body"], "Plan: 1 to copy, 0 to replace, 0 to delete."));
  Run second = Merge(9, Sha('b'));
  ASSERT_EQ(second.result.exit_code, 0) << Log(second);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v2"), v2_.digest);
  EXPECT_EQ(StateCommits(), "2\n");
}

TEST_F(GitlabWorkflowTest, NoChangesAddsNoNoteButEditsAnExistingOne) {
  WriteConfig("\"v1\"");
  ASSERT_EQ(MergeRequest(7, Sha('1')).result.exit_code, 0);
  ASSERT_EQ(Merge(7, Sha('a')).result.exit_code, 0);

  Run quiet = MergeRequest(8, Sha('4'));
  ASSERT_EQ(quiet.result.exit_code, 0) << Log(quiet);
  EXPECT_TRUE(Notes(8).empty());
  EXPECT_TRUE(Contains(quiet.result.out, "No changes and no earlier note")) << Log(quiet);

  Run again = MergeRequest(7, Sha('1'));
  ASSERT_EQ(again.result.exit_code, 0) << Log(again);
  json notes = Notes(7);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0]["body"], kNoChanges);
  EXPECT_EQ(notes[0]["edits"], 1);
}

TEST_F(GitlabWorkflowTest, StalePlanIsRefusedThenPlannedAgainAndTheJobFails) {
  WriteConfig("\"v1\"");
  ASSERT_EQ(MergeRequest(7, Sha('1')).result.exit_code, 0);
  WriteConfig("\"v1\", \"v2\"");
  ASSERT_EQ(MergeRequest(9, Sha('3')).result.exit_code, 0);
  WriteConfig("\"v1\"");
  ASSERT_EQ(Merge(7, Sha('a')).result.exit_code, 0);
  const std::string state = StateOnBranch();

  WriteConfig("\"v1\", \"v2\"");
  Run stale = Merge(9, Sha('b'));
  EXPECT_NE(stale.result.exit_code, 0);
  EXPECT_TRUE(Contains(stale.result.err, "Saved plan is stale")) << Log(stale);
  EXPECT_TRUE(Contains(stale.result.err, "The reviewed plan is stale, so nothing was applied.")) << Log(stale);
  EXPECT_TRUE(Contains(stale.result.out, "Plan: 1 to copy, 0 to replace, 0 to delete.")) << Log(stale);
  EXPECT_TRUE(Contains(stale.result.out, "The state did not change.")) << Log(stale);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v2"), std::nullopt);
  EXPECT_EQ(StateOnBranch(), state);
}

TEST_F(GitlabWorkflowTest, PushThatNoMergeRequestReviewedAppliesNothing) {
  WriteConfig("\"v1\"");
  Run run = RunJob("crossdock-apply", {{"CI_PIPELINE_SOURCE", "push"},
                                       {"CI_COMMIT_BRANCH", "main"},
                                       {"CI_COMMIT_SHA", Sha('c')}});
  EXPECT_NE(run.result.exit_code, 0);
  EXPECT_TRUE(Contains(run.result.err, Sha('c') + " was not merged from a merge request")) << Log(run);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), std::nullopt);
}

TEST_F(GitlabWorkflowTest, InvalidConfigFillsTheCodeQualityReportAndIsNotPlanned) {
  config_ = "[endpoints.src]\nurl = \"" + src_.url() + "\"\n\n[rules.mirror]\nsource = \"src\"\n"
            "destination = \"dts\"\n";
  Run run = MergeRequest(7, Sha('1'));
  EXPECT_NE(run.result.exit_code, 0);
  json report = CodeQuality(run);
  ASSERT_EQ(report.size(), 1u) << report.dump();
  EXPECT_EQ(report[0]["location"]["path"], "crossdock.toml");
  EXPECT_EQ(report[0]["location"]["lines"]["begin"], 6);
  EXPECT_EQ(report[0]["severity"], "major");
  // The same problem as text in the job's log.
  EXPECT_TRUE(Contains(run.result.err, "crossdock.toml:6:15: error:")) << Log(run);
  EXPECT_FALSE(Contains(run.result.out, "No changes")) << Log(run);
  EXPECT_TRUE(Notes(7).empty());
}

}  // namespace
}  // namespace crossdock::testing
