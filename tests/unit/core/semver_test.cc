#include "core/semver.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace crossdock::core {
namespace {

Version MustParse(const std::string& tag) {
  auto v = ParseVersion(tag);
  EXPECT_TRUE(v.ok()) << tag << ": " << v.status().message();
  return v.ok() ? *v : Version{};
}

struct ParseCase {
  const char* tag;
  std::uint64_t major, minor, patch;
  std::vector<std::string> prerelease;
  const char* metadata;
};

TEST(VersionParseTest, ReadsPartsPrereleaseAndMetadata) {
  const ParseCase cases[] = {
      {"1.2.3", 1, 2, 3, {}, ""},
      {"v1.2.3", 1, 2, 3, {}, ""},
      {"V1.2.3", 1, 2, 3, {}, ""},
      {"1.20", 1, 20, 0, {}, ""},
      {"v2", 2, 0, 0, {}, ""},
      {"0", 0, 0, 0, {}, ""},
      {"0.0.0", 0, 0, 0, {}, ""},
      {"2.0.0-rc1", 2, 0, 0, {"rc1"}, ""},
      {"1.2.3-alpine", 1, 2, 3, {"alpine"}, ""},
      {"1.2.3-alpine3.19", 1, 2, 3, {"alpine3", "19"}, ""},
      {"1.2-5", 1, 2, 0, {"5"}, ""},
      {"1.2.3-0abc123", 1, 2, 3, {"0abc123"}, ""},
      {"1.2.3-alpha.-1", 1, 2, 3, {"alpha", "-1"}, ""},
      {"1.2.3-rc1-with-hyphen", 1, 2, 3, {"rc1-with-hyphen"}, ""},
      {"1.2.3+test.01", 1, 2, 3, {}, "test.01"},
      {"v1.2.0-x.Y.0+metadata-with-hyphen", 1, 2, 0, {"x", "Y", "0"}, "metadata-with-hyphen"},
      {"1.2.3+build-1", 1, 2, 3, {}, "build-1"},
      {"20221209-update-renovatejson-v4", 20221209, 0, 0, {"update-renovatejson-v4"}, ""},
      {"18446744073709551615.0.1", 18446744073709551615u, 0, 1, {}, ""},
  };
  for (const ParseCase& c : cases) {
    auto v = ParseVersion(c.tag);
    ASSERT_TRUE(v.ok()) << c.tag << ": " << v.status().message();
    EXPECT_EQ(v->major, c.major) << c.tag;
    EXPECT_EQ(v->minor, c.minor) << c.tag;
    EXPECT_EQ(v->patch, c.patch) << c.tag;
    EXPECT_EQ(v->prerelease, c.prerelease) << c.tag;
    EXPECT_EQ(v->metadata, c.metadata) << c.tag;
    EXPECT_EQ(v->original, c.tag);
  }
}

struct BadCase {
  const char* text;
  const char* message;
};

TEST(VersionParseTest, RejectsWhatIsNotAVersionAndSaysWhy) {
  const BadCase cases[] = {
      {"latest", "\"latest\" is not a semantic version"},
      {"", "\"\" is not a semantic version"},
      {"v", "\"v\" is not a semantic version"},
      {"vv1.2", "\"vv1.2\" is not a semantic version"},
      {" 1.2.3", "\" 1.2.3\" is not a semantic version"},
      {"\n1.2", "\"\n1.2\" is not a semantic version"},
      {"sha-abc123", "\"sha-abc123\" is not a semantic version"},
      {"-invalid", "\"-invalid\" is not a semantic version"},
      {"+invalid", "\"+invalid\" is not a semantic version"},
      {"latest-1", "\"latest-1\" is not a semantic version"},
      {"x.1", "\"x.1\" is not a semantic version"},
      {"1.2.3.4",
       "\"1.2.3.4\" is not a semantic version: \"1.2.3.4\" has more than three numeric parts"},
      {"v12.3.4.1234-rc1",
       "\"v12.3.4.1234-rc1\" is not a semantic version: \"12.3.4.1234\" has more than three "
       "numeric parts"},
      {"1.2.beta", "\"1.2.beta\" is not a semantic version: \"beta\" is not a number"},
      {"1.x", "\"1.x\" is not a semantic version: \"x\" is not a number"},
      {"1..2", "\"1..2\" is not a semantic version: \"1..2\" has an empty numeric part"},
      {"1.", "\"1.\" is not a semantic version: \"1.\" has an empty numeric part"},
      {"01.1.1", "\"01.1.1\" is not a semantic version: \"01\" has a leading zero"},
      {"1.01.1", "\"1.01.1\" is not a semantic version: \"01\" has a leading zero"},
      {"1.1.01", "\"1.1.01\" is not a semantic version: \"01\" has a leading zero"},
      {"18446744073709551616.0.0",
       "\"18446744073709551616.0.0\" is not a semantic version: \"18446744073709551616\" is too "
       "large"},
      {"1.2.3-", "\"1.2.3-\" is not a semantic version: \"-\" must be followed by a pre-release"},
      {"1.0.0-alpha..1",
       "\"1.0.0-alpha..1\" is not a semantic version: pre-release \"alpha..1\" has an empty "
       "identifier"},
      {"1.0.0-alpha_beta",
       "\"1.0.0-alpha_beta\" is not a semantic version: pre-release \"alpha_beta\" may hold only "
       "ASCII letters, digits, hyphens and dots"},
      {"1.2.3-beta.01",
       "\"1.2.3-beta.01\" is not a semantic version: pre-release identifier \"01\" has a leading "
       "zero"},
      {"1.2.3+", "\"1.2.3+\" is not a semantic version: \"+\" must be followed by build metadata"},
      {"1.1.2+.123",
       "\"1.1.2+.123\" is not a semantic version: build metadata \".123\" has an empty identifier"},
      {"9.8.7+meta+meta",
       "\"9.8.7+meta+meta\" is not a semantic version: build metadata \"meta+meta\" may hold only "
       "ASCII letters, digits, hyphens and dots"},
  };
  for (const BadCase& c : cases) {
    auto v = ParseVersion(c.text);
    ASSERT_FALSE(v.ok()) << c.text;
    EXPECT_EQ(v.status().code(), Code::kInvalidArgument) << c.text;
    EXPECT_EQ(v.status().message(), c.message);
  }
}

// Versions in strictly ascending precedence.
TEST(VersionCompareTest, OrdersBySemverPrecedence) {
  const std::vector<std::string> ascending = {
      "0.0.0-0",
      "0.0.0",
      "0.0.1",
      "0.1.0",
      "1.0.0-0",
      "1.0.0-0.0",
      "1.0.0-1",
      "1.0.0-2",
      "1.0.0-10",
      "1.0.0-99999999999999999999",
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
      "1.0.1",
      "1.2.0",
      "1.10.0",
      "2.0.0",
      "10.0.0",
      "18446744073709551615.0.0",
  };
  for (size_t i = 0; i < ascending.size(); ++i) {
    for (size_t j = 0; j < ascending.size(); ++j) {
      const int want = i < j ? -1 : (i > j ? 1 : 0);
      EXPECT_EQ(CompareVersions(MustParse(ascending[i]), MustParse(ascending[j])), want)
          << ascending[i] << " vs " << ascending[j];
    }
  }
}

TEST(VersionCompareTest, IgnoresMetadataAndPrefix) {
  const char* equal[][2] = {
      {"1.2.3", "v1.2.3"},     {"1.2.3+a", "1.2.3+b"},         {"1.2", "1.2.0"},
      {"1", "V1.0.0+build.5"}, {"1.0.0-rc.1+x", "1.0.0-rc.1"},
  };
  for (const auto& pair : equal) {
    EXPECT_EQ(CompareVersions(MustParse(pair[0]), MustParse(pair[1])), 0)
        << pair[0] << " vs " << pair[1];
  }
}

struct RangeCase {
  const char* range;
  const char* version;
  bool contains;
};

// Rows from Masterminds/semver constraints_test.go (TestConstraintsCheck and
// TestConstraintCheck; v3.4+, pre-releases admitted per AND group), then
// crossdock's own.
const RangeCase kRangeCases[] = {
    // Equality and bare versions; a partial version is a tilde range.
    {"=2.0.0", "1.2.3", false},
    {"=2.0.0", "2.0.0", true},
    {"=2.0", "1.2.3", false},
    {"=2.0", "2.0.0", true},
    {"=2.0", "2.0.1", true},
    {"= 2.0", "2.0.0", true},
    {"4.1", "4.1.0", true},
    {"4.1.x", "4.1.3", true},
    {"1.x", "1.4", true},
    {"0.x.x", "1.2.3", false},
    {"0.0.x", "1.2.3", false},
    {"0.0.0", "1.2.3", false},
    {"=0", "1", false},
    {"2", "1", false},
    {"2", "3.4.5", false},
    {"2", "2.1.1", true},
    {"2.1", "2.1.1", true},
    {"2.1", "2.2.1", false},
    {"2.*", "1", false},
    {"2.*", "3.4.5", false},
    {"2.*", "2.1.1", true},
    {"2.1.*", "2.1.1", true},
    {"2.1.*", "2.2.1", false},
    {"*", "1.2.3", true},
    {"*", "4.5.6", true},
    {"*", "1.2.3-alpha.1", false},
    {"*-0", "1.2.3-alpha.1", true},
    // Not equal, with wildcards.
    {"!=4.1.0", "4.1.0", false},
    {"!=4.1.0", "4.1.1", true},
    {"!=4.1", "4.1.0", false},
    {"!=4.1", "4.1.1", false},
    {"!=4.1", "5.1.0", true},
    {"!=4.1", "5.1.0-alpha.1", false},
    {"!=4.1-alpha", "4.1.0", true},
    {"!=4.1-alpha", "4.1.0-alpha", false},
    {"!=4.1-alpha", "4.1.1-alpha", false},
    {"!=4.x", "5.1.0", true},
    {"!=4.x", "4.1.0", false},
    {"!=4.1.x", "4.2.0", true},
    {"!=4.2.x", "4.2.3", false},
    // Greater and less, with wildcards.
    {">1.1", "4.1.0", true},
    {">1.1", "1.1.0", false},
    {">11", "11.1.0", false},
    {">11.1", "11.1.1", false},
    {">11.1", "11.2.1", true},
    {">0", "0", false},
    {">0", "1", true},
    {">0", "0.0.1-alpha", false},
    {">0-0", "0.0.1-alpha", false},
    {">0.0.0-0", "0.0.0-alpha", true},
    {">1.2.3-alpha.1", "1.2.3-alpha.2", true},
    {">1.2.3-alpha.1", "1.3.3-alpha.2", true},
    {"<11", "0.1.0", true},
    {"<11", "11.1.0", false},
    {"<1.1", "0.1.0", true},
    {"<1.1", "1.1.0", false},
    {"<1.1", "1.1.1", false},
    {"<1.x", "1.1.1", false},
    {"<1.x", "0.1.1", true},
    {"<1.1.x", "1.1.500", false},
    {"<1.1.x", "1.0.500", true},
    {"<0", "0.0.0-alpha", false},
    {"<0-z", "0.0.0-alpha", true},
    {">=11.1", "11.1.2", true},
    {">=11.1", "11.0.2", false},
    {">=1.1", "4.1.0-beta", false},
    {">=0", "0.0.1-alpha", false},
    {">=0-0", "0.0.1-alpha", true},
    {">=0.0.0-0", "3.4.5-beta.1", true},
    {">=0", "0", true},
    {"=>1.1", "1.1.0", true},
    {"<=11", "11.2.3", true},
    {"<=11", "12.2.3", false},
    {"<=1.1", "1.1.1", true},
    {"<=1.1", "1.2.3", false},
    {"<=1.1", "0.1.0-alpha", false},
    {"<=1.1-a", "0.1.0-alpha", true},
    {"<=1.x", "1.1.0", true},
    {"<=2.x", "3.0.0", false},
    {"<=1.1.x", "1.2.500", false},
    {"=<4.5", "4.6.3", false},
    // Tilde.
    {"~1.2.3", "1.2.4", true},
    {"~1.2.3", "1.2.2", false},
    {"~1.2.3", "1.3.4", false},
    {"~1.2", "1.2.4", true},
    {"~1.2", "1.3.4", false},
    {"~1", "1.2.4", true},
    {"~1", "2.3.4", false},
    {"~1", "1.3.5-beta", false},
    {"~>1.x", "1.3.5", true},
    {"~1.x", "2.1.1", false},
    {"~0.2.3", "0.2.5", true},
    {"~0.2.3", "0.3.5", false},
    {"~*", "2.1.1", true},
    {"~0.0.0", "1.2.3", true},
    {"~1.1", "1.1.1-alpha", false},
    {"~1.1-alpha", "1.1.1-beta", true},
    {"~1.1.1-beta", "1.1.1-alpha", false},
    {"~1.1.1-beta", "1.1.1", true},
    {"~1.2.3-beta.2", "1.2.3-beta.4", true},
    {"~1.2.3-beta.2", "1.2.4-beta.2", true},
    {"~1.2.3-beta.2", "1.3.4-beta.2", false},
    // Caret, including the 0.x rules.
    {"^1.2.3", "1.8.9", true},
    {"^1.2.3", "2.8.9", false},
    {"^1.2.3", "1.2.1", false},
    {"^1.2.0", "1.2.1-alpha.1", false},
    {"^1.2.0-alpha.0", "1.2.1-alpha.1", true},
    {"^1.2.0-alpha.2", "1.2.0-alpha.1", false},
    {"^1.2", "1.8.9", true},
    {"^1", "2.8.9", false},
    {"^1.x", "1.1.1", true},
    {"^2.x", "1.1.1", false},
    {"^1.x", "1.1.1-beta1", false},
    {"^1.1.2-alpha", "1.2.1-beta1", true},
    {"^1.2.x-alpha", "1.1.1-beta1", false},
    {"^0.2.3", "0.2.5", true},
    {"^0.2.3", "0.5.6", false},
    {"^0.2", "0.2.5", true},
    {"^0.2", "0.5.6", false},
    {"^0.0.3", "0.0.3", true},
    {"^0.0.3", "0.0.4", false},
    {"^0.0", "0.0.3", true},
    {"^0.0", "0.1.4", false},
    {"^0", "0.2.3", true},
    {"^0", "1.1.4", false},
    {"^0.0.0", "1.2.3", false},
    {"^0.2.3-beta.2", "0.2.4-beta.2", true},
    {"^0.2.3-beta.2", "0.3.4-beta.2", false},
    // AND by spaces or commas, OR by "||".
    {">1.1, <2", "1.1.1", false},
    {">1.1, <2", "1.2.1", true},
    {">1.1 <3", "4.3.2", false},
    {">=1.1    <2    !=1.2.3", "1.2.3", false},
    {">= 1.1, <2, !=1.2.3 || > 3", "4.1.2", true},
    {">= 1.1, <2, !=1.2.3 || > 3", "3.1.2", false},
    {">=1.1 <2 !=1.2.3 || >= 3", "3.0.0", true},
    {">=1.1 <2 !=1.2.3 || > 3", "1.2.3", false},
    {"> 1.1 < 2", "1.1.1", false},
    {"12.3.34 ~1.2.3", "12.3.34", false},
    // Pre-releases are admitted per AND group when any comparator names one.
    {">= 1.0.0  <= 2.0.0-beta", "1.0.1-beta", true},
    {">= 1.0.0  <= 2.0.0-beta", "1.0.1", true},
    {">= 1.0.0  <= 2.0.0-beta", "3.0.0", false},
    {">= 1.0.0  <= 2.0.0-beta || > 3", "3.0.1-beta", false},
    {">= 1.0.0  <= 2.0.0-beta != 1.0.1 || > 3", "1.0.1-beta", true},
    {">= 1.0.0  <= 2.0.0-beta != 1.0.1-beta || > 3", "1.0.1-beta", false},
    {">= 1.0.0-0  <= 2.0.0", "1.0.1-beta", true},
    // Hyphen ranges: spaces around the hyphen, else it starts a pre-release.
    {"1.1 - 2", "1.1.1", true},
    {"1.5.0 - 4.5", "3.7.0", true},
    {"1.2 - 1.4.5", "1.4.5", true},
    {"1.2 - 1.4.5", "1.4.6", false},
    {"1.2 - 1.4.5", "1.1.9", false},
    {"1.1-3", "4.3.2", false},
    {"1.0.0 - 2.0.0 <=2.0.0", "1.5.0", true},
    {"1.0.0 - 2.0.0, <=2.0.0", "1.5.0", true},
    {"3 - 4 || => 3.0, < 4", "4.9.9", true},
    {"3 - 4 || => 3.0, < 4", "5.0.0", false},
    {"<1.3 1.2 - 1.4", "1.2.5", true},  // Masterminds refuses a hyphen range after a space
    {"<1.3 1.2 - 1.4", "1.3.0", false},
    // crossdock's own: bounds exclude the next minor or major's pre-releases.
    {"~1.2.3-0", "1.3.0-rc.1", false},
    {"^1.2.3-0", "2.0.0-rc.1", false},
    {"<=1.x >=0-0", "2.0.0-rc.1", false},
    {">1.x, >=0-0", "2.0.0-rc.1", true},
    {"<=1.2.x >=0-0", "1.3.0-rc.1", false},
    {"1.2.3-0 - 2", "1.5.0-rc1", true},
    {">=1 <2", "1.5.0-rc1", false},
    {"v1.2.3", "1.2.3+build.7", true},
    {"V1.x", "1.9.0", true},
    {">=18446744073709551615.0.0", "18446744073709551615.1.0", true},
    {">18446744073709551615.x", "18446744073709551615.1.0", false},
    {"~18446744073709551615.18446744073709551615", "18446744073709551615.18446744073709551615.9",
     true},
    {"^18446744073709551615", "18446744073709551615.0.1", true},
    // Quirks kept from Masterminds' code: "^*" is "^0.0.0", "<=*" is "<=0.0.x"
    // and
    // "!=*" is "!=0.0.0"; parts after a wildcard are ignored.
    {"^*", "0.0.0", true},
    {"^*", "1.2.3", false},
    {"<=*", "0.0.9", true},
    {"<=*", "0.1.0", false},
    {"!=*", "0.0.0", false},
    {"!=*", "0.0.1", true},
    {">*", "0.0.1", true},
    {"1.x.3", "1.9.0", true},
};

TEST(VersionRangeTest, ContainsLikeMasterminds) {
  for (const RangeCase& c : kRangeCases) {
    auto range = VersionRange::Parse(c.range);
    ASSERT_TRUE(range.ok()) << c.range << ": " << range.status().message();
    EXPECT_EQ(range->Contains(MustParse(c.version)), c.contains)
        << "range \"" << c.range << "\" version \"" << c.version << "\"";
  }
}

TEST(VersionRangeTest, KeepsTheTextAsWritten) {
  auto range = VersionRange::Parse(" >=1.20, <2 ");
  ASSERT_TRUE(range.ok()) << range.status().message();
  EXPECT_EQ(range->text(), " >=1.20, <2 ");
}

TEST(VersionRangeTest, RejectsMalformedRangesAndSaysWhy) {
  const BadCase cases[] = {
      {"", "\"\" is empty"},
      {"   ", "\"   \" is empty"},
      {">=1.x.y", "\">=1.x.y\": \"y\" is not a number"},
      {"foo", "\"foo\": \"foo\" is not a version"},
      {">= bar", "\">= bar\": \"bar\" is not a version"},
      {"BAR >= 1.2.3", "\"BAR >= 1.2.3\": \"BAR\" is not a version"},
      {"latest", "\"latest\": \"latest\" is not a version"},
      {"12.3.4.1234", "\"12.3.4.1234\": \"12.3.4.1234\" has more than three numeric parts"},
      {"12.3.34~ 1.2.3", "\"12.3.34~ 1.2.3\": \"34~\" is not a number"},
      {"v1.2.3-beta.01", "\"v1.2.3-beta.01\": pre-release identifier \"01\" has a leading zero"},
      {">=01.2", "\">=01.2\": \"01\" has a leading zero"},
      {"1.2.", "\"1.2.\": \"1.2.\" has an empty numeric part"},
      {"1.xx", "\"1.xx\": \"xx\" is not a number"},
      {"==1.2", "\"==1.2\": \"==\" is not an operator"},
      {"!1.2", "\"!1.2\": \"!\" is not an operator"},
      {">=", "\">=\": \">=\" must be followed by a version"},
      {"<2, >=", "\"<2, >=\": \">=\" must be followed by a version"},
      {">1.1<2", "\">1.1<2\": \"1<2\" is not a number"},
      {"1.2,", "\"1.2,\": \",\" must stand between two comparators"},
      {",1.2", "\",1.2\": \",\" must stand between two comparators"},
      {"1.2,,1.3", "\"1.2,,1.3\": \",\" must stand between two comparators"},
      {"1.2 ||", "\"1.2 ||\": \"||\" must stand between two ranges"},
      {"|| 1.2", "\"|| 1.2\": \"||\" must stand between two ranges"},
      {"1.2 | 1.3", "\"1.2 | 1.3\": \"|\" is not a version"},
      {">=1.2 - 1.4",
       "\">=1.2 - 1.4\": \" - \" must join two versions without operators, as in \"1.2 - 1.4\""},
      {"1.2 - <1.4",
       "\"1.2 - <1.4\": \" - \" must join two versions without operators, as in \"1.2 - 1.4\""},
      {"1.2 -", "\"1.2 -\": \" - \" must join two versions without operators, as in \"1.2 - 1.4\""},
      {"1.2 - ",
       "\"1.2 - \": \" - \" must join two versions without operators, as in \"1.2 - 1.4\""},
      {"1.2 -1.4", "\"1.2 -1.4\": \"-1.4\" is not a version"},
      {"1.2 - 1.4 - 1.6", "\"1.2 - 1.4 - 1.6\": \"-\" is not a version"},
      {">=1.2.3-", "\">=1.2.3-\": \"-\" must be followed by a pre-release"},
  };
  for (const BadCase& c : cases) {
    auto range = VersionRange::Parse(c.text);
    ASSERT_FALSE(range.ok()) << c.text;
    EXPECT_EQ(range.status().code(), Code::kInvalidArgument) << c.text;
    EXPECT_EQ(range.status().message(), c.message);
  }
}

TEST(KeepLatestTest, KeepsHighestVersionsAndEveryOtherTagInOrder) {
  const std::vector<std::string> tags = {"latest", "1.2.0", "v1.10.0", "1.9.3-rc1",
                                         "main",   "1.9.3", "0.9.0",   "sha-abc"};
  EXPECT_EQ(KeepLatest(tags, 2),
            (std::vector<std::string>{"latest", "v1.10.0", "main", "1.9.3", "sha-abc"}));
  EXPECT_EQ(KeepLatest(tags, 3), (std::vector<std::string>{"latest", "v1.10.0", "1.9.3-rc1", "main",
                                                           "1.9.3", "sha-abc"}));
  EXPECT_EQ(KeepLatest(tags, 1),
            (std::vector<std::string>{"latest", "v1.10.0", "main", "sha-abc"}));
}

TEST(KeepLatestTest, EqualVersionsKeepTheFirstGiven) {
  const std::vector<std::string> tags = {"1.0.0", "v2.0.0", "2.0.0+build.1", "2", "1.5.0"};
  EXPECT_EQ(KeepLatest(tags, 1), (std::vector<std::string>{"v2.0.0"}));
  EXPECT_EQ(KeepLatest(tags, 2), (std::vector<std::string>{"v2.0.0", "2.0.0+build.1"}));
  EXPECT_EQ(KeepLatest(tags, 4),
            (std::vector<std::string>{"v2.0.0", "2.0.0+build.1", "2", "1.5.0"}));
}

TEST(KeepLatestTest, KeepLargerThanCountKeepsEverything) {
  const std::vector<std::string> tags = {"3.0.0", "latest", "1.0.0", "2.0.0"};
  EXPECT_EQ(KeepLatest(tags, 3), tags);
  EXPECT_EQ(KeepLatest(tags, 100), tags);
}

TEST(KeepLatestTest, NonPositiveKeepReturnsTagsUnchanged) {
  const std::vector<std::string> tags = {"3.0.0", "latest", "1.0.0"};
  EXPECT_EQ(KeepLatest(tags, 0), tags);
  EXPECT_EQ(KeepLatest(tags, -1), tags);
  EXPECT_EQ(KeepLatest({}, 2), std::vector<std::string>{});
}

TEST(KeepLatestTest, OnlyNonVersionTagsAreAllKept) {
  const std::vector<std::string> tags = {"latest", "main", "edge"};
  EXPECT_EQ(KeepLatest(tags, 1), tags);
}

}  // namespace
}  // namespace crossdock::core
