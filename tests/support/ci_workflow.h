// Runs the shell of the CI examples (examples/ci/github-actions.yml, gitlab-ci.yml) as
// their runners would, so tests check the shipped files themselves, not a copy: the YAML
// is read with yaml-cpp and each job's shell runs in bash on this machine, against
// loopback fakes of the forges' APIs. Used by tests/e2e/*_workflow_test.cc.
//
// What is emulated, and what not:
//   GitHub Actions  steps in order; `run:` as the `shell: bash` default runs it (`bash
//                   --noprofile --norc -eo pipefail FILE`) in the workspace, with the
//                   runner's environment (given by the test) plus the workflow's, the
//                   job's and the step's `env:`, whose `${{ … }}` expressions are looked
//                   up in a table the test gives (anything else fails the test); a fresh
//                   GITHUB_OUTPUT and GITHUB_STEP_SUMMARY file per step. `if:` is
//                   success() by default, or a conjunction of always(), success(),
//                   failure() and `steps.ID.outcome == 'VALUE'`; anything else fails the
//                   test. `uses:` steps go to a handler the test gives. Not emulated: job
//                   `if:`, `needs:`, matrices, services, containers (the steps run here).
//   GitLab CI       a job's before_script and script, in that order, as one bash script
//                   with `set -eo pipefail` (what the runner's bash shell does), with the
//                   predefined variables the test gives plus the global and the job's
//                   `variables:` (no `$VAR` expansion inside them: the examples use none).
//                   Not emulated: rules, needs, artifacts (the test does what they would).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace crossdock::testing {

using EnvMap = std::map<std::string, std::string>;

struct WorkflowStep {
  std::string name{}, id{}, run{}, uses{}, condition{};  // condition: the step's `if:`
  EnvMap env{}, with{};  // as written: expressions not evaluated
};

struct WorkflowJob {
  std::string name{};
  EnvMap env{};  // the workflow's `env:` overridden by the job's, as written
  std::vector<WorkflowStep> steps{};
};

// Job JOB of the GitHub workflow at PATH. Throws HarnessError when the file does not
// parse, has no such job, the job's shell is not bash, or a `run:` block holds a
// `${{ … }}` expression (they belong in `env:`).
WorkflowJob LoadGithubJob(const std::string& path, const std::string& job);

// TEXT with each `${{ EXPR }}` replaced by CONTEXT[EXPR] (EXPR trimmed). Throws
// HarnessError naming an expression CONTEXT lacks.
std::string EvaluateExpressions(const std::string& text, const EnvMap& context);

struct StepRun {
  std::string name{};
  bool ran = false;
  int exit_code = 0;
  std::string out{}, err{};
  std::string summary{};  // what the step appended to GITHUB_STEP_SUMMARY
};

struct JobRun {
  bool success = true;
  std::vector<StepRun> steps{};
  // Every step's name, exit code, stdout and stderr: for failure messages.
  std::string Log() const;
  // The job summary: every step's in order.
  std::string Summary() const;
  // The step named NAME; throws HarnessError if the job has none.
  const StepRun& Step(const std::string& name) const;
};

// Runs a `uses:` step given its `with:` (expressions evaluated) in WORKSPACE; returns
// whether it succeeded.
using UsesHandler = std::function<bool(const WorkflowStep& step, const EnvMap& with)>;

// Runs JOB's steps in WORKSPACE with RUNNER_ENV (GITHUB_*, HOME, PATH…) and the
// expression table CONTEXT (github.*, secrets.*; steps.* is filled in as steps run).
// Throws HarnessError for a step that runs over TIMEOUT_S or an unsupported `if:`.
JobRun RunGithubJob(const WorkflowJob& job, const std::string& workspace, const EnvMap& runner_env,
                    EnvMap context, const UsesHandler& uses, int timeout_s = 300);

struct GitlabJob {
  std::string name{};
  EnvMap variables{};                // global `variables:` overridden by the job's
  std::vector<std::string> script{};  // before_script (the job's, else default's), then script
  std::string image{};
};

// Job JOB of the GitLab CI file at PATH. Throws HarnessError when it does not parse or has
// no such job.
GitlabJob LoadGitlabJob(const std::string& path, const std::string& job);

// Runs JOB's script in WORKSPACE with RUNNER_ENV (CI_*, HOME, PATH…) under its variables.
RunResult RunGitlabJob(const GitlabJob& job, const std::string& workspace, const EnvMap& runner_env,
                       int timeout_s = 300);

}  // namespace crossdock::testing
