// Every DistributionRegistry method that puts a repository name, tag or digest into
// a URL checks it against the distribution grammar first: a name from a hostile
// catalog, tag list, event or saved plan ("lib/../other") never reaches a request.
#include <gtest/gtest.h>

#include "providers/distribution/client.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

class NameCheckTest : public ::testing::Test {
 protected:
  NameCheckTest()
      : http_(&clock_,
              [](const HttpRequest&) { return Answer(200, {{"docker-content-digest", kDigest}}); }),
        reg_("src", "http://registry.test", Credentials{}, &http_, Options()) {}
  DistributionOptions Options() {
    DistributionOptions o;
    o.clock = &clock_;
    return o;
  }
  // Expects ST to refuse NAME for OP, having sent nothing.
  void ExpectRefused(const core::Status& st, const std::string& op, const std::string& message) {
    EXPECT_EQ(st.code(), core::Code::kInvalidArgument) << op << ": " << st.message();
    EXPECT_EQ(st.message().rfind(op + " at endpoint \"src\": ", 0), 0u) << st.message();
    EXPECT_NE(st.message().find(message), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("nothing was sent"), std::string::npos) << st.message();
    EXPECT_EQ(http_.sent().size(), 0u) << op;
  }

  FakeClock clock_;
  FakeHttp http_;
  DistributionRegistry reg_;
};

constexpr const char* kTraversal = "lib/../other/victim";
constexpr const char* kTagTraversal = "../../../other/victim/manifests/pwned";

TEST_F(NameCheckTest, ListingTagsOfAnInvalidRepository) {
  ExpectRefused(reg_.ListTags(kTraversal).status(), "listing tags",
                "repository name \"lib/../other/victim\" is not valid (lowercase letters");
  ExpectRefused(reg_.ListTags("Upper").status(), "listing tags", "\"Upper\"");
  ExpectRefused(reg_.ListTags("a//b").status(), "listing tags", "\"a//b\"");
  ExpectRefused(reg_.ListTags("").status(), "listing tags", "\"\"");
  ExpectRefused(reg_.ListTags("a/b?n=1").status(), "listing tags", "\"a/b?n=1\"");
}

TEST_F(NameCheckTest, ManifestsByInvalidTagOrRepository) {
  Manifest m{kOciManifest, kDigest, "{}"};
  ExpectRefused(reg_.HeadManifest("lib/app", kTagTraversal).status(), "HEAD manifest",
                "tag \"../../../other/victim/manifests/pwned\" is not valid (up to 128");
  ExpectRefused(reg_.GetManifest("lib/app", "v1 ").status(), "GET manifest", "tag \"v1 \"");
  ExpectRefused(reg_.PutManifest("lib/app", ".hidden", m), "PUT manifest", "tag \".hidden\"");
  ExpectRefused(reg_.PutManifest(kTraversal, "v1", m), "PUT manifest", "repository name");
  ExpectRefused(reg_.HeadManifest("lib/app", std::string(129, 'a')).status(), "HEAD manifest",
                "tag \"aaaa");
  // A digest is a reference too, but must be well formed.
  ExpectRefused(reg_.GetManifest("lib/app", "sha256:../../x").status(), "GET manifest",
                "tag \"sha256:../../x\"");
}

TEST_F(NameCheckTest, DigestsMustBeSha256Hex) {
  ExpectRefused(reg_.DeleteManifest("lib/app", "v1"), "DELETE manifest", "digest \"v1\" is not valid");
  ExpectRefused(reg_.ListReferrers("lib/app", "sha256:AB").status(), "listing referrers", "digest");
  ExpectRefused(reg_.BlobExists("lib/app", "sha256:../x").status(), "HEAD blob", "digest");
  ExpectRefused(reg_.GetBlob("lib/app", "x", [](const char*, size_t) { return true; }), "GET blob",
                "digest");
  ExpectRefused(reg_.PutBlob("lib/app", "", 0, [](char*, size_t) { return 0L; }), "uploading blob",
                "digest \"\"");
  ExpectRefused(reg_.MountBlob("lib/app", kDigest, kTraversal).status(), "mounting blob",
                "repository name \"lib/../other/victim\"");
  ExpectRefused(reg_.MountBlob(kTraversal, kDigest, "lib/app").status(), "mounting blob",
                "repository name");
}

TEST_F(NameCheckTest, UnprintableNamesAreEscapedInTheMessage) {
  ExpectRefused(reg_.ListTags("lib/\x1b[31mred").status(), "listing tags",
                "\"lib/\\x1b[31mred\"");
}

TEST_F(NameCheckTest, ValidNamesGoThrough) {
  ASSERT_TRUE(reg_.HeadManifest("lib/my-app_x/a__b.c", "V1.0_rc-1").ok());
  ASSERT_TRUE(reg_.HeadManifest("lib/app", kDigest).ok());
  ASSERT_TRUE(reg_.BlobExists("lib/app", kDigest).ok());
  auto sent = http_.sent();
  ASSERT_EQ(sent.size(), 4u);  // ping, then three HEADs
  EXPECT_EQ(sent[1].url, "http://registry.test/v2/lib/my-app_x/a__b.c/manifests/V1.0_rc-1");
}

}  // namespace
}  // namespace crossdock::providers
