// Bodies DistributionRegistry buffers are capped: a manifest at 4 MiB (distribution's
// own limit), a listing page at 32 MiB, anything else at 1 MiB. A manifest over the
// cap fails once, as InvalidArgument (never retried), and a HEAD announcing one is
// refused without a download. The cap itself is enforced while reading by the curl
// client (http_curl_test.cc); the fake HttpClient here honours it the same way.
#include <gtest/gtest.h>

#include "providers/distribution/client.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

class BodyLimitTest : public FakeClockRegistryTest {
 protected:
  // An OCI manifest of exactly SIZE bytes (padded with an annotation).
  static std::string ManifestOfSize(size_t size) {
    std::string head = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","annotations":{"pad":")";
    std::string tail = R"("}})";
    return head + std::string(size - head.size() - tail.size(), 'x') + tail;
  }
};

TEST_F(BodyLimitTest, ManifestOverFourMiBFailsOnceAndIsNotRetried) {
  const std::string big = ManifestOfSize((4 << 20) + 1);
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    return Answer(200, {{"content-type", kOciManifest}}, big);
  });
  auto reg = Make(&http);
  auto m = reg->GetManifest("lib/app", "v1");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), core::Code::kInvalidArgument);
  EXPECT_EQ(m.status().message(),
            "manifest lib/app:v1 at endpoint \"src\" is larger than 4 MiB, the most any registry "
            "accepts (distribution's own limit), so it cannot be copied; crossdock stopped reading "
            "it");
  EXPECT_EQ(http.Count("GET", "/manifests/"), 1);
  EXPECT_EQ(http.sent().back().max_body_size, kMaxManifestSize);
}

TEST_F(BodyLimitTest, ManifestOfExactlyFourMiBIsRead) {
  const std::string body = ManifestOfSize(4 << 20);
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    return Answer(200, {{"content-type", kOciManifest}}, body);
  });
  auto reg = Make(&http);
  auto m = reg->GetManifest("lib/app", "v1");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->bytes.size(), size_t{4 << 20});
}

TEST_F(BodyLimitTest, HeadAnnouncingMoreThanFourMiBIsRefusedWithoutADownload) {
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    return Answer(200, {{"content-type", kOciManifest},
                        {"docker-content-digest", kDigest},
                        {"content-length", "104857600"}});
  });
  auto reg = Make(&http);
  auto h = reg->HeadManifest("lib/app", "v1");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), core::Code::kInvalidArgument);
  EXPECT_NE(h.status().message().find("manifest lib/app:v1 at endpoint \"src\" is larger than 4 MiB"),
            std::string::npos);
  EXPECT_EQ(http.Count("GET", "/manifests/"), 0);
}

TEST_F(BodyLimitTest, ListingPagesMayBeLargeButNotEndless) {
  // 200,000 tags in one page (registries that ignore n): a few MB, read whole.
  std::string page = R"({"name":"lib/app","tags":[)";
  for (int i = 0; i < 200000; ++i) page += (i ? ",\"t" : "\"t") + std::to_string(i) + "\"";
  page += "]}";
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    return Answer(200, {}, page);
  });
  auto reg = Make(&http);
  auto tags = reg->ListTags("lib/app");
  ASSERT_TRUE(tags.ok()) << tags.status().message();
  EXPECT_EQ(tags->size(), 200000u);
  EXPECT_EQ(http.sent().back().max_body_size, kMaxListPageSize);

  FakeHttp endless(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    return Answer(200, {}, std::string((32 << 20) + 1, ' '));
  });
  auto reg2 = Make(&endless);
  auto repos = reg2->ListRepositories();
  ASSERT_FALSE(repos.ok());
  EXPECT_EQ(repos.status().message(),
            "listing repositories (GET /v2/_catalog) at endpoint \"src\": a page of the answer is "
            "larger than 32 MiB, the most crossdock reads; it was not read further");
  EXPECT_EQ(endless.sent().size(), 2u);
}

TEST_F(BodyLimitTest, OversizedTokenAnswerIsNotAToken) {
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/"))
      return Answer(401, {{"www-authenticate", "Bearer realm=\"http://auth.test/token\""}});
    if (Starts(req.url, "http://auth.test/"))
      return Answer(200, {}, "{\"token\":\"" + std::string(2 << 20, 'a') + "\"}");
    return Answer(200);
  });
  auto reg = Make(&http);
  auto exists = reg->BlobExists("lib/app", kDigest);
  ASSERT_FALSE(exists.ok());
  EXPECT_EQ(exists.status().message(),
            "token request to the auth server of endpoint \"src\" answered more than 1 MiB, which "
            "is not a token");
}

}  // namespace
}  // namespace crossdock::providers
