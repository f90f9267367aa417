#include <gtest/gtest.h>

#include "providers/distribution/client.h"

namespace crossdock::providers {
namespace {

TEST(ChallengeTest, BearerWithQuotedParams) {
  Challenge c = ParseChallenge(
      "Bearer realm=\"https://auth.example/token\",service=\"registry\",scope=\"repository:a/b:pull,push\",error=\"invalid_token\"");
  EXPECT_EQ(c.scheme, "bearer");
  EXPECT_EQ(c.params["realm"], "https://auth.example/token");
  EXPECT_EQ(c.params["service"], "registry");
  EXPECT_EQ(c.params["scope"], "repository:a/b:pull,push");
  EXPECT_EQ(c.params["error"], "invalid_token");
}

TEST(ChallengeTest, BasicRealm) {
  Challenge c = ParseChallenge("Basic realm=\"Registry Realm\"");
  EXPECT_EQ(c.scheme, "basic");
  EXPECT_EQ(c.params["realm"], "Registry Realm");
}

TEST(ChallengeTest, EmptyHeaderHasNoScheme) { EXPECT_EQ(ParseChallenge("").scheme, ""); }

}  // namespace
}  // namespace crossdock::providers
