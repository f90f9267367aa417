// examples/ci/github-actions.yml as shipped: its jobs' own shell steps (read from the
// file by tests/support/ci_workflow.h and run in bash) against tests/fakes/github_api,
// real docker-registry processes, a bare git repository as `origin` (which holds the
// state branch) and the crossdock under test as `crossdock` in PATH. The `uses:` steps
// are simulated: actions/checkout makes the workspace a git repository with
// crossdock.toml and origin; actions/upload-artifact zips the file and hands it to the
// fake, from which the apply job downloads it through the REST API.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "tests/support/ci_workflow.h"
#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

using nlohmann::json;

constexpr const char* kToken = "ghs_fake0token0for0the0workflow";
constexpr const char* kSecret = "registry-s3cret-pw";
constexpr const char* kRepo = "acme/registry-config";
constexpr const char* kMarker = "<!-- crossdock-plan: crossdock.toml -->\n";

std::string Source(const std::string& path) {
  const char* src = std::getenv("CROSSDOCK_SRC");
  return std::string(src ? src : ".") + "/" + path;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A 40-hex commit id made of one repeated digit.
std::string Sha(char c) { return std::string(40, c); }

class GithubWorkflowTest : public ::testing::Test {
 protected:
  GithubWorkflowTest()
      : dst_(Registry::Options{.htpasswd_user = "ci", .htpasswd_password = kSecret}),
        api_("github_api", {"--token", kToken, "--repo", kRepo}, dir_.Sub("github_api.log")) {
    RunCommand({"mkdir", "-p", dir_.Sub("bin")});
    if (symlink(CrossdockBin().c_str(), dir_.Sub("bin/crossdock").c_str()) != 0)
      throw HarnessError("cannot link crossdock into " + dir_.Sub("bin"));
    // The install step must find every tool here and never reach apt-get.
    WriteFile(dir_.Sub("bin/apt-get"),
              "#!/bin/sh\necho \"apt-get $*: the workflow wanted to install a tool this machine "
              "lacks\" >&2\nexit 99\n");
    chmod(dir_.Sub("bin/apt-get").c_str(), 0755);
    origin_ = dir_.Sub("origin.git");
    Git({"init", "--quiet", "--bare", origin_});
    ImageSpec spec;
    spec.layers = {LayerSpec{.size = 2048, .seed = 5}};
    spec.labels = {{"tag", "v1"}};
    v1_ = BuildImage(dir_.Sub("layout"), "v1", spec);
    spec.labels = {{"tag", "v2"}};
    v2_ = BuildImage(dir_.Sub("layout"), "v2", spec);
    Push(dir_.Sub("layout"), "v1", src_, "lib/app", "v1");
    Push(dir_.Sub("layout"), "v2", src_, "lib/app", "v2");
  }

  static RunResult Git(std::vector<std::string> args, const std::string& cwd = "") {
    args.insert(args.begin(), {"git", "-c", "init.defaultBranch=main"});
    RunResult r = RunCommand(args, {}, cwd);
    if (r.exit_code != 0) throw HarnessError("git failed: " + r.err);
    return r;
  }

  // crossdock.toml as the pull request (or main, for the apply) has it: lib/app's TAGS
  // mirrored from src to dst, whose password is the secret REGISTRY_PASSWORD.
  void WriteConfig(const std::string& tags, const std::string& src_url = "") {
    config_ = "[endpoints.src]\ntype = \"docker-registry\"\nurl = \"" +
              (src_url.empty() ? src_.url() : src_url) +
              "\"\n\n[endpoints.dst]\ntype = \"docker-registry\"\nurl = \"" + dst_.url() +
              "\"\nusername = \"ci\"\npassword = \"env:REGISTRY_PASSWORD\"\n\n"
              "[rules.mirror]\nsource = \"src\"\ndestination = \"dst\"\n"
              "repositories = [\"lib/app\"]\ntags = [" + tags + "]\n";
  }

  // Runs job JOB as the event would: a pull request NUMBER at HEAD_SHA, or (number 0) a
  // push of commit SHA to main.
  JobRun RunJob(const std::string& job, int number, const std::string& sha) {
    const std::string n = std::to_string(++runs_);
    const std::string workspace = dir_.Sub("workspace-" + n), home = dir_.Sub("home-" + n);
    RunCommand({"mkdir", "-p", workspace, home, dir_.Sub("temp-" + n)});
    const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin";
    EnvMap runner = {{"CI", "true"},
                     {"GITHUB_ACTIONS", "true"},
                     {"GITHUB_API_URL", api_.url()},
                     {"GITHUB_REPOSITORY", kRepo},
                     {"GITHUB_EVENT_NAME", number ? "pull_request" : "push"},
                     {"GITHUB_SHA", sha},
                     {"GITHUB_WORKSPACE", workspace},
                     {"GITHUB_ENV", dir_.Sub("temp-" + n + "/env")},
                     {"RUNNER_TEMP", dir_.Sub("temp-" + n)},
                     {"HOME", home},
                     {"PATH", dir_.Sub("bin") + ":" + path},
                     // No credentials from this machine's container or Docker config.
                     {"XDG_RUNTIME_DIR", ""},
                     {"REGISTRY_AUTH_FILE", ""},
                     {"DOCKER_CONFIG", ""}};
    const WorkflowJob workflow = LoadGithubJob(Source("examples/ci/github-actions.yml"), job);
    EnvMap context = {{"github.token", kToken},
                      {"github.run_id", "4242"},
                      {"github.run_attempt", "1"},
                      {"secrets.REGISTRY_PASSWORD", kSecret},
                      {"env.CROSSDOCK_STATE", workflow.env.at("CROSSDOCK_STATE")}};
    if (number) {
      context["github.event.pull_request.number"] = std::to_string(number);
      context["github.event.pull_request.head.sha"] = sha;
    }
    auto uses = [&](const WorkflowStep& step, const EnvMap& with) -> bool {
      if (step.uses.starts_with("actions/checkout@")) {
        Git({"init", "--quiet"}, workspace);
        Git({"remote", "add", "origin", "file://" + origin_}, workspace);
        WriteFile(workspace + "/crossdock.toml", config_);
        return true;
      }
      if (step.uses.starts_with("actions/upload-artifact@")) {
        const std::string file = workspace + "/" + with.at("path");
        if (access(file.c_str(), R_OK) != 0) return with.at("if-no-files-found") != "error";
        const std::string zip = dir_.Sub("artifact-" + n + ".zip");
        RunResult z = RunCommand({"zip", "-q", "-j", zip, file});
        if (z.exit_code != 0) throw HarnessError("zip failed: " + z.err);
        FakeCall("POST", "/fake/artifacts?name=" + with.at("name") + "&head_sha=" + sha, zip);
        uploaded_.push_back(with.at("name"));
        return true;
      }
      throw HarnessError("the test does not simulate " + step.uses);
    };
    return RunGithubJob(workflow, workspace, runner, context, uses);
  }

  JobRun PullRequest(int number, const std::string& head_sha) { return RunJob("plan", number, head_sha); }
  // Pull request NUMBER (last commit HEAD_SHA) merged as commit MERGE_SHA, pushed to main.
  JobRun Merge(int number, const std::string& head_sha, const std::string& merge_sha) {
    FakeCall("POST", "/fake/pulls?commit=" + merge_sha + "&number=" + std::to_string(number) +
                         "&head_sha=" + head_sha);
    return RunJob("apply", 0, merge_sha);
  }

  // A test hook of the fake; BODY_FILE is sent as the body.
  std::string FakeCall(const std::string& method, const std::string& path, const std::string& body_file = "") {
    std::vector<std::string> argv = {"curl", "-sS", "--fail", "--noproxy", "*", "-X", method};
    if (method == "POST") {
      argv.push_back("--data-binary");
      argv.push_back(body_file.empty() ? "" : "@" + body_file);
    }
    argv.push_back(api_.url() + path);
    RunResult r = RunCommand(argv);
    if (r.exit_code != 0) throw HarnessError(method + " " + path + " failed: " + r.err + api_.log());
    return r.out;
  }
  json Comments(int issue) { return json::parse(FakeCall("GET", "/fake/comments?issue=" + std::to_string(issue))); }
  // The fake's record of API requests, from the INDEXth on.
  std::vector<std::string> Requests(size_t from = 0) {
    auto all = json::parse(FakeCall("GET", "/fake/requests")).get<std::vector<std::string>>();
    return std::vector<std::string>(all.begin() + std::min(from, all.size()), all.end());
  }
  static int Count(const std::vector<std::string>& requests, const std::string& prefix) {
    int n = 0;
    for (const auto& r : requests) n += r.starts_with(prefix);
    return n;
  }
  std::string StateOnBranch() {
    return Git({"--git-dir", origin_, "show", "crossdock-state:crossdock.state.json"}).out;
  }
  // Everything a job showed: comments, step summaries, logs. Must never hold a secret.
  void ExpectNoSecretIn(const JobRun& run) {
    EXPECT_FALSE(Contains(run.Log(), kSecret));
    EXPECT_FALSE(Contains(run.Log(), kToken));
    EXPECT_FALSE(Contains(run.Summary(), kSecret));
  }

  TempDir dir_;
  Registry src_;
  Registry dst_;
  FakeProcess api_;
  std::string origin_;
  std::string config_;
  BuiltImage v1_, v2_;
  std::vector<std::string> uploaded_;
  int runs_ = 0;
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
  EXPECT_TRUE(body.starts_with(kMarker)) << body;
  EXPECT_TRUE(Contains(body, "Plan: 1 to copy, 0 to replace, 0 to delete.")) << body;
  EXPECT_TRUE(Contains(body, "| copy | `dst/lib/app` | `v1` |")) << body;
  EXPECT_EQ(ours["author"], "github-actions[bot]");
  // The step summary got the same Markdown.
  EXPECT_EQ(first.Summary(), body);
  std::vector<std::string> requests = Requests();
  EXPECT_EQ(Count(requests, "POST /repos/acme/registry-config/issues/7/comments"), 1) << first.Log();
  EXPECT_EQ(Count(requests, "PATCH "), 0);
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
  EXPECT_EQ(Count(requests, "GET /repos/acme/registry-config/issues/7/comments?per_page=100&page=2"), 1)
      << second.Log();
  EXPECT_EQ(Count(requests, "POST "), 0) << second.Log();
  EXPECT_EQ(Count(requests, "PATCH /repos/acme/registry-config/issues/comments/" +
                                std::to_string(ours["id"].get<long>())),
            1);
  EXPECT_EQ(uploaded_.back(), "crossdock-plan-" + Sha('2'));
  ExpectNoSecretIn(second);
}

TEST_F(GithubWorkflowTest, MergeAppliesTheReviewedPlanAndKeepsTheStateOnABranch) {
  WriteConfig("\"v1\"");
  ASSERT_TRUE(PullRequest(7, Sha('1')).success);
  JobRun apply = Merge(7, Sha('1'), Sha('a'));
  ASSERT_TRUE(apply.success) << apply.Log();
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), v1_.digest);
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v2"), std::nullopt);
  EXPECT_TRUE(Contains(apply.Step("Download the reviewed plan").out,
                       "Applying the plan reviewed in pull request #7 (its commit " + Sha('1') + ")."))
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
  EXPECT_EQ(Git({"--git-dir", origin_, "rev-list", "--count", "crossdock-state"}).out, "2\n");
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
  EXPECT_EQ(Count(Requests(seen), "POST "), 0);
  EXPECT_EQ(quiet.Summary(), std::string(kMarker) + "No changes. Destinations match the desired state.\n");
  EXPECT_TRUE(Contains(quiet.Step("Comment on the pull request").out,
                       "No changes and no earlier comment: nothing to say on the pull request."));

  // Pull request 7's plan run again now: its comment says there is nothing left to do.
  JobRun again = PullRequest(7, Sha('1'));
  ASSERT_TRUE(again.success) << again.Log();
  json comments = Comments(7);
  ASSERT_EQ(comments.size(), 1u);
  EXPECT_EQ(comments[0]["body"], std::string(kMarker) + "No changes. Destinations match the desired state.\n");
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
