// Copier on its own: how a stop and a deadline end a copy (the applier-level stop
// tests, with slow registries, are in retry_test.cc), and what it does with blobs and
// manifests that do not arrive intact (registries wrapped to corrupt or alter them).
#include "applier/copier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
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
  core::Status st = copier.CopyTagged("app", d, "app", "v1", std::nullopt);
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
  EXPECT_EQ(copier.CopyTagged("app", d, "app", "v1", std::nullopt).message(), "timed out after 1s");
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
    ledger.MarkInFlight(manifest->bytes.substr(at, 71));
  }
  std::atomic<bool> stop{false};
  Copier copier(&src, &dst, &ledger, nullptr, 1);
  copier.SetCancel(&stop);
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(100));
    stop = true;
  });
  auto start = std::chrono::steady_clock::now();
  core::Status st = copier.CopyTagged("app", d, "app", "v1", std::nullopt);
  auto took = std::chrono::steady_clock::now() - start;
  stopper.join();
  EXPECT_EQ(st.message(), kStopped);
  // Without the stop the copy would wait forever; the bound is generous so a loaded
  // machine never fails it (the stop is noticed within kWakeInterval).
  EXPECT_LT(took, std::chrono::seconds(20));
  EXPECT_EQ(dst.count("PutBlob"), 0);
  EXPECT_EQ(dst.count("PutManifest"), 0);
}

// A source whose first `corrupt_times` manifest GETs arrive not matching their digest
// (the client's DataLoss).
class CorruptManifestsRegistry : public FakeRegistry {
 public:
  using FakeRegistry::FakeRegistry;
  core::Result<providers::Manifest> GetManifest(const std::string& repo,
                                                const std::string& ref) override {
    if (corrupt_times-- > 0) {
      return core::Status::DataLoss("manifest " + repo + ":" + ref +
                                    " from endpoint \"src\" has digest sha256:0 but the "
                                    "registry said " + ref + "; refusing to copy it");
    }
    return FakeRegistry::GetManifest(repo, ref);
  }
  std::atomic<int> corrupt_times{0};
};

// A destination whose link alters the blob uploads it is told to: the registry finds
// them not matching their digest (the client's DataLoss for DIGEST_INVALID).
class RejectingRegistry : public FakeRegistry {
 public:
  using FakeRegistry::FakeRegistry;
  core::Status PutBlob(const std::string& repo, const std::string& digest, std::int64_t size,
                       const providers::BlobSource& source) override {
    if (reject_times >= 0 && uploads_++ >= reject_times)
      return FakeRegistry::PutBlob(repo, digest, size, source);
    char buf[4096];
    while (source(buf, sizeof buf) > 0) {
    }
    ++rejected;
    return core::Status::DataLoss("endpoint \"dst\" rejected blob " + digest + " of " + repo +
                                  ": content does not match its digest");
  }
  std::atomic<int> reject_times{-1};  // the first N uploads; negative: every upload
  std::atomic<int> rejected{0};

 private:
  std::atomic<int> uploads_{0};
};

// A destination whose link alters the manifest PUTs `alter` picks (a space after
// the first '{'), answered as docker-registry does: a PUT by tag stores the altered
// bytes and reports their digest (the client's DataLoss), a PUT by digest is refused
// with 400 DIGEST_INVALID (the client's Internal naming the code).
class AlteringRegistry : public FakeRegistry {
 public:
  using FakeRegistry::FakeRegistry;
  core::Status PutManifest(const std::string& repo, const std::string& ref,
                           const providers::Manifest& m) override {
    if (!alter(m)) return FakeRegistry::PutManifest(repo, ref, m);
    ++altered;
    providers::Manifest changed = Altered(m);
    if (core::IsValidDigest(ref)) {
      return core::Status::Internal("PUT manifest " + repo + ":" + ref +
                                    " at endpoint \"dst\": unexpected HTTP 400: DIGEST_INVALID: "
                                    "provided digest did not match uploaded content");
    }
    CROSSDOCK_RETURN_IF_ERROR(FakeRegistry::PutManifest(repo, ref, changed));
    return core::Status::DataLoss("endpoint \"dst\" stored manifest " + repo + ":" + ref + " as " +
                                  changed.digest + " instead of " + m.digest);
  }
  static providers::Manifest Altered(providers::Manifest m) {
    m.bytes.insert(1, " ");
    m.digest = core::Sha256Digest(m.bytes);
    return m;
  }
  std::function<bool(const providers::Manifest&)> alter = [](const providers::Manifest&) {
    return true;
  };
  std::atomic<int> altered{0};
};

// A destination whose first `times` manifest PUTs by tag fail with `failure` after
// storing what `stores` says: nothing, the manifest sent (an answer lost on the
// way), or an altered one (a connection cut after altered bytes got through).
class FailingTagPutRegistry : public FakeRegistry {
 public:
  enum class Stores { kNothing, kSent, kAltered };
  using FakeRegistry::FakeRegistry;
  core::Status PutManifest(const std::string& repo, const std::string& ref,
                           const providers::Manifest& m) override {
    if (core::IsValidDigest(ref) || times-- <= 0) return FakeRegistry::PutManifest(repo, ref, m);
    if (stores == Stores::kSent) CROSSDOCK_RETURN_IF_ERROR(FakeRegistry::PutManifest(repo, ref, m));
    if (stores == Stores::kAltered) {
      CROSSDOCK_RETURN_IF_ERROR(FakeRegistry::PutManifest(repo, ref, AlteringRegistry::Altered(m)));
    }
    return failure;
  }
  Stores stores = Stores::kNothing;
  core::Status failure = core::Status::Unavailable("PUT manifest: connection reset");
  std::atomic<int> times{0};
};

// The layer blob of FakeRegistry::AddImage(…, CONTENT).
std::string LayerOf(const std::string& content) { return "layer:" + content; }

// The config digest of image DIGEST in REPO (the manifest's first digest).
std::string ConfigOf(FakeRegistry& registry, const std::string& repo, const std::string& digest) {
  auto m = registry.GetManifest(repo, digest);
  return m.ok() ? m->bytes.substr(m->bytes.find("sha256:"), 71) : "";
}

TEST(CopierIntegrityTest, BlobCorruptedOnTheWayIsDownloadedAgain) {
  FakeRegistry src("src"), dst("dst");
  src.CorruptBlobs(2);
  std::string d = src.AddImage("app", "v1", "one");
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 3);
  ASSERT_TRUE(copier.CopyTagged("app", d, "app", "v1", std::nullopt).ok());
  EXPECT_EQ(dst.DigestOf("app", "v1"), d);
  EXPECT_EQ(src.count("GetBlob app@" + core::Sha256Digest(LayerOf("one"))), 3);
  EXPECT_EQ(dst.count("PutBlob"), 2);  // config and layer, each once, intact
}

TEST(CopierIntegrityTest, BlobCorruptedOnEveryDownloadIsCorruptAtTheSource) {
  FakeRegistry src("src"), dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  const std::string config = ConfigOf(src, "app", d);
  BlobLedger ledger;
  std::string config_bytes;
  ASSERT_TRUE(src.GetBlob("app", config, [&](const char* p, size_t n) {
    config_bytes.append(p, n);
    return true;
  }).ok());
  src.CorruptBlobs();
  Copier copier(&src, &dst, &ledger, nullptr, 2);
  // Not the last attempt: the applier is to try the change again.
  copier.SetFinalAttempt(false);
  core::Status first = copier.CopyTagged("app", d, "app", "v1", std::nullopt);
  EXPECT_EQ(first.code(), core::Code::kUnavailable) << first.message();
  // The last: every one of the 4 downloads (2 per attempt) arrived corrupted.
  copier.SetFinalAttempt(true);
  core::Status last = copier.CopyTagged("app", d, "app", "v1", std::nullopt);
  EXPECT_EQ(last.code(), core::Code::kDataLoss);
  EXPECT_EQ(last.message(),
            "blob " + config + " of app at endpoint \"src\" arrived corrupted on every one of 4 "
            "downloads (last: " + FakeRegistry::CorruptedDigest(config_bytes) + ", " +
            std::to_string(config_bytes.size()) +
            " bytes); the source holds damaged content or something on the way alters it");
  EXPECT_EQ(dst.count("PutBlob"), 0);  // nothing corrupted is ever uploaded
  EXPECT_EQ(dst.count("PutManifest"), 0);
  EXPECT_FALSE(dst.DigestOf("app", "v1"));
}

TEST(CopierIntegrityTest, UploadFoundAlteredIsUploadedAgain) {
  FakeRegistry src("src");
  RejectingRegistry dst("dst");
  dst.reject_times = 2;
  std::string d = src.AddImage("app", "v1", "one");
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 3);
  ASSERT_TRUE(copier.CopyTagged("app", d, "app", "v1", std::nullopt).ok());
  EXPECT_EQ(dst.rejected.load(), 2);
  EXPECT_EQ(dst.DigestOf("app", "v1"), d);
}

TEST(CopierIntegrityTest, UploadFoundAlteredEveryTimeSaysTheWayToTheDestinationAltersIt) {
  FakeRegistry src("src");
  RejectingRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  const std::string config = ConfigOf(src, "app", d);
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 3);
  core::Status st = copier.CopyTagged("app", d, "mirror/app", "v1", std::nullopt);
  EXPECT_EQ(st.code(), core::Code::kDataLoss);
  EXPECT_EQ(st.message(), "blob " + config + " of app arrived intact from endpoint \"src\", but "
                          "endpoint \"dst\" found it altered on every one of 3 uploads into "
                          "mirror/app; something on the way to endpoint \"dst\" alters it");
  EXPECT_FALSE(dst.DigestOf("mirror/app", "v1"));
}

TEST(CopierIntegrityTest, ManifestCorruptedOnTheWayIsFetchedAgain) {
  CorruptManifestsRegistry src("src");
  FakeRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  src.corrupt_times = 2;
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 3);
  ASSERT_TRUE(copier.CopyTagged("app", d, "app", "v1", std::nullopt).ok());
  EXPECT_EQ(dst.DigestOf("app", "v1"), d);
}

TEST(CopierIntegrityTest, ManifestCorruptedOnEveryDownloadIsCorruptAtTheSource) {
  CorruptManifestsRegistry src("src");
  FakeRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  src.corrupt_times = 100;
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 3);
  core::Status st = copier.CopyTagged("app", d, "app", "v1", std::nullopt);
  EXPECT_EQ(st.code(), core::Code::kDataLoss);
  EXPECT_EQ(st.message(), "manifest " + d + " of app at endpoint \"src\" arrived corrupted on "
                          "every one of 3 downloads (last: manifest app:" + d +
                          " from endpoint \"src\" has digest sha256:0 but the registry said " + d +
                          "; refusing to copy it); the source holds damaged content or something "
                          "on the way alters it");
  EXPECT_TRUE(dst.calls().empty());
}

TEST(CopierIntegrityTest, TagPutAlteredOnTheWayIsPutAgain) {
  FakeRegistry src("src");
  AlteringRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  dst.alter = [&](const providers::Manifest&) { return dst.altered == 0; };  // the first PUT
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 3);
  ASSERT_TRUE(copier.CopyTagged("app", d, "app", "v1", std::nullopt).ok());
  EXPECT_EQ(dst.DigestOf("app", "v1"), d);
  EXPECT_EQ(dst.count("PutManifest app:v1"), 2);
}

TEST(CopierIntegrityTest, TagAlteredOnEveryPutIsPutBackToWhatItHeld) {
  FakeRegistry src("src");
  AlteringRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "new");
  std::string before = dst.AddImage("app", "v1", "old");
  auto m = src.GetManifest("app", d);
  ASSERT_TRUE(m.ok());
  const std::string wrong = AlteringRegistry::Altered(*m).digest;
  dst.alter = [&](const providers::Manifest& put) { return put.digest == d; };
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 3);
  core::Status st = copier.CopyTagged("app", d, "app", "v1", before);
  EXPECT_EQ(st.code(), core::Code::kDataLoss);
  EXPECT_EQ(st.message(),
            "manifest " + d + " reached app:v1 at endpoint \"dst\" altered on every one of 3 "
            "PUTs (last: endpoint \"dst\" stored manifest app:v1 as " + wrong + " instead of " +
            d + "); something on the way to the registry alters manifests; app:v1 was put back "
            "to " + before + ", which it held before");
  EXPECT_EQ(dst.DigestOf("app", "v1"), before);
  EXPECT_EQ(dst.count("DeleteManifest"), 0);
}

TEST(CopierIntegrityTest, TagAlteredOnEveryPutIsRemovedWhenItDidNotExist) {
  FakeRegistry src("src");
  AlteringRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  std::string other = dst.AddImage("app", "keep", "other");
  auto m = src.GetManifest("app", d);
  ASSERT_TRUE(m.ok());
  const std::string wrong = AlteringRegistry::Altered(*m).digest;
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 2);
  copier.SetFinalAttempt(false);
  core::Status st = copier.CopyTagged("app", d, "app", "v1", std::nullopt);
  EXPECT_EQ(st.code(), core::Code::kUnavailable);  // the applier tries the change again
  EXPECT_EQ(st.message(),
            "manifest " + d + " reached app:v1 at endpoint \"dst\" altered on every one of 2 "
            "PUTs (last: endpoint \"dst\" stored manifest app:v1 as " + wrong + " instead of " +
            d + "); something on the way to the registry alters manifests; app:v1, which did "
            "not exist before, was removed again");
  EXPECT_FALSE(dst.DigestOf("app", "v1"));
  EXPECT_EQ(dst.DigestOf("app", "keep"), other);
  EXPECT_EQ(dst.count("DeleteManifest app@" + wrong), 1);
}

TEST(CopierIntegrityTest, TagIsRemovedWhenEvenPuttingItBackIsAltered) {
  FakeRegistry src("src");
  AlteringRegistry dst("dst");  // alters every PUT, the one putting the tag back too
  std::string d = src.AddImage("app", "v1", "new");
  std::string before = dst.AddImage("app", "v1", "old");
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 2);
  core::Status st = copier.CopyTagged("app", d, "app", "v1", before);
  EXPECT_EQ(st.code(), core::Code::kDataLoss);
  EXPECT_NE(st.message().find("; app:v1 could not be put back to " + before +
                              " (endpoint \"dst\" stored manifest app:v1 as "),
            std::string::npos) << st.message();
  EXPECT_NE(st.message().find(") and was removed, so it holds no wrong manifest"),
            std::string::npos) << st.message();
  EXPECT_FALSE(dst.DigestOf("app", "v1"));
}

TEST(CopierIntegrityTest, AlteredTagIsNotRemovedWhileAnotherTagSharesItsDigest) {
  // docker-registry deletes by digest: deleting the altered manifest would take a tag
  // that is not this copy's along.
  FakeRegistry src("src");
  AlteringRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  auto m = src.GetManifest("app", d);
  ASSERT_TRUE(m.ok());
  providers::Manifest wrong = AlteringRegistry::Altered(*m);
  ASSERT_TRUE(dst.FakeRegistry::PutManifest("app", "theirs", wrong).ok());
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 1);
  core::Status st = copier.CopyTagged("app", d, "app", "v1", std::nullopt);
  EXPECT_EQ(st.code(), core::Code::kDataLoss);
  EXPECT_EQ(st.message(),
            "manifest " + d + " reached app:v1 at endpoint \"dst\" altered on its only PUT "
            "(last: endpoint \"dst\" stored manifest app:v1 as " + wrong.digest + " instead of " +
            d + "); something on the way to the registry alters manifests; app:v1 now holds " +
            wrong.digest + ", which is NOT the manifest sent, and could not be removed (the "
            "registry deletes by digest, and tag(s) theirs share it); delete it by hand (DELETE "
            "/v2/app/manifests/" + wrong.digest + ") or run apply again");
  EXPECT_EQ(dst.count("DeleteManifest"), 0);
  EXPECT_EQ(dst.DigestOf("app", "theirs"), wrong.digest);
}

TEST(CopierIntegrityTest, TagsAlteredToTheSameDigestInThisApplyAreRemovedTogether) {
  FakeRegistry src("src");
  AlteringRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  auto m = src.GetManifest("app", d);
  ASSERT_TRUE(m.ok());
  providers::Manifest wrong = AlteringRegistry::Altered(*m);
  // Another copy of this apply found its tag v2 altered into the same manifest.
  ASSERT_TRUE(dst.FakeRegistry::PutManifest("app", "v2", wrong).ok());
  BlobLedger ledger;
  ledger.MarkAltered("app", wrong.digest, "v2");
  Copier copier(&src, &dst, &ledger, nullptr, 1);
  core::Status st = copier.CopyTagged("app", d, "app", "v1", std::nullopt);
  EXPECT_EQ(st.code(), core::Code::kDataLoss);
  EXPECT_NE(st.message().find("app:v1, which did not exist before, was removed again"),
            std::string::npos) << st.message();
  EXPECT_FALSE(dst.DigestOf("app", "v1"));
  EXPECT_FALSE(dst.DigestOf("app", "v2"));
}

TEST(CopierIntegrityTest, IndexChildRefusedAsAlteredIsPutAgain) {
  FakeRegistry src("src");
  AlteringRegistry dst("dst");
  std::string amd = src.AddImage("app", "amd", "amd");
  std::string arm = src.AddImage("app", "arm", "arm");
  std::string index = src.AddIndex("app", "v1", {amd, arm});
  int child_puts = 0;
  dst.alter = [&](const providers::Manifest& put) {
    return put.digest == arm && child_puts++ < 2;  // DIGEST_INVALID twice, then through
  };
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 3);
  ASSERT_TRUE(copier.CopyTagged("app", index, "app", "v1", std::nullopt).ok());
  EXPECT_EQ(dst.DigestOf("app", "v1"), index);
  auto child = dst.HeadManifest("app", arm);
  ASSERT_TRUE(child.ok());
  EXPECT_TRUE(*child);
  EXPECT_EQ(dst.altered.load(), 2);
}

TEST(CopierIntegrityTest, IndexChildRefusedAsAlteredEveryTimeTagsNothing) {
  FakeRegistry src("src");
  AlteringRegistry dst("dst");
  std::string amd = src.AddImage("app", "amd", "amd");
  std::string index = src.AddIndex("app", "v1", {amd});
  dst.alter = [&](const providers::Manifest& put) { return put.digest == amd; };
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 2);
  core::Status st = copier.CopyTagged("app", index, "app", "v1", std::nullopt);
  EXPECT_EQ(st.code(), core::Code::kDataLoss);
  EXPECT_EQ(st.message(),
            "manifest app@" + amd + " reached endpoint \"dst\" altered on every one of 2 PUTs "
            "(last: PUT manifest app:" + amd + " at endpoint \"dst\": unexpected HTTP 400: "
            "DIGEST_INVALID: provided digest did not match uploaded content); something on the "
            "way to the registry alters manifests");
  EXPECT_FALSE(dst.DigestOf("app", "v1"));
}

TEST(CopierIntegrityTest, TagPutWhoseAnswerWasLostButTookEffectSucceeds) {
  FakeRegistry src("src");
  FailingTagPutRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  dst.stores = FailingTagPutRegistry::Stores::kSent;
  dst.times = 1;
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 3);
  EXPECT_TRUE(copier.CopyTagged("app", d, "app", "v1", std::nullopt).ok());
  EXPECT_EQ(dst.DigestOf("app", "v1"), d);
}

TEST(CopierIntegrityTest, TagPutCutOffAfterAlteredBytesGotThroughIsRepaired) {
  FakeRegistry src("src");
  FailingTagPutRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "one");
  dst.stores = FailingTagPutRegistry::Stores::kAltered;
  dst.times = 100;
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 3);
  copier.SetFinalAttempt(false);
  core::Status st = copier.CopyTagged("app", d, "app", "v1", std::nullopt);
  EXPECT_EQ(st.code(), core::Code::kUnavailable);  // tried again by the applier
  EXPECT_EQ(st.message(), "PUT manifest: connection reset; app:v1, which did not exist before, "
                          "was removed again");
  EXPECT_FALSE(dst.DigestOf("app", "v1"));
}

TEST(CopierIntegrityTest, TagPutRefusedLeavesTheTagAsItWas) {
  FakeRegistry src("src");
  FailingTagPutRegistry dst("dst");
  std::string d = src.AddImage("app", "v1", "new");
  std::string before = dst.AddImage("app", "v1", "old");
  dst.failure = core::Status::PermissionDenied("PUT manifest app:v1: HTTP 403, access denied");
  dst.times = 100;
  BlobLedger ledger;
  Copier copier(&src, &dst, &ledger, nullptr, 3);
  core::Status st = copier.CopyTagged("app", d, "app", "v1", before);
  EXPECT_EQ(st.code(), core::Code::kPermissionDenied);
  EXPECT_EQ(st.message(), "PUT manifest app:v1: HTTP 403, access denied");
  EXPECT_EQ(dst.DigestOf("app", "v1"), before);
  EXPECT_EQ(dst.count("HeadManifest app:v1"), 0);  // nothing stored, nothing to check
  EXPECT_EQ(dst.count("DeleteManifest"), 0);
}

}  // namespace
}  // namespace crossdock::applier
