// End to end: `crossdock stop` ends a copy whose large blob is still crossing a slow
// link (tests/fakes/corrupt_proxy pacing blob bodies) within seconds, tags nothing,
// and `crossdock retry` then copies only what was stopped. Stopping between changes
// and retrying failed tasks with small images: replication_test.cc. Results are
// checked with curl and skopeo against the registries themselves.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class StopTest : public ::testing::Test {
 protected:
  StopTest() {
    layout_ = dir_.Sub("layout");
    config_ = dir_.Sub("crossdock.toml");
    state_ = dir_.Sub("crossdock.state.json");
  }

  // crossdock.toml copying every repository from SRC_URL to the destination.
  void WriteConfig(const std::string& src_url) {
    WriteFile(config_, "[endpoints.src]\nurl = \"" + src_url + "\"\n\n[endpoints.dst]\nurl = \"" +
                           dst_.url() +
                           "\"\n\n[rules.mirror]\nsource = \"src\"\ndestination = \"dst\"\n");
  }

  RunResult Crossdock(std::vector<std::string> args) {
    args.insert(args.end(), {"-c", config_, "--no-color"});
    return RunCrossdock(args, {}, dir_.path(), 60);
  }

  BuiltImage Seed(const std::string& repo, uint64_t layer_size, uint64_t seed) {
    ImageSpec spec;
    spec.layers = {LayerSpec{.size = layer_size, .seed = seed}};
    BuiltImage img = BuildImage(layout_, repo, spec);
    Push(layout_, repo, src_, repo, "v1");
    return img;
  }

  // `executions --json`, parsed; throws if it fails.
  nlohmann::json Executions() {
    RunResult r = Crossdock({"executions", "--json"});
    if (r.exit_code != 0) throw HarnessError("crossdock executions --json: " + r.err);
    return nlohmann::json::parse(r.out);
  }

  // The id of the first execution seen running, polling for up to TIMEOUT.
  std::optional<std::int64_t> WaitForRunningExecution(std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      for (const auto& e : Executions())
        if (e.at("status") == "running") return e.at("id").get<std::int64_t>();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return std::nullopt;
  }

  TempDir dir_;
  Registry src_;
  Registry dst_;
  std::string layout_, config_, state_;
};

TEST_F(StopTest, StopEndsALargeBlobInFlightWithinSecondsAndRetryCopiesOnlyIt) {
  constexpr std::int64_t kLayer = 48ll << 20;
  constexpr std::int64_t kRate = 2ll << 20;  // the whole layer would take 24 s
  BuiltImage small = Seed("small", 4096, 1);
  BuiltImage big = Seed("big", kLayer, 2);
  CorruptProxy slow(src_, CorruptProxy::Options{.corrupt_blobs = false, .bytes_per_second = kRate});
  WriteConfig(slow.url());

  // `executions` takes the free state lock for a moment: the apply waits for it.
  Process apply({CrossdockBin(), "apply", "--auto-approve", "--lock-timeout", "10s", "-c", config_,
                 "--no-color"},
                dir_.Sub("apply.log"), {}, dir_.path());
  std::optional<std::int64_t> id = WaitForRunningExecution(std::chrono::seconds(20));
  ASSERT_TRUE(id) << apply.log();
  // The large layer is on its way once more has crossed than the rest of both images.
  auto flowing = Clock::now() + std::chrono::seconds(20);
  while (slow.GetStats().paced_bytes < kRate && Clock::now() < flowing)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_GE(slow.GetStats().paced_bytes, kRate) << apply.log();
  ASSERT_TRUE(apply.Running()) << apply.log();

  auto t0 = Clock::now();
  RunResult stop = Crossdock({"stop", std::to_string(*id), "--wait", "10s"});
  double stop_returned = SecondsSince(t0);
  // Generous for a loaded machine: without the stop the layer would take 24 s more.
  std::optional<int> exit_code = apply.WaitFor(std::chrono::seconds(15));
  double apply_exited = SecondsSince(t0);
  ASSERT_TRUE(exit_code) << "apply still running " << apply_exited << " s after the stop\n"
                         << apply.log();
  EXPECT_EQ(*exit_code, 130) << apply.log();
  EXPECT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  EXPECT_NE(stop.out.find("Execution " + std::to_string(*id) + " stopped"), std::string::npos)
      << stop.out;
  RecordProperty("stop_returned_ms", static_cast<int>(stop_returned * 1000));
  RecordProperty("apply_exited_ms", static_cast<int>(apply_exited * 1000));
  EXPECT_NE(apply.log().find("Apply stopped: 1 done, 1 failed, 0 not started."), std::string::npos)
      << apply.log();

  // The download was cut short, not finished.
  CorruptProxy::Stats stats = slow.GetStats();
  EXPECT_LT(stats.paced_bytes, kLayer / 2);
  for (auto until = Clock::now() + std::chrono::seconds(15);
       stats.paced_cut_short == 0 && Clock::now() < until; stats = slow.GetStats())
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(stats.paced_cut_short, 1);

  // Nothing of the large image is tagged; the small one arrived whole.
  EXPECT_EQ(HeadDigest(dst_, "big", "v1"), std::nullopt);
  EXPECT_TRUE(ListTags(dst_, "big").empty());
  EXPECT_EQ(HeadDigest(dst_, "small", "v1"), small.digest);

  // History: the execution stopped; its large task shows stopped, the other succeeded.
  nlohmann::json execution;
  for (const auto& e : Executions())
    if (e.at("id") == *id) execution = e;
  EXPECT_EQ(execution.value("status", ""), "stopped") << execution.dump();
  RunResult tasks = Crossdock({"tasks", std::to_string(*id), "--json"});
  ASSERT_EQ(tasks.exit_code, 0) << tasks.err;
  std::map<std::string, nlohmann::json> by_repo;
  for (const auto& t : nlohmann::json::parse(tasks.out))
    by_repo[t.at("destination_repository").get<std::string>()] = t;
  EXPECT_EQ(by_repo["small"].value("status", ""), "succeeded") << tasks.out;
  EXPECT_EQ(by_repo["big"].value("status", ""), "stopped") << tasks.out;
  EXPECT_EQ(by_repo["big"].value("error", ""),
            "stopped: the copy was abandoned before it finished; nothing was tagged")
      << tasks.out;

  // The state file is whole and records only what finished.
  nlohmann::json state = nlohmann::json::parse(ReadFile(state_), nullptr, false);
  EXPECT_FALSE(state.is_discarded()) << ReadFile(state_);
  RunResult list = Crossdock({"state", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("small:v1"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("big"), std::string::npos) << list.out;

  // Retried straight from the source registry: only the stopped task runs.
  WriteConfig(src_.url());
  auto r0 = Clock::now();
  RunResult retry = Crossdock({"retry", std::to_string(*id), "--auto-approve"});
  RecordProperty("retry_ms", static_cast<int>(SecondsSince(r0) * 1000));
  ASSERT_EQ(retry.exit_code, 0) << retry.out << retry.err;
  EXPECT_NE(retry.out.find("Retrying the 1 failed or stopped task of execution " +
                           std::to_string(*id)),
            std::string::npos)
      << retry.out;
  EXPECT_NE(retry.out.find("Plan: 1 to copy, 0 to replace, 0 to delete."), std::string::npos)
      << retry.out;
  EXPECT_EQ(HeadDigest(dst_, "big", "v1"), big.digest);
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(dst_, "big", "v1")), big.digest);
  for (const auto& b : big.blobs) EXPECT_TRUE(BlobExists(dst_, "big", b)) << b;
  EXPECT_EQ(Crossdock({"plan", "--detailed-exitcode"}).exit_code, 0);
}

}  // namespace
}  // namespace crossdock::testing
