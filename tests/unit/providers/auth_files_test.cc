#include "providers/auth_files.h"

#include <gtest/gtest.h>

#include <map>

namespace crossdock::providers {
namespace {

// base64("me:s3cret")
constexpr const char* kFile = R"({
  "auths": {
    "https://index.docker.io/v1/": {"auth": "bWU6czNjcmV0"},
    "registry.example:5000": {"identitytoken": "tok"},
    "legacy.example": {"username": "u", "password": "p"},
    "helped.example": {"auth": "bWU6czNjcmV0"}
  },
  "credHelpers": {"helped.example": "ecr-login"}
})";

TEST(AuthFilesTest, PathsFollowPodmansOrder) {
  std::map<std::string, std::string> env = {{"REGISTRY_AUTH_FILE", "/a.json"},
                                            {"XDG_RUNTIME_DIR", "/run/user/0"},
                                            {"HOME", "/root"}};
  auto getenv = [&](const char* k) -> const char* {
    auto it = env.find(k);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  EXPECT_EQ(AuthFilePaths(getenv), (std::vector<std::string>{
                                       "/a.json", "/run/user/0/containers/auth.json",
                                       "/root/.docker/config.json"}));
  env = {{"DOCKER_CONFIG", "/etc/docker"}, {"HOME", "/root"}};
  EXPECT_EQ(AuthFilePaths(getenv), std::vector<std::string>{"/etc/docker/config.json"});
}

TEST(AuthFilesTest, EntriesAreFoundByHostWhateverTheKeysSpelling) {
  auto hub = LookupAuthEntry(kFile, "registry-1.docker.io", "f.json");
  ASSERT_TRUE(hub.ok() && *hub);
  EXPECT_EQ((*hub)->credentials.username, "me");
  EXPECT_EQ((*hub)->credentials.password, "s3cret");
  EXPECT_EQ((*hub)->how, "auths");
  auto token = LookupAuthEntry(kFile, "Registry.Example:5000", "f.json");
  ASSERT_TRUE(token.ok() && *token);
  EXPECT_EQ((*token)->credentials.username, "<token>");
  EXPECT_EQ((*token)->credentials.password, "tok");
  auto legacy = LookupAuthEntry(kFile, "legacy.example", "f.json");
  ASSERT_TRUE(legacy.ok() && *legacy);
  EXPECT_EQ((*legacy)->credentials.username, "u");
  auto helped = LookupAuthEntry(kFile, "helped.example", "f.json");
  ASSERT_TRUE(helped.ok() && *helped);
  EXPECT_EQ((*helped)->helper, "docker-credential-ecr-login");  // wins over auths
  EXPECT_EQ((*helped)->how, "credHelpers");
  auto none = LookupAuthEntry(kFile, "other.example", "f.json");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
}

TEST(AuthFilesTest, CredsStoreServesHostsWithoutAnEntry) {
  auto e = LookupAuthEntry(R"({"auths":{},"credsStore":"pass"})", "any.example", "f.json");
  ASSERT_TRUE(e.ok() && *e);
  EXPECT_EQ((*e)->helper, "docker-credential-pass");
  EXPECT_EQ((*e)->how, "credsStore");
}

TEST(AuthFilesTest, DamagedFilesAreErrorsNamingThemAndNeverTheSecret) {
  auto bad = LookupAuthEntry("{not json", "h", "/root/.docker/config.json");
  EXPECT_EQ(bad.status().code(), core::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("/root/.docker/config.json"), std::string::npos);
  auto b64 = LookupAuthEntry(R"({"auths":{"h":{"auth":"c2VjcmV0"}}})", "h", "f.json");  // "secret"
  EXPECT_EQ(b64.status().code(), core::Code::kInvalidArgument);
  EXPECT_EQ(b64.status().message().find("secret"), std::string::npos) << b64.status().message();
  EXPECT_EQ(b64.status().message().find("c2VjcmV0"), std::string::npos);
}

}  // namespace
}  // namespace crossdock::providers
