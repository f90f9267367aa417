// `make install` (and the `make man` it runs) of the Makefile in $CROSSDOCK_SRC, with
// BIN a three-line wrapper of the binary under test: the recipe is the one users run,
// without a release build or copying the sanitizer build's 200 MB.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

TEST(InstallTest, InstallsBinaryManPageAndCompletionsUnderDestdirAndPrefix) {
  const char* src = std::getenv("CROSSDOCK_SRC");
  ASSERT_NE(src, nullptr) << "CROSSDOCK_SRC: the source tree, whose Makefile is tested";
  TempDir dir;
  const std::string bin = dir.Sub("crossdock");
  WriteFile(bin, "#!/bin/sh\nexec '" + CrossdockBin() + "' \"$@\"\n");
  ASSERT_EQ(chmod(bin.c_str(), 0755), 0);
  auto make_install = [&](const std::string& prefix, bool dry_run) {
    // Not the make running the tests, if one does: its flags and jobserver are not ours.
    std::vector<std::string> argv = {"env", "-u", "MAKEFLAGS", "-u", "MFLAGS", "-u", "MAKELEVEL",
                                     "make", "--no-print-directory", "-C", src, "install",
                                     "BIN=" + bin, "MANPAGE=" + dir.Sub("crossdock.1"),
                                     "DESTDIR=" + dir.Sub("root"), "PREFIX=" + prefix};
    if (dry_run) argv.push_back("--dry-run");
    return RunCommand(argv);
  };
  RunResult make = make_install("/usr", false);
  ASSERT_EQ(make.exit_code, 0) << make.out << make.err;
  // Under /usr/local, zsh's completions go where Debian's zsh looks there (dry run).
  RunResult local = make_install("/usr/local", true);
  EXPECT_EQ(local.exit_code, 0) << local.err;
  EXPECT_NE(local.out.find(dir.Sub("root") + "/usr/local/share/zsh/site-functions/_crossdock"),
            std::string::npos)
      << local.out;
  EXPECT_NE(local.out.find(dir.Sub("root") + "/usr/local/share/bash-completion/completions/crossdock"),
            std::string::npos);

  const std::string usr = dir.Sub("root/usr");
  struct stat st {};
  ASSERT_EQ(stat((usr + "/bin/crossdock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  EXPECT_EQ(ReadFile(usr + "/bin/crossdock"), ReadFile(bin));
  EXPECT_EQ(ReadFile(usr + "/share/bash-completion/completions/crossdock"),
            RunCrossdock({"completion", "bash"}).out);
  EXPECT_EQ(ReadFile(usr + "/share/zsh/vendor-completions/_crossdock"),
            RunCrossdock({"completion", "zsh"}).out);
  EXPECT_EQ(ReadFile(usr + "/share/fish/vendor_completions.d/crossdock.fish"),
            RunCrossdock({"completion", "fish"}).out);

  // The page: from --help and --version, with each command's options, and groff
  // renders it without a warning.
  const std::string page = usr + "/share/man/man1/crossdock.1";
  const std::string roff = ReadFile(page);
  EXPECT_NE(roff.find(".TH CROSSDOCK \"1\""), std::string::npos);
  EXPECT_NE(roff.find("\"crossdock 0.1.0\""), std::string::npos);
  EXPECT_NE(roff.find(".SS \"crossdock plan\""), std::string::npos);
  EXPECT_NE(roff.find(".SS \"crossdock completion\""), std::string::npos);
  // -P-cbou: plain text, no bold or underlining.
  RunResult groff = RunCommand({"groff", "-man", "-Tutf8", "-ww", "-P-cbou", page});
  EXPECT_EQ(groff.exit_code, 0);
  EXPECT_EQ(groff.err, "");
  EXPECT_NE(groff.out.find("NAME\n       crossdock  -  keep container registries in sync"),
            std::string::npos)
      << groff.out;
  // An option of a command, as plan --help has it; groff may hyphenate the text.
  EXPECT_NE(groff.out.find("--detailed-exitcode"), std::string::npos);
  // Compared with every run of spaces and line breaks made one space: where groff breaks
  // the line depends on the width of plan's longest option.
  std::string flowed;
  for (char c : groff.out) {
    const bool space = c == ' ' || c == '\n';
    if (!space || (!flowed.empty() && flowed.back() != ' ')) flowed += space ? ' ' : c;
  }
  EXPECT_NE(flowed.find("Exit 0 when there are no changes"), std::string::npos) << groff.out;
}

// A BIN whose `completion SHELL` prints half a script and fails: make install fails, and no
// completion script is installed (an empty or cut one would break every shell's TAB).
TEST(InstallTest, FailingCompletionInstallsNoCompletionScript) {
  const char* src = std::getenv("CROSSDOCK_SRC");
  ASSERT_NE(src, nullptr) << "CROSSDOCK_SRC: the source tree, whose Makefile is tested";
  TempDir dir;
  const std::string bin = dir.Sub("crossdock");
  WriteFile(bin, "#!/bin/sh\n[ \"$1\" = completion ] && [ \"$2\" != --help ] && { echo '# half'; exit 3; }\n"
                 "exec '" + CrossdockBin() + "' \"$@\"\n");
  ASSERT_EQ(chmod(bin.c_str(), 0755), 0);
  RunResult make = RunCommand({"env", "-u", "MAKEFLAGS", "-u", "MFLAGS", "-u", "MAKELEVEL", "make",
                               "--no-print-directory", "-C", src, "install", "BIN=" + bin,
                               "MANPAGE=" + dir.Sub("crossdock.1"), "DESTDIR=" + dir.Sub("root"),
                               "PREFIX=/usr"});
  EXPECT_NE(make.exit_code, 0) << make.out << make.err;
  for (const std::string path : {"/usr/share/bash-completion/completions/crossdock",
                                 "/usr/share/zsh/vendor-completions/_crossdock",
                                 "/usr/share/fish/vendor_completions.d/crossdock.fish"})
    EXPECT_FALSE(std::filesystem::exists(dir.Sub("root") + path)) << path;
}

// man/commands.sh on a stand-in binary whose help has lines that start with a roff
// control character ('.' or '\'') or a backslash: each must reach the page as text,
// unchanged (groff's \& before it), not as a request or an escape.
TEST(ManPageTest, HelpLinesStartingWithControlCharactersStayText) {
  const char* src = std::getenv("CROSSDOCK_SRC");
  ASSERT_NE(src, nullptr) << "CROSSDOCK_SRC: the source tree, whose man/commands.sh is tested";
  TempDir dir;
  const std::string bin = dir.Sub("crossdock");
  WriteFile(bin, R"(#!/bin/sh
case $1 in
--help) printf 'Usage: crossdock COMMAND\n\nCommands:\n  dots      Odd lines\n' ;;
dots) cat <<'EOF'
Usage: crossdock dots
.hidden files are kept
'quoted' words too
\back slash

Options:
  --help                Show this help
  --dot arg             .dot first
  --quote arg           'quote first
EOF
;;
esac
)");
  ASSERT_EQ(chmod(bin.c_str(), 0755), 0);
  RunResult commands = RunCommand({std::string(src) + "/man/commands.sh", bin});
  ASSERT_EQ(commands.exit_code, 0) << commands.err;
  ASSERT_EQ(commands.out.rfind("[COMMANDS]\n", 0), 0u) << commands.out;
  // The section as help2man includes it, in a page of its own.
  WriteFile(dir.Sub("page.1"), ".TH T 1\n.SH COMMANDS\n" + commands.out.substr(11));
  RunResult groff = RunCommand({"groff", "-man", "-Tutf8", "-ww", "-P-cbou", dir.Sub("page.1")});
  EXPECT_EQ(groff.exit_code, 0);
  EXPECT_EQ(groff.err, "");
  for (const std::string line : {"\n       .hidden files are kept\n", "\n       'quoted' words too\n",
                                 "\n       \\back slash\n", "\n              .dot first\n",
                                 "\n              'quote first\n"})
    EXPECT_NE(groff.out.find(line), std::string::npos)
        << line << "-- in:\n" << groff.out << "-- from:\n" << commands.out;
}

}  // namespace
}  // namespace crossdock::testing
