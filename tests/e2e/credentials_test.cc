// End to end: credentials found where `docker login` and `podman login` keep them (a
// Docker config.json, a containers auth.json, a credential helper) against a real
// docker-registry with htpasswd auth; the copies are checked with skopeo/curl.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

// base64("admin:s3cret-pw") and base64("admin:wrong")
constexpr const char* kRightAuth = "YWRtaW46czNjcmV0LXB3";
constexpr const char* kWrongAuth = "YWRtaW46d3Jvbmc=";

class CredentialsTest : public ::testing::Test {
 protected:
  CredentialsTest()
      : dst_(Registry::Options{.htpasswd_user = "admin", .htpasswd_password = "s3cret-pw"}) {
    config_ = dir_.Sub("crossdock.toml");
    env_ = {{"HOME", dir_.Sub("home")},
            {"XDG_RUNTIME_DIR", ""},
            {"REGISTRY_AUTH_FILE", ""},
            {"DOCKER_CONFIG", ""},
            {"PATH", dir_.Sub("bin") + ":" + std::string(std::getenv("PATH") ? std::getenv("PATH") : "")}};
    RunCommand({"mkdir", "-p", dir_.Sub("home/.docker"), dir_.Sub("run/containers"), dir_.Sub("bin"),
                dir_.Sub("secrets")});
    ImageSpec spec;
    spec.layers = {LayerSpec{.size = 4096, .seed = 7}};
    image_ = BuildImage(dir_.Sub("layout"), "app", spec);
    Push(dir_.Sub("layout"), "app", src_, "lib/app", "v1");
  }

  void WriteConfig(const std::string& dst_extra = "") {
    WriteFile(config_, "[endpoints.src]\nurl = \"" + src_.url() + "\"\n\n[endpoints.dst]\nurl = \"" +
                           dst_.url() + "\"\n" + dst_extra +
                           "\n[rules.mirror]\nsource = \"src\"\ndestination = \"dst\"\n");
  }
  std::string DockerAuths(const std::string& auth) {
    return "{\"auths\":{\"" + dst_.host() + "\":{\"auth\":\"" + auth + "\"}}}";
  }
  RunResult Crossdock(std::vector<std::string> args) {
    args.insert(args.end(), {"-c", config_, "--no-color"});
    return RunCrossdock(args, env_, dir_.path());
  }

  TempDir dir_;
  Registry src_;
  Registry dst_;
  std::string config_;
  std::map<std::string, std::string> env_;
  BuiltImage image_;
};

TEST_F(CredentialsTest, DockerConfigJsonLogsInAndEndpointTestSaysSo) {
  WriteConfig();
  WriteFile(dir_.Sub("home/.docker/config.json"), DockerAuths(kRightAuth));
  RunResult test = Crossdock({"endpoint", "test", "dst"});
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("credentials: accepted (user admin, from auths in " +
                          dir_.Sub("home/.docker/config.json") + ")"),
            std::string::npos)
      << test.out;
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), image_.digest);
  EXPECT_EQ((apply.out + apply.err).find("s3cret-pw"), std::string::npos);
}

TEST_F(CredentialsTest, ContainersAuthJsonComesBeforeDockerConfig) {
  WriteConfig();
  WriteFile(dir_.Sub("home/.docker/config.json"), DockerAuths(kWrongAuth));
  WriteFile(dir_.Sub("run/containers/auth.json"),
            "{\"auths\":{\"http://" + dst_.host() + "/v2/\":{\"auth\":\"" + kRightAuth + "\"}}}");
  env_["XDG_RUNTIME_DIR"] = dir_.Sub("run");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), image_.digest);
  // Without it, the wrong password in config.json is what crossdock uses, and says so.
  env_["XDG_RUNTIME_DIR"] = "";
  RunResult test = Crossdock({"endpoint", "test", "dst"});
  EXPECT_EQ(test.exit_code, 1);
  EXPECT_NE(test.out.find("credentials: REJECTED"), std::string::npos) << test.out;
}

TEST_F(CredentialsTest, CredentialHelperAnswersAndItsOutputIsNeverShown) {
  WriteConfig();
  WriteFile(dir_.Sub("bin/docker-credential-e2e"),
            "#!/bin/sh\nread -r server\n[ \"$server\" = \"" + dst_.host() +
                "\" ] || { echo \"unexpected server $server\" >&2; exit 4; }\n"
                "echo '{\"ServerURL\":\"'$server'\",\"Username\":\"admin\",\"Secret\":\"s3cret-pw\"}'\n");
  chmod(dir_.Sub("bin/docker-credential-e2e").c_str(), 0755);
  WriteFile(dir_.Sub("home/.docker/config.json"),
            "{\"credHelpers\":{\"" + dst_.host() + "\":\"e2e\"}}");
  RunResult test = Crossdock({"endpoint", "test", "dst"});
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("from docker-credential-e2e (credHelpers in "), std::string::npos)
      << test.out;
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), image_.digest);
  EXPECT_EQ((apply.out + apply.err + test.out + test.err).find("s3cret-pw"), std::string::npos);

  // A helper that fails: one clear error naming it, nothing copied, no output of its own.
  WriteFile(dir_.Sub("bin/docker-credential-e2e"),
            "#!/bin/sh\necho 'token=leaked-looking-text'\nexit 2\n");
  RunResult broken = Crossdock({"plan"});
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find("docker-credential-e2e failed (exit code 2)"), std::string::npos)
      << broken.err;
  EXPECT_EQ((broken.out + broken.err).find("leaked-looking-text"), std::string::npos);
}

TEST_F(CredentialsTest, ExplicitAuthFileRelativeToTheConfig) {
  WriteFile(dir_.Sub("home/.docker/config.json"), DockerAuths(kWrongAuth));
  WriteFile(dir_.Sub("secrets/auth.json"), DockerAuths(kRightAuth));
  WriteConfig("auth_file = \"secrets/auth.json\"\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(HeadDigest(dst_, "lib/app", "v1"), image_.digest);
}

TEST_F(CredentialsTest, NoEntryAnywhereIsAnonymousAndTheRegistrySaysNo) {
  WriteConfig();
  RunResult test = Crossdock({"endpoint", "test", "dst"});
  EXPECT_EQ(test.exit_code, 1);
  EXPECT_NE(test.out.find("credentials: REJECTED"), std::string::npos) << test.out;
}

}  // namespace
}  // namespace crossdock::testing
