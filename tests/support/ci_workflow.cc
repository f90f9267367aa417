// The CI examples' shell run as their runners would (see ci_workflow.h).
#include "tests/support/ci_workflow.h"

#include <yaml-cpp/yaml.h>

#include <sstream>

namespace crossdock::testing {

namespace {

YAML::Node LoadYaml(const std::string& path) {
  try {
    return YAML::LoadFile(path);
  } catch (const std::exception& e) {
    throw HarnessError("cannot read " + path + ": " + e.what());
  }
}

// A mapping of scalars (env:, with:, variables:) as strings; empty when absent.
EnvMap ScalarMap(const YAML::Node& node, const std::string& where) {
  EnvMap out;
  if (!node) return out;
  if (!node.IsMap()) throw HarnessError(where + " is not a mapping");
  for (const auto& kv : node) {
    if (!kv.second.IsScalar()) throw HarnessError(where + "." + kv.first.as<std::string>() + " is not a scalar");
    out[kv.first.as<std::string>()] = kv.second.as<std::string>();
  }
  return out;
}

std::string Scalar(const YAML::Node& node) { return node && node.IsScalar() ? node.as<std::string>() : ""; }

std::string Trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\n");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t\n");
  return s.substr(a, b - a + 1);
}

EnvMap Merge(EnvMap base, const EnvMap& over) {
  for (const auto& [k, v] : over) base[k] = v;
  return base;
}

// Evaluates a step's `if:` (ci_workflow.h lists what is understood).
bool Condition(const std::string& raw, bool job_failed, const EnvMap& context) {
  std::string cond = Trim(raw);
  if (cond.starts_with("${{") && cond.ends_with("}}")) cond = Trim(cond.substr(3, cond.size() - 5));
  if (cond.empty()) return !job_failed;
  bool has_status_function = false, result = true;
  size_t start = 0;  // of the next term; the terms are joined by "&&"
  while (start <= cond.size()) {
    size_t at = cond.find("&&", start);
    const std::string term = Trim(cond.substr(start, at == std::string::npos ? std::string::npos : at - start));
    start = at == std::string::npos ? cond.size() + 1 : at + 2;
    if (term == "always()") {
      has_status_function = true;
    } else if (term == "success()") {
      has_status_function = true;
      result = result && !job_failed;
    } else if (term == "failure()") {
      has_status_function = true;
      result = result && job_failed;
    } else if (size_t eq = term.find("=="); eq != std::string::npos) {
      const std::string left = Trim(term.substr(0, eq)), right = Trim(term.substr(eq + 2));
      if (!left.starts_with("steps.") || right.size() < 2 || right.front() != '\'' || right.back() != '\'')
        throw HarnessError("unsupported condition in `if: " + raw + "`");
      auto it = context.find(left);
      result = result && it != context.end() && it->second == right.substr(1, right.size() - 2);
    } else {
      throw HarnessError("unsupported condition in `if: " + raw + "`");
    }
  }
  // Without a status function, success() is implied.
  return has_status_function ? result : result && !job_failed;
}

}  // namespace

WorkflowJob LoadGithubJob(const std::string& path, const std::string& job) {
  YAML::Node root = LoadYaml(path);
  YAML::Node j = root["jobs"][job];
  if (!j || !j.IsMap()) throw HarnessError(path + " has no job \"" + job + "\"");
  const std::string shell = Scalar(root["defaults"]["run"]["shell"]);
  if (shell != "bash") throw HarnessError(path + ": defaults.run.shell is \"" + shell + "\", not bash");
  WorkflowJob out;
  out.name = job;
  out.env = Merge(ScalarMap(root["env"], "env"), ScalarMap(j["env"], "jobs." + job + ".env"));
  for (const auto& s : j["steps"]) {
    WorkflowStep step;
    step.name = Scalar(s["name"]);
    step.id = Scalar(s["id"]);
    step.run = Scalar(s["run"]);
    step.uses = Scalar(s["uses"]);
    step.condition = Scalar(s["if"]);
    if (step.name.empty()) step.name = step.uses.empty() ? step.run.substr(0, step.run.find('\n')) : step.uses;
    step.env = ScalarMap(s["env"], step.name + ".env");
    step.with = ScalarMap(s["with"], step.name + ".with");
    // Expressions belong in `env:`, where a test can give their values: one inside a
    // script would be pasted into the shell unquoted.
    if (step.run.find("${{") != std::string::npos)
      throw HarnessError("step \"" + step.name + "\" has a ${{ … }} expression in its run: block");
    if (s["shell"] && Scalar(s["shell"]) != "bash")
      throw HarnessError("step \"" + step.name + "\" has a shell other than bash");
    out.steps.push_back(std::move(step));
  }
  if (out.steps.empty()) throw HarnessError(path + ": job \"" + job + "\" has no steps");
  return out;
}

std::string EvaluateExpressions(const std::string& text, const EnvMap& context) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("${{", pos);
    if (open == std::string::npos) break;
    size_t close = text.find("}}", open);
    if (close == std::string::npos) throw HarnessError("unterminated ${{ in \"" + text + "\"");
    const std::string expr = Trim(text.substr(open + 3, close - open - 3));
    auto it = context.find(expr);
    if (it == context.end()) throw HarnessError("the test gives no value for ${{ " + expr + " }}");
    out += text.substr(pos, open - pos) + it->second;
    pos = close + 2;
  }
  return out + text.substr(pos);
}

std::string JobRun::Log() const {
  std::string log;
  for (const auto& s : steps) {
    log += "== " + s.name + (s.ran ? " (exit " + std::to_string(s.exit_code) + ")" : " (skipped)") + "\n";
    if (!s.out.empty()) log += s.out + (s.out.ends_with("\n") ? "" : "\n");
    if (!s.err.empty()) log += "-- stderr:\n" + s.err + (s.err.ends_with("\n") ? "" : "\n");
  }
  return log;
}

std::string JobRun::Summary() const {
  std::string all;
  for (const auto& s : steps) all += s.summary;
  return all;
}

const StepRun& JobRun::Step(const std::string& name) const {
  for (const auto& s : steps)
    if (s.name == name) return s;
  throw HarnessError("the job has no step \"" + name + "\"");
}

JobRun RunGithubJob(const WorkflowJob& job, const std::string& workspace, const EnvMap& runner_env,
                    EnvMap context, const UsesHandler& uses, int timeout_s) {
  JobRun run;
  TempDir files("crossdock-runner");
  EnvMap job_env;
  for (const auto& [k, v] : job.env) job_env[k] = EvaluateExpressions(v, context);
  int n = 0;
  for (const auto& step : job.steps) {
    ++n;
    StepRun result;
    result.name = step.name;
    const bool go = Condition(step.condition, !run.success, context);
    const std::string outcome_key = "steps." + step.id + ".outcome";
    if (!go) {
      if (!step.id.empty()) context[outcome_key] = "skipped";
      run.steps.push_back(result);
      continue;
    }
    result.ran = true;
    EnvMap env = Merge(runner_env, job_env);
    for (const auto& [k, v] : step.env) env[k] = EvaluateExpressions(v, context);
    bool ok = false;
    if (!step.uses.empty()) {
      EnvMap with;
      for (const auto& [k, v] : step.with) with[k] = EvaluateExpressions(v, context);
      ok = uses(step, with);
      result.exit_code = ok ? 0 : 1;
    } else {
      const std::string script = files.Sub("step" + std::to_string(n) + ".sh");
      const std::string output = files.Sub("output" + std::to_string(n));
      const std::string summary = files.Sub("summary" + std::to_string(n));
      WriteFile(script, step.run);
      WriteFile(output, "");
      WriteFile(summary, "");
      env["GITHUB_OUTPUT"] = output;
      env["GITHUB_STEP_SUMMARY"] = summary;
      RunResult r = RunCommand({"bash", "--noprofile", "--norc", "-eo", "pipefail", script}, env,
                               workspace, timeout_s);
      result.exit_code = r.exit_code;
      result.out = r.out;
      result.err = r.err;
      result.summary = ReadFile(summary);
      ok = r.exit_code == 0;
      if (!step.id.empty()) {
        std::istringstream lines(ReadFile(output));
        std::string line;
        while (std::getline(lines, line))
          if (size_t eq = line.find('='); eq != std::string::npos)
            context["steps." + step.id + ".outputs." + line.substr(0, eq)] = line.substr(eq + 1);
      }
    }
    if (!step.id.empty()) context[outcome_key] = ok ? "success" : "failure";
    if (!ok) run.success = false;
    run.steps.push_back(result);
  }
  return run;
}

GitlabJob LoadGitlabJob(const std::string& path, const std::string& job) {
  YAML::Node root = LoadYaml(path);
  YAML::Node j = root[job];
  if (!j || !j.IsMap() || !j["script"]) throw HarnessError(path + " has no job \"" + job + "\"");
  GitlabJob out;
  out.name = job;
  out.variables = Merge(ScalarMap(root["variables"], "variables"), ScalarMap(j["variables"], job + ".variables"));
  out.image = Scalar(j["image"]);
  if (out.image.empty()) out.image = Scalar(root["default"]["image"]);
  YAML::Node before = j["before_script"] ? j["before_script"] : root["default"]["before_script"];
  auto add = [&](const YAML::Node& lines, const std::string& what) {
    if (!lines) return;
    if (lines.IsScalar()) {
      out.script.push_back(lines.as<std::string>());
      return;
    }
    if (!lines.IsSequence()) throw HarnessError(job + "." + what + " is not a list");
    for (const auto& l : lines) {
      if (!l.IsScalar()) throw HarnessError(job + "." + what + " holds a nested list (not emulated)");
      out.script.push_back(l.as<std::string>());
    }
  };
  add(before, "before_script");
  add(j["script"], "script");
  return out;
}

RunResult RunGitlabJob(const GitlabJob& job, const std::string& workspace, const EnvMap& runner_env,
                       int timeout_s) {
  TempDir files("crossdock-runner");
  std::string script = "set -eo pipefail\n";
  for (const auto& line : job.script) script += line + (line.ends_with("\n") ? "" : "\n");
  WriteFile(files.Sub("script.sh"), script);
  return RunCommand({"bash", "--noprofile", "--norc", files.Sub("script.sh")},
                    Merge(runner_env, job.variables), workspace, timeout_s);
}

}  // namespace crossdock::testing
