// Shared by the tests of the CI examples (github_workflow_test, gitlab_workflow_test): a
// fixture with a source registry holding lib/app:v1 and v2, a destination whose password
// is the secret REGISTRY_PASSWORD, a crossdock.toml between them, the crossdock under
// test as `crossdock` in a PATH directory (beside an apt-get that fails the test: the
// examples' install steps must find every tool), and a bare git repository to serve as
// the project's `origin`, which holds the state branch.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/ci_workflow.h"
#include "tests/support/harness.h"

namespace crossdock::testing {

constexpr const char* kRegistrySecret = "registry-s3cret-pw";
constexpr const char* kPlanMarker = "<!-- crossdock-plan: crossdock.toml -->\n";
constexpr const char* kNoChanges =
    "<!-- crossdock-plan: crossdock.toml -->\nNo changes. Destinations match the desired state.\n";

// PATH under the source tree ($CROSSDOCK_SRC, else the current directory).
inline std::string SourcePath(const std::string& path) {
  const char* src = std::getenv("CROSSDOCK_SRC");
  return std::string(src ? src : ".") + "/" + path;
}

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A 40-hex commit id made of one repeated digit.
inline std::string Sha(char c) { return std::string(40, c); }

// How many of REQUESTS ("METHOD /path?query") start with PREFIX.
inline int CountPrefix(const std::vector<std::string>& requests, const std::string& prefix) {
  return static_cast<int>(std::count_if(requests.begin(), requests.end(),
                                        [&](const std::string& r) { return r.starts_with(prefix); }));
}

class CiWorkflowTest : public ::testing::Test {
 protected:
  CiWorkflowTest() : dst_(Registry::Options{.htpasswd_user = "ci", .htpasswd_password = kRegistrySecret}) {
    RunCommand({"mkdir", "-p", dir_.Sub("bin")});
    if (symlink(CrossdockBin().c_str(), dir_.Sub("bin/crossdock").c_str()) != 0)
      throw HarnessError("cannot link crossdock into " + dir_.Sub("bin"));
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

  // crossdock.toml as the change (or the default branch, for the apply) has it: lib/app's
  // TAGS (a TOML array's inside) mirrored from src (or SRC_URL) to dst.
  void WriteConfig(const std::string& tags, const std::string& src_url = "") {
    config_ = "[endpoints.src]\ntype = \"docker-registry\"\nurl = \"" +
              (src_url.empty() ? src_.url() : src_url) +
              "\"\n\n[endpoints.dst]\ntype = \"docker-registry\"\nurl = \"" + dst_.url() +
              "\"\nusername = \"ci\"\npassword = \"env:REGISTRY_PASSWORD\"\n\n"
              "[rules.mirror]\nsource = \"src\"\ndestination = \"dst\"\n"
              "repositories = [\"lib/app\"]\ntags = [" + tags + "]\n";
  }

  // What the runner's checkout leaves: a git repository with crossdock.toml and origin.
  void Checkout(const std::string& workspace) {
    Git({"init", "--quiet"}, workspace);
    Git({"remote", "add", "origin", "file://" + origin_}, workspace);
    WriteFile(workspace + "/crossdock.toml", config_);
  }

  // A fresh directory per job run: NAME-N.
  std::string NewDir(const std::string& name) {
    const std::string path = dir_.Sub(name + "-" + std::to_string(++dirs_));
    RunCommand({"mkdir", "-p", path});
    return path;
  }

  // The environment every runner gives, besides the forge's own variables.
  EnvMap BaseRunnerEnv(const std::string& home) const {
    const char* path = std::getenv("PATH");
    return {{"CI", "true"},
            {"HOME", home},
            {"PATH", dir_.Sub("bin") + ":" + (path ? path : "/usr/bin:/bin")},
            // No credentials from this machine's container or Docker config.
            {"XDG_RUNTIME_DIR", ""},
            {"REGISTRY_AUTH_FILE", ""},
            {"DOCKER_CONFIG", ""}};
  }

  // One request to a fake (its test hooks); BODY_FILE is sent as a POST's body.
  static std::string Curl(const std::string& method, const std::string& url, const std::string& body_file = "") {
    std::vector<std::string> argv = {"curl", "-sS", "--fail", "--noproxy", "*", "-X", method};
    if (method == "POST") {
      argv.push_back("--data-binary");
      argv.push_back(body_file.empty() ? "" : "@" + body_file);
    }
    argv.push_back(url);
    RunResult r = RunCommand(argv);
    if (r.exit_code != 0) throw HarnessError(method + " " + url + " failed: " + r.err);
    return r.out;
  }

  std::string StateOnBranch() const {
    return Git({"--git-dir", origin_, "show", "crossdock-state:crossdock.state.json"}).out;
  }
  std::string StateCommits() const {
    return Git({"--git-dir", origin_, "rev-list", "--count", "crossdock-state"}).out;
  }

  TempDir dir_;
  Registry src_;
  Registry dst_;
  std::string origin_;
  std::string config_;
  BuiltImage v1_, v2_;
  int dirs_ = 0;
};

}  // namespace crossdock::testing
