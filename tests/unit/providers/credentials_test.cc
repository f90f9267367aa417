// FindCredentials and RunCredentialHelper with real files and real helper programs
// (shell scripts in a temporary directory put on the looked-up PATH).
#include "providers/credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace crossdock::providers {
namespace {

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crossdock-creds-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    env_["PATH"] = dir_;
    env_["HOME"] = dir_ + "/home";
    lookup_.getenv = [this](const char* k) -> const char* {
      auto it = env_.find(k);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
    lookup_.helper_timeout = std::chrono::milliseconds(10000);
    endpoint_.name = "reg";
    endpoint_.url = "https://registry.example:5000";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text, bool executable = false) {
    const std::string path = dir_ + "/" + rel;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
    if (executable) chmod(path.c_str(), 0755);
  }
  // A helper answering `get` with SCRIPT (sh).
  void Helper(const std::string& suffix, const std::string& script) {
    Write("docker-credential-" + suffix, "#!/bin/sh\n" + script, true);
  }

  std::string dir_;
  std::map<std::string, std::string> env_;
  CredentialLookup lookup_;
  core::Endpoint endpoint_;
};

TEST_F(CredentialsTest, FirstFileWithAnEntryWinsInPodmansOrder) {
  // base64("docker:fromdocker") in ~/.docker/config.json, base64("podman:frompodman")
  // in the containers file, which comes first.
  Write("home/.docker/config.json",
        R"({"auths":{"registry.example:5000":{"auth":"ZG9ja2VyOmZyb21kb2NrZXI="}}})");
  Write("run/containers/auth.json", R"({"auths":{"other.example":{"auth":"eDp5"}}})");
  env_["XDG_RUNTIME_DIR"] = dir_ + "/run";
  auto c = FindCredentials(endpoint_, lookup_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->username, "docker");
  EXPECT_EQ(c->password, "fromdocker");
  EXPECT_EQ(c->source, "auths in " + dir_ + "/home/.docker/config.json");
  Write("run/containers/auth.json",
        R"({"auths":{"https://registry.example:5000/v2/":{"auth":"cG9kbWFuOmZyb21wb2RtYW4="}}})");
  c = FindCredentials(endpoint_, lookup_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->username, "podman");
  EXPECT_EQ(c->source, "auths in " + dir_ + "/run/containers/auth.json");
}

TEST_F(CredentialsTest, NoEntryAnywhereIsAnonymousAndSaysSo) {
  auto c = FindCredentials(endpoint_, lookup_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->username, "");
  EXPECT_EQ(c->source,
            "anonymous (no username/password, and no auth file has an entry for "
            "registry.example:5000)");
}

TEST_F(CredentialsTest, HelperAnswersWithTheServerOnStdin) {
  Helper("test", "[ \"$1\" = get ] || exit 9\nread -r server || true\n"
                 "printf '{\"ServerURL\":\"%s\",\"Username\":\"robot\",\"Secret\":\"pw-%s\"}' "
                 "\"$server\" \"$server\"\n");
  Write("home/.docker/config.json", R"({"credHelpers":{"registry.example:5000":"test"}})");
  auto c = FindCredentials(endpoint_, lookup_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->username, "robot");
  EXPECT_EQ(c->password, "pw-registry.example:5000");
  EXPECT_EQ(c->source,
            "docker-credential-test (credHelpers in " + dir_ + "/home/.docker/config.json)");
}

TEST_F(CredentialsTest, HelperWithoutCredentialsMeansAnonymous) {
  Helper("store", "echo 'credentials not found in native keychain'\nexit 1\n");
  Write("home/.docker/config.json", R"({"credsStore":"store"})");
  auto c = FindCredentials(endpoint_, lookup_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->username, "");
  EXPECT_EQ(c->source,
            "anonymous (docker-credential-store has no credentials for registry.example:5000)");
}

TEST_F(CredentialsTest, FailingHelperIsAnErrorNamingItAndNeverItsOutput) {
  Helper("broken", "echo 'secret-looking-output' ; echo 'more' >&2; exit 3\n");
  Write("home/.docker/config.json", R"({"credsStore":"broken"})");
  auto c = FindCredentials(endpoint_, lookup_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(dir_ + "/docker-credential-broken failed (exit code 3)"),
            std::string::npos)
      << c.status().message();
  EXPECT_EQ(c.status().message().find("secret-looking-output"), std::string::npos);
}

TEST_F(CredentialsTest, HangingHelperIsStoppedAfterTheTimeout) {
  Helper("hang", "exec sleep 600\n");
  Write("home/.docker/config.json", R"({"credsStore":"hang"})");
  lookup_.helper_timeout = std::chrono::milliseconds(300);
  auto c = FindCredentials(endpoint_, lookup_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("did not answer within 0 s and was stopped"),
            std::string::npos)
      << c.status().message();
}

TEST_F(CredentialsTest, MissingHelperSaysItIsNotInstalled) {
  Write("home/.docker/config.json", R"({"credHelpers":{"registry.example:5000":"nope"}})");
  auto c = FindCredentials(endpoint_, lookup_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("docker-credential-nope (credHelpers) for "
                                      "registry.example:5000, which is not installed"),
            std::string::npos)
      << c.status().message();
}

TEST_F(CredentialsTest, ExplicitAuthFileIsTheOnlyOneRead) {
  Write("home/.docker/config.json", R"({"auths":{"registry.example:5000":{"auth":"eDp5"}}})");
  Write("mine.json", R"({"auths":{}})");
  endpoint_.auth_file = dir_ + "/mine.json";
  auto c = FindCredentials(endpoint_, lookup_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->username, "");
  EXPECT_EQ(c->source, "anonymous (" + dir_ + "/mine.json has no entry for registry.example:5000)");
}

TEST_F(CredentialsTest, BrokenAuthFileIsAnErrorNamingIt) {
  Write("home/.docker/config.json", "{not json");
  auto c = FindCredentials(endpoint_, lookup_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(dir_ + "/home/.docker/config.json is not a Docker or "
                                              "Podman auth file"),
            std::string::npos)
      << c.status().message();
}

TEST_F(CredentialsTest, EndpointsOwnCredentialsComeFirst) {
  Write("home/.docker/config.json", R"({"auths":{"registry.example:5000":{"auth":"eDp5"}}})");
  endpoint_.username = "me";
  auto c = FindCredentials(endpoint_, lookup_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->username, "me");
  EXPECT_EQ(c->source, "the endpoint's username and password");
}

}  // namespace
}  // namespace crossdock::providers
