// Listings follow next-page links a bounded number of times: a Link back to a page
// already fetched, or an endless chain of new pages, fails the listing with an error
// naming the endpoint and the repository instead of holding crossdock forever.
#include <gtest/gtest.h>

#include "providers/distribution/client.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

using PaginationTest = FakeClockRegistryTest;

TEST_F(PaginationTest, LinkToTheSamePageIsNotFollowedAgain) {
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    return Answer(200, {{"link", "</v2/lib/app/tags/list?n=1000>; rel=\"next\""}},
                  R"({"tags":["a"]})");
  });
  auto reg = Make(&http);
  auto tags = reg->ListTags("lib/app");
  ASSERT_FALSE(tags.ok());
  EXPECT_EQ(tags.status().code(), core::Code::kInternal);
  EXPECT_EQ(tags.status().message(),
            "listing tags of \"lib/app\" at endpoint \"src\": the registry's next-page Link leads "
            "back to a page already fetched (/v2/lib/app/tags/list?n=1000) after 1 page; "
            "following it would never end, so the listing failed. The registry's pagination is "
            "broken: report it to whoever runs it");
  EXPECT_EQ(http.sent().size(), 2u);  // ping, one page
}

TEST_F(PaginationTest, CycleThroughSeveralPagesIsCaught) {
  FakeHttp http(&clock_, [](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    // ?n=1000 -> last=a -> last=b -> last=a …
    std::string next = Ends(req.url, "last=a") ? "last=b" : "last=a";
    return Answer(200, {{"link", "<http://registry.test/v2/_catalog?" + next + ">; rel=\"next\""}},
                  R"({"repositories":["x"]})");
  });
  auto reg = Make(&http);
  auto repos = reg->ListRepositories();
  ASSERT_FALSE(repos.ok());
  EXPECT_NE(repos.status().message().find(
                "listing repositories (GET /v2/_catalog) at endpoint \"src\": the registry's "
                "next-page Link leads back to a page already fetched (/v2/_catalog?last=a) after 3 "
                "pages"),
            std::string::npos)
      << repos.status().message();
  EXPECT_EQ(http.sent().size(), 4u);
}

TEST_F(PaginationTest, EndlessNewPagesStopAtTheCap) {
  int pages = 0;
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    ++pages;
    return Answer(200,
                  {{"link", "</v2/app/tags/list?last=" + std::to_string(pages) + ">; rel=\"next\""}},
                  R"({"tags":["t"]})");
  });
  auto reg = Make(&http);
  auto tags = reg->ListTags("app");
  ASSERT_FALSE(tags.ok());
  EXPECT_EQ(tags.status().message(),
            "listing tags of \"app\" at endpoint \"src\": the registry still sends next-page links "
            "after 10000 pages (10 million entries at 1,000 a page), the most crossdock follows, "
            "so the listing failed");
  EXPECT_EQ(pages, kMaxListPages);
}

TEST_F(PaginationTest, ManyPagesUpToTheCapAreAllRead) {
  int pages = 0;
  FakeHttp http(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    ++pages;
    std::multimap<std::string, std::string> headers;
    if (pages < 250)
      headers.insert({"link", "</v2/app/tags/list?last=" + std::to_string(pages) + "&n=1000>; rel=\"next\""});
    return Answer(200, headers, R"({"tags":["t)" + std::to_string(pages) + R"("]})");
  });
  auto reg = Make(&http);
  auto tags = reg->ListTags("app");
  ASSERT_TRUE(tags.ok()) << tags.status().message();
  EXPECT_EQ(tags->size(), 250u);
  EXPECT_EQ(tags->back(), "t250");
}

}  // namespace
}  // namespace crossdock::providers
