#include "core/shard.h"

#include <gtest/gtest.h>

#include <map>

namespace crossdock::core {
namespace {

// The formula is a contract between the shards of one run, and between versions: these
// values (computed independently with Python's hashlib, see README "Shards") never
// change.
TEST(ShardHashTest, PinnedValues) {
  EXPECT_EQ(ShardHash("dst", "library/nginx"), 0xad9c205b5e863496ull);
  EXPECT_EQ(ShardHash("dst", "app"), 0x9bc2633b13ce60eaull);
  EXPECT_EQ(ShardHash("harbor", "team/a/b"), 0xe054db57dc133f2bull);
  EXPECT_EQ(ShardHash("ecr", ""), 0x5a96d5fd869abe84ull);
}

TEST(ShardHashTest, EndpointAndRepositoryAreSeparated) {
  // "ab" + "c" and "a" + "bc" are different inputs thanks to the NUL between them.
  EXPECT_NE(ShardHash("ab", "c"), ShardHash("a", "bc"));
}

TEST(ShardTest, EachRepositoryHasExactlyOneOwner) {
  // 0xe054db57dc133f2b mod 7 is 2.
  for (int i = 0; i < 7; ++i)
    EXPECT_EQ((Shard{i, 7}.Owns("harbor", "team/a/b")), i == 2) << i;
  for (int n : {1, 2, 3, 7}) {
    for (const char* repo : {"a", "b/c", "library/nginx", "x/y/z"}) {
      int owners = 0;
      for (int i = 0; i < n; ++i) owners += Shard{i, n}.Owns("dst", repo);
      EXPECT_EQ(owners, 1) << repo << " of " << n;
    }
  }
  EXPECT_TRUE(Owns(std::nullopt, "dst", "anything"));
}

TEST(ShardTest, SharesAreEven) {
  std::map<int, int> per_shard;
  for (int r = 0; r < 4000; ++r)
    for (int i = 0; i < 4; ++i) per_shard[i] += Shard{i, 4}.Owns("dst", "repo" + std::to_string(r));
  for (const auto& [i, n] : per_shard) {
    EXPECT_GT(n, 850) << i;
    EXPECT_LT(n, 1150) << i;
  }
}

TEST(ParseShardTest, TakesIndexSlashCount) {
  auto s = ParseShard("2/7");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(*s, (Shard{2, 7}));
  EXPECT_EQ(s->Name(), "2/7");
  EXPECT_EQ(*ParseShard("0/1"), (Shard{0, 1}));
  EXPECT_EQ(*ParseShard("99999/100000"), (Shard{99999, 100000}));
}

TEST(ParseShardTest, BadInputSaysWhatIsWrongAndTheFormExpected) {
  const std::string form =
      "; expected --shard I/N, shard I of N with whole numbers 0 <= I < N (e.g. --shard 0/4)";
  const std::map<std::string, std::string> cases = {
      {"4/4", "the index 4 is not below the count 4 (shards are numbered from 0 to 3)"},
      {"x", "not of the form I/N"},
      {"0/0", "the count must be at least 1"},
      {"-1/3", "the index \"-1\" is not a whole number from 0"},
      {"1/", "the count N is missing"},
      {"/3", "the index I is missing"},
      {"1/x", "the count \"x\" is not a whole number from 1"},
      {"1/2/3", "the count \"2/3\" is not a whole number from 1"},
      {" 1/2", "the index \" 1\" is not a whole number from 0"},
      {"0/1000000", "the count is above 100000, the most shards"},
      {"", "not of the form I/N"},
  };
  for (const auto& [in, what] : cases) {
    auto s = ParseShard(in);
    ASSERT_FALSE(s.ok()) << in;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(s.status().message(), "--shard \"" + in + "\": " + what + form);
  }
}

}  // namespace
}  // namespace crossdock::core
