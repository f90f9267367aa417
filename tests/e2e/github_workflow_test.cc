// examples/ci/github-actions.yml as shipped: its jobs' own shell steps (read from the
// file by tests/support/ci_workflow.h and run in bash) against tests/fakes/github_api,
// real docker-registry processes, a bare git repository as `origin` (which holds the
// state branch) and the crossdock under test as `crossdock` in PATH. The `uses:` steps
// are simulated: actions/checkout makes the workspace a git repository with
// crossdock.toml and origin; actions/upload-artifact zips the file and hands it to the
// fake as an artifact of the job's workflow run (each job is one run, registered with
// the fake and completed with the job's conclusion), from which the apply job downloads
// it through the REST API.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/e2e/ci_workflow_e2e.h"

namespace crossdock::testing {
namespace {

using nlohmann::json;

constexpr const char* kToken = "ghs_fake0token0for0the0workflow";
constexpr const char* kRepo = "acme/registry-config";

class GithubWorkflowTest : public CiWorkflowTest {
 protected:
  GithubWorkflowTest() : api_("github_api", {"--token", kToken, "--repo", kRepo}, dir_.Sub("github_api.log")) {}

  // A run of crossdock.yml for EVENT at HEAD_SHA (FORK: a pull request from a fork); its id.
  std::string NewRun(const std::string& event, const std::string& head_sha, bool fork = false) {
    return std::to_string(json::parse(FakeCall("POST", "/fake/runs?workflow=crossdock.yml&event=" + event +
                                                           "&head_sha=" + head_sha + (fork ? "&fork=1" : "")))
                              .at("id")
                              .get<long>());
  }
  // Uploads FILE zipped as artifact NAME of run RUN.
  void UploadArtifact(const std::string& run, const std::string& name, const std::string& file) {
    const std::string zip = NewDir("zip") + "/artifact.zip";
    RunResult z = RunCommand({"zip", "-q", "-j", zip, file});
    if (z.exit_code != 0) throw HarnessError("zip failed: " + z.err);
    Curl("POST", api_.url() + "/fake/artifacts?run=" + run + "&name=" + name, zip);
  }

  // `crossdock plan --out` of config_ against an empty state, in a fresh directory: the
  // plan file's path.
  std::string PlanFile() {
    const std::string dir = NewDir("plan");
    WriteFile(dir + "/crossdock.toml", config_);
    RunResult plan = RunCrossdock({"plan", "--config", "crossdock.toml", "--state", "state.json", "--out",
                                   "plan.bin"},
                                  {{"REGISTRY_PASSWORD", kRegistrySecret}}, dir);
    if (plan.exit_code != 0) throw HarnessError("crossdock plan failed: " + plan.err);
    return dir + "/plan.bin";
  }
  // A successful pull_request run from a fork at HEAD_SHA that uploaded FILE as the
  // artifact crossdock-plan-HEAD_SHA; its id.
  std::string ForkRunUploads(const std::string& head_sha, const std::string& file) {
    const std::string run = NewRun("pull_request", head_sha, /*fork=*/true);
    UploadArtifact(run, "crossdock-plan-" + head_sha, file);
    FakeCall("POST", "/fake/runs/complete?id=" + run + "&conclusion=success");
    return run;
  }

  // Runs job JOB as the event would: a pull request NUMBER at HEAD_SHA, or (number 0) a
  // push of commit SHA to main.
  JobRun RunJob(const std::string& job, int number, const std::string& sha) {
    const std::string workspace = NewDir("workspace"), temp = NewDir("temp");
    const std::string run_id = NewRun(number ? "pull_request" : "push", sha);
    EnvMap runner = BaseRunnerEnv(NewDir("home"));
    runner.insert({{"GITHUB_ACTIONS", "true"},
                   {"GITHUB_API_URL", api_.url()},
                   {"GITHUB_REPOSITORY", kRepo},
                   {"GITHUB_EVENT_NAME", number ? "pull_request" : "push"},
                   {"GITHUB_SHA", sha},
                   {"GITHUB_WORKFLOW_REF", std::string(kRepo) + "/.github/workflows/crossdock.yml@" +
                                               (number ? "refs/pull/" + std::to_string(number) + "/merge"
                                                       : "refs/heads/main")},
                   {"GITHUB_WORKSPACE", workspace},
                   {"GITHUB_ENV", temp + "/env"},
                   {"RUNNER_TEMP", temp}});
    const WorkflowJob workflow = LoadGithubJob(SourcePath("examples/ci/github-actions.yml"), job);
    EnvMap context = {{"github.token", kToken},
                      {"github.run_id", run_id},
                      {"github.run_attempt", "1"},
                      {"secrets.REGISTRY_PASSWORD", kRegistrySecret},
                      {"env.CROSSDOCK_STATE", workflow.env.at("CROSSDOCK_STATE")}};
    if (number) {
      context["github.event.pull_request.number"] = std::to_string(number);
      context["github.event.pull_request.head.sha"] = sha;
    }
    auto uses = [&](const WorkflowStep& step, const EnvMap& with) -> bool {
      if (step.uses.starts_with("actions/checkout@")) {
        Checkout(workspace);
        return true;
      }
      if (step.uses.starts_with("actions/upload-artifact@")) {
        const std::string file = workspace + "/" + with.at("path");
        if (access(file.c_str(), R_OK) != 0) return with.at("if-no-files-found") != "error";
        UploadArtifact(run_id, with.at("name"), file);
        uploaded_.push_back(with.at("name"));
        return true;
      }
      throw HarnessError("the test does not simulate " + step.uses);
    };
    JobRun run = RunGithubJob(workflow, workspace, runner, context, uses);
    FakeCall("POST", "/fake/runs/complete?id=" + run_id + "&conclusion=" + (run.success ? "success" : "failure"));
    return run;
  }

  JobRun PullRequest(int number, const std::string& head_sha) { return RunJob("plan", number, head_sha); }
  // Pull request NUMBER (last commit HEAD_SHA) merged as commit MERGE_SHA, pushed to main.
  JobRun Merge(int number, const std::string& head_sha, const std::string& merge_sha) {
    Curl("POST", api_.url() + "/fake/pulls?commit=" + merge_sha + "&number=" + std::to_string(number) +
                     "&head_sha=" + head_sha);
    return RunJob("apply", 0, merge_sha);
  }

  std::string FakeCall(const std::string& method, const std::string& path) {
    return Curl(method, api_.url() + path);
  }
  json Comments(int issue) { return json::parse(FakeCall("GET", "/fake/comments?issue=" + std::to_string(issue))); }
  // The fake's record of API requests, from the FROMth on.
  std::vector<std::string> Requests(size_t from = 0) {
    auto all = json::parse(FakeCall("GET", "/fake/requests")).get<std::vector<std::string>>();
    return std::vector<std::string>(all.begin() + std::min(from, all.size()), all.end());
  }
  // Everything a job showed: step summaries, logs. Must never hold a secret.
  static void ExpectNoSecretIn(const JobRun& run) {
    EXPECT_FALSE(Contains(run.Log(), kRegistrySecret));
    EXPECT_FALSE(Contains(run.Log(), kToken));
    EXPECT_FALSE(Contains(run.Summary(), kRegistrySecret));
  }

  FakeProcess api_;
  std::vector<std::string> uploaded_;
};

TEST_F(GithubWorkflowTest, PullRequestGetsOneCommentUpdatedInPlaceAcrossPages) {
  // 150 comments from people first: the plan's comment lands on page 2 of 100.
  FakeCall("POST", "/fake/comments?issue=7&count=150&author=octocat");
  WriteConfig("\"v1\"");
  JobRun first = PullRequest(7, Sha('1'));
  ASSERT_TRUE(first.success) << first.Log();
  json comments = Comments(7);
  ASSERT_EQ(comments.size(), 151u);
  const json ours = comments.back();
  const std::string body = ours["body"];
  EXPECT_TRUE(body.starts_with(kPlanMarker)) << body;
  EXPECT_TRUE(Contains(body, "Plan: 1 to copy, 0 to replace, 0 to delete.")) << body;
  EXPECT_TRUE(Contains(body, "| copy | <code>dst/lib/app</code> | <code>v1</code> |")) << body;
  EXPECT_EQ(ours["author"], "github-actions[bot]");
  // The step summary got the same Markdown.
  EXPECT_EQ(first.Summary(), body);
  std::vector<std::string> requests = Requests();
  EXPECT_EQ(CountPrefix(requests, "POST /repos/acme/registry-config/issues/7/comments"), 1) << first.Log();
  EXPECT_EQ(CountPrefix(requests, "PATCH "), 0);
  EXPECT_EQ(uploaded_, std::vector<std::string>{"crossdock-plan-" + Sha('1')});
  ExpectNoSecretIn(first);

  // A second push changes the config: the same comment is edited, none is added.
  WriteConfig("\"v1\", \"v2\"");
  const size_t seen = requests.size();
  JobRun second = PullRequest(7, Sha('2'));
  ASSERT_TRUE(second.success) << second.Log();
  comments = Comments(7);
  ASSERT_EQ(comments.size(), 151u);
  EXPECT_EQ(comments.back()["id"], ours["id"]);
  EXPECT_EQ(comments.back()["edits"], 1);
  const std::string updated = comments.back()["body"];
  EXPECT_TRUE(Contains(updated, "Plan: 2 to copy, 0 to replace, 0 to delete.")) << updated;
  EXPECT_EQ(second.Summary(), updated);
  requests = Requests(seen);
  EXPECT_EQ(CountPrefix(requests, "GET /repos/acme/registry-config/issues/7/comments?per_page=100&page=2"), 1)
      << second.Log();
  EXPECT_EQ(CountPrefix(requests, "POST "), 0) << second.Log();
  EXPECT_EQ(CountPrefix(requests, "PATCH /repos/acme/registry-config/issues/comments/" +
                                std::to_string(ours["id"].get<long>())),
            1);
  EXPECT_EQ(uploaded_.back(), "crossdock-plan-" + Sha('2'));
  ExpectNoSecretIn(second);
}

TEST_F(GithubWorkflowTest, CommentPlantedByAnotherUserIsLeftAlone) {
  // Someone else posts a comment that starts with the plan's marker, before the first
  // plan: the workflow adds its own and edits only that one, then and later.
  WriteFile(dir_.Sub("planted.md"), std::string(kPlanMarker) + "Nothing to review here, merge away.\n");
  Curl("POST", api_.url() + "/fake/comments?issue=7&count=1&author=mallory", dir_.Sub("planted.md"));
  const json planted = Comments(7)[0];
  WriteConfig("\"v1\"");
  JobRun first = PullRequest(7, Sha('1'));
  ASSERT_TRUE(first.success) << first.Log();
  json comments = Comments(7);
  ASSERT_EQ(comments.size(), 2u) << first.Log();
  EXPECT_EQ(comments[0], planted);
  EXPECT_EQ(comments[1]["author"], "github-actions[bot]");
  EXPECT_TRUE(Contains(comments[1]["body"], "Plan: 1 to copy, 0 to replace, 0 to delete."));

  WriteConfig("\"v1\", \"v2\"");
  JobRun second = PullRequest(7, Sha('2'));
  ASSERT_TRUE(second.success) << second.Log();
  json again = Comments(7);
  ASSERT_EQ(again.size(), 2u) << second.Log();
  EXPECT_EQ(again[0], planted);
  EXPECT_EQ(again[1]["id"], comments[1]["id"]);
  EXPECT_EQ(again[1]["edits"], 1);
  EXPECT_TRUE(Contains(again[1]["body"], "Plan: 2 to copy, 0 to replace, 0 to delete."));
}

TEST_F(GithubWorkflowTest, MergeAppliesTheReviewedPlanAndKeepsTheStateOnABranch) {
  WriteConfig("\"v1\"");
  ASSERT_TRUE(PullRequest(7, Sha('1')).success);
  JobRun apply = Merge(7, Sha('1'), Sha('a'));
  ASSERT_TRUE(apply.success) << apply.Log();
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), v1_.digest);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v2"), std::nullopt);
  EXPECT_TRUE(Contains(apply.Step("Download the reviewed plan").out,
                       "Applying the plan reviewed in pull request #7 (its commit " + Sha('1') + ", run "))
      << apply.Log();
  EXPECT_TRUE(Contains(StateOnBranch(), "lib/app")) << StateOnBranch();
  ExpectNoSecretIn(apply);
  // The artifact came through the redirect to storage without the token.
  EXPECT_TRUE(Contains(api_.log(), ".zip 200")) << api_.log();
  EXPECT_FALSE(Contains(api_.log(), ".zip 401")) << api_.log();

  // The next pull request plans against the state on the branch: only v2 is new.
  WriteConfig("\"v1\", \"v2\"");
  JobRun next = PullRequest(9, Sha('3'));
  ASSERT_TRUE(next.success) << next.Log();
  EXPECT_TRUE(Contains(Comments(9)[0]["body"], "Plan: 1 to copy, 0 to replace, 0 to delete."));
  JobRun second = Merge(9, Sha('3'), Sha('b'));
  ASSERT_TRUE(second.success) << second.Log();
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v2"), v2_.digest);
  EXPECT_EQ(StateCommits(), "2\n");
}

TEST_F(GithubWorkflowTest, ArtifactOfAForksRunIsNotApplied) {
  // Pull request 7 is planned, reviewed (v1) and merged.
  WriteConfig("\"v1\"");
  ASSERT_TRUE(PullRequest(7, Sha('1')).success);
  const std::string reviewed_config = config_;
  // Later a pull request from a fork, whose run runs the fork's own edit of the workflow
  // in this repository, uploads an artifact of the same name: a plan that also copies
  // v2, made from another config and given the reviewed config's digest, which apply
  // would take.
  WriteConfig("\"v1\", \"v2\"");
  const std::string plan = PlanFile();
  std::string forged = ReadFile(plan);
  const std::string digest = Sha256Digest(config_).substr(7);
  ASSERT_TRUE(Contains(forged, digest));
  forged.replace(forged.find(digest), digest.size(), Sha256Digest(reviewed_config).substr(7));
  WriteFile(plan, forged);
  const std::string fork_run = ForkRunUploads(Sha('1'), plan);

  config_ = reviewed_config;
  JobRun apply = Merge(7, Sha('1'), Sha('a'));
  ASSERT_TRUE(apply.success) << apply.Log();
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), v1_.digest);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v2"), std::nullopt) << "the fork's plan was applied";
  EXPECT_FALSE(Contains(StateOnBranch(), v2_.digest));
  EXPECT_FALSE(Contains(apply.Step("Download the reviewed plan").out, "run " + fork_run + ")"))
      << apply.Log();
}

TEST_F(GithubWorkflowTest, PullRequestFromAForkIsNeverApplied) {
  // Its plan ran (say the registries need no secret) and uploaded the artifact; it is
  // still not used, since the run's head repository is the fork.
  WriteConfig("\"v1\"");
  ForkRunUploads(Sha('1'), PlanFile());
  JobRun apply = Merge(7, Sha('1'), Sha('a'));
  EXPECT_FALSE(apply.success);
  EXPECT_TRUE(Contains(apply.Step("Download the reviewed plan").out,
                       "::error title=crossdock::no successful run of crossdock.yml for pull request #7's "
                       "last commit " + Sha('1') + " in this repository"))
      << apply.Log();
  EXPECT_FALSE(apply.Step("Apply").ran);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), std::nullopt);
}

TEST_F(GithubWorkflowTest, NoChangesAddsNoCommentButUpdatesAnExistingOne) {
  WriteConfig("\"v1\"");
  ASSERT_TRUE(PullRequest(7, Sha('1')).success);
  ASSERT_TRUE(Merge(7, Sha('1'), Sha('a')).success);

  // Another pull request that changes nothing replicated: no comment at all.
  const size_t seen = Requests().size();
  JobRun quiet = PullRequest(8, Sha('4'));
  ASSERT_TRUE(quiet.success) << quiet.Log();
  EXPECT_TRUE(Comments(8).empty());
  EXPECT_EQ(CountPrefix(Requests(seen), "POST "), 0);
  EXPECT_EQ(quiet.Summary(), kNoChanges);
  EXPECT_TRUE(Contains(quiet.Step("Comment on the pull request").out,
                       "No changes and no earlier comment: nothing to say on the pull request."));

  // Pull request 7's plan run again now: its comment says there is nothing left to do.
  JobRun again = PullRequest(7, Sha('1'));
  ASSERT_TRUE(again.success) << again.Log();
  json comments = Comments(7);
  ASSERT_EQ(comments.size(), 1u);
  EXPECT_EQ(comments[0]["body"], kNoChanges);
  EXPECT_EQ(comments[0]["edits"], 1);
}

TEST_F(GithubWorkflowTest, StalePlanIsRefusedThenPlannedAgainAndTheJobFails) {
  // Two pull requests planned against the same state; 7 is merged first.
  WriteConfig("\"v1\"");
  ASSERT_TRUE(PullRequest(7, Sha('1')).success);
  WriteConfig("\"v1\", \"v2\"");
  ASSERT_TRUE(PullRequest(9, Sha('3')).success);
  WriteConfig("\"v1\"");
  ASSERT_TRUE(Merge(7, Sha('1'), Sha('a')).success);
  const std::string state = StateOnBranch();

  WriteConfig("\"v1\", \"v2\"");
  JobRun stale = Merge(9, Sha('3'), Sha('b'));
  EXPECT_FALSE(stale.success);
  const StepRun& apply = stale.Step("Apply");
  EXPECT_NE(apply.exit_code, 0);
  EXPECT_TRUE(Contains(apply.err, "Saved plan is stale")) << stale.Log();
  EXPECT_TRUE(Contains(apply.out, "::error title=crossdock::The reviewed plan is stale, so nothing was applied."))
      << stale.Log();
  // The plan as it is now: v1 is there already, v2 would be copied.
  EXPECT_TRUE(Contains(apply.out, "Plan: 1 to copy, 0 to replace, 0 to delete.")) << stale.Log();
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v2"), std::nullopt);
  EXPECT_TRUE(Contains(stale.Step("Save the state").out, "The state did not change.")) << stale.Log();
  EXPECT_EQ(StateOnBranch(), state);
}

TEST_F(GithubWorkflowTest, PushThatNoPullRequestReviewedAppliesNothing) {
  WriteConfig("\"v1\"");
  JobRun run = RunJob("apply", 0, Sha('c'));
  EXPECT_FALSE(run.success);
  EXPECT_TRUE(Contains(run.Step("Download the reviewed plan").out,
                       "::error title=crossdock::" + Sha('c') +
                           " was not merged from a pull request, so no plan was reviewed"))
      << run.Log();
  EXPECT_FALSE(run.Step("Apply").ran);
  EXPECT_TRUE(Contains(run.Step("Save the state").out, "nothing to save")) << run.Log();
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), std::nullopt);
}

TEST_F(GithubWorkflowTest, FailedPlanIsCommentedAndFailsTheCheckWithoutAPlanToApply) {
  // The source is down: the plan has an error, which the comment shows.
  WriteConfig("\"v1\"", "http://127.0.0.1:" + std::to_string(FreePort()));
  JobRun run = PullRequest(7, Sha('1'));
  EXPECT_FALSE(run.success);
  json comments = Comments(7);
  ASSERT_EQ(comments.size(), 1u) << run.Log();
  EXPECT_TRUE(Contains(comments[0]["body"], "cannot reach endpoint")) << comments[0]["body"];
  EXPECT_TRUE(Contains(run.Step("Stop if the plan failed").out,
                       "::error title=crossdock::crossdock plan failed (exit 1)"));
  EXPECT_FALSE(run.Step("Keep the plan for the merge").ran);
  EXPECT_TRUE(uploaded_.empty());
}

TEST_F(GithubWorkflowTest, InvalidConfigIsAnnotatedOnItsLinesAndNotPlanned) {
  config_ = "[endpoints.src]\nurl = \"" + src_.url() + "\"\n\n[rules.mirror]\nsource = \"src\"\n"
            "destination = \"dts\"\n";
  JobRun run = PullRequest(7, Sha('1'));
  EXPECT_FALSE(run.success);
  const StepRun& validate = run.Step("Validate");
  EXPECT_EQ(validate.exit_code, 1);
  EXPECT_TRUE(Contains(validate.out, "::error file=crossdock.toml,line=6,col=15,title=crossdock::"))
      << validate.out;
  EXPECT_FALSE(run.Step("Plan").ran);
  EXPECT_TRUE(Comments(7).empty());
}

}  // namespace
}  // namespace crossdock::testing
