// DistributionRegistry follows URLs taken from a registry's answers (next-page Link
// headers, upload and mount Locations) only on the endpoint's own origin, so the
// endpoint's credentials never reach another scheme, host or port.
#include <gtest/gtest.h>

#include "providers/distribution/client.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

class OriginTest : public FakeClockRegistryTest {
 protected:
  // Requests that went anywhere but the endpoint.
  static std::vector<std::string> Elsewhere(FakeHttp& http) {
    std::vector<std::string> out;
    for (const auto& s : http.sent())
      if (!Starts(s.url, "http://registry.test:5000/")) out.push_back(s.method + " " + s.url);
    return out;
  }
  std::unique_ptr<DistributionRegistry> Make(FakeHttp* http) {
    return FakeClockRegistryTest::Make(http, "http://registry.test:5000",
                                       Credentials{"user", "secret", ""});
  }
};

TEST_F(OriginTest, TagListLinkToAnotherPortIsRefusedAndNothingIsSentThere) {
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    if (req.url.find("registry.test:5000") != std::string::npos)
      return Answer(200,
                    {{"link", "<http://registry.test:27701/v2/r/tags/list?last=a&n=1>; rel=\"next\""}},
                    R"({"name":"r","tags":["a"]})");
    return Answer(200, {}, R"({"name":"r","tags":["foreign"]})");
  });
  auto reg = Make(&http);
  auto tags = reg->ListTags("r");
  ASSERT_FALSE(tags.ok());
  EXPECT_EQ(tags.status().code(), core::Code::kPermissionDenied);
  EXPECT_EQ(tags.status().message(),
            "listing tags of \"r\" at endpoint \"src\": the registry's next-page Link header points "
            "to http://registry.test:27701, not to the endpoint's own origin "
            "http://registry.test:5000; crossdock sends nothing there, since the endpoint's "
            "credentials go only to its own URL. If the registry is behind a proxy, check the "
            "address it believes it is served at (docker-registry: http.host; X-Forwarded-Proto "
            "and Host)");
  EXPECT_EQ(Elsewhere(http), std::vector<std::string>{});
}

TEST_F(OriginTest, CatalogLinksToOtherHostsSchemesAndUserinfoTricksAreRefused) {
  for (std::string link : {"http://localhost:5000/v2/_catalog?last=a", "https://registry.test:5000/v2/_catalog",
                           "//evil.test/v2/_catalog", "http://registry.test:5000@evil.test/v2/_catalog",
                           "ftp://registry.test:5000/v2/_catalog"}) {
    FakeHttp http(&clock_, [&](const HttpRequest& req) {
      if (Ends(req.url, "/v2/")) return Answer(200);
      return Answer(200, {{"link", "<" + link + ">; rel=\"next\""}}, R"({"repositories":["a"]})");
    });
    auto reg = Make(&http);
    auto repos = reg->ListRepositories();
    ASSERT_FALSE(repos.ok()) << link;
    EXPECT_NE(repos.status().message().find("listing repositories (GET /v2/_catalog) at endpoint \"src\""),
              std::string::npos)
        << repos.status().message();
    EXPECT_EQ(Elsewhere(http), std::vector<std::string>{}) << link;
    EXPECT_EQ(http.sent().size(), 2u) << link;  // ping and the first page
  }
}

TEST_F(OriginTest, RelativeAndSameOriginLinksAreFollowed) {
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    if (Ends(req.url, "?n=1000"))
      return Answer(200, {{"link", "</v2/r/tags/list?last=a&n=1000>; rel=\"next\""}},
                    R"({"tags":["a"]})");
    if (Ends(req.url, "last=a&n=1000"))
      return Answer(200, {{"link", "<HTTP://Registry.Test:5000/v2/r/tags/list?last=b>; rel=\"next\""}},
                    R"({"tags":["b"]})");
    if (Ends(req.url, "last=b")) return Answer(200, {{"link", "<?last=c>; rel=\"next\""}}, R"({"tags":["c"]})");
    return Answer(200, {}, R"({"tags":["d"]})");
  });
  auto reg = Make(&http);
  auto tags = reg->ListTags("r");
  ASSERT_TRUE(tags.ok()) << tags.status().message();
  EXPECT_EQ(*tags, (std::vector<std::string>{"a", "b", "c", "d"}));
  auto sent = http.sent();
  ASSERT_EQ(sent.size(), 5u);
  EXPECT_EQ(sent[4].url, "http://registry.test:5000/v2/r/tags/list?last=c");
}

TEST_F(OriginTest, UploadLocationOnAnotherOriginIsRefusedBeforeAnyBodyIsSent) {
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (req.method == "POST") return Answer(202, {{"location", "http://evil.test:5000/v2/r/blobs/uploads/u1"}});
    return Answer(200);
  });
  auto reg = Make(&http);
  bool read = false;
  core::Status st = reg->PutBlob("r", kDigest, 1, [&](char*, size_t) {
    read = true;
    return -1L;
  });
  EXPECT_EQ(st.code(), core::Code::kPermissionDenied) << st.message();
  EXPECT_NE(st.message().find("uploading blob " + std::string(kDigest) +
                              " into \"r\" at endpoint \"src\": the registry's Location header "
                              "points to http://evil.test:5000"),
            std::string::npos)
      << st.message();
  EXPECT_FALSE(read);
  EXPECT_EQ(Elsewhere(http), std::vector<std::string>{});
}

TEST_F(OriginTest, UploadWithoutLocationIsAnError) {
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (req.method == "POST") return Answer(202);
    return Answer(200);
  });
  auto reg = Make(&http);
  core::Status st = reg->PutBlob("r", kDigest, 0, [](char*, size_t) { return 0L; });
  EXPECT_EQ(st.code(), core::Code::kInternal);
  EXPECT_EQ(st.message(), "uploading blob " + std::string(kDigest) +
                              " into \"r\" at endpoint \"src\": the registry answered without a "
                              "Location header");
}

TEST_F(OriginTest, PatchLocationOnAnotherOriginCancelsTheUploadOnTheEndpoint) {
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (req.method == "POST") return Answer(202, {{"location", "/v2/r/blobs/uploads/u1?state=x"}});
    if (req.method == "PATCH") {
      char buf[16];
      while (req.body_source(buf, sizeof buf) > 0) {
      }
      return Answer(202, {{"location", "http://127.0.0.1:9/v2/r/blobs/uploads/u1"}});
    }
    return Answer(204);
  });
  auto reg = Make(&http);
  core::Status st = reg->PutBlob("r", kDigest, -1, [](char*, size_t) { return 0L; });
  EXPECT_EQ(st.code(), core::Code::kPermissionDenied) << st.message();
  EXPECT_EQ(Elsewhere(http), std::vector<std::string>{});
  auto sent = http.sent();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().method, "DELETE");
  EXPECT_EQ(sent.back().url, "http://registry.test:5000/v2/r/blobs/uploads/u1?state=x");
}

TEST_F(OriginTest, SameOriginUploadLocationsAreFollowed) {
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (req.method == "POST")
      return Answer(202, {{"location", "http://registry.test:5000/v2/r/blobs/uploads/u1?_state=s"}});
    if (req.method == "PUT") return Answer(201);
    return Answer(200);
  });
  auto reg = Make(&http);
  core::Status st = reg->PutBlob("r", kDigest, 0, [](char*, size_t) { return 0L; });
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(http.sent().back().url,
            "http://registry.test:5000/v2/r/blobs/uploads/u1?_state=s&digest=sha256%3A" +
                std::string(kDigest).substr(7));
}

TEST_F(OriginTest, MountAnsweredWithAForeignUploadIsNotCancelledThere) {
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (req.method == "POST") return Answer(202, {{"location", "http://evil.test/v2/r/blobs/uploads/u1"}});
    return Answer(200);
  });
  auto reg = Make(&http);
  auto mounted = reg->MountBlob("r", kDigest, "other");
  ASSERT_FALSE(mounted.ok());
  EXPECT_EQ(mounted.status().code(), core::Code::kPermissionDenied);
  EXPECT_NE(mounted.status().message().find("mounting blob " + std::string(kDigest) +
                                            " into \"r\" at endpoint \"src\""),
            std::string::npos);
  EXPECT_EQ(Elsewhere(http), std::vector<std::string>{});
}

}  // namespace
}  // namespace crossdock::providers
