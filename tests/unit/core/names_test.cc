#include "core/names.h"

#include <gtest/gtest.h>

#include <string>

namespace crossdock::core {
namespace {

TEST(NamesTest, RepositoryNamesFollowTheDistributionGrammar) {
  for (const char* ok : {"a", "lib/app", "library/nginx", "a.b/c_d/e__f/g-h/i---j", "0/9",
                         "team/sub/deep/path"})
    EXPECT_TRUE(IsValidRepositoryName(ok)) << ok;
  for (const char* bad : {"", "lib/../other/victim", "../x", "Lib/app", "lib//app", "/lib",
                          "lib/", "a..b", "a___b", "a_.b", ".a", "a-", "lib/app:v1",
                          "lib/app/manifests/../x", "a b", "lib%2F..%2Fx", "lib/app?n=1"})
    EXPECT_FALSE(IsValidRepositoryName(bad)) << bad;
  EXPECT_TRUE(IsValidRepositoryName(std::string(255, 'a')));
  EXPECT_FALSE(IsValidRepositoryName(std::string(256, 'a')));
}

TEST(NamesTest, TagsFollowTheDistributionGrammar) {
  for (const char* ok : {"v1", "latest", "_x", "1.0.0-rc.1", "V1_2", "sha256-abc.sig"})
    EXPECT_TRUE(IsValidTag(ok)) << ok;
  for (const char* bad : {"", ".v1", "-v1", "../../../other/victim/manifests/pwned", "a/b",
                          "v1:x", "v 1", "v1\n", "sha256:abc"})
    EXPECT_FALSE(IsValidTag(bad)) << bad;
  EXPECT_TRUE(IsValidTag(std::string(128, 'a')));
  EXPECT_FALSE(IsValidTag(std::string(129, 'a')));
}

TEST(NamesTest, ShowNameEscapesAndShortens) {
  EXPECT_EQ(ShowName("lib/app"), "lib/app");
  EXPECT_EQ(ShowName("a\x1b[31m\n"), "a\\x1b[31m\\x0a");
  EXPECT_EQ(ShowName(std::string(100, 'a')), std::string(80, 'a') + "…");
}

}  // namespace
}  // namespace crossdock::core
