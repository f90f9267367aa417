// End to end: the real binary against tests/fakes/hostile_registry, a registry that
// misbehaves on purpose. Each test asserts what crossdock did (exit code, the error
// naming the endpoint), what the fake saw (its /__stats: request counts, requests
// that carried credentials, requests naming invalid repositories), that no request
// reached a second listener standing for "another host", and, for huge manifests,
// the peak memory of the crossdock process.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

using Options = HostileRegistry::Options;

// A crossdock run and the peak resident memory of its process (wait4's ru_maxrss).
struct MeasuredRun {
  RunResult result;
  long peak_rss_kb = 0;
};

// RunCrossdock, measuring the process's peak RSS. Throws HarnessError after
// timeout_s (the process group is killed).
MeasuredRun RunMeasured(std::vector<std::string> args, const TempDir& dir, int timeout_s = 60) {
  args.insert(args.begin(), CrossdockBin());
  const std::string out_path = dir.Sub("measured.out"), err_path = dir.Sub("measured.err");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addchdir_np(&actions, dir.path().c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = ChildEnvironment({});
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw HarnessError("cannot start " + args[0] + ": " + std::strerror(rc));

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  struct rusage usage {};
  for (;;) {
    pid_t done = wait4(pid, &status, WNOHANG, &usage);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) throw HarnessError("wait4 failed");
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(-pid, SIGKILL);
      while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
      }
      throw HarnessError("crossdock did not finish within " + std::to_string(timeout_s) +
                         " s; stderr:\n" + ReadFile(err_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(-pid, SIGKILL);  // whatever it left behind
  MeasuredRun run;
  run.result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.result.out = ReadFile(out_path);
  run.result.err = ReadFile(err_path);
  run.peak_rss_kb = usage.ru_maxrss;
  return run;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// No crash and no sanitizer report in a run's output.
void ExpectNoCrash(const RunResult& r) {
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << "exit " << r.exit_code << "\n" << r.err;
  for (const char* bad : {"AddressSanitizer", "runtime error:", "LeakSanitizer", "Segmentation"})
    EXPECT_FALSE(Contains(r.err, bad)) << r.err;
}

class HostileTest : public ::testing::Test {
 protected:
  // crossdock.toml: endpoint "src" at SRC (with its credentials), "dst" at DST, and
  // rule "m" copying into namespace "mirror" with RULE_EXTRA (e.g. a repositories
  // or tags filter).
  void WriteConfig(const Endpoint& src, const Endpoint& dst, const std::string& rule_extra = "") {
    auto endpoint = [](const std::string& name, const Endpoint& ep) {
      std::string text = "[endpoints." + name + "]\nurl = \"" + ep.url() + "\"\n";
      if (!ep.username().empty())
        text += "username = \"" + ep.username() + "\"\npassword = \"" + ep.password() + "\"\n";
      return text;
    };
    WriteFile(dir_.Sub("crossdock.toml"),
              endpoint("src", src) + endpoint("dst", dst) +
                  "[rules.m]\nsource = \"src\"\ndestination = \"dst\"\ndest_namespace = "
                  "\"mirror\"\n" +
                  rule_extra);
  }
  RunResult Crossdock(std::vector<std::string> args) {
    args.insert(args.end(), {"--no-color"});
    return RunCrossdock(args, {}, dir_.path(), 60);
  }
  MeasuredRun Measured(std::vector<std::string> args) {
    args.insert(args.end(), {"--no-color"});
    return RunMeasured(args, dir_);
  }

  TempDir dir_;
};

constexpr const char* kOnlyR = "repositories = [\"r\"]\n";

// ---- 1. Credentials stay on the endpoint's origin ----

TEST_F(HostileTest, TagListLinkToAnotherHostOrPortGetsNothing) {
  // The case: `Link: <http://localhost:27701/v2/r/tags/list?last=a&n=1>`.
  HostileRegistry foreign({.args = {"--tags", "3", "--tag-prefix", "foreign"}});
  for (std::string host : {"localhost", "127.0.0.1"}) {
    std::string link = "http://" + host + ":" + std::to_string(foreign.port()) +
                       "/v2/r/tags/list?last=a&n=1";
    HostileRegistry src({.username = "user", .password = "s3cret", .args = {"--tags-link", link}});
    HostileRegistry dst;
    WriteConfig(src, dst, kOnlyR);
    RunResult plan = Crossdock({"plan"});
    EXPECT_EQ(plan.exit_code, 1) << plan.out << plan.err;
    std::string all = plan.out + plan.err;
    EXPECT_TRUE(Contains(all, "listing tags of \"r\" at endpoint \"src\": the registry's next-page "
                              "Link header points to http://" +
                                  host + ":" + std::to_string(foreign.port()) +
                                  ", not to the endpoint's own origin"))
        << all;
    EXPECT_FALSE(Contains(all, "foreign0")) << all;
    EXPECT_FALSE(Contains(all, "s3cret")) << all;
    EXPECT_GT(src.GetStats().authorized, 0);
  }
  HostileRegistry::Stats seen = foreign.GetStats();
  EXPECT_EQ(seen.requests, 0) << ::testing::PrintToString(seen.paths);
}

TEST_F(HostileTest, CatalogLinkToAnotherPortGetsNothing) {
  HostileRegistry foreign;
  HostileRegistry src({.username = "user",
                       .password = "s3cret",
                       .args = {"--catalog-link", foreign.url() + "/v2/_catalog?last=r&n=1000"}});
  HostileRegistry dst;
  WriteConfig(src, dst);
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1) << plan.out << plan.err;
  EXPECT_TRUE(Contains(plan.out + plan.err,
                       "listing repositories (GET /v2/_catalog) at endpoint \"src\": the "
                       "registry's next-page Link header points to " +
                           foreign.url()))
      << plan.out << plan.err;
  EXPECT_EQ(foreign.GetStats().requests, 0);
}

TEST_F(HostileTest, UploadLocationOnAnotherPortGetsNoBlob) {
  HostileRegistry foreign;
  HostileRegistry src;
  HostileRegistry dst({.username = "user",
                       .password = "s3cret",
                       .args = {"--empty", "--upload-location",
                                foreign.url() + "/v2/mirror/r/blobs/uploads/x"}});
  WriteConfig(src, dst, kOnlyR);
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_EQ(apply.exit_code, 1) << apply.out << apply.err;
  EXPECT_TRUE(Contains(apply.out + apply.err, "into \"mirror/r\" at endpoint \"dst\": the "
                                              "registry's Location header points to " +
                                                  foreign.url()))
      << apply.out << apply.err;
  EXPECT_EQ(foreign.GetStats().requests, 0);
}

TEST_F(HostileTest, BlobRedirectToAnotherPortIsFollowedWithoutCredentials) {
  // Object-storage style: blobs are served elsewhere. curl follows the redirect
  // (Debian 12's 7.88.1) and keeps the Authorization header on the original origin.
  HostileRegistry storage;  // the same image, anonymous
  HostileRegistry src({.username = "user",
                       .password = "s3cret",
                       .args = {"--redirect-blobs", storage.url()}});
  HostileRegistry dst({.args = {"--empty"}});
  WriteConfig(src, dst, kOnlyR);
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  HostileRegistry::Stats seen = storage.GetStats();
  EXPECT_EQ(seen.blob_gets, 2);  // config and layer
  EXPECT_EQ(seen.authorized, 0) << ::testing::PrintToString(seen.paths);
  EXPECT_EQ(dst.GetStats().uploads, 4);  // POST and PUT per blob
}

// ---- 2. Names from outside never reach a request ----

TEST_F(HostileTest, InvalidNamesInCatalogAndTagListNeverReachARequest) {
  HostileRegistry src({.args = {"--invalid-names"}});
  HostileRegistry dst;
  WriteConfig(src, dst);
  RunResult plan = Crossdock({"plan"});
  ExpectNoCrash(plan);
  EXPECT_EQ(plan.exit_code, 1) << plan.out << plan.err;
  std::string all = plan.out + plan.err;
  EXPECT_TRUE(Contains(all, "127.0.0.1:" + std::to_string(dst.port()) + "/mirror/r:v1")) << all;
  EXPECT_TRUE(Contains(all, "lib/../other/secret")) << all;
  EXPECT_TRUE(Contains(all, "../../../other/victim/manifests/pwned")) << all;
  HostileRegistry::Stats seen = src.GetStats();
  EXPECT_EQ(seen.suspicious, 0) << ::testing::PrintToString(seen.paths);
  EXPECT_EQ(dst.GetStats().suspicious, 0) << ::testing::PrintToString(dst.GetStats().paths);
}

// ---- 3. Pagination that never ends ----

TEST_F(HostileTest, TagListLinkBackToItselfFailsAfterOnePage) {
  HostileRegistry src({.args = {"--tags-link", "self"}});
  HostileRegistry dst;
  WriteConfig(src, dst, kOnlyR);
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1) << plan.out << plan.err;
  EXPECT_TRUE(Contains(plan.out + plan.err,
                       "listing tags of \"r\" at endpoint \"src\": the registry's next-page Link "
                       "leads back to a page already fetched (/v2/r/tags/list?n=1000) after 1 page"))
      << plan.out << plan.err;
  EXPECT_EQ(src.GetStats().tag_lists, 1);
}

TEST_F(HostileTest, CatalogLinkBackToItselfFailsAfterOnePage) {
  HostileRegistry src({.args = {"--catalog-link", "self"}});
  HostileRegistry dst;
  WriteConfig(src, dst);
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1) << plan.out << plan.err;
  EXPECT_TRUE(Contains(plan.out + plan.err, "listing repositories (GET /v2/_catalog) at endpoint "
                                            "\"src\": the registry's next-page Link leads back"))
      << plan.out << plan.err;
  EXPECT_EQ(src.GetStats().catalog, 1);
}

// ---- 4. Manifests larger than 4 MiB ----

TEST_F(HostileTest, ManifestAnnouncedLargerThanFourMiBIsNotDownloaded) {
  HostileRegistry src({.args = {"--manifest-size", std::to_string(20 << 20)}});
  HostileRegistry dst;
  WriteConfig(src, dst, kOnlyR);
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1) << plan.out << plan.err;
  EXPECT_TRUE(Contains(plan.out + plan.err,
                       "manifest r:v1 at endpoint \"src\" is larger than 4 MiB"))
      << plan.out << plan.err;
  EXPECT_EQ(src.GetStats().manifest_gets, 0);
}

TEST_F(HostileTest, HugeManifestIsAbandonedWhileReadingOnceAndMemoryStaysFlat) {
  // A normal copy first: what this process needs anyway.
  long baseline_kb = 0;
  {
    HostileRegistry src;
    HostileRegistry dst;
    WriteConfig(src, dst, kOnlyR);
    MeasuredRun normal = Measured({"apply", "--auto-approve"});
    ASSERT_EQ(normal.result.exit_code, 0) << normal.result.out << normal.result.err;
    baseline_kb = normal.peak_rss_kb;
  }
  for (std::int64_t size : {std::int64_t{20} << 20, std::int64_t{100} << 20}) {
    // Chunked, without Content-Length: only reading tells the size.
    HostileRegistry src({.args = {"--manifest-size", std::to_string(size), "--no-content-length"}});
    HostileRegistry dst;
    WriteConfig(src, dst, kOnlyR);
    MeasuredRun apply = Measured({"apply", "--auto-approve"});
    ExpectNoCrash(apply.result);
    EXPECT_EQ(apply.result.exit_code, 1) << apply.result.out << apply.result.err;
    EXPECT_TRUE(Contains(apply.result.out + apply.result.err,
                         "manifest r@sha256:"))
        << apply.result.out << apply.result.err;
    EXPECT_TRUE(Contains(apply.result.out + apply.result.err,
                         " at endpoint \"src\" is larger than 4 MiB, the most any registry "
                         "accepts"))
        << apply.result.out << apply.result.err;
    HostileRegistry::Stats seen = src.GetStats();
    EXPECT_EQ(seen.manifest_gets, 1) << size;  // never retried
    // The transfer stopped early: 4 MiB read, plus what the socket buffers held (5
    // MiB measured on loopback; the bound leaves room for receive-buffer growth).
    EXPECT_LT(seen.manifest_bytes_sent, std::min(size, std::int64_t{64} << 20)) << size;
    // 4 MiB of body (and its growth) above a normal run's peak, not the manifest:
    // before the cap, the 20 MiB one cost 270 MiB more (in this sanitizer build).
    EXPECT_LT(apply.peak_rss_kb - baseline_kb, 32 * 1024)
        << size << ": " << apply.peak_rss_kb << " KiB against " << baseline_kb << " KiB";
    EXPECT_EQ(dst.GetStats().uploads, 0);
    RecordProperty("peak_rss_kb_over_baseline_" + std::to_string(size >> 20) + "MiB",
                   std::to_string(apply.peak_rss_kb - baseline_kb));
    RecordProperty("bytes_sent_" + std::to_string(size >> 20) + "MiB",
                   std::to_string(seen.manifest_bytes_sent));
  }
}

// ---- Deeply nested JSON ----

TEST_F(HostileTest, DeeplyNestedJsonIsRefusedOrIgnoredWithoutCrashing) {
  // 600 KB of brackets: under every size cap, and far deeper than any recursive
  // parser or destructor survives on an 8 MB stack.
  const std::string depth = "300000";
  // A listing is read by plan; a manifest only by apply (plan HEADs it).
  for (std::string where : {"catalog", "tags", "manifest"}) {
    HostileRegistry src({.args = {"--deep", depth, "--deep-in", where}});
    HostileRegistry dst({.args = {"--empty"}});
    WriteConfig(src, dst, where == "catalog" ? "" : kOnlyR);
    RunResult run = Crossdock(where == "manifest" ? std::vector<std::string>{"apply", "--auto-approve"}
                                                  : std::vector<std::string>{"plan"});
    ExpectNoCrash(run);
    if (run.exit_code != 0) {
      EXPECT_TRUE(Contains(run.out + run.err, "endpoint \"src\"")) << where << run.out << run.err;
    }
    RecordProperty(where + "_exit_code", run.exit_code);
  }
}

// ---- 200,000 tags ----

TEST_F(HostileTest, TwoHundredThousandTagsAreAllSeenPagedOrInOnePage) {
  for (std::string page_size : {"1000", "0"}) {
    HostileRegistry src({.args = {"--tags", "200000", "--page-size", page_size}});
    HostileRegistry dst;
    // The first tag and the last ten: only a listing read to its end has them.
    WriteConfig(src, dst, std::string(kOnlyR) + "tags = [\"t000000\", \"t19999?\"]\n");
    RunResult plan = Crossdock({"plan"});
    ASSERT_EQ(plan.exit_code, 0) << page_size << plan.out << plan.err;
    EXPECT_TRUE(Contains(plan.out, "Plan: 11 to copy, 0 to replace, 0 to delete.")) << plan.out;
    EXPECT_TRUE(Contains(plan.out, "/mirror/r:t199999")) << plan.out;
    EXPECT_TRUE(Contains(plan.out, "/mirror/r:t000000")) << plan.out;
    EXPECT_EQ(src.GetStats().tag_lists, page_size == "0" ? 1 : 200) << page_size;
  }
}

// ---- 5. The /v2/ ping is retried ----

TEST_F(HostileTest, PingAnswered500Then429IsRetried) {
  HostileRegistry src({.args = {"--fail-pings", "2"}});  // 500, then 429 Retry-After: 1
  HostileRegistry dst;
  WriteConfig(src, dst, kOnlyR);
  RunResult plan = Crossdock({"plan"});
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_TRUE(Contains(plan.out, "Plan: 1 to copy")) << plan.out;
  EXPECT_EQ(src.GetStats().pings, 3);
}

}  // namespace
}  // namespace crossdock::testing
