#include "providers/url.h"

#include <gtest/gtest.h>

namespace crossdock::providers {
namespace {

TEST(ParseOriginTest, DefaultsThePortFromTheScheme) {
  EXPECT_EQ(ParseOrigin("http://Registry.Example/v2/"), (Origin{"http", "registry.example", 80}));
  EXPECT_EQ(ParseOrigin("HTTPS://registry.example"), (Origin{"https", "registry.example", 443}));
  EXPECT_EQ(ParseOrigin("https://registry.example:443/x"), ParseOrigin("https://registry.example"));
  EXPECT_EQ(ParseOrigin("http://127.0.0.1:5000?x"), (Origin{"http", "127.0.0.1", 5000}));
  EXPECT_EQ(ParseOrigin("http://[::1]:5000/v2/"), (Origin{"http", "[::1]", 5000}));
  EXPECT_EQ(ParseOrigin("http://host:/v2/"), (Origin{"http", "host", 80}));
}

TEST(ParseOriginTest, PortsAndSchemesTellOriginsApart) {
  EXPECT_NE(ParseOrigin("http://127.0.0.1:5000"), ParseOrigin("http://127.0.0.1:5001"));
  EXPECT_NE(ParseOrigin("http://registry.example"), ParseOrigin("https://registry.example"));
  EXPECT_NE(ParseOrigin("http://localhost:5000"), ParseOrigin("http://127.0.0.1:5000"));
  EXPECT_EQ(ParseOrigin("http://h:5000")->ToString(), "http://h:5000");
  EXPECT_EQ(ParseOrigin("https://h")->ToString(), "https://h:443");
}

TEST(ParseOriginTest, RefusesWhatCouldHideAnotherHost) {
  EXPECT_EQ(ParseOrigin("http://127.0.0.1:5000@evil.example/v2/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("http://user:pw@registry.example/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("http://evil.example\\@registry.example/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("http://registry.example /v2/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("http://registry.example\r\nX: y"), std::nullopt);
  EXPECT_EQ(ParseOrigin("http://r%65gistry.example/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("http://h\xc3\xa9.example/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("ftp://registry.example/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("file:///etc/passwd"), std::nullopt);
  EXPECT_EQ(ParseOrigin("//registry.example/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("/v2/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("http:///v2/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("http://h:0/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("http://h:65536/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("http://h:+80/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("http://[::1/"), std::nullopt);
  EXPECT_EQ(ParseOrigin("http://[::1]x/"), std::nullopt);
  EXPECT_EQ(ParseOrigin(""), std::nullopt);
}

TEST(IsLoopbackHostTest, LocalhostTheWhole127NetworkAndIpv6Loopback) {
  for (const char* host : {"localhost", "127.0.0.1", "127.255.0.9", "127.1.2.3", "[::1]"})
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  for (const char* host : {"", "example.com", "128.0.0.1", "10.0.0.1", "127.0.0", "127.0.0.1.2",
                           "127.0.0.256", "127.0.0.1.example.com", "localhost.example.com",
                           "127.0.0.-1", "127..0.1", "[::2]", "::1", "0.0.0.0"})
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
}

TEST(ResolveReferenceTest, TheFormsRegistriesSend) {
  const std::string base = "http://r.example:5000/v2/lib/app/tags/list?n=1000";
  EXPECT_EQ(ResolveReference(base, "/v2/lib/app/tags/list?last=b&n=1000"),
            "http://r.example:5000/v2/lib/app/tags/list?last=b&n=1000");
  EXPECT_EQ(ResolveReference(base, "https://other.example/v2/x"), "https://other.example/v2/x");
  EXPECT_EQ(ResolveReference(base, "//other.example:1/v2/x"), "http://other.example:1/v2/x");
  EXPECT_EQ(ResolveReference(base, "?last=b"), "http://r.example:5000/v2/lib/app/tags/list?last=b");
  EXPECT_EQ(ResolveReference(base, "list?last=b"), "http://r.example:5000/v2/lib/app/tags/list?last=b");
  EXPECT_EQ(ResolveReference(base, "#frag"), "http://r.example:5000/v2/lib/app/tags/list");
  EXPECT_EQ(ResolveReference("http://r.example", "u1"), "http://r.example/u1");
}

TEST(ResolveReferenceTest, RefusesEmptyAndUnprintableReferences) {
  const std::string base = "http://r.example/v2/";
  EXPECT_EQ(ResolveReference(base, ""), "");
  EXPECT_EQ(ResolveReference(base, "/v2/a b"), "");
  EXPECT_EQ(ResolveReference(base, "/v2/a\nb"), "");
  EXPECT_EQ(ResolveReference(base, "\\\\evil.example/x"), "");
}

TEST(PathAndQueryTest, EverythingAfterTheAuthority) {
  EXPECT_EQ(PathAndQuery("http://h:1/v2/x?n=1#f"), "/v2/x?n=1#f");
  EXPECT_EQ(PathAndQuery("http://h?n=1"), "?n=1");
  EXPECT_EQ(PathAndQuery("http://h"), "");
}

}  // namespace
}  // namespace crossdock::providers
