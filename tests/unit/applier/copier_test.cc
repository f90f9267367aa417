// Copier on its own: how a stop and a deadline end a copy (the applier-level stop
// tests, with slow registries, are in retry_test.cc).
#include "applier/copier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/unit/fake_registry.h"

namespace crossdock::applier {
namespace {

using std::chrono::milliseconds;
using testing::FakeRegistry;

constexpr const char* kStopped =
    "stopped: the copy was abandoned before it finished; nothing was tagged";

TEST(CopierTest, AStopOutranksAnExpiredDeadline) {
  FakeRegistry src("src"), dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 1);
  std::atomic<bool> stop{true};
  copier.SetDeadline(std::chrono::steady_clock::now() - milliseconds(1), "timed out after 1s");
  copier.SetCancel(&stop);
  core::Status st = copier.CopyTagged("app", d, "app", "v1");
  EXPECT_EQ(st.code(), core::Code::kCancelled);
  EXPECT_EQ(st.message(), kStopped);
  EXPECT_TRUE(dst.calls().empty());
}

TEST(CopierTest, WithoutAStopTheDeadlineSaysWhy) {
  FakeRegistry src("src"), dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 1);
  std::atomic<bool> stop{false};
  copier.SetDeadline(std::chrono::steady_clock::now() - milliseconds(1), "timed out after 1s");
  copier.SetCancel(&stop);
  EXPECT_EQ(copier.CopyTagged("app", d, "app", "v1").message(), "timed out after 1s");
}

TEST(CopierTest, StopEndsTheWaitForAnotherCopyOfTheSameBlob) {
  // Another copy holds every blob of the image and never finishes: without a stop
  // (or a deadline) this copy would wait for it forever.
  FakeRegistry src("src"), dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  BlobLedger ledger;
  auto manifest = src.GetManifest("app", d);
  ASSERT_TRUE(manifest.ok());
  for (const char* key : {"\"config\":{", "\"layers\":[{"}) {
    size_t at = manifest->bytes.find("sha256:", manifest->bytes.find(key));
    ledger.entries[manifest->bytes.substr(at, 71)].in_flight = true;
  }
  std::atomic<bool> stop{false};
  Copier copier(&src, &dst, &ledger, nullptr, 1);
  copier.SetCancel(&stop);
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(100));
    stop = true;
  });
  auto start = std::chrono::steady_clock::now();
  core::Status st = copier.CopyTagged("app", d, "app", "v1");
  auto took = std::chrono::steady_clock::now() - start;
  stopper.join();
  EXPECT_EQ(st.message(), kStopped);
  // Without the stop the copy would wait forever; the bound is generous so a loaded
  // machine never fails it (the stop is noticed within kWakeInterval).
  EXPECT_LT(took, std::chrono::seconds(20));
  EXPECT_EQ(dst.count("PutBlob"), 0);
  EXPECT_EQ(dst.count("PutManifest"), 0);
}

}  // namespace
}  // namespace crossdock::applier
