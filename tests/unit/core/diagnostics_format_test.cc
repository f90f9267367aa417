// validate --format github|gitlab (issue 14): workflow commands and a Code Quality report.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/diagnostics.h"

namespace crossdock::core {
namespace {

TEST(DiagnosticsFormatTest, GithubAnnotationsAreEscapedAsTheRunnerReadsThem) {
  Diagnostic e{Severity::kError, {"dir/a,b:c.toml", 3, 7}, "bad 100%\nvalue: x, y"};
  EXPECT_EQ(FormatGithubAnnotation(e),
            "::error file=dir/a%2Cb%3Ac.toml,line=3,col=7,title=crossdock::bad 100%25%0Avalue: x, y");
  Diagnostic w{Severity::kWarning, {"c.toml", 0, 0}, "no rules"};
  EXPECT_EQ(FormatGithubAnnotation(w), "::warning file=c.toml,title=crossdock::no rules");
}

TEST(DiagnosticsFormatTest, GitlabCodeQualityHasEveryFieldPerDiagnostic) {
  std::vector<Diagnostic> items = {{Severity::kError, {"c.toml", 3, 1}, "unknown key"},
                                   {Severity::kWarning, {"c.toml", 9, 2}, "unused"}};
  auto report = nlohmann::json::parse(FormatGitlabCodeQuality(items));
  ASSERT_EQ(report.size(), 2u);
  EXPECT_EQ(report[0]["description"], "unknown key");
  EXPECT_EQ(report[0]["check_name"], "crossdock-validate");
  EXPECT_EQ(report[0]["severity"], "major");
  EXPECT_EQ(report[1]["severity"], "minor");
  EXPECT_EQ(report[0]["location"]["path"], "c.toml");
  EXPECT_EQ(report[1]["location"]["lines"]["begin"], 9);
  EXPECT_EQ(report[0]["fingerprint"].get<std::string>().size(), 64u);
  EXPECT_NE(report[0]["fingerprint"], report[1]["fingerprint"]);
  EXPECT_EQ(nlohmann::json::parse(FormatGitlabCodeQuality({})), nlohmann::json::array());
}

}  // namespace
}  // namespace crossdock::core
