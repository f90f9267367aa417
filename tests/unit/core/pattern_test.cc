#include "core/pattern.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace crossdock::core {
namespace {

struct MatchCase {
  const char* pattern;
  const char* subject;
  bool matches;
};

// From doublestar v1.3.4's doublestar_test.go (matchTests) and Harbor's
// src/pkg/reg/util/pattern_test.go (TestMatch), then cases from
// ../shared/reference/harbor-replication.md. Rows where doublestar answers
// ErrBadPattern are in CompileRejectsMalformedPatterns below.
const MatchCase kMatchCases[] = {
    // doublestar
    {"*", "", true},
    {"*", "/", false},
    {"/*", "/", true},
    {"/*", "/debug/", false},
    {"/*", "//", false},
    {"abc", "abc", true},
    {"*", "abc", true},
    {"*c", "abc", true},
    {"*/", "a/", true},
    {"a*", "a", true},
    {"a*", "abc", true},
    {"a*", "ab/c", false},
    {"a*/b", "abc/b", true},
    {"a*/b", "a/c/b", false},
    {"a*b*c*d*e*", "axbxcxdxe", true},
    {"a*b*c*d*e*/f", "axbxcxdxe/f", true},
    {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true},
    {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false},
    {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false},
    {"a*b?c*x", "abxbbxdbxebxczzx", true},
    {"a*b?c*x", "abxbbxdbxebxczzy", false},
    {"ab[c]", "abc", true},
    {"ab[b-d]", "abc", true},
    {"ab[e-g]", "abc", false},
    {"ab[^c]", "abc", false},
    {"ab[^b-d]", "abc", false},
    {"ab[^e-g]", "abc", true},
    {"a\\*b", "ab", false},
    {"a?b", "a\u263Ab", true},
    {"a[^a]b", "a\u263Ab", true},
    {"a???b", "a\u263Ab", false},
    {"a[^a][^a][^a]b", "a\u263Ab", false},
    {"[a-\u03B6]*", "\u03B1", true},
    {"*[a-\u03B6]", "A", false},
    {"a?b", "a/b", false},
    {"a*b", "a/b", false},
    {"[\\]a]", "]", true},
    {"[\\-]", "-", true},
    {"[x\\-]", "x", true},
    {"[x\\-]", "-", true},
    {"[x\\-]", "z", false},
    {"[\\-x]", "x", true},
    {"[\\-x]", "-", true},
    {"[\\-x]", "a", false},
    {"*x", "xxx", true},
    {"[abc]", "b", true},
    {"a/**", "a", false},
    {"a/**", "a/b", true},
    {"a/**", "a/b/c", true},
    {"**/c", "c", true},
    {"**/c", "b/c", true},
    {"**/c", "a/b/c", true},
    {"**/c", "a/b", false},
    {"**/c", "abcd", false},
    {"**/c", "a/abc", false},
    {"a/**/b", "a/b", true},
    {"a/**/c", "a/b/c", true},
    {"a/**/d", "a/b/c/d", true},
    {"a/\\**", "a/b/c", false},
    {"a//b/c", "a/b/c", false},
    {"a/b/c", "a/b//c", false},
    {"a/", "a", false},
    {"ab{c,d}", "abc", true},
    {"ab{c,d,*}", "abcde", true},
    {"a{,bc}", "a", true},
    {"a{,bc}", "abc", true},
    {"a/{b/c,c/b}", "a/b/c", true},
    {"a/{b/c,c/b}", "a/c/b", true},
    {"{a/{b,c},abc}", "a/b", true},
    {"{a/{b,c},abc}", "a/c", true},
    {"{a/{b,c},abc}", "abc", true},
    {"{a/{b,c},abc}", "a/b/c", false},
    {"{a/ab*}", "a/abc", true},
    {"{a/*}", "a/b", true},
    {"{a/abc}", "a/abc", true},
    {"{a/b,a/c}", "a/c", true},
    {"abc/**", "abc/b", true},
    {"**/abc", "abc", true},
    {"abc**", "abc/b", false},
    {"**/*.txt", "abc/\u3010test\u3011.txt", true},
    {"**/\u3010*", "abc/\u3010test\u3011.txt", true},
    // Harbor
    {"", "library", true},
    {"", "", true},
    {"*", "library", true},
    {"*", "library/hello-world", false},
    {"**", "library/hello-world", true},
    {"{library,harbor}/**", "library/hello-world", true},
    {"{library,harbor}/**", "harbor/hello-world", true},
    {"1.?", "1.0", true},
    {"1.?", "1.01", false},
    {"v2.[4-6].*", "v2.4.0", true},
    {"v2.[4-7].*", "v2.7.0", true},
    // harbor-replication.md and Harbor users' rules
    {"library/**", "library", false},
    {"library/**", "library/nginx", true},
    {"library/*", "library/team/app", false},
    {"library", "library/nginx", false},
    {"v*", "", false},
    {"**", "", true},
    {"Library/*", "library/nginx", false},
    {"v\\*", "v*", true},
    {"*-rc*", "v2.0.0-rc1", true},
    {"*-rc*", "v2.0.0", false},
    {"team/{app/{api,web},db}", "team/app/web", true},
    {"team/{app/{api,web},db}", "team/db", true},
    {"team/{app/{api,web},db}", "team/app", false},
    {"test1*", "test12", true},
    {"test1", "test12", false},
    {"a**", "abc", true},
    {"a**", "a/b", false},
    {"a/**/**/b", "a/b", true},
    // doublestar v1.3.4 has only '^' for negation: '!' is a member.
    {"[!a]", "!", true},
    {"[!a]", "b", false},
    // doublestar quirks kept for Harbor parity.
    {"{a,a/b}", "a", false},
    {"{a,a/b}", "a/b", true},
    {"a*{,b}", "a", false},
    {"a/{**/c,d}", "a/b/c", true},
    {"a/{**/c,d}", "a/c", false},
};

TEST(PatternTest, MatchesLikeDoublestarAndHarbor) {
  ASSERT_GE(std::size(kMatchCases), 40u);
  for (const MatchCase& c : kMatchCases) {
    auto pattern = Pattern::Compile(c.pattern);
    ASSERT_TRUE(pattern.ok()) << c.pattern << ": " << pattern.status().message();
    EXPECT_EQ(pattern->Matches(c.subject), c.matches)
        << "pattern \"" << c.pattern << "\" subject \"" << c.subject << "\"";
  }
}

struct BadPatternCase {
  const char* pattern;
  const char* message;
};

TEST(PatternTest, CompileRejectsMalformedPatterns) {
  const BadPatternCase cases[] = {
      {"[]a]", "empty character class at offset 0"},
      {"[-]",
       "'-' in character class at offset 1 must stand between two characters (escape it as \\-)"},
      {"[x-]",
       "'-' in character class at offset 2 must stand between two characters (escape it as \\-)"},
      {"[-x]",
       "'-' in character class at offset 1 must stand between two characters (escape it as \\-)"},
      {"[a-b-c]",
       "'-' in character class at offset 4 must stand between two characters (escape it as \\-)"},
      {"\\", "trailing '\\' at offset 0"},
      {"lib/\\", "trailing '\\' at offset 4"},
      {"[", "unclosed '[' at offset 0"},
      {"[^", "unclosed '[' at offset 0"},
      {"[^bc", "unclosed '[' at offset 0"},
      {"a[", "unclosed '[' at offset 1"},
      {"[a\\]", "unclosed '[' at offset 0"},
      {"ab{c,d}[", "unclosed '[' at offset 7"},
      {"lib/{a,b", "unclosed '{' at offset 4"},
      {"{a,{b}", "unclosed '{' at offset 0"},
      {"x/{a,[b}", "unclosed '[' at offset 5"},
      {"{a,b}/{c,[-]}",
       "'-' in character class at offset 10 must stand between two characters (escape it as \\-)"},
  };
  for (const BadPatternCase& c : cases) {
    auto pattern = Pattern::Compile(c.pattern);
    ASSERT_FALSE(pattern.ok()) << c.pattern;
    EXPECT_EQ(pattern.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(pattern.status().message(), c.message) << c.pattern;
  }
}

// Issue 10: 20,000 nested '{' passed validate and crashed plan (recursion); at depth
// 5,000 matching took hours. Compile bounds what the matcher may be given.
TEST(PatternTest, CompileRefusesPatternsBeyondTheLimits) {
  auto nested = [](size_t depth) {
    return std::string(depth, '{') + "a" + std::string(depth, '}');
  };
  auto deep = Pattern::Compile(nested(kMaxBraceDepth + 1));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(deep.status().message(),
            "'{' at offset 10 nests braces 11 levels deep; patterns may nest them at most 10 "
            "levels");
  EXPECT_EQ(Pattern::Compile(std::string(20000, '{')).status().message(),
            "the pattern is 20000 bytes long; patterns may be at most 1024 bytes");
  EXPECT_EQ(Pattern::Compile("x" + std::string(1024, '{')).status().message(),
            "the pattern is 1025 bytes long; patterns may be at most 1024 bytes");
  EXPECT_EQ(Pattern::Compile(std::string(1024, '{')).status().message(),
            "'{' at offset 10 nests braces 11 levels deep; patterns may nest them at most 10 "
            "levels");

  auto limit = Pattern::Compile(nested(kMaxBraceDepth));
  ASSERT_TRUE(limit.ok()) << limit.status().message();
  EXPECT_TRUE(limit->Matches("a"));
  // Lists side by side do not nest; escaped braces and classes outside lists are none.
  std::string wide;
  for (int i = 0; i < 100; ++i) wide += "{a,b}";
  EXPECT_TRUE(Pattern::Compile(wide).ok());
  // 15 escaped backslashes, then 10 lists: unclosed, but not too deep.
  EXPECT_EQ(Pattern::Compile(std::string(30, '\\') + std::string(10, '{')).status().message(),
            "unclosed '{' at offset 30");
  std::string escaped, classes;
  for (int i = 0; i < 20; ++i) escaped += "\\{";
  for (int i = 0; i < 20; ++i) classes += "[{]";
  EXPECT_TRUE(Pattern::Compile(escaped).ok());
  EXPECT_TRUE(Pattern::Compile(escaped).value().Matches(std::string(20, '{')));
  EXPECT_TRUE(Pattern::Compile(classes).value().Matches(std::string(20, '{')));
  auto longest = Pattern::Compile(std::string(1023, 'a') + "*");
  ASSERT_TRUE(longest.ok());
  EXPECT_TRUE(longest->Matches(std::string(1030, 'a')));
}

// Patterns that make a backtracking matcher (doublestar's, and this one before issue
// 10) try exponentially many splits. Each finishes at once here; before, each ran for
// hours. Answers are pinned too.
TEST(PatternTest, BacktrackingPatternsFinishAndAnswerAsDoublestar) {
  std::string stars, globstars, lists;
  for (int i = 0; i < 20; ++i) stars += "a*";
  for (int i = 0; i < 20; ++i) globstars += "**/";
  for (int i = 0; i < 60; ++i) lists += "{,*}";
  std::string path;
  for (int i = 0; i < 100; ++i) path += "a/";
  const std::string as(120, 'a');
  EXPECT_FALSE(Pattern::Compile(stars + "b").value().Matches(as));
  EXPECT_TRUE(Pattern::Compile(stars).value().Matches(as));
  EXPECT_FALSE(Pattern::Compile(stars + "/b").value().Matches(as + "/c"));
  EXPECT_FALSE(Pattern::Compile(globstars + "b").value().Matches(path + "a"));
  EXPECT_TRUE(Pattern::Compile(globstars + "b").value().Matches(path + "b"));
  EXPECT_FALSE(Pattern::Compile(lists + "b").value().Matches(as));
  EXPECT_TRUE(Pattern::Compile(lists + "a").value().Matches(as));
  EXPECT_FALSE(Pattern::Compile("{" + lists + "b,*/*" + lists + "c}").value().Matches(as));
  // A subject far longer than any name: the stack does not grow with it.
  std::string long_path;
  for (int i = 0; i < 20000; ++i) long_path += "a/";
  EXPECT_TRUE(Pattern::Compile("**/a/**/b").value().Matches(long_path + "b"));
  EXPECT_FALSE(Pattern::Compile("a/**/*a/**/c").value().Matches(long_path + "b"));
}

TEST(PatternTest, UnmatchedClosersAreLiterals) {
  for (const char* text : {"a}", "a]", "a,b", "^x"}) {
    auto pattern = Pattern::Compile(text);
    ASSERT_TRUE(pattern.ok()) << text;
    EXPECT_TRUE(pattern->Matches(text)) << text;
  }
}

TEST(PatternTest, EmptyPatternMatchesEverything) {
  auto pattern = Pattern::Compile("");
  ASSERT_TRUE(pattern.ok());
  EXPECT_TRUE(pattern->Matches("library/nginx"));
  EXPECT_TRUE(pattern->Matches(""));
  EXPECT_FALSE(pattern->IsLiteral());
  EXPECT_TRUE(pattern->SpecificPaths().empty());
}

TEST(PatternTest, IsLiteralOnlyWithoutMetacharacters) {
  EXPECT_TRUE(Pattern::Compile("library").value().IsLiteral());
  EXPECT_TRUE(Pattern::Compile("library/hello-world").value().IsLiteral());
  for (const char* text : {"lib*", "lib?", "lib[a]", "{library}", "lib\\rary", "library/**"}) {
    EXPECT_FALSE(Pattern::Compile(text).value().IsLiteral()) << text;
  }
}

// Harbor's TestIsSpecificPath cases, then nested and multi-component brace lists.
TEST(PatternTest, SpecificPathsExpandBraceListsOfLiterals) {
  using Paths = std::vector<std::string>;
  auto paths = [](const char* text) { return Pattern::Compile(text).value().SpecificPaths(); };
  EXPECT_EQ(paths("library"), Paths({"library"}));
  EXPECT_EQ(paths("library/hello-world"), Paths({"library/hello-world"}));
  EXPECT_EQ(paths("library/**"), Paths());
  EXPECT_EQ(paths("{library}"), Paths({"library"}));
  EXPECT_EQ(paths("library/{hello-world,busybox}"),
            Paths({"library/hello-world", "library/busybox"}));
  EXPECT_EQ(paths("{library,team}/{a,b}"), Paths({"library/a", "library/b", "team/a", "team/b"}));
  EXPECT_EQ(paths("team/{app/{api,web},db}"), Paths({"team/app/api", "team/app/web", "team/db"}));
  EXPECT_EQ(paths("a{,bc}"), Paths({"a", "abc"}));
  EXPECT_EQ(paths("{a,a}"), Paths({"a"}));
  EXPECT_EQ(paths("lib*"), Paths());
  EXPECT_EQ(paths("{lib,x}?"), Paths());
  EXPECT_EQ(paths("lib\\-x"), Paths());
}

TEST(PatternTest, SpecificPathsAgreeWithMatches) {
  // doublestar never matches "a" with "{a,a/b}", so it must not be looked up either.
  EXPECT_EQ(Pattern::Compile("{a,a/b}").value().SpecificPaths(), std::vector<std::string>({"a/b"}));
}

}  // namespace
}  // namespace crossdock::core
