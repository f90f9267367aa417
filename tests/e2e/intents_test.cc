// End to end: an apply killed with SIGKILL at any moment loses no record of what it
// pushed. The destination sits behind tests/fakes/corrupt_proxy with a per-request
// delay, so tags arrive one by one over seconds and each kill lands between pushes
// (before the intents write, amid the copies, after the last push). The next apply
// must end with every destination tag recorded in the state; checked against the
// tags the registry itself lists (curl), not crossdock's own client.
#include <gtest/gtest.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

class IntentsTest : public ::testing::Test {
 protected:
  IntentsTest() {
    layout_ = dir_.Sub("layout");
    config_ = dir_.Sub("crossdock.toml");
  }

  void WriteConfig(const std::string& dst_url, const std::string& ns, bool delete_missing) {
    WriteFile(config_, "[endpoints.src]\nurl = \"" + src_.url() + "\"\n\n[endpoints.dst]\nurl = \"" +
                           dst_url + "\"\n\n[rules.mirror]\nsource = \"src\"\ndestination = \"dst\"\n"
                           "repositories = [\"app\"]\ndest_namespace = \"" + ns + "\"\n" +
                           (delete_missing ? "delete = true\n" : ""));
  }

  RunResult Crossdock(std::vector<std::string> args) {
    args.insert(args.end(), {"-c", config_, "--no-color"});
    return RunCrossdock(args, {}, dir_.path(), 120);
  }

  // `state list` as a set of "dst/REPO:TAG".
  std::set<std::string> Recorded() {
    RunResult r = Crossdock({"state", "list"});
    if (r.exit_code != 0) throw HarnessError("crossdock state list: " + r.err);
    std::set<std::string> out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) out.insert(line);
    return out;
  }

  TempDir dir_;
  Registry src_;
  Registry dst_;
  std::string layout_, config_;
};

TEST_F(IntentsTest, AnApplyKilledAtAnyMomentLeavesNoTagUnrecorded) {
  ImageSpec spec;
  spec.layers = {LayerSpec{.size = 2048, .seed = 7}};
  BuildImage(layout_, "app", spec);
  Push(layout_, "app", src_, "app", "t00");
  std::vector<std::string> tags;
  for (int i = 1; i < 40; ++i) tags.push_back((i < 10 ? "t0" : "t") + std::to_string(i));
  PushManifestUnderTags(src_, "app", "t00", tags);
  tags.insert(tags.begin(), "t00");

  // About 40 ms a request: the 40 tags take a few seconds to arrive.
  CorruptProxy slow(dst_, CorruptProxy::Options{.corrupt_blobs = false, .delay_ms = 40});
  const std::vector<int> kill_after_ms = {150, 700, 1300, 2100, 3200};
  int orphans_total = 0;
  for (size_t k = 0; k < kill_after_ms.size(); ++k) {
    const std::string ns = "k" + std::to_string(k);
    WriteConfig(slow.url(), ns, false);
    {
      Process apply({CrossdockBin(), "apply", "--auto-approve", "-c", config_, "--no-color"},
                    dir_.Sub("apply-" + ns + ".log"), {}, dir_.path());
      std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms[k]));
      apply.Kill9();
    }
    // The next run, straight to the registry, finishes the job and records it all.
    WriteConfig(dst_.url(), ns, false);
    RunResult again = Crossdock({"apply", "--auto-approve"});
    ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
    std::set<std::string> recorded = Recorded();
    std::vector<std::string> at_destination = ListTags(dst_, ns + "/app");
    EXPECT_EQ(at_destination.size(), tags.size()) << "kill " << k;
    for (const auto& t : at_destination) {
      if (!recorded.count("dst/" + ns + "/app:" + t)) {
        ++orphans_total;
        ADD_FAILURE() << "kill after " << kill_after_ms[k] << " ms: " << ns << "/app:" << t
                      << " is at the destination but not in the state";
      }
    }
    // And a third plan has nothing left to do.
    RunResult plan = Crossdock({"plan", "--detailed-exitcode"});
    EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  }
  EXPECT_EQ(orphans_total, 0);

  // What the killed runs pushed is crossdock's own: with delete = true and only k1
  // wanted, the tags in every other namespace are deleted (the README promises it
  // deletes what it put there, and nothing else).
  WriteConfig(dst_.url(), "k1", true);
  RunResult sweep = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(sweep.exit_code, 0) << sweep.out << sweep.err;
  for (size_t k = 0; k < kill_after_ms.size(); ++k) {
    const std::string repo = "k" + std::to_string(k) + "/app";
    EXPECT_EQ(ListTags(dst_, repo).size(), k == 1 ? tags.size() : 0u) << repo;
  }
}

// A tmpfs of SIZE mounted on a folder of its own, unmounted by the destructor.
// Needs root (make test runs as root); Skip() says why when it cannot be had.
class SmallDisk {
 public:
  SmallDisk(const std::string& dir, const std::string& size) : dir_(dir) {
    ::mkdir(dir.c_str(), 0700);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0)
      error_ = std::strerror(errno);
  }
  ~SmallDisk() {
    if (error_.empty()) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  const std::string& error() const { return error_; }
  bool Grow(const std::string& size) {
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, ("size=" + size).c_str()) == 0;
  }

 private:
  std::string dir_;
  std::string error_;
};

TEST_F(IntentsTest, AFullDiskStopsTheApplyAndTheNextRunRecordsWhatWasPushed) {
  SmallDisk disk(dir_.Sub("small"), "40k");
  if (!disk.error().empty()) GTEST_SKIP() << "cannot mount a tmpfs: " << disk.error();
  ImageSpec spec;
  spec.layers = {LayerSpec{.size = 1024, .seed = 3}};
  BuildImage(layout_, "app", spec);
  Push(layout_, "app", src_, "app", "t00");
  std::vector<std::string> tags;
  for (int i = 1; i < 60; ++i) tags.push_back((i < 10 ? "t0" : "t") + std::to_string(i));
  PushManifestUnderTags(src_, "app", "t00", tags);
  // The state lives on the small disk: its intents fit (one file), but no later write
  // does (the next version beside the previous one).
  WriteConfig(dst_.url(), "full", false);
  WriteFile(config_, ReadFile(config_) + "\n[settings]\nstate = \"" + dir_.Sub("small") +
                         "/crossdock.state.json\"\n");
  RunResult full = Crossdock({"apply", "--auto-approve", "--parallelism", "1"});
  EXPECT_EQ(full.exit_code, 1) << full.out << full.err;
  EXPECT_NE(full.err.find("the state could not be saved"), std::string::npos) << full.err;
  EXPECT_NE(full.err.find("not recorded in the state file"), std::string::npos) << full.err;
  EXPECT_NE(full.out.find("not started"), std::string::npos) << full.out;
  const size_t pushed = ListTags(dst_, "full/app").size();
  EXPECT_GT(pushed, 0u);
  EXPECT_LT(pushed, 60u);  // it stopped instead of copying on without records

  ASSERT_TRUE(disk.Grow("4m"));
  RunResult plan = Crossdock({"plan"});
  EXPECT_NE(plan.out.find(std::to_string(pushed) + " to adopt."), std::string::npos) << plan.out;
  RunResult again = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  std::set<std::string> recorded = Recorded();
  std::vector<std::string> at_destination = ListTags(dst_, "full/app");
  EXPECT_EQ(at_destination.size(), 60u);
  for (const auto& t : at_destination)
    EXPECT_TRUE(recorded.count("dst/full/app:" + t)) << t << " is not in the state";
}

}  // namespace
}  // namespace crossdock::testing
