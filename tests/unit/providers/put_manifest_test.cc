// A manifest PUT is checked against the digest the registry says it stored: from its
// Docker-Content-Digest answer, or, for a registry that sends none, from a HEAD of
// the reference, so a manifest altered on the way never passes for the one sent.
#include <gtest/gtest.h>

#include "providers/distribution/client.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

constexpr const char* kOther =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

class PutManifestTest : public FakeClockRegistryTest {};

TEST_F(PutManifestTest, ADigestReportedByThePutIsCheckedWithoutAHead) {
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (req.method == "PUT") return Answer(201, {{"docker-content-digest", kOther}});
    return Answer(200);
  });
  auto reg = Make(&http);
  core::Status st = reg->PutManifest("lib/app", "v1", Manifest{kOciManifest, kDigest, ""});
  EXPECT_EQ(st.code(), core::Code::kDataLoss) << st.message();
  EXPECT_EQ(http.Count("HEAD", "/manifests/"), 0);
}

TEST_F(PutManifestTest, WithoutAReportedDigestTheReferenceIsReadBack) {
  std::string stored = kOther;
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (req.method == "PUT") return Answer(201);
    if (req.method == "HEAD" && req.url.find("/manifests/") != std::string::npos)
      return Answer(200, {{"docker-content-digest", stored},
                          {"content-type", kOciManifest}});
    return Answer(200);
  });
  auto reg = Make(&http);
  core::Status st = reg->PutManifest("lib/app", "v1", Manifest{kOciManifest, kDigest, ""});
  EXPECT_EQ(st.code(), core::Code::kDataLoss) << st.message();
  EXPECT_EQ(st.message(), std::string("endpoint \"src\" stored manifest lib/app:v1 as ") + kOther +
                              " instead of " + kDigest);
  EXPECT_EQ(http.Count("HEAD", "/v2/lib/app/manifests/v1"), 1);
  stored = kDigest;
  EXPECT_TRUE(reg->PutManifest("lib/app", "v1", Manifest{kOciManifest, kDigest, ""}).ok());
}

}  // namespace
}  // namespace crossdock::providers
