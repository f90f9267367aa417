// Tests for state/state.h lookups and state/store.h: the file format round trip,
// serial and lineage, .backup, file modes, refusal of newer and corrupt files, and
// the lock against a real second process.
#include "state/store.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "state/state.h"

namespace crossdock::state {
namespace {

Artifact MakeArtifact(const std::string& dest_repo, const std::string& tag) {
  return Artifact{
      .rule = "mirror-lib",
      .source_endpoint = "src",
      .source_repository = "lib/" + dest_repo,
      .source_digest = "sha256:" + std::string(64, 'a'),
      .destination_endpoint = "dst",
      .destination_repository = dest_repo,
      .tag = tag,
      .destination_digest = "sha256:" + std::string(64, 'b'),
      .replicated_at = "2024-05-01T12:00:00Z",
  };
}

// True for a lowercase RFC 4122 version 4 UUID.
bool IsUuidV4(const std::string& s) {
  if (s.size() != 36 || s[14] != '4' || std::string("89ab").find(s[19]) == std::string::npos) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : std::string("0123456789abcdef").find(s[i]) == std::string::npos) {
      return false;
    }
  }
  return true;
}

// True for "YYYY-MM-DDTHH:MM:SSZ".
bool IsRfc3339Utc(const std::string& s) {
  const std::string shape = "0000-00-00T00:00:00Z";
  if (s.size() != shape.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (shape[i] == '0' ? !std::isdigit(static_cast<unsigned char>(s[i])) : s[i] != shape[i]) {
      return false;
    }
  }
  return true;
}

struct LockHolder {
  std::string pid;
  std::string since;
};

// Parses a lock file, "pid N\nsince TIME\n"; nullopt when it has another shape.
std::optional<LockHolder> ParseLockFile(const std::string& content) {
  auto first_end = content.find('\n');
  if (content.rfind("pid ", 0) != 0 || first_end == std::string::npos) return std::nullopt;
  LockHolder h{content.substr(4, first_end - 4), content.substr(first_end + 1)};
  if (h.pid.empty() || h.pid.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  if (h.since.rfind("since ", 0) != 0 || h.since.back() != '\n') return std::nullopt;
  h.since = h.since.substr(6, h.since.size() - 7);
  if (!IsRfc3339Utc(h.since)) return std::nullopt;
  return h;
}

// --- State lookups ---

TEST(StateTest, FindReturnsArtifactAtDestinationKeyOnly) {
  State s;
  s.Upsert(MakeArtifact("app", "v1"));
  const Artifact* found = s.Find("dst", "app", "v1");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->tag, "v1");
  EXPECT_EQ(s.Find("dst", "app", "v2"), nullptr);
  EXPECT_EQ(s.Find("dst", "other", "v1"), nullptr);
  EXPECT_EQ(s.Find("src", "app", "v1"), nullptr);
}

TEST(StateTest, UpsertReplacesAtSameKeyAndAppendsNewKeys) {
  State s;
  s.Upsert(MakeArtifact("app", "v1"));
  Artifact moved = MakeArtifact("app", "v1");
  moved.source_digest = "sha256:" + std::string(64, 'c');
  s.Upsert(moved);
  ASSERT_EQ(s.artifacts.size(), 1u);
  EXPECT_EQ(s.artifacts[0].source_digest, moved.source_digest);

  s.Upsert(MakeArtifact("app", "v2"));
  EXPECT_EQ(s.artifacts.size(), 2u);
}

TEST(StateTest, RemoveReturnsWhetherAnArtifactWasRemoved) {
  State s;
  s.Upsert(MakeArtifact("app", "v1"));
  s.Upsert(MakeArtifact("app", "v2"));
  EXPECT_TRUE(s.Remove("dst", "app", "v1"));
  EXPECT_FALSE(s.Remove("dst", "app", "v1"));
  ASSERT_EQ(s.artifacts.size(), 1u);
  EXPECT_EQ(s.artifacts[0].tag, "v2");
}

// --- Files ---

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crossdock-state-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/crossdock.state.json";
  }
  void TearDown() override {
    for (pid_t pid : children_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }
  static void Spit(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  static unsigned Mode(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
  }
  std::set<std::string> Files() const {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }
  State Fresh() {
    auto s = ReadState(path_);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? *s : State{};
  }

  // Forks a process that takes the lock on path_, tells us, then sleeps HOLD_MS
  // (forever if negative) and exits. Returns its pid.
  pid_t ForkLockHolder(int hold_ms) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      auto lock = StateLock::Acquire(path_, 0);
      char c = lock.ok() ? 'y' : 'n';
      if (::write(fds[1], &c, 1) != 1) ::_exit(2);
      if (hold_ms < 0) {
        for (;;) ::pause();
      }
      ::usleep(static_cast<useconds_t>(hold_ms) * 1000);
      ::_exit(0);  // the kernel drops the flock with the process
    }
    children_.push_back(pid);
    ::close(fds[1]);
    char c = 0;
    EXPECT_EQ(::read(fds[0], &c, 1), 1);
    ::close(fds[0]);
    EXPECT_EQ(c, 'y') << "the child could not take the lock";
    return pid;
  }

  std::string dir_;
  std::string path_;
  std::vector<pid_t> children_;
};

TEST_F(StoreTest, MissingFileGivesFreshStateAndCreatesNothing) {
  auto s = ReadState(path_);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->format_version, 2);
  EXPECT_EQ(s->serial, 0);
  EXPECT_TRUE(s->artifacts.empty());
  EXPECT_TRUE(IsUuidV4(s->lineage)) << s->lineage;
  EXPECT_NE(Fresh().lineage, s->lineage);
  EXPECT_TRUE(Files().empty());
}

TEST_F(StoreTest, RoundTripKeepsEveryField) {
  State s = Fresh();
  s.Upsert(MakeArtifact("app", "v1"));
  Artifact odd{
      .rule = "r",
      .source_endpoint = "s \"quoted\"",
      .source_repository = "a/b/c",
      .source_digest = "sha256:" + std::string(64, '1'),
      .destination_endpoint = "zz",
      .destination_repository = "ünïcode/\\back",
      .tag = "v2\n",
      .destination_digest = "sha256:" + std::string(64, '2'),
      .replicated_at = "2024-05-02T00:00:00Z",
  };
  s.Upsert(odd);
  ASSERT_TRUE(WriteState(path_, &s).ok());

  auto read = ReadState(path_);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(*read, s);
}

TEST_F(StoreTest, FileIsTheDocumentedFormat) {
  State s;
  s.lineage = "6f1c2a4e-8d0b-4c57-9a3e-2b7d51f0c9e8";
  s.serial = 11;
  s.Upsert(MakeArtifact("app", "v1"));
  s.AddIntent({.rule = "mirror-lib", .source_endpoint = "src", .source_repository = "lib/app",
               .source_digest = "sha256:" + std::string(64, 'a'), .destination_endpoint = "dst",
               .destination_repository = "app", .tag = "v2",
               .recorded_at = "2024-05-01T12:00:01Z"});
  ASSERT_TRUE(WriteState(path_, &s).ok());
  const std::string a64(64, 'a'), b64(64, 'b');
  EXPECT_EQ(Slurp(path_), R"({
  "format_version": 2,
  "lineage": "6f1c2a4e-8d0b-4c57-9a3e-2b7d51f0c9e8",
  "serial": 12,
  "artifacts": [
    {
      "rule": "mirror-lib",
      "source_endpoint": "src",
      "source_repository": "lib/app",
      "source_digest": "sha256:)" + a64 + R"(",
      "destination_endpoint": "dst",
      "destination_repository": "app",
      "tag": "v1",
      "destination_digest": "sha256:)" + b64 + R"(",
      "replicated_at": "2024-05-01T12:00:00Z"
    }
  ],
  "intents": [
    {
      "rule": "mirror-lib",
      "source_endpoint": "src",
      "source_repository": "lib/app",
      "source_digest": "sha256:)" + a64 + R"(",
      "destination_endpoint": "dst",
      "destination_repository": "app",
      "tag": "v2",
      "recorded_at": "2024-05-01T12:00:01Z"
    }
  ]
}
)");
}

TEST_F(StoreTest, IntentsRoundTripAndAreKeyedByDestinationTag) {
  State s = Fresh();
  Intent i{.rule = "r", .source_endpoint = "src", .source_repository = "lib/app",
           .source_digest = "sha256:" + std::string(64, 'c'), .destination_endpoint = "dst",
           .destination_repository = "app", .tag = "v1", .recorded_at = "2024-05-01T12:00:00Z"};
  s.AddIntent(i);
  i.source_digest = "sha256:" + std::string(64, 'd');
  s.AddIntent(i);  // replaces the first
  i.tag = "v2";
  s.AddIntent(i);
  ASSERT_EQ(s.intents.size(), 2u);
  ASSERT_TRUE(WriteState(path_, &s).ok());
  auto read = ReadState(path_);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(*read, s);
  EXPECT_TRUE(s.RemoveIntent("dst", "app", "v1"));
  EXPECT_FALSE(s.RemoveIntent("dst", "app", "v1"));
  EXPECT_EQ(s.intents.size(), 1u);
}

TEST_F(StoreTest, VersionOneFileIsReadWithoutIntentsAndRewrittenAsVersionTwo) {
  Spit(path_, R"({"format_version": 1, "lineage": "x", "serial": 4, "artifacts": []})");
  auto s = ReadState(path_);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->intents.empty());
  ASSERT_TRUE(WriteState(path_, &*s).ok());
  EXPECT_NE(Slurp(path_).find("\"format_version\": 2"), std::string::npos);
  EXPECT_NE(Slurp(path_).find("\"intents\": []"), std::string::npos) << Slurp(path_);
}

TEST_F(StoreTest, EmptyStateRoundTrips) {
  State s = Fresh();
  ASSERT_TRUE(WriteState(path_, &s).ok());
  auto read = ReadState(path_);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(*read, s);
}

TEST_F(StoreTest, EveryWriteIncrementsSerialAndKeepsLineage) {
  State s = Fresh();
  const std::string lineage = s.lineage;
  ASSERT_TRUE(WriteState(path_, &s).ok());
  EXPECT_EQ(s.serial, 1);
  ASSERT_TRUE(WriteState(path_, &s).ok());
  EXPECT_EQ(s.serial, 2);

  auto read = ReadState(path_);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->serial, 2);
  EXPECT_EQ(read->lineage, lineage);
  ASSERT_TRUE(WriteState(path_, &*read).ok());
  EXPECT_EQ(read->serial, 3);
  EXPECT_EQ(ReadState(path_)->lineage, lineage);
}

TEST_F(StoreTest, BackupHoldsThePreviousContent) {
  State s = Fresh();
  s.Upsert(MakeArtifact("app", "v1"));
  ASSERT_TRUE(WriteState(path_, &s).ok());
  EXPECT_FALSE(std::filesystem::exists(path_ + ".backup"));
  const std::string first = Slurp(path_);

  s.Upsert(MakeArtifact("app", "v2"));
  ASSERT_TRUE(WriteState(path_, &s).ok());
  EXPECT_EQ(Slurp(path_ + ".backup"), first);
  EXPECT_NE(Slurp(path_), first);

  auto backup = ReadState(path_ + ".backup");
  ASSERT_TRUE(backup.ok()) << backup.status().message();
  EXPECT_EQ(backup->serial, 1);
  EXPECT_EQ(backup->artifacts.size(), 1u);
}

TEST_F(StoreTest, FilesHaveMode0600WhateverTheUmaskAndPreviousMode) {
  mode_t old_umask = ::umask(0);
  State s = Fresh();
  ASSERT_TRUE(WriteState(path_, &s).ok());
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  ASSERT_TRUE(WriteState(path_, &s).ok());
  ::umask(old_umask);
  EXPECT_EQ(Mode(path_), 0600u);
  EXPECT_EQ(Mode(path_ + ".backup"), 0600u);
}

TEST_F(StoreTest, WritingLeavesNoTemporaryFiles) {
  State s = Fresh();
  ASSERT_TRUE(WriteState(path_, &s).ok());
  ASSERT_TRUE(WriteState(path_, &s).ok());
  EXPECT_EQ(Files(), (std::set<std::string>{"crossdock.state.json", "crossdock.state.json.backup"}));
}

TEST_F(StoreTest, ArtifactsAreWrittenSortedByDestinationKey) {
  State s = Fresh();
  s.Upsert(MakeArtifact("b", "v1"));
  s.Upsert(MakeArtifact("a", "v2"));
  s.Upsert(MakeArtifact("a", "v1"));
  Artifact other_endpoint = MakeArtifact("a", "v0");
  other_endpoint.destination_endpoint = "zz";
  s.Upsert(other_endpoint);
  State reversed = s;
  std::reverse(reversed.artifacts.begin(), reversed.artifacts.end());

  ASSERT_TRUE(WriteState(path_, &s).ok());
  EXPECT_EQ(s.artifacts[0].destination_repository, "b");  // the caller's order is kept
  const std::string first = Slurp(path_);
  ASSERT_TRUE(WriteState(path_, &reversed).ok());
  EXPECT_EQ(Slurp(path_), first) << "the same artifacts in another order wrote other bytes";

  auto read = ReadState(path_);
  ASSERT_TRUE(read.ok()) << read.status().message();
  std::vector<std::string> keys;
  for (const Artifact& a : read->artifacts) {
    keys.push_back(a.destination_endpoint + "/" + a.destination_repository + ":" + a.tag);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"dst/a:v1", "dst/a:v2", "dst/b:v1", "zz/a:v0"}));
}

TEST_F(StoreTest, StringsAreEscapedOnlyWhereJsonRequires) {
  // The bytes the state file always had (rapidjson's escapes): control characters as
  // \b \f \n \r \t or \u00XX in capitals, quote and backslash escaped, the rest
  // (slash, DEL, UTF-8) as it is.
  State s;
  s.lineage = std::string("l\x01\x1f\b\f\n\r\t\"\\/\x7f\xc3\xbc");
  ASSERT_TRUE(WriteState(path_, &s).ok());
  EXPECT_EQ(Slurp(path_), "{\n  \"format_version\": 2,\n  \"lineage\": "
                          "\"l\\u0001\\u001F\\b\\f\\n\\r\\t\\\"\\\\/\x7f\xc3\xbc\",\n"
                          "  \"serial\": 1,\n  \"artifacts\": [],\n  \"intents\": []\n}\n");
  auto read = ReadState(path_);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->lineage, s.lineage);
}

TEST_F(StoreTest, KeysAreReadInAnyOrderAndUnknownFieldsAreIgnored) {
  Spit(path_, R"({"intents": [{"recorded_at": "t", "tag": "v2", "destination_repository": "app",
      "destination_endpoint": "dst", "source_digest": "d", "source_repository": "lib/app",
      "source_endpoint": "src", "rule": "r", "note": {"tag": 1, "rule": ["x"]}}],
    "unknown": [{"rule": 7, "tag": {}}], "artifacts": [{"replicated_at": "z",
      "destination_digest": "e", "tag": "v1", "destination_repository": "app",
      "destination_endpoint": "dst", "source_digest": "d", "source_repository": "lib/app",
      "source_endpoint": "src", "rule": "r", "extra": [[{"tag": "no"}]]}],
    "serial": 7, "lineage": "x", "format_version": 2, "later": null})");
  auto s = ReadState(path_);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->serial, 7);
  ASSERT_EQ(s->artifacts.size(), 1u);
  EXPECT_EQ(s->artifacts[0], (Artifact{"r", "src", "lib/app", "d", "dst", "app", "v1", "e", "z"}));
  ASSERT_EQ(s->intents.size(), 1u);
  EXPECT_EQ(s->intents[0], (Intent{"r", "src", "lib/app", "d", "dst", "app", "v2", "t"}));
  EXPECT_NE(s->Find("dst", "app", "v1"), nullptr);
}

TEST_F(StoreTest, TheProblemReportedDoesNotDependOnTheOrderOfKeys) {
  // A bad artifact listed before the fields checked first: "lineage" is named, as it
  // would be were the keys in the documented order; then the first bad artifact.
  Spit(path_, R"({"artifacts": [{"rule": 1}], "serial": 1, "format_version": 2, "intents": []})");
  auto s = ReadState(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(": missing \"lineage\";"), std::string::npos)
      << s.status().message();
  Spit(path_, R"({"intents": 5, "artifacts": [{}, 3], "lineage": "x", "serial": 1,
                  "format_version": 2})");
  s = ReadState(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(": artifacts[0] is missing \"rule\";"), std::string::npos)
      << s.status().message();
  Spit(path_, R"({"intents": 5, "artifacts": [3, {}], "lineage": "x", "serial": 1,
                  "format_version": 1})");
  s = ReadState(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(": artifacts[0] is not an object;"), std::string::npos)
      << s.status().message();
  // Version 1 has no intents: whatever sits under that key is ignored.
  Spit(path_, R"({"intents": 5, "artifacts": [], "lineage": "x", "serial": 1,
                  "format_version": 1})");
  EXPECT_TRUE(ReadState(path_).ok());
}

TEST_F(StoreTest, AFileThatCannotBeReadIsAnErrorNamingIt) {
  std::filesystem::create_directory(path_);  // open(2) succeeds, read(2) fails
  auto s = ReadState(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "cannot read state file " + path_ + ": Is a directory");
}

TEST_F(StoreTest, NewerFormatVersionIsRefused) {
  Spit(path_, R"({"format_version": 3, "lineage": "x", "serial": 4, "something_new": {}})");
  auto s = ReadState(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), core::Code::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "state file " + path_ +
                " has format version 3, newer than this crossdock understands (2); upgrade "
                "crossdock");
}

TEST_F(StoreTest, InvalidJsonIsDataLoss) {
  Spit(path_, "{\"format_version\": 1,\n  \"lineage\": oops}");
  auto s = ReadState(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), core::Code::kDataLoss);
  EXPECT_EQ(s.status().message(),
            "state file " + path_ + " is corrupt: not valid JSON (syntax error at byte 36); " +
                "restore it from " + path_ + ".backup or move it away");
}

TEST_F(StoreTest, EmptyFileIsDataLoss) {
  Spit(path_, "");
  auto s = ReadState(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), core::Code::kDataLoss);
  EXPECT_EQ(s.status().message(), "state file " + path_ + " is corrupt: the file is empty; " +
                                      "restore it from " + path_ + ".backup or move it away");
}

TEST_F(StoreTest, JsonThatWouldCrashTheReaderIsCorruptNotACrash) {
  // Found by fuzzing the saved-plan reader, which shares cereal's rapidjson: deep
  // nesting overflowed its recursive parser, and a long decimal read out of bounds.
  const std::string head = R"({"format_version": 1, "lineage": "x", "serial": 1, "artifacts": [], )";
  Spit(path_, head + "\"unknown\": " + std::string(100000, '[') + std::string(100000, ']') + "}");
  auto deep = ReadState(path_);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("JSON nested more than 32 levels deep"), std::string::npos)
      << deep.status().message();
  Spit(path_, head + "\"unknown\": 0." + std::string(350, '0') + "12345}");
  auto odd = ReadState(path_);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("a number that is not an integer"), std::string::npos)
      << odd.status().message();
}

TEST_F(StoreTest, MissingFieldsAreDataLossNamingTheField) {
  const std::string tail = "; restore it from " + path_ + ".backup or move it away";
  const std::string head = "state file " + path_ + " is corrupt: ";
  struct Case {
    std::string text;
    std::string detail;
  };
  const std::vector<Case> cases = {
      {R"([1, 2])", "the top level is not a JSON object"},
      {R"({"lineage": "x", "serial": 1, "artifacts": []})", R"(missing "format_version")"},
      {R"({"format_version": "1"})", R"("format_version" is not an integer)"},
      {R"({"format_version": 0})", "format version 0 does not exist"},
      {R"({"format_version": 1, "serial": 1, "artifacts": []})", R"(missing "lineage")"},
      {R"({"format_version": 1, "lineage": "x", "serial": -1, "artifacts": []})",
       R"("serial" is not a non-negative integer)"},
      {R"({"format_version": 1, "lineage": "x", "serial": 1})", R"(missing "artifacts")"},
      {R"({"format_version": 1, "lineage": "x", "serial": 1, "artifacts": [{"rule": "r"}]})",
       R"(artifacts[0] is missing "source_endpoint")"},
      {R"({"format_version": 2, "lineage": "x", "serial": 1, "artifacts": []})",
       R"(missing "intents")"},
      {R"({"format_version": 2, "lineage": "x", "serial": 1, "artifacts": [], "intents": {}})",
       R"("intents" is not an array)"},
      {R"({"format_version": 2, "lineage": "x", "serial": 1, "artifacts": [],
           "intents": [{"rule": "r", "source_endpoint": 1}]})",
       R"(intents[0].source_endpoint is not a string)"},
  };
  for (const Case& c : cases) {
    Spit(path_, c.text);
    auto s = ReadState(path_);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.status().code(), core::Code::kDataLoss) << c.text;
    EXPECT_EQ(s.status().message(), head + c.detail + tail) << c.text;
  }
}

TEST_F(StoreTest, ArtifactFieldOfWrongTypeIsDataLoss) {
  State s = Fresh();
  s.Upsert(MakeArtifact("app", "v1"));
  ASSERT_TRUE(WriteState(path_, &s).ok());
  std::string text = Slurp(path_);
  text.replace(text.find("\"v1\""), 4, "7");
  Spit(path_, text);
  auto read = ReadState(path_);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), core::Code::kDataLoss);
  EXPECT_EQ(read.status().message(), "state file " + path_ +
                                         " is corrupt: artifacts[0].tag is not a string; " +
                                         "restore it from " + path_ + ".backup or move it away");
}

TEST_F(StoreTest, ConcurrentWritersInOneProcessNeverLeaveAHalfWrittenFile) {
  State base = Fresh();
  for (int i = 0; i < 200; ++i) base.Upsert(MakeArtifact("repo" + std::to_string(i), "v1"));
  std::vector<std::thread> writers;
  std::vector<State> states(8, base);
  for (State& s : states) {
    writers.emplace_back([this, &s] {
      for (int i = 0; i < 10; ++i) EXPECT_TRUE(WriteState(path_, &s).ok());
    });
  }
  for (std::thread& t : writers) t.join();
  auto read = ReadState(path_);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->artifacts.size(), 200u);
  EXPECT_EQ(read->serial, 10);
  EXPECT_EQ(Files(), (std::set<std::string>{"crossdock.state.json", "crossdock.state.json.backup"}));
}

TEST_F(StoreTest, WriteIntoMissingFolderNamesItAndCreatesNothing) {
  const std::string folder = dir_ + "/no/such";
  const std::string path = folder + "/crossdock.state.json";
  State s = Fresh();
  core::Status st = WriteState(path, &s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), core::Code::kNotFound);
  EXPECT_EQ(st.message(), "folder " + folder + " for state file " + path +
                              " does not exist; create it or choose another --state path");
  EXPECT_EQ(s.serial, 0);
  EXPECT_TRUE(Files().empty());
}

// --- Lock ---

using LockTest = StoreTest;

TEST_F(LockTest, LockFileNamesTheHolder) {
  auto lock = StateLock::Acquire(path_, 0);
  ASSERT_TRUE(lock.ok()) << lock.status().message();
  auto holder = ParseLockFile(Slurp(path_ + ".lock"));
  ASSERT_TRUE(holder.has_value()) << Slurp(path_ + ".lock");
  EXPECT_EQ(holder->pid, std::to_string(::getpid()));
  EXPECT_EQ(Mode(path_ + ".lock"), 0600u);
}

TEST_F(LockTest, ReleasedByDestructor) {
  auto first = StateLock::Acquire(path_, 0);
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto second = StateLock::Acquire(path_, 0);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), core::Code::kUnavailable);

  first->reset();
  auto third = StateLock::Acquire(path_, 0);
  EXPECT_TRUE(third.ok()) << third.status().message();
}

TEST_F(LockTest, HeldByAnotherProcessFailsAfterTimeoutNamingItThenFreedBySigkill) {
  pid_t holder = ForkLockHolder(-1);
  auto recorded = ParseLockFile(Slurp(path_ + ".lock"));
  ASSERT_TRUE(recorded.has_value()) << Slurp(path_ + ".lock");
  EXPECT_EQ(recorded->pid, std::to_string(holder));
  const std::string since = recorded->since;

  auto start = std::chrono::steady_clock::now();
  auto lock = StateLock::Acquire(path_, 0.4);
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), core::Code::kUnavailable);
  EXPECT_EQ(lock.status().message(),
            "state is locked by pid " + std::to_string(holder) + " since " + since +
                " (lock file " + path_ +
                ".lock); wait for that run to finish, or pass --lock-timeout to wait longer");
  EXPECT_GE(waited, 0.4);
  EXPECT_LT(waited, 2.0);

  ASSERT_EQ(::kill(holder, SIGKILL), 0);
  ASSERT_EQ(::waitpid(holder, nullptr, 0), holder);
  children_.clear();
  lock = StateLock::Acquire(path_, 0);
  ASSERT_TRUE(lock.ok()) << lock.status().message();
  auto now_recorded = ParseLockFile(Slurp(path_ + ".lock"));
  ASSERT_TRUE(now_recorded.has_value()) << Slurp(path_ + ".lock");
  EXPECT_EQ(now_recorded->pid, std::to_string(::getpid()));
}

TEST_F(LockTest, WaitsForAHolderThatFinishesWithinTheTimeout) {
  ForkLockHolder(300);
  auto start = std::chrono::steady_clock::now();
  auto lock = StateLock::Acquire(path_, 10);
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(lock.ok()) << lock.status().message();
  EXPECT_GE(waited, 0.1);
  EXPECT_LT(waited, 5.0);
}

TEST_F(LockTest, ZeroTimeoutTriesOnce) {
  ForkLockHolder(-1);
  auto start = std::chrono::steady_clock::now();
  auto lock = StateLock::Acquire(path_, 0);
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_FALSE(lock.ok());
  EXPECT_LT(waited, 0.1);
}

}  // namespace
}  // namespace crossdock::state
