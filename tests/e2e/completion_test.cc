// Shell completion: `crossdock __complete` (what each TAB asks), and the scripts of
// `crossdock completion bash|zsh|fish` run by the real shells (bash, zsh and fish
// from Debian) in a folder holding configs and saved plans. No registry is needed,
// and none is contacted.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A folder with crossdock.toml (rules "mirror" and "mirror-all", endpoints "hub" and
// "dr"), other.toml (rule "nightly", endpoint "backup"), a saved plan made by
// `plan --out`, one in sub/, a file that only looks like one by its name, and a FIFO
// (which must not block completion); bin/crossdock links to the binary under test.
class CompletionTest : public ::testing::Test {
 protected:
  CompletionTest() {
    WriteFile(dir_.Sub("crossdock.toml"),
              "[endpoints.hub]\nurl = \"http://127.0.0.1:1\"\n[endpoints.dr]\n"
              "url = \"http://127.0.0.1:2\"\n"
              "[rules.mirror]\nsource = \"hub\"\ndestination = \"dr\"\n"
              "[rules.mirror-all]\nsource = \"hub\"\ndestinations = [\"dr\"]\n");
    WriteFile(dir_.Sub("other.toml"),
              "[endpoints.backup]\nurl = \"http://127.0.0.1:3\"\n"
              "[rules.nightly]\nsource = \"backup\"\ndestination = \"backup\"\n"
              "repositories = [\"a\"]\ndest_namespace = \"copy\"\n");
    // A real saved plan: no rules, so nothing is contacted.
    std::filesystem::create_directory(dir_.Sub("sub"));
    WriteFile(dir_.Sub("sub/empty.toml"), "[endpoints.a]\nurl = \"http://127.0.0.1:1\"\n");
    RunResult plan = RunCrossdock({"plan", "-c", "empty.toml", "--out", "reviewed.plan"}, {},
                                  dir_.Sub("sub"));
    EXPECT_EQ(plan.exit_code, 0) << plan.err;
    std::filesystem::copy_file(dir_.Sub("sub/reviewed.plan"), dir_.Sub("plan.bin"));
    WriteFile(dir_.Sub("notes.bin"), "not a plan\n");
    EXPECT_EQ(mkfifo(dir_.Sub("pipe.bin").c_str(), 0600), 0);
    std::filesystem::create_directory(dir_.Sub("bin"));
    std::filesystem::create_symlink(CrossdockBin(), dir_.Sub("bin/crossdock"));
  }

  // What `crossdock __complete WORDS…` prints, in dir_; its stderr must stay empty.
  std::vector<std::string> Complete(std::vector<std::string> words) {
    words.insert(words.begin(), "__complete");
    RunResult r = RunCrossdock(words, {}, dir_.path());
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.err, "");
    return Lines(r.out);
  }

  // COMPREPLY after bash's completion function ran on WORDS (after "crossdock"; the
  // last is the word under the cursor), one per line.
  std::vector<std::string> Bash(const std::vector<std::string>& words) {
    WriteFile(dir_.Sub("crossdock.bash"), RunCrossdock({"completion", "bash"}).out);
    std::vector<std::string> argv = {
        "bash", "--norc", "--noprofile", "-c",
        "source ./crossdock.bash; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); _crossdock; "
        "printf '%s\\n' \"${COMPREPLY[@]}\"",
        "bash", CrossdockBin()};
    argv.insert(argv.end(), words.begin(), words.end());
    RunResult r = RunCommand(argv, {}, dir_.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    std::vector<std::string> out = Lines(r.out);
    if (out == std::vector<std::string>{""}) out.clear();  // printf of no words
    return out;
  }

  TempDir dir_;
};

TEST_F(CompletionTest, CommandsAreTheOnesTopLevelHelpLists) {
  RunResult help = RunCrossdock({"--help"});
  std::set<std::string> listed;
  std::smatch m;
  for (const auto& line : Lines(help.out))
    if (std::regex_search(line, m, std::regex("^  ([a-z]+)"))) listed.insert(m[1]);
  std::vector<std::string> out = Complete({""});
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), ":words");
  out.pop_back();
  EXPECT_EQ(std::set<std::string>(out.begin(), out.end()), listed);
  EXPECT_EQ(Complete({"ex"}), (std::vector<std::string>{"executions", ":words"}));
}

TEST_F(CompletionTest, FlagsAreThoseOfTheCommandsOwnHelp) {
  // Pinned for plan; for every command, each flag offered is in its --help.
  std::vector<std::string> plan;
  for (const auto& line : Complete({"plan", "--"})) plan.push_back(line.substr(0, line.find('\t')));
  EXPECT_EQ(plan, (std::vector<std::string>{"--help", "--config", "--no-color", "--state", "--rule",
                                            "--parallelism", "--refresh", "--refresh-only", "--shard",
                                            "--json", "--markdown", "--out", "--detailed-exitcode",
                                            ":words"}));
  EXPECT_EQ(Complete({"plan", "--refresh-o"}),
            (std::vector<std::string>{
                "--refresh-only\tOnly compare the state with what the destinations hold; copy and "
                "delete nothing",
                ":words"}));
  // Every command but version (no options).
  for (const std::string& command : Complete({""})) {
    if (command == ":words" || command == "version") continue;
    const std::string help = RunCrossdock({command, "--help"}).out;
    std::vector<std::string> flags = Complete({command, "-"});
    ASSERT_GE(flags.size(), 2u) << command;
    EXPECT_EQ(flags.front().substr(0, 7), "--help\t") << command;
    for (const auto& line : flags) {
      if (line == ":words") continue;
      EXPECT_NE(help.find(line.substr(0, line.find('\t'))), std::string::npos) << command << line;
    }
  }
  // A flag given already is not offered again; the repeatable --rule is.
  std::vector<std::string> again = Complete({"plan", "--json", "--rule", "mirror", "--"});
  EXPECT_EQ(std::count(again.begin(), again.end(),
                       "--json\tPrint the plan as JSON on stdout (diagnostics go to stderr)"),
            0);
  EXPECT_EQ(std::count(again.begin(), again.end(), "--rule\tOnly this rule (repeatable)"), 1);
}

TEST_F(CompletionTest, BashCompletesCommandsAndFlags) {
  EXPECT_EQ(Bash({"pl"}), (std::vector<std::string>{"plan"}));
  EXPECT_EQ(Bash({"st"}), (std::vector<std::string>{"stop", "state"}));
  EXPECT_EQ(Bash({"plan", "--re"}), (std::vector<std::string>{"--refresh", "--refresh-only"}));
  EXPECT_EQ(Bash({"plan", "--d"}), (std::vector<std::string>{"--detailed-exitcode"}));
  EXPECT_EQ(Bash({"state", ""}), (std::vector<std::string>{"list", "show", "migrate"}));
  EXPECT_EQ(Bash({"import", ""}), (std::vector<std::string>{"harbor"}));
  EXPECT_EQ(Bash({"import", "harbor", "--ur"}), (std::vector<std::string>{"--url"}));
  EXPECT_EQ(Bash({"completion", ""}), (std::vector<std::string>{"bash", "zsh", "fish"}));
  EXPECT_EQ(Bash({"validate", "--format", ""}),
            (std::vector<std::string>{"text", "github", "gitlab"}));
  EXPECT_EQ(Bash({"nosuchcommand", ""}), std::vector<std::string>{});
}

TEST_F(CompletionTest, BashCompletesRuleAndEndpointNamesFromTheConfig) {
  EXPECT_EQ(Bash({"plan", "--rule", ""}), (std::vector<std::string>{"mirror", "mirror-all"}));
  EXPECT_EQ(Bash({"apply", "--rule", "mirror-"}), (std::vector<std::string>{"mirror-all"}));
  EXPECT_EQ(Bash({"endpoint", "test", ""}), (std::vector<std::string>{"dr", "hub"}));
  // bash splits --rule=mir at '=': only what follows it is completed.
  EXPECT_EQ(Bash({"plan", "--rule", "=", "mirror-"}), (std::vector<std::string>{"mirror-all"}));
  EXPECT_EQ(Bash({"plan", "--rule", "="}), (std::vector<std::string>{"mirror", "mirror-all"}));
  // The config on the line, in each spelling, wins over ./crossdock.toml.
  for (std::vector<std::string> config : std::vector<std::vector<std::string>>{
           {"-c", "other.toml"}, {"--config", "other.toml"}, {"--config", "=", "other.toml"},
           {"-cother.toml"}}) {
    std::vector<std::string> words = {"plan"};
    words.insert(words.end(), config.begin(), config.end());
    words.insert(words.end(), {"--rule", ""});
    EXPECT_EQ(Bash(words), (std::vector<std::string>{"nightly"})) << config[0];
  }
  EXPECT_EQ(Bash({"endpoint", "test", "-c", "other.toml", ""}),
            (std::vector<std::string>{"backup"}));
}

TEST_F(CompletionTest, BashCompletesSavedPlansAndFiles) {
  // Saved plans by their content (not notes.bin, not the FIFO), and folders.
  EXPECT_EQ(Bash({"apply", ""}), (std::vector<std::string>{"bin/", "plan.bin", "sub/"}));
  EXPECT_EQ(Bash({"apply", "sub/"}), (std::vector<std::string>{"sub/reviewed.plan"}));
  EXPECT_EQ(Bash({"show", "p"}), (std::vector<std::string>{"plan.bin"}));
  // --config: .toml files and folders; --out: any file.
  std::vector<std::string> config = Bash({"plan", "--config", ""});
  EXPECT_EQ(std::set<std::string>(config.begin(), config.end()),
            (std::set<std::string>{"bin", "sub", "crossdock.toml", "other.toml"}));
  EXPECT_EQ(Bash({"plan", "--out", "no"}), (std::vector<std::string>{"notes.bin"}));
  // --config=, --out=, --state=: bash splits at '=', so the word under the cursor is "=";
  // what follows it is empty, and every candidate is offered.
  std::vector<std::string> config_eq = Bash({"plan", "--config", "="});
  EXPECT_EQ(std::set<std::string>(config_eq.begin(), config_eq.end()),
            (std::set<std::string>{"bin", "sub", "crossdock.toml", "other.toml"}));
  std::vector<std::string> out_eq = Bash({"plan", "--out", "="});
  EXPECT_TRUE(std::find(out_eq.begin(), out_eq.end(), "notes.bin") != out_eq.end()) << out_eq.size();
  std::vector<std::string> state_eq = Bash({"plan", "--state", "="});
  EXPECT_TRUE(std::find(state_eq.begin(), state_eq.end(), "plan.bin") != state_eq.end()) << state_eq.size();
  EXPECT_EQ(Bash({"plan", "--out", "=", "no"}), (std::vector<std::string>{"notes.bin"}));
  // Nothing to offer for a value crossdock cannot guess.
  EXPECT_EQ(Bash({"plan", "--parallelism", ""}), std::vector<std::string>{});
}

TEST_F(CompletionTest, BrokenOrMissingConfigOffersNothingAndSaysNothing) {
  EXPECT_EQ(Complete({"plan", "-c", "missing.toml", "--rule", ""}),
            (std::vector<std::string>{":words"}));
  // A FIFO named as the config would block a reader: it is not read.
  EXPECT_EQ(Complete({"plan", "-c", "pipe.bin", "--rule", ""}),
            (std::vector<std::string>{":words"}));
  WriteFile(dir_.Sub("broken.toml"), "[rules.r\nsource = \n");
  EXPECT_EQ(Complete({"plan", "-c", "broken.toml", "--rule", ""}),
            (std::vector<std::string>{":words"}));
  // A config with errors still names its rules (an unknown key here).
  WriteFile(dir_.Sub("typo.toml"),
            "[endpoints.a]\nurl = \"http://127.0.0.1:1\"\n[rules.r]\nsource = \"a\"\n"
            "destination = \"a\"\nrepositoriez = [\"x\"]\n");
  EXPECT_EQ(Complete({"plan", "-c", "typo.toml", "--rule", ""}),
            (std::vector<std::string>{"r\ta → a", ":words"}));
}

TEST_F(CompletionTest, ZshScriptParsesAndCompletes) {
  WriteFile(dir_.Sub("_crossdock"), RunCrossdock({"completion", "zsh"}).out);
  RunResult syntax = RunCommand({"zsh", "-n", dir_.Sub("_crossdock")});
  EXPECT_EQ(syntax.exit_code, 0) << syntax.err;
  // The completion system's functions stubbed to print what they are given.
  WriteFile(dir_.Sub("run.zsh"),
            "compdef() { print -r -- \"compdef $*\" }\n"
            "source ./_crossdock\n"
            "_describe() { local name=${@[-1]}; print -rl -- \"${(@P)name}\" }\n"
            "compadd() { local i=${@[(i)--]}; print -rl -- \"${(@)@[i+1,-1]}\" }\n"
            "_files() { print -r -- \"_files $*\" }\n"
            "compset() { : }\n"
            "words=(\"$@\"); CURRENT=$#\n"
            "_crossdock\n");
  auto zsh = [&](std::vector<std::string> words) {
    std::vector<std::string> argv = {"zsh", "-f", "run.zsh", CrossdockBin()};
    argv.insert(argv.end(), words.begin(), words.end());
    RunResult r = RunCommand(argv, {}, dir_.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return Lines(r.out);
  };
  EXPECT_EQ(zsh({"pl"}), (std::vector<std::string>{"compdef _crossdock crossdock", "plan"}));
  EXPECT_EQ(zsh({"plan", "--rule", ""}),
            (std::vector<std::string>{"compdef _crossdock crossdock", "mirror:hub → dr",
                                      "mirror-all:hub → dr"}));
  EXPECT_EQ(zsh({"plan", "-c", ""}),
            (std::vector<std::string>{"compdef _crossdock crossdock", "_files -g *.toml"}));
  EXPECT_EQ(zsh({"apply", ""}),
            (std::vector<std::string>{"compdef _crossdock crossdock", "bin/", "sub/", "plan.bin"}));
}

TEST_F(CompletionTest, FishScriptParsesAndCompletes) {
  WriteFile(dir_.Sub("crossdock.fish"), RunCrossdock({"completion", "fish"}).out);
  RunResult syntax = RunCommand({"fish", "--no-execute", dir_.Sub("crossdock.fish")});
  EXPECT_EQ(syntax.exit_code, 0) << syntax.err;
  const char* path = std::getenv("PATH");
  auto fish = [&](const std::string& line) {
    RunResult r = RunCommand({"fish", "--no-config", "-c",
                              "source crossdock.fish; complete -C'" + line + "'"},
                             {{"PATH", dir_.Sub("bin") + ":" + (path ? path : "/usr/bin:/bin")},
                              {"HOME", dir_.path()}},
                             dir_.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Lines(r.out);
  };
  EXPECT_EQ(fish("crossdock pl"), (std::vector<std::string>{"plan"}));
  EXPECT_EQ(fish("crossdock plan --ru"),
            (std::vector<std::string>{"--rule\tOnly this rule (repeatable)"}));
  EXPECT_EQ(fish("crossdock plan --rule=mirror-"),
            (std::vector<std::string>{"--rule=mirror-all\thub → dr"}));
  EXPECT_EQ(fish("crossdock endpoint test -c other.toml "),
            (std::vector<std::string>{"backup\tdocker-registry"}));
  EXPECT_EQ(fish("crossdock apply "),
            (std::vector<std::string>{"bin/", "plan.bin\tsaved plan", "sub/"}));
  EXPECT_EQ(fish("crossdock plan --config=o"), (std::vector<std::string>{"--config=other.toml"}));
}

TEST(CompletionCommandTest, UnknownOrMissingShellIsAnError) {
  RunResult unknown = RunCrossdock({"completion", "tcsh"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.out, "");
  EXPECT_NE(unknown.err.find("Error: completion: unknown shell \"tcsh\": use bash, zsh or fish"),
            std::string::npos)
      << unknown.err;
  RunResult missing = RunCrossdock({"completion"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("Error: completion needs a shell: use bash, zsh or fish"),
            std::string::npos)
      << missing.err;
}

}  // namespace
}  // namespace crossdock::testing
